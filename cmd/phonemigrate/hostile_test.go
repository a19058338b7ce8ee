package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/unifiedphone/unifiedphone/phonemigrate"
	"github.com/unifiedphone/unifiedphone/phonemigrate/filestore"
	"github.com/unifiedphone/unifiedphone/phonemigrate/phonemigratetest"
)

// misbehave puts a proxy in front of srv that calls bad for requests
// matching method and path (bad returns false to pass the request on).
func misbehave(t *testing.T, srv *phonemigratetest.Server, method, path string, bad func(w http.ResponseWriter, r *http.Request) bool) string {
	t.Helper()
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	p := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == method && r.URL.Path == path && bad(w, r) {
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(p.Close)
	return p.URL + "/api/v2"
}

// runCLI runs phonemigrate with args in dir with env (runCLIIn).
func runCLI(t *testing.T, dir string, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	ctx, cancel := context.WithTimeout(t.Context(), cliTimeout)
	defer cancel()
	code = runCLIIn(ctx, t, dir, env, &out, &errb, args...)
	return code, out.String(), errb.String()
}

// TestMalformedAnswerAfterWrites: a null 2xx answer to a write in the
// middle of apply is an error, not a panic: exit 1, the checkpoint saved in
// state failed, and the next apply finishes the migration.
func TestMalformedAnswerAfterWrites(t *testing.T) {
	t.Parallel()
	srv := phonemigratetest.NewUnstartedServer(phonemigratetest.LegacyGateway, phonemigratetest.WithActionBuild(5*time.Millisecond, 1))
	srv.Start()
	defer srv.Close()
	dir := t.TempDir()
	var nulls atomic.Int32
	base := misbehave(t, srv, "POST", "/api/v2/branding/phone/providers", func(w http.ResponseWriter, r *http.Request) bool {
		if nulls.Add(1) > 1 {
			return false
		}
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, "null")
		return true
	})
	env := map[string]string{envBaseURL: base, envToken: srv.Token, envWatch: "0"}
	apply := []string{"apply", "--yes", "--skip-test", "--quiet", "--poll-interval", "5ms", "--checkpoint", "cp.json"}
	code, _, stderr := runCLI(t, dir, env, apply...)
	if code != exitFailed {
		t.Fatalf("apply exit %d, want %d; stderr: %s", code, exitFailed, stderr)
	}
	if !strings.Contains(stderr, "malformed response: the server answered 200 with null") || strings.Contains(stderr, "Nothing was written") || strings.Contains(stderr, "panic") {
		t.Errorf("stderr = %q", stderr)
	}
	cp, err := filestore.New(filepath.Join(dir, "cp.json")).Load(t.Context())
	if err != nil {
		t.Fatalf("checkpoint: %v", err)
	}
	if cp.State != phonemigrate.StateFailed || cp.Created.ActionID == "" {
		t.Errorf("checkpoint state %s, created %+v; want failed after the Action was created", cp.State, cp.Created)
	}
	if code, _, stderr := runCLI(t, dir, env, apply...); code != exitOK {
		t.Errorf("resumed apply exit %d; stderr: %s", code, stderr)
	}
}

// TestHungEndpoint: an endpoint that never answers fails the command with
// a sentence naming the flag to raise, after the configured (here short)
// timeout, not never. The other timeout of each case is a minute.
//
// The command's timeouts are on a clock the test holds
// ($PHONEMIGRATE_TEST_CUT_WHEN_HELD, cut_test.go): none of any other
// request ever expires, and the shortest armed one of a GET /connections
// attempt expires once the hung endpoint holds that attempt. So the hung
// request is the one cut whatever the machine's speed, and the error must
// say so: by its path and by the short timeout (never the minute).
func TestHungEndpoint(t *testing.T) {
	t.Parallel()
	srv := phonemigratetest.NewServer(phonemigratetest.LegacyGateway)
	t.Cleanup(srv.Close) // after the parallel subtests
	for _, tc := range []struct {
		name, flag, cut string
		timeouts        []string
		// hang starts holding the request (it then blocks until the
		// client hangs up).
		hang func(w http.ResponseWriter, r *http.Request)
	}{
		{"no headers", "--header-timeout", "no response headers from the server within 40ms",
			[]string{"--header-timeout", "40ms", "--request-timeout", "1m"}, func(w http.ResponseWriter, r *http.Request) {}},
		{"stalled body", "--request-timeout", "no complete answer from the server within 80ms",
			[]string{"--header-timeout", "1m", "--request-timeout", "80ms"}, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Length", "1000")
				w.WriteHeader(200)
				io.WriteString(w, `{"connections":[`)
				w.(http.Flusher).Flush()
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// held passes each request the endpoint holds to the command's
			// question "is it held?" (GET on the URL below), once.
			held := make(chan struct{})
			var holds, told atomic.Int32
			base := misbehave(t, srv, "GET", "/api/v2/connections", func(w http.ResponseWriter, r *http.Request) bool {
				holds.Add(1)
				tc.hang(w, r)
				select {
				case held <- struct{}{}:
				case <-r.Context().Done():
					return true
				}
				<-r.Context().Done()
				return true
			})
			ask := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				select {
				case <-held:
					told.Add(1)
				case <-r.Context().Done(): // the attempt ended otherwise
				}
			}))
			t.Cleanup(ask.Close)
			env := map[string]string{envBaseURL: base, envToken: srv.Token, envWatch: "0",
				envCutWhenHeld: "GET /api/v2/connections " + ask.URL}
			code, _, stderr := runCLI(t, t.TempDir(), env, append([]string{"plan", "--skip-test", "--quiet"}, tc.timeouts...)...)
			if code != exitFailed {
				t.Fatalf("exit %d; stderr: %s", code, stderr)
			}
			if !strings.Contains(stderr, "from the server within") || !strings.Contains(stderr, "raise "+tc.flag) || strings.Count(stderr, "\n") != 1 {
				t.Errorf("stderr = %q, want one sentence naming %s", stderr, tc.flag)
			}
			// The minute-long timeout cannot have ended the command (it
			// never expires here): the short one, on the hung request, did.
			if want := "GET /connections: " + tc.cut; !strings.Contains(stderr, want) {
				t.Errorf("stderr = %q, want the hung request cut by %s: %q", stderr, tc.flag, want)
			}
			// Every attempt the endpoint held was cut once held (GETs are
			// retried after a timeout).
			if h, c := holds.Load(), told.Load(); h == 0 || h != c {
				t.Errorf("the endpoint held %d attempts and the command was told of %d; want the same, at least 1", h, c)
			}
		})
	}
}
