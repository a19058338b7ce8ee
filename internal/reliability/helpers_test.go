package reliability

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/unifiedphone/unifiedphone/phonemigrate"
	"github.com/unifiedphone/unifiedphone/phonemigrate/auth0api"
	"github.com/unifiedphone/unifiedphone/phonemigrate/phonemigratetest"
)

// migrating are the scenarios whose apply migrates (empty is refused,
// unified has nothing to do).
var migrating = []phonemigratetest.Scenario{
	phonemigratetest.LegacyGateway,
	phonemigratetest.LegacyTwilio,
	phonemigratetest.MFATwilio,
	phonemigratetest.Mixed,
}

// recipient is the phone number every user message of the tests goes to
// (see phonemigratetest.State.Messages).
const recipient = "+15557654321"

// newFake starts a fake tenant with millisecond Action builds.
func newFake(sc phonemigratetest.Scenario, opts ...phonemigratetest.Option) *phonemigratetest.Server {
	return phonemigratetest.NewServer(sc, append([]phonemigratetest.Option{phonemigratetest.WithActionBuild(5*time.Millisecond, 1)}, opts...)...)
}

// clientConfig is the auth0api configuration the tests use: millisecond
// backoff, per-attempt timeouts that only guard against a hang (a minute
// for the headers, two for the answer: no request the fake answers comes
// near them, however busy the machine; the "slow" fault's request is cut
// by its hook at once, see hook.cutWhen), and rt as the transport when
// non-nil.
func clientConfig(srv *phonemigratetest.Server, rt http.RoundTripper) auth0api.Config {
	cfg := auth0api.Config{
		BaseURL:               srv.BaseURL,
		Token:                 phonemigrate.Secret(srv.Token),
		MinBackoff:            time.Millisecond,
		MaxBackoff:            5 * time.Millisecond,
		ResponseHeaderTimeout: time.Minute,
		RequestTimeout:        2 * time.Minute,
	}
	if rt != nil {
		cfg.HTTPClient = &http.Client{Transport: rt}
	}
	return cfg
}

func newMigrator(ctx context.Context, srv *phonemigratetest.Server, rt http.RoundTripper, store phonemigrate.Store) (*phonemigrate.Migrator, error) {
	cl, err := auth0api.New(ctx, clientConfig(srv, rt))
	if err != nil {
		return nil, err
	}
	return phonemigrate.New(cl, phonemigrate.WithStore(store), phonemigrate.WithTenant(phonemigratetest.TenantName),
		phonemigrate.WithPollInterval(5*time.Millisecond))
}

// migrateOptions are the options every migration of the tests uses: the
// scenario's Twilio token, one test recipient, the fake Twilio API.
func migrateOptions(srv *phonemigratetest.Server) phonemigrate.Options {
	return phonemigrate.Options{
		TwilioAuthToken:  phonemigratetest.TwilioAuthToken,
		TestRecipients:   []string{"+15551230001"},
		TwilioAPIBaseURL: srv.Twilio().URL,
	}
}

// mutating reports whether a request changes the tenant.
func mutating(method, path string) bool {
	return method != http.MethodGet && method != http.MethodHead && path != "/oauth/token"
}

// writesOf lists the mutating requests of a request log, as "METHOD path".
func writesOf(reqs []phonemigratetest.Request) []string {
	var out []string
	for _, r := range reqs {
		if mutating(r.Method, r.Path) {
			out = append(out, r.Method+" "+r.Path)
		}
	}
	return out
}

// undelivered sends every message and returns a description of each one
// that found no route or was not delivered.
func undelivered(ctx context.Context, srv *phonemigratetest.Server, msgs []phonemigratetest.NotifyRequest) []string {
	var bad []string
	for _, m := range msgs {
		res, err := srv.Notify(ctx, m)
		switch {
		case err != nil:
			bad = append(bad, m.Kind+"/"+m.DeliveryMethod+": "+err.Error())
		case res.Route == phonemigratetest.RouteNone || !res.Delivered:
			bad = append(bad, m.Kind+"/"+m.DeliveryMethod+"/"+m.MessageType+": route "+res.Route+": "+res.Detail)
		}
	}
	return bad
}

// hook is an http.RoundTripper between auth0api and the network. It counts
// the mutating requests (attempts, in the order the client sends them) and,
// at the target-th one, runs before (e.g. inject a fault into the fake for
// exactly that request) and, when crash is set, lets the request reach the
// fake and then cancels the run and loses the answer: a process killed
// right after its write landed.
//
// It also times the client's per-attempt timeouts (auth0api.AttemptTimer):
// each expires on the real clock after its duration (clientConfig's,
// which only guard against a hang), except that of the target-th request
// when cutWhen is set: once that request is written and cutWhen returned
// (the fake holds it), its shortest timeout expires at once — the client
// gives up on a request the server holds, at a moment the test controls.
type hook struct {
	base    http.RoundTripper
	target  int
	before  func(r *http.Request)
	crash   context.CancelFunc
	cutWhen func(ctx context.Context)

	mu      sync.Mutex
	n       int
	seq     []string
	crashed bool
	armed   map[*http.Request][]armedTimeout
	cutOff  bool // the target's timeout was made to expire
}

type armedTimeout struct {
	d      time.Duration
	expire func()
}

var _ auth0api.AttemptTimer = (*hook)(nil)

func (h *hook) ArmTimeout(r *http.Request, d time.Duration, expire func()) func() {
	timer := time.AfterFunc(d, expire)
	h.mu.Lock()
	if h.armed == nil {
		h.armed = map[*http.Request][]armedTimeout{}
	}
	h.armed[r] = append(h.armed[r], armedTimeout{d, expire})
	h.mu.Unlock()
	return func() {
		timer.Stop()
		h.mu.Lock()
		delete(h.armed, r)
		h.mu.Unlock()
	}
}

// cut makes the shortest timeout armed for r expire.
func (h *hook) cut(r *http.Request) {
	h.mu.Lock()
	var first armedTimeout
	for _, a := range h.armed[r] {
		if first.expire == nil || a.d < first.d {
			first = a
		}
	}
	h.cutOff = h.cutOff || first.expire != nil
	h.mu.Unlock()
	if first.expire != nil {
		first.expire()
	}
}

// wasCut reports whether the target request was cut by its timeout.
func (h *hook) wasCut() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.cutOff
}

func (h *hook) RoundTrip(r *http.Request) (*http.Response, error) {
	idx := 0
	if mutating(r.Method, r.URL.Path) {
		h.mu.Lock()
		h.n++
		idx = h.n
		h.seq = append(h.seq, r.Method+" "+r.URL.Path)
		h.mu.Unlock()
	}
	hit := idx != 0 && idx == h.target
	if hit && h.before != nil {
		h.before(r)
	}
	sent := r
	if hit && h.cutWhen != nil {
		// Cut once the client wrote the whole request (it then counts as
		// sent: the server may have acted on it) and the fake holds it.
		wrote := make(chan struct{})
		var once sync.Once
		sent = r.WithContext(httptrace.WithClientTrace(r.Context(), &httptrace.ClientTrace{
			WroteRequest: func(info httptrace.WroteRequestInfo) {
				if info.Err == nil {
					once.Do(func() { close(wrote) })
				}
			},
		}))
		go func() {
			select {
			case <-wrote:
			case <-r.Context().Done():
				return
			}
			h.cutWhen(r.Context())
			h.cut(r)
		}()
	}
	resp, err := h.base.RoundTrip(sent)
	if hit && h.crash != nil {
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		h.mu.Lock()
		h.crashed = true
		h.mu.Unlock()
		h.crash()
		return nil, context.Canceled
	}
	return resp, err
}

func (h *hook) isCrashed() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.crashed
}

// killableStore stops persisting once the process is "killed": a killed
// process saves nothing more, so the checkpoint stays as it was at the
// crash.
type killableStore struct {
	phonemigrate.Store
	killed func() bool
}

var errKilled = errors.New("process killed")

func (s killableStore) Save(ctx context.Context, cp *phonemigrate.Checkpoint) error {
	if s.killed() {
		return errKilled
	}
	return s.Store.Save(ctx, cp)
}

// normalize replaces generated ids in a request path so that sequences from
// different fakes compare: /actions/actions/6f1b…/deploy -> /actions/actions/{id}/deploy.
func normalize(w string) string {
	parts := strings.Split(w, "/")
	for i, p := range parts {
		if i > 0 && (parts[i-1] == "actions" && p != "actions" && p != "triggers" ||
			parts[i-1] == "providers" || parts[i-1] == "templates" && p != "reset" && p != "try" ||
			parts[i-1] == "connections") {
			parts[i] = "{id}"
		}
	}
	return strings.Join(parts, "/")
}

// requireNode skips when node is absent, unless PHONEMIGRATE_REQUIRE_NODE
// is set (CI), where it fails: custom providers run their Action in Node.
func requireNode(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		if os.Getenv("PHONEMIGRATE_REQUIRE_NODE") != "" {
			t.Fatalf("node is required (PHONEMIGRATE_REQUIRE_NODE is set): %v", err)
		}
		t.Skip("node not found; the custom provider runs its Action in Node")
	}
}

// portless replaces the given fake URLs (Gateway, Twilio; they differ
// between fakes) by placeholders everywhere in st, so that the states of
// two fakes compare.
func portless(st phonemigratetest.State, urls ...string) phonemigratetest.State {
	b, err := json.Marshal(st)
	if err != nil {
		panic(err)
	}
	s := string(b)
	for i, u := range urls {
		s = strings.ReplaceAll(s, u, fmt.Sprintf("http://fake-%d", i))
	}
	var out phonemigratetest.State
	if err := json.Unmarshal([]byte(s), &out); err != nil {
		panic(err)
	}
	return out
}
