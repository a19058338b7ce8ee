package auth0api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/unifiedphone/unifiedphone/phonemigrate"
)

// endpointSecrets are the secret values endpoints(t) sends: the bearer
// token, the Twilio auth token of the provider requests, the Action secret
// and the gateway secret inside the connection options.
var endpointSecrets = []string{testToken, "twilio-SECRET", "gw-SECRET", "gw-secret"}

// hasControl reports whether s holds a C0/C1 control character.
func hasControl(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f || r >= 0x80 && r <= 0x9f })
}

// leaks returns the secrets (in any form a server could echo them) found
// in texts.
func leaks(secrets []string, texts ...string) []string {
	var out []string
	for _, s := range secrets {
		forms := []string{s, url.QueryEscape(s), strings.Trim(fmt.Sprintf("%q", s), `"`)}
		for _, text := range texts {
			for _, f := range forms {
				if strings.Contains(text, f) {
					out = append(out, fmt.Sprintf("%q (as %q) in %q", s, f, text))
				}
			}
		}
	}
	return out
}

// TestEchoedRequestRedacted drives every Client method against a server
// that answers each request with an error whose message (and errorCode)
// echoes the whole request — Authorization header and body, as
// schema-validation errors do — plus a terminal escape sequence. No secret
// value may reach the error's text or fields, nor a control character.
func TestEchoedRequestRedacted(t *testing.T) {
	t.Parallel()
	for _, status := range []int{400, 503} {
		for _, ep := range endpoints(t) {
			t.Run(fmt.Sprintf("%d/%s", status, ep.name), func(t *testing.T) {
				c, mux, _ := setup(t, func(c *Config) { c.MaxAttempts = 1 })
				mux.HandleFunc(ep.method+" /api/v2"+ep.path, func(w http.ResponseWriter, r *http.Request) {
					body, _ := io.ReadAll(r.Body)
					echo := "\x1b[31mbad request\x1b]0;title\x07 " + r.Header.Get("Authorization") + " " + string(body)
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(status)
					json.NewEncoder(w).Encode(map[string]any{"statusCode": status, "message": echo, "errorCode": echo})
				})
				_, err := ep.call(t.Context(), c)
				var ae *phonemigrate.APIError
				if !errors.As(err, &ae) {
					t.Fatalf("error %v (%T) is not a *phonemigrate.APIError", err, err)
				}
				if l := leaks(endpointSecrets, err.Error(), ae.Message, ae.ErrorCode); len(l) > 0 {
					t.Errorf("secrets leaked: %v", l)
				}
				if hasControl(err.Error()) {
					t.Errorf("error %q holds control characters", err)
				}
				if !strings.Contains(ae.Message, "bad request") {
					t.Errorf("message %q lost the server's words", ae.Message)
				}
			})
		}
	}
}

// TestTokenEndpointEchoRedacted: a token endpoint whose error_description
// (or message) echoes the posted form — the client secret URL-encoded —
// gives a TokenError without it.
func TestTokenEndpointEchoRedacted(t *testing.T) {
	t.Parallel()
	const secret = `cs/SECRET+&="x"`
	for _, status := range []int{400, 401, 500} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			srv, _ := tokenServer(t, func(i int, w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				form, _ := url.ParseQuery(string(body))
				echo := string(body) + " decoded: " + form.Get("client_secret") + "\x1b[2J"
				w.WriteHeader(status)
				json.NewEncoder(w).Encode(map[string]any{"error": "invalid_request " + echo, "error_description": echo, "message": echo})
			})
			_, err := New(t.Context(), Config{BaseURL: srv.URL, ClientID: "cid", ClientSecret: secret, MaxAttempts: 1})
			var te *TokenError
			if !errors.As(err, &te) {
				t.Fatalf("error %v (%T) is not a *TokenError", err, err)
			}
			if l := leaks([]string{secret}, err.Error(), te.Description, te.ErrorCode); len(l) > 0 {
				t.Errorf("secret leaked: %v", l)
			}
			if hasControl(err.Error()) {
				t.Errorf("error %q holds control characters", err)
			}
		})
	}
}

// redirectTarget is a server that must receive nothing: the target of a
// redirect.
func redirectTarget(t *testing.T) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		t.Errorf("redirect followed: %s %s with Authorization %q", r.Method, r.URL, r.Header.Get("Authorization"))
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

// TestRedirectsRefused: neither an API call nor the token request follows
// a redirect, whatever its target (another port of 127.0.0.1, or the same
// server), so no credential is sent twice or elsewhere, and the error names
// the target's host only.
func TestRedirectsRefused(t *testing.T) {
	t.Parallel()
	other, got := redirectTarget(t)
	for _, status := range []int{301, 302, 303, 307, 308} {
		for _, target := range []string{"other", "same"} {
			t.Run(fmt.Sprintf("api/%d/%s", status, target), func(t *testing.T) {
				var hits atomic.Int32
				mux := http.NewServeMux()
				srv := httptest.NewServer(mux)
				t.Cleanup(srv.Close)
				loc := other.URL + "/api/v2/tenants/settings?token=" + testToken
				if target == "same" {
					loc = srv.URL + "/api/v2/again"
				}
				mux.HandleFunc("/api/v2/tenants/settings", func(w http.ResponseWriter, r *http.Request) {
					hits.Add(1)
					http.Redirect(w, r, loc, status)
				})
				mux.HandleFunc("/api/v2/again", func(w http.ResponseWriter, r *http.Request) {
					t.Errorf("same-host redirect followed")
				})
				c, err := New(t.Context(), Config{BaseURL: srv.URL + "/api/v2", Token: testToken, MinBackoff: time.Millisecond, MaxBackoff: time.Millisecond})
				if err != nil {
					t.Fatal(err)
				}
				_, err = c.TenantSettings(t.Context())
				if !errors.Is(err, ErrRedirect) {
					t.Fatalf("error %v does not match ErrRedirect", err)
				}
				if strings.Contains(err.Error(), testToken) || strings.Contains(err.Error(), "/api/v2/again") {
					t.Errorf("error %q names more than the target host", err)
				}
				if n := hits.Load(); n != 1 {
					t.Errorf("redirecting endpoint hit %d times, want 1 (a redirect is not retried)", n)
				}
			})
		}
		t.Run(fmt.Sprintf("token/%d", status), func(t *testing.T) {
			srv, _ := tokenServer(t, func(i int, w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, other.URL+"/oauth/token", status)
			})
			_, err := New(t.Context(), Config{BaseURL: srv.URL, ClientID: "cid", ClientSecret: "cs-SECRET", MaxAttempts: 2, MinBackoff: time.Millisecond, MaxBackoff: time.Millisecond})
			if !errors.Is(err, ErrRedirect) {
				t.Fatalf("error %v does not match ErrRedirect", err)
			}
		})
	}
	if n := got.Load(); n != 0 {
		t.Errorf("the redirect target received %d requests", n)
	}
}

// TestCallerCheckRedirectIgnored: even an HTTPClient whose CheckRedirect
// allows every redirect does not make the client follow one.
func TestCallerCheckRedirectIgnored(t *testing.T) {
	t.Parallel()
	other, got := redirectTarget(t)
	c, mux, _ := setup(t, func(c *Config) {
		c.HTTPClient = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return nil }}
	})
	mux.HandleFunc("/api/v2/tenants/settings", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/x", http.StatusTemporaryRedirect)
	})
	if _, err := c.TenantSettings(t.Context()); !errors.Is(err, ErrRedirect) {
		t.Fatalf("error %v does not match ErrRedirect", err)
	}
	if got.Load() != 0 {
		t.Error("redirect followed")
	}
}

// TestTimeouts: a server that never sends headers is cut by the
// response-header timeout, and one that stalls in the middle of the body
// by the per-attempt timeout, each attempt, with a *TimeoutError that
// matches context.DeadlineExceeded.
//
// The test times the attempts (heldTimers): once the server holds an
// attempt (or the client reads its stalled body) it makes the timeouts
// expire in the case's order, and the first that may cut the attempt must.
// The header timeout expiring after the headers arrived must not cut it.
// So a busy machine cannot cut an attempt before it reached the server,
// nor let the other timeout come first. The cases marked real run again on
// the real clock, with the other timeout a minute: the attempts end long
// before it only because the one under test cut them (their attempts are
// counted as the client sends them: a real timeout may cut one before the
// server sees it).
func TestTimeouts(t *testing.T) {
	t.Parallel()
	const short = 60 * time.Millisecond
	stall := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100")
		w.WriteHeader(200)
		io.WriteString(w, `{"phone_consolidated_experience":`)
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}
	for _, tc := range []struct {
		name    string
		cfg     func(*Config)
		handler func(w http.ResponseWriter, r *http.Request)
		what    string
		after   time.Duration // the timeout that must cut each attempt
		message string
		// expire is the order the test lets the timeouts expire in, each
		// attempt, once the server holds it or, with body, once the client
		// reads the answer's body.
		expire []time.Duration
		body   bool
		real   bool // also on the real clock
	}{
		{
			name:    "no headers",
			cfg:     func(c *Config) { c.ResponseHeaderTimeout = short; c.RequestTimeout = time.Minute },
			handler: func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() },
			what:    "response headers", after: short, message: "60ms",
			expire: []time.Duration{short}, real: true,
		},
		{
			name:    "stalled body",
			cfg:     func(c *Config) { c.ResponseHeaderTimeout = time.Minute; c.RequestTimeout = short },
			handler: stall,
			what:    "complete answer", after: short, message: "60ms",
			expire: []time.Duration{short}, body: true, real: true,
		},
		{
			// The headers arrived, so the (shorter) header timeout no
			// longer applies when it expires.
			name:    "stalled body, shorter header timeout",
			cfg:     func(c *Config) { c.ResponseHeaderTimeout = 500 * time.Millisecond; c.RequestTimeout = time.Second },
			handler: stall,
			what:    "complete answer", after: time.Second, message: "1s",
			expire: []time.Duration{500 * time.Millisecond, time.Second}, body: true,
		},
	} {
		check := func(t *testing.T, err error, attempts int32) {
			t.Helper()
			var te *TimeoutError
			if !errors.As(err, &te) || te.What != tc.what || te.After != tc.after {
				t.Fatalf("error %v (%T), want a TimeoutError for %s after %v", err, err, tc.what, tc.after)
			}
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("error %v does not match context.DeadlineExceeded", err)
			}
			want := "auth0api: GET /tenants/settings: no " + tc.what + " from the server within " + tc.message
			if err.Error() != want {
				t.Errorf("error = %q, want %q", err, want)
			}
			if attempts != 3 {
				t.Errorf("attempts = %d, want 3 (a GET is retried after a timeout)", attempts)
			}
		}
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var tries atomic.Int32
			held := make(chan struct{})
			timers := &heldTimers{reading: make(chan struct{})}
			c, mux, _ := setup(t, tc.cfg, func(c *Config) { c.HTTPClient = &http.Client{Transport: timers} })
			mux.HandleFunc("GET /api/v2/tenants/settings", func(w http.ResponseWriter, r *http.Request) {
				tries.Add(1)
				if !tc.body {
					held <- struct{}{}
				}
				tc.handler(w, r)
			})
			done := make(chan error, 1)
			go func() { _, err := c.TenantSettings(t.Context()); done <- err }()
			for range 3 {
				if tc.body {
					await(t, timers.reading, "read of the body")
				} else {
					await(t, held, "attempt at the server")
				}
				for _, d := range tc.expire {
					timers.expire(t, d)
				}
			}
			check(t, await(t, done, "answer from TenantSettings"), tries.Load())
		})
		if !tc.real {
			continue
		}
		t.Run("real clock, "+tc.name, func(t *testing.T) {
			t.Parallel()
			var sent atomic.Int32
			count := rtFunc(func(r *http.Request) (*http.Response, error) {
				sent.Add(1)
				return http.DefaultTransport.RoundTrip(r)
			})
			c, mux, _ := setup(t, tc.cfg, func(c *Config) { c.HTTPClient = &http.Client{Transport: count} })
			mux.HandleFunc("GET /api/v2/tenants/settings", tc.handler)
			start := time.Now()
			_, err := c.TenantSettings(t.Context())
			elapsed := time.Since(start)
			check(t, err, sent.Load())
			if elapsed >= time.Minute {
				t.Errorf("took %v: the minute-long timeout, not the one under test, ended an attempt", elapsed)
			}
		})
	}
}

// TestResponseBodyCapped: a 2xx or error answer larger than
// MaxResponseBody fails with ErrResponseTooLarge after reading at most that
// much, whether or not it declares its length.
func TestResponseBodyCapped(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name          string
		status        int
		declareLength bool
	}{
		{"200 streamed 1 GiB", 200, false},
		{"200 declared 1 GiB", 200, true},
		{"400 streamed 1 GiB", 400, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var sent atomic.Int64
			c, mux, _ := setup(t, func(c *Config) { c.MaxAttempts = 1 })
			mux.HandleFunc("GET /api/v2/tenants/settings", func(w http.ResponseWriter, r *http.Request) {
				if tc.declareLength {
					w.Header().Set("Content-Length", fmt.Sprint(1<<30))
				}
				w.WriteHeader(tc.status)
				chunk := []byte(`{"x":"` + strings.Repeat("a", 64<<10-8) + `"},`)
				for sent.Load() < 1<<30 {
					n, err := w.Write(chunk)
					sent.Add(int64(n))
					if err != nil {
						return
					}
				}
			})
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			_, err := c.TenantSettings(t.Context())
			runtime.ReadMemStats(&after)
			if !errors.Is(err, ErrResponseTooLarge) {
				t.Fatalf("error %v does not match ErrResponseTooLarge", err)
			}
			alloc := after.TotalAlloc - before.TotalAlloc
			if alloc > 64<<20 {
				t.Errorf("allocated %d MiB for a capped answer", alloc>>20)
			}
			t.Logf("1 GiB answer refused after %d MiB sent, %d MiB allocated", sent.Load()>>20, alloc>>20)
		})
	}
}

// TestMalformedAnswers: null and other malformed 2xx answers to every
// method are errors, never panics; null answers to requests whose answer
// is not used are accepted like empty ones.
func TestMalformedAnswers(t *testing.T) {
	t.Parallel()
	for _, body := range []string{"null", " null\n", `"text"`, `[1,2]`, `{"connections":`, `42`} {
		for _, ep := range endpoints(t) {
			t.Run(fmt.Sprintf("%s/%s", body, ep.name), func(t *testing.T) {
				c, mux, _ := setup(t)
				mux.HandleFunc(ep.method+" /api/v2"+ep.path, func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Content-Type", "application/json")
					io.WriteString(w, body)
				})
				var err error
				func() {
					defer func() {
						if p := recover(); p != nil {
							t.Fatalf("panic: %v", p)
						}
					}()
					_, err = ep.call(t.Context(), c)
				}()
				ignoresAnswer := map[string]bool{"DeletePhoneProvider": true, "DeletePhoneTemplate": true, "DeleteAction": true}[ep.name]
				nullOK := strings.TrimSpace(body) == "null" && map[string]bool{
					"SetPhoneConsolidatedExperience": true, "SetPhoneMessageTypes": true, "TestPhoneProvider": true, "DeployAction": true,
				}[ep.name]
				if err == nil && !ignoresAnswer && !nullOK {
					t.Errorf("answer %q accepted", body)
				}
				if strings.TrimSpace(body) == "null" && err != nil && !ignoresAnswer && !errors.Is(err, ErrMalformedResponse) {
					t.Errorf("error %v does not match ErrMalformedResponse", err)
				}
			})
		}
	}
}
