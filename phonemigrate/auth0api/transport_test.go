package auth0api

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/unifiedphone/unifiedphone/phonemigrate"
)

type rtFunc func(*http.Request) (*http.Response, error)

func (f rtFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

var testNow = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// fakeTransport returns a transport over base whose sleeps are recorded
// (not slept), whose clock stands at testNow and whose jitter is maximal.
func fakeTransport(t *testing.T, base http.RoundTripper, cfg Config) (*transport, func() []time.Duration) {
	t.Helper()
	cfg.BaseURL, cfg.Token = "https://tenant.example/api/v2", "tok"
	s, err := cfg.validate()
	if err != nil {
		t.Fatal(err)
	}
	tr := newTransport(base, s)
	var mu sync.Mutex
	var waits []time.Duration
	tr.sleep = func(ctx context.Context, d time.Duration) error {
		mu.Lock()
		waits = append(waits, d)
		mu.Unlock()
		return ctx.Err()
	}
	tr.now = func() time.Time { return testNow }
	tr.jitter = func(max time.Duration) time.Duration { return max }
	return tr, func() []time.Duration { mu.Lock(); defer mu.Unlock(); return append([]time.Duration(nil), waits...) }
}

func respond(status int, h http.Header, body string) *http.Response {
	if h == nil {
		h = http.Header{}
	}
	return &http.Response{StatusCode: status, Header: h, Body: io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body))}
}

// script answers successive attempts with the given responses (the last
// one repeats) and counts them.
func script(n *atomic.Int32, rs ...func() (*http.Response, error)) rtFunc {
	return func(r *http.Request) (*http.Response, error) {
		i := int(n.Add(1)) - 1
		if i >= len(rs) {
			i = len(rs) - 1
		}
		return rs[i]()
	}
}

func status(code int, kv ...string) func() (*http.Response, error) {
	return func() (*http.Response, error) {
		h := http.Header{}
		for i := 0; i+1 < len(kv); i += 2 {
			h.Set(kv[i], kv[i+1])
		}
		return respond(code, h, `{"message":"m"}`), nil
	}
}

func TestRetryWaits(t *testing.T) {
	t.Parallel()
	unix := func(d time.Duration) string { return strconv.FormatInt(testNow.Add(d).Unix(), 10) }
	for _, tc := range []struct {
		name      string
		cfg       Config
		answers   []func() (*http.Response, error)
		wantWaits []time.Duration
		wantTries int
		wantErr   int // status of the returned *statusError, 0 for success
	}{
		{name: "Retry-After 0", answers: []func() (*http.Response, error){status(429, "Retry-After", "0"), status(200)},
			wantWaits: []time.Duration{0}, wantTries: 2},
		{name: "Retry-After 1", answers: []func() (*http.Response, error){status(429, "Retry-After", "1"), status(200)},
			wantWaits: []time.Duration{time.Second}, wantTries: 2},
		{name: "Retry-After date", answers: []func() (*http.Response, error){status(503, "Retry-After", testNow.Add(3*time.Second).Format(http.TimeFormat)), status(200)},
			wantWaits: []time.Duration{3 * time.Second}, wantTries: 2},
		{name: "X-RateLimit-Reset", answers: []func() (*http.Response, error){status(429, "X-RateLimit-Reset", unix(2*time.Second), "X-RateLimit-Remaining", "0"), status(200)},
			wantWaits: []time.Duration{2 * time.Second}, wantTries: 2},
		{name: "X-RateLimit-Reset in the past", answers: []func() (*http.Response, error){status(429, "X-RateLimit-Reset", unix(-5*time.Second)), status(200)},
			wantWaits: []time.Duration{0}, wantTries: 2},
		{name: "bad Retry-After falls back to reset", answers: []func() (*http.Response, error){status(429, "Retry-After", "soon", "X-RateLimit-Reset", unix(time.Second)), status(200)},
			wantWaits: []time.Duration{time.Second}, wantTries: 2},
		{name: "Retry-After wins over reset", answers: []func() (*http.Response, error){status(429, "Retry-After", "4", "X-RateLimit-Reset", unix(time.Second)), status(200)},
			wantWaits: []time.Duration{4 * time.Second}, wantTries: 2},
		{name: "backoff without headers, capped", cfg: Config{MaxAttempts: 5, MinBackoff: 100 * time.Millisecond, MaxBackoff: 300 * time.Millisecond},
			answers:   []func() (*http.Response, error){status(500)},
			wantWaits: []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 300 * time.Millisecond, 300 * time.Millisecond}, wantTries: 5, wantErr: 500},
		{name: "408 retried", answers: []func() (*http.Response, error){status(408), status(200)},
			wantWaits: []time.Duration{DefaultMinBackoff}, wantTries: 2},
		{name: "wait beyond MaxRetryWait not honoured", cfg: Config{MaxRetryWait: 30 * time.Second},
			answers: []func() (*http.Response, error){status(429, "Retry-After", "31")}, wantTries: 1, wantErr: 429},
		{name: "wait of exactly MaxRetryWait honoured", cfg: Config{MaxRetryWait: 30 * time.Second},
			answers: []func() (*http.Response, error){status(429, "Retry-After", "30"), status(200)}, wantWaits: []time.Duration{30 * time.Second}, wantTries: 2},
		{name: "exhausted", cfg: Config{MaxAttempts: 2}, answers: []func() (*http.Response, error){status(429, "Retry-After", "1")},
			wantWaits: []time.Duration{time.Second}, wantTries: 2, wantErr: 429},
		{name: "MaxAttempts 1 never waits", cfg: Config{MaxAttempts: 1}, answers: []func() (*http.Response, error){status(429, "Retry-After", "1")},
			wantTries: 1, wantErr: 429},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var n atomic.Int32
			tr, waits := fakeTransport(t, script(&n, tc.answers...), tc.cfg)
			req, _ := http.NewRequest("GET", "https://tenant.example/api/v2/x", nil)
			resp, err := tr.RoundTrip(req)
			if tc.wantErr == 0 {
				if err != nil {
					t.Fatalf("RoundTrip: %v", err)
				}
				resp.Body.Close()
			} else {
				var se *statusError
				if !errors.As(err, &se) || se.StatusCode != tc.wantErr {
					t.Fatalf("RoundTrip error = %v, want a statusError %d", err, tc.wantErr)
				}
				if se.Attempts != tc.wantTries {
					t.Errorf("statusError.Attempts = %d, want %d", se.Attempts, tc.wantTries)
				}
			}
			if diff := cmp.Diff(tc.wantWaits, waits()); diff != "" {
				t.Errorf("waits (-want +got):\n%s", diff)
			}
			if got := int(n.Load()); got != tc.wantTries {
				t.Errorf("attempts = %d, want %d", got, tc.wantTries)
			}
		})
	}
}

// TestBackoffBounds checks the jittered backoff stays in [b/2, b] with
// b = min(MinBackoff·2^(n-1), MaxBackoff), using the real random jitter.
func TestBackoffBounds(t *testing.T) {
	t.Parallel()
	s, err := Config{BaseURL: "https://x/api/v2", Token: "t", MinBackoff: 10 * time.Millisecond, MaxBackoff: 70 * time.Millisecond}.validate()
	if err != nil {
		t.Fatal(err)
	}
	tr := newTransport(http.DefaultTransport, s)
	for attempt, b := range map[int]time.Duration{1: 10 * time.Millisecond, 2: 20 * time.Millisecond, 3: 40 * time.Millisecond, 4: 70 * time.Millisecond, 9: 70 * time.Millisecond, 200: 70 * time.Millisecond} {
		seen := map[bool]bool{}
		for range 500 {
			d := tr.backoff(attempt)
			if d < b/2 || d > b {
				t.Fatalf("backoff(%d) = %v, want within [%v, %v]", attempt, d, b/2, b)
			}
			seen[d > b*3/4] = true
		}
		if !seen[true] || !seen[false] {
			t.Errorf("backoff(%d) is not jittered across [%v, %v]", attempt, b/2, b)
		}
	}
}

// TestReplayPolicy checks which failures are retried for which requests.
func TestReplayPolicy(t *testing.T) {
	t.Parallel()
	dropBeforeWrite := func() (*http.Response, error) { return nil, errors.New("dial tcp: connection refused") }
	afterWrite := func(r *http.Request) (*http.Response, error) {
		if tr := httptrace.ContextClientTrace(r.Context()); tr != nil && tr.WroteRequest != nil {
			tr.WroteRequest(httptrace.WroteRequestInfo{})
		}
		return nil, io.ErrUnexpectedEOF
	}
	failures := map[string]func(r *http.Request) (*http.Response, error){
		"429":                func(*http.Request) (*http.Response, error) { return status(429, "Retry-After", "0")() },
		"408":                func(*http.Request) (*http.Response, error) { return status(408)() },
		"500":                func(*http.Request) (*http.Response, error) { return status(500)() },
		"conn-before-write":  func(*http.Request) (*http.Response, error) { return dropBeforeWrite() },
		"conn-after-written": afterWrite,
	}
	for _, tc := range []struct {
		method string
		marked bool // replaySafe(ctx)
		want   map[string]int
	}{
		{"GET", false, map[string]int{"429": 3, "408": 3, "500": 3, "conn-before-write": 3, "conn-after-written": 3}},
		{"PUT", false, map[string]int{"429": 3, "408": 3, "500": 3, "conn-before-write": 3, "conn-after-written": 3}},
		{"DELETE", false, map[string]int{"429": 3, "408": 3, "500": 3, "conn-before-write": 3, "conn-after-written": 3}},
		{"POST", false, map[string]int{"429": 3, "408": 3, "500": 1, "conn-before-write": 3, "conn-after-written": 1}},
		{"PATCH", false, map[string]int{"429": 3, "408": 3, "500": 1, "conn-before-write": 3, "conn-after-written": 1}},
		{"PATCH", true, map[string]int{"429": 3, "408": 3, "500": 3, "conn-before-write": 3, "conn-after-written": 3}},
	} {
		for name, fn := range failures {
			t.Run(fmt.Sprintf("%s/marked=%v/%s", tc.method, tc.marked, name), func(t *testing.T) {
				var n atomic.Int32
				var bodies []string
				var mu sync.Mutex
				base := rtFunc(func(r *http.Request) (*http.Response, error) {
					n.Add(1)
					if r.Body != nil {
						b, _ := io.ReadAll(r.Body)
						mu.Lock()
						bodies = append(bodies, string(b))
						mu.Unlock()
					}
					return fn(r)
				})
				tr, _ := fakeTransport(t, base, Config{MaxAttempts: 3})
				ctx := context.Background()
				if tc.marked {
					ctx = replaySafe(ctx)
				}
				req, _ := http.NewRequestWithContext(ctx, tc.method, "https://tenant.example/api/v2/x", strings.NewReader(`{"k":"v"}`))
				if _, err := tr.RoundTrip(req); err == nil {
					t.Fatal("no error")
				}
				if got := int(n.Load()); got != tc.want[name] {
					t.Errorf("attempts = %d, want %d", got, tc.want[name])
				}
				for i, b := range bodies {
					if b != `{"k":"v"}` {
						t.Errorf("attempt %d sent body %q, want the original (GetBody replay)", i+1, b)
					}
				}
			})
		}
	}
}

// TestUnreplayableBody: a body without GetBody is sent once, never retried.
func TestUnreplayableBody(t *testing.T) {
	t.Parallel()
	var n atomic.Int32
	tr, _ := fakeTransport(t, script(&n, status(429, "Retry-After", "0")), Config{MaxAttempts: 3})
	req, _ := http.NewRequest("PUT", "https://tenant.example/api/v2/x", io.NopCloser(strings.NewReader("x")))
	req.GetBody = nil
	if _, err := tr.RoundTrip(req); err == nil {
		t.Fatal("no error")
	}
	if got := n.Load(); got != 1 {
		t.Errorf("attempts = %d, want 1", got)
	}
}

// TestRequestTimeout: a hanging attempt is cut by RequestTimeout and the
// (idempotent) request retried. The test times the attempts (heldTimers):
// it expires the timeout of the first attempt once the server holds it,
// and never the second's, which the server answers at once.
func TestRequestTimeout(t *testing.T) {
	t.Parallel()
	var n atomic.Int32
	held := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			held <- struct{}{}
			<-r.Context().Done() // until the client gives up
			return
		}
		io.WriteString(w, `{"phone_consolidated_experience":true}`)
	}))
	defer srv.Close()
	timers := &heldTimers{}
	c, err := New(t.Context(), Config{BaseURL: srv.URL, Token: testToken, RequestTimeout: time.Second, MinBackoff: time.Millisecond, MaxBackoff: time.Millisecond,
		HTTPClient: &http.Client{Transport: timers}})
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		s   phonemigrate.TenantSettings
		err error
	}
	done := make(chan result, 1)
	go func() { s, err := c.TenantSettings(t.Context()); done <- result{s, err} }()
	await(t, held, "first attempt at the server")
	timers.expire(t, time.Second)
	res := await(t, done, "answer from TenantSettings")
	if res.err != nil {
		t.Fatalf("TenantSettings: %v", res.err)
	}
	if res.s.PhoneConsolidatedExperience == nil || !*res.s.PhoneConsolidatedExperience {
		t.Errorf("settings = %+v", res.s)
	}
	if got := n.Load(); got != 2 {
		t.Errorf("attempts = %d, want 2", got)
	}
}

// cancelLatency runs one call against a server that always answers 429 with
// a long Retry-After (or behind a slow client-side rate limit), cancels the
// context once the client is waiting, and returns how long the call took to
// return after the cancel.
func cancelLatency(tb testing.TB, pace bool) (time.Duration, error) {
	tb.Helper()
	first := make(chan struct{}, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case first <- struct{}{}:
		default:
		}
		if pace {
			io.WriteString(w, `{}`)
			return
		}
		w.Header().Set("Retry-After", "20")
		w.WriteHeader(http.StatusTooManyRequests)
		io.WriteString(w, `{"statusCode":429,"message":"Global limit has been reached"}`)
	}))
	defer srv.Close()
	cfg := Config{BaseURL: srv.URL, Token: testToken}
	if pace {
		cfg.RateLimit, cfg.RateBurst = 0.01, 1 // one request per 100 s
	}
	c, err := New(context.Background(), cfg)
	if err != nil {
		tb.Fatal(err)
	}
	if pace {
		if _, err := c.TenantSettings(context.Background()); err != nil { // spends the burst
			tb.Fatal(err)
		}
		<-first
	}
	// The cancel comes once the client waits, however slow the machine:
	// a cancel before that would end the call without a wait to cut.
	tr := c.hc.Transport.(*transport)
	waiting := make(chan struct{}, 1)
	sleep := tr.sleep
	tr.sleep = func(ctx context.Context, d time.Duration) error {
		waiting <- struct{}{}
		return sleep(ctx, d) // the real wait, watching ctx
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { _, err := c.TenantSettings(ctx); done <- err }()
	if pace {
		// The pacer took its token (the bucket went below zero): it now
		// waits ~100 s, and only the context can end that.
		l := tr.limiter.Load()
		for l.Tokens() > -0.5 {
			select {
			case err := <-done:
				tb.Fatalf("the call returned (%v) without waiting for the pacer", err)
			case <-time.After(time.Millisecond):
			}
		}
	} else {
		<-first
		await(tb, waiting, "wait after the 429") // 20 s, Retry-After
	}
	cancel()
	start := time.Now()
	err = <-done
	return time.Since(start), err
}

// TestCancelDuringRateLimitWait: cancelling while waiting out a 429 (or the
// client-side pacer) returns at once with context.Canceled.
func TestCancelDuringRateLimitWait(t *testing.T) {
	t.Parallel()
	for _, pace := range []bool{false, true} {
		t.Run(map[bool]string{false: "server-429", true: "client-pacing"}[pace], func(t *testing.T) {
			d, err := cancelLatency(t, pace)
			if !errors.Is(err, context.Canceled) {
				t.Errorf("error = %v, want context.Canceled", err)
			}
			// The wait cancelled is 20 s (server) or 100 s (pacer): a
			// return within half of the shorter shows the cancel cut it,
			// however busy the machine. BenchmarkRetryTransportCancelLatency
			// measures how soon.
			t.Logf("returned %v after cancel", d)
			if d >= 10*time.Second {
				t.Errorf("returned %v after cancel: the wait was not cut", d)
			}
		})
	}
}

// BenchmarkRetryTransportCancelLatency reports how long a call waiting out a
// 429 Retry-After takes to return after its context is cancelled.
func BenchmarkRetryTransportCancelLatency(b *testing.B) {
	var total time.Duration
	for b.Loop() {
		d, err := cancelLatency(b, false)
		if !errors.Is(err, context.Canceled) {
			b.Fatal(err)
		}
		total += d
	}
	b.ReportMetric(float64(total.Microseconds())/float64(b.N), "µs-after-cancel/op")
}

// BenchmarkRetryTransportRetry measures one 429 → 200 retry with
// Retry-After: 0 over loopback HTTP.
func BenchmarkRetryTransportRetry(b *testing.B) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1)%2 == 1 {
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		io.WriteString(w, `{}`)
	}))
	defer srv.Close()
	c, err := New(context.Background(), Config{BaseURL: srv.URL, Token: testToken})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := c.TenantSettings(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}

// TestDebugLog: one record per attempt with method, path, status, attempt
// and duration; never the token, a body or a secret.
func TestDebugLog(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c, mux, _ := setup(t, func(c *Config) { c.Logger = logger })
	var n atomic.Int32
	mux.HandleFunc("POST /api/v2/branding/phone/providers", func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(429)
			io.WriteString(w, `{"message":"slow down twilio-SECRET"}`)
			return
		}
		w.WriteHeader(201)
		io.WriteString(w, `{"id":"pro_1","name":"twilio","configuration":{"sid":"AC1","default_from":"+1","delivery_methods":["text"]}}`)
	})
	_, err := c.CreatePhoneProvider(t.Context(), phonemigrate.PhoneProviderRequest{Name: "twilio",
		Configuration: phonemigrate.ProviderConfiguration{SID: "AC1", DefaultFrom: "+1", DeliveryMethods: 1}, AuthToken: "twilio-SECRET"})
	if err != nil {
		t.Fatal(err)
	}
	log := buf.String()
	for _, secret := range []string{testToken, "twilio-SECRET", "auth_token", "Authorization"} {
		if strings.Contains(log, secret) {
			t.Errorf("log contains %q:\n%s", secret, log)
		}
	}
	lines := strings.Split(strings.TrimSpace(log), "\n")
	if len(lines) != 2 {
		t.Fatalf("got %d log records, want 2:\n%s", len(lines), log)
	}
	for i, want := range []string{`"status":429`, `"status":201`} {
		for _, field := range []string{`"method":"POST"`, `"path":"/api/v2/branding/phone/providers"`, want, fmt.Sprintf(`"attempt":%d`, i+1), `"duration":`} {
			if !strings.Contains(lines[i], field) {
				t.Errorf("record %d lacks %s: %s", i+1, field, lines[i])
			}
		}
	}
}

// TestEmptyBodyWhereResultNeeded: an empty 201 for a create is an error,
// not a zero value or a panic.
func TestEmptyBodyWhereResultNeeded(t *testing.T) {
	t.Parallel()
	c, mux, _ := setup(t)
	mux.HandleFunc("POST /api/v2/branding/phone/templates", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(201) })
	mux.HandleFunc("POST /api/v2/actions/actions", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, `{"name":"x"}`) })
	if _, err := c.CreatePhoneTemplate(t.Context(), phonemigrate.PhoneTemplate{Type: "otp_verify"}); err == nil {
		t.Error("CreatePhoneTemplate with an empty 201: no error")
	}
	_, err := c.CreateAction(t.Context(), phonemigrate.ActionRequest{Name: "x", Code: "y"})
	if !errors.Is(err, ErrIncompleteResponse) {
		t.Errorf("CreateAction without id: error %v, want ErrIncompleteResponse", err)
	}
}

// TestWaitBeyondDeadline: a retry wait that would outlast the context's
// deadline is not started; the 429 comes back at once. (The deadline is
// half an hour, the wait an hour: no stall of the machine can make the
// context expire first.)
func TestWaitBeyondDeadline(t *testing.T) {
	t.Parallel()
	var n atomic.Int32
	tr, waits := fakeTransport(t, script(&n, status(429, "Retry-After", "3600")), Config{MaxRetryWait: 2 * time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", "https://tenant.example/api/v2/x", nil)
	_, err := tr.RoundTrip(req)
	var se *statusError
	if !errors.As(err, &se) || se.StatusCode != 429 {
		t.Fatalf("error = %v, want the 429", err)
	}
	if w := waits(); len(w) != 0 || n.Load() != 1 {
		t.Errorf("waits %v, attempts %d; want none, 1", w, n.Load())
	}
}

// TestPacerBeyondDeadline: when the client-side pacer cannot admit the
// request before the deadline, the error matches context.DeadlineExceeded.
func TestPacerBeyondDeadline(t *testing.T) {
	t.Parallel()
	// One request per 11 days or so: the pacer's wait for the second one
	// outlasts the hour the context allows by far.
	c, mux, _ := setup(t, func(c *Config) { c.RateLimit, c.RateBurst = 1e-6, 1 })
	mux.HandleFunc("GET /api/v2/tenants/settings", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, `{}`) })
	if _, err := c.TenantSettings(t.Context()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Hour)
	defer cancel()
	_, err := c.TenantSettings(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error = %v, want context.DeadlineExceeded", err)
	}
	// Refused at once: long before the context's deadline, whatever the
	// machine's speed (a pacer that waited would still be waiting).
	if ctx.Err() != nil {
		t.Errorf("the context expired (%v); the pacer should refuse at once", ctx.Err())
	}
}

// TestLateWroteRequest: net/http may report WroteRequest from its write
// loop after RoundTrip returned (an answer that came before the body was
// written). That late callback must not race with attempt's results; under
// -race this failed (TestFaultMatrix caught it once: attempt's named result
// was written by the callback and by the return statement).
func TestLateWroteRequest(t *testing.T) {
	t.Parallel()
	late := make(chan struct{})
	base := rtFunc(func(r *http.Request) (*http.Response, error) {
		trace := httptrace.ContextClientTrace(r.Context())
		go func() {
			time.Sleep(20 * time.Millisecond) // no synchronisation with the caller on purpose
			trace.WroteRequest(httptrace.WroteRequestInfo{})
			close(late)
		}()
		return respond(200, nil, `{}`), nil
	})
	tr, _ := fakeTransport(t, base, Config{})
	req, _ := http.NewRequest("POST", "https://tenant.example/api/v2/x", strings.NewReader(`{"k":"v"}`))
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	<-late
}

// TestBucketSyncedFromFirstAnswer: the client-side bucket restarts at the
// first answer that says how many requests the server's bucket has left,
// with that many tokens; later answers do not move it again. (The tokens
// are read from the limiter, not timed.)
func TestBucketSyncedFromFirstAnswer(t *testing.T) {
	tests := []struct {
		name      string
		remaining []string // X-RateLimit-Remaining of each answer ("" absent)
		want      float64  // tokens left after the answers, give or take refill
	}{
		{"server has fewer left than the client thinks", []string{"3", "9"}, 2}, // 3, less the second request; its 9 does not move it
		{"server has none left", []string{"0"}, 0},
		{"more than the burst counts as a full bucket", []string{"50"}, 10},
		{"no header: the first answer with one syncs", []string{"", "4"}, 4},
		{"no header at all: the client's own count", []string{"", ""}, 8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := 0
			base := rtFunc(func(*http.Request) (*http.Response, error) {
				h := http.Header{}
				if r := tt.remaining[n]; r != "" {
					h.Set("X-RateLimit-Remaining", r)
				}
				n++
				return respond(200, h, "{}"), nil
			})
			tr, _ := fakeTransport(t, base, Config{RateLimit: 0.001, RateBurst: 10}) // no refill to speak of
			for range tt.remaining {
				req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, "https://tenant.example/api/v2/x", nil)
				resp, err := tr.RoundTrip(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
			}
			if got := tr.limiter.Load().Tokens(); got < tt.want-0.01 || got > tt.want+0.01 {
				t.Errorf("tokens = %.2f, want %.0f", got, tt.want)
			}
		})
	}
}
