package auth0api

import (
	"io"
	"net/http"
	"sync"
	"testing"
	"time"
)

// heldTimers is a base transport (over http.DefaultTransport) that times
// the client's per-attempt timeouts itself (an [AttemptTimer]): none
// expires until the test calls expire, so a test decides when an attempt
// is cut, and an attempt it does not cut never is, however slow the
// machine.
type heldTimers struct {
	mu    sync.Mutex
	armed map[*armedTimeout]bool
	// reading, when set, receives a value at the first read of each
	// answer's body: the client has the headers and reads on.
	reading chan struct{}
}

type armedTimeout struct {
	d      time.Duration
	expire func()
}

var _ AttemptTimer = (*heldTimers)(nil)

func (h *heldTimers) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err == nil && h.reading != nil {
		resp.Body = &firstRead{ReadCloser: resp.Body, first: h.reading}
	}
	return resp, err
}

func (h *heldTimers) ArmTimeout(_ *http.Request, d time.Duration, expire func()) func() {
	a := &armedTimeout{d: d, expire: expire}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.armed == nil {
		h.armed = map[*armedTimeout]bool{}
	}
	h.armed[a] = true
	return func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		delete(h.armed, a)
	}
}

// expire makes the timeout d of the attempt in flight expire. Exactly one
// attempt must have it armed.
func (h *heldTimers) expire(t *testing.T, d time.Duration) {
	t.Helper()
	var found []*armedTimeout
	h.mu.Lock()
	for a := range h.armed {
		if a.d == d {
			found = append(found, a)
		}
	}
	h.mu.Unlock()
	if len(found) != 1 {
		t.Fatalf("%d attempts have a %v timeout armed, want 1", len(found), d)
	}
	found[0].expire()
}

// firstRead sends on first at the first Read.
type firstRead struct {
	io.ReadCloser
	first chan<- struct{}
	once  sync.Once
}

func (b *firstRead) Read(p []byte) (int, error) {
	b.once.Do(func() { b.first <- struct{}{} })
	return b.ReadCloser.Read(p)
}

// await receives from ch. The minute only guards against a hang: what the
// test waits for comes as soon as the client gets that far.
func await[T any](t testing.TB, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(time.Minute):
		t.Fatalf("no %s within a minute", what)
		panic("unreachable")
	}
}
