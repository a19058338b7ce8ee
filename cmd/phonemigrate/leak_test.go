package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/unifiedphone/unifiedphone/phonemigrate/phonemigratetest"
)

// leakSentinels are distinctive values for every secret the CLI handles.
var leakSentinels = phonemigratetest.Secrets{
	ManagementToken: "SENTINEL-CLI-MGMT-3f9a1c",
	ClientSecret:    "SENTINEL-CLI-CLIENT-SECRET-b27d40",
	TwilioAuthToken: "SENTINEL-CLI-TWILIO-81e6c5",
	GatewaySecret:   "SENTINEL-CLI-GATEWAY-0c4f9e",
	GatewayURLKey:   "SENTINEL-CLI-GWURLKEY-6b2a17",
}

// leakForms are the strings that must never appear: each sentinel, the
// encoded forms secrets travel in, and the common prefix.
func leakForms() []string { return append(leakSentinels.Forms(), "SENTINEL") }

// TestNoSecretLeaksCLI runs every scenario through the CLI — plan (text and
// JSON), a failing apply with --verbose, status, the resumed apply with
// --json and --verbose, export (every format), rollback, snapshot and its
// rehearsal, action on the legacy options, a fleet —
// with sentinel values for every secret (management token, then client
// secret; TWILIO_AUTH_TOKEN; the gateway secret in the scenario), and
// checks that none appears in stdout, stderr (debug logs and error text
// included), checkpoints or any file written.
func TestNoSecretLeaksCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("runs every scenario end to end")
	}
	t.Parallel()
	for _, sc := range phonemigratetest.Scenarios() {
		for _, creds := range []string{"token", "client-credentials"} {
			t.Run(string(sc)+"/"+creds, func(t *testing.T) {
				t.Parallel()
				srv := phonemigratetest.NewUnstartedServer(sc, phonemigratetest.WithActionBuild(5*time.Millisecond, 1))
				srv.UseSecrets(leakSentinels)
				srv.Start()
				defer srv.Close()
				dir := t.TempDir()
				env := map[string]string{envBaseURL: srv.BaseURL, envWatch: "0"}
				if creds == "token" {
					env[envToken] = leakSentinels.ManagementToken
					env[envTwilioToken] = leakSentinels.TwilioAuthToken
				} else {
					// No TWILIO_AUTH_TOKEN: the legacy token is carried
					// over from the tenant, which is scanned for too.
					env[envClientID], env[envClientSecret] = srv.ClientID, leakSentinels.ClientSecret
				}
				var all bytes.Buffer
				cli := recordCLI(t, dir, env, &all, true)
				apply := []string{"apply", "--yes", "--verbose", "--poll-interval", "5ms", "--test-to", "+15551230001", "--twilio-api-url", srv.Twilio().URL, "--checkpoint", "cp.json"}

				cli("plan", "--skip-test")
				cli("plan", "--skip-test", "--json", "--verbose")
				srv.InjectFault(phonemigratetest.Fault{Method: "PATCH", Path: "/tenants/settings", Status: 500})
				cli(apply...)
				cli("status", "--checkpoint", "cp.json")
				cli("status", "--checkpoint", "cp.json", "--json")
				srv.ClearFaults()
				if code := cli(append(apply, "--json")...); code == 0 && sc != phonemigratetest.Unified {
					// The sentinels were really used: users get codes.
					for _, kind := range []string{"passwordless", "mfa"} {
						res, err := srv.Notify(t.Context(), phonemigratetest.NotifyRequest{Kind: kind, Recipient: "+15557654321"})
						if err == nil && res.Route != phonemigratetest.RouteNone && !res.Delivered {
							t.Errorf("%s after the migration not delivered: %s", kind, res.Detail)
						}
					}
				}
				// The migrated tenant exported as code (its connections still
				// hold the gateway secret); the files are scanned below.
				cli("export", "--format", "terraform", "--out", "tf", "--verbose")
				cli("export", "--format", "deploy-cli", "--out", "dc", "--verbose")
				cli("export", "--format", "deploy-cli", "--layout", "directory", "--out", "dcdir")
				cli("rollback", "--yes", "--verbose", "--json", "--checkpoint", "cp.json")
				// The tenant logs of every delivery above, read back.
				cli("watch", "--since", "1h", "--verbose", "--checkpoint", "cp.json")
				cli("watch", "--since", "1h", "--json", "--checkpoint", "cp.json")

				// A snapshot replaces every secret by a placeholder; the
				// rehearsal of it holds none either.
				cli("snapshot", "--verbose")
				cli("snapshot", "--out", "snap.json")
				cli("rehearse", "snap.json", "--skip-test", "--verbose")
				cli("rehearse", "snap.json", "--skip-test", "--json")

				// The legacy options (they hold the gateway secret) through
				// the action command.
				for _, c := range srv.State().Connections {
					if c.Strategy != "sms" {
						continue
					}
					b, err := json.Marshal(c.Options)
					if err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(filepath.Join(dir, "options.json"), b, 0o600); err != nil {
						t.Fatal(err)
					}
					cli("action", "--options", "options.json")
					cli("action", "--options", "options.json", "--json")
					if err := os.Remove(filepath.Join(dir, "options.json")); err != nil {
						t.Fatal(err)
					}
				}

				// A fleet of this tenant, credentials by env var name.
				fleetFile := fmt.Sprintf(`[{"name": "t", "base_url": %q, %s, "checkpoint": "fleet-cp.json", "options": {"skip_test": true, "twilio_api_url": %q}}]`,
					srv.BaseURL, map[string]string{"token": `"token_env": "AUTH0_TOKEN"`, "client-credentials": `"client_id_env": "AUTH0_CLIENT_ID", "client_secret_env": "AUTH0_CLIENT_SECRET"`}[creds], srv.Twilio().URL)
				if err := os.WriteFile(filepath.Join(dir, "fleet.json"), []byte(fleetFile), 0o600); err != nil {
					t.Fatal(err)
				}
				cli("apply", "--yes", "--verbose", "--fleet", "fleet.json")
				cli("apply", "--yes", "--json", "--fleet", "fleet.json")

				// Every file the runs left (checkpoints, locks, ...).
				err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
					if err != nil || d.IsDir() {
						return err
					}
					b, err := os.ReadFile(path)
					rel, _ := filepath.Rel(dir, path)
					fmt.Fprintf(&all, "== file %s\n%s\n", rel, b)
					return err
				})
				if err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(all.String(), "level=DEBUG") {
					t.Error("no debug log was captured; --verbose output is not being scanned")
				}
				assertNoLeak(t, all.String(), leakForms()...)
			})
		}
	}
}

// echoProxy sits in front of a fake tenant and answers the first request
// of each mutating method and path (and the first token request) with an
// error whose message, errorCode and error_description echo the whole
// request — Authorization header and body, as schema-validation errors do —
// plus terminal escape sequences; everything else is passed through.
type echoProxy struct {
	*httptest.Server
	mu     sync.Mutex
	echoed map[string]bool
	auth   []string // Authorization values seen (access tokens included)
}

func newEchoProxy(t *testing.T, target string) *echoProxy {
	t.Helper()
	return newEchoProxyQuoting(t, target)
}

// newEchoProxyQuoting is newEchoProxy whose messages quote the named
// top-level fields of a JSON body first, as a validation error names the
// offending field — so a secret deep in a long body (an Action's secrets
// after its code) is inside the part of the message that is printed.
func newEchoProxyQuoting(t *testing.T, target string, fields ...string) *echoProxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	p := &echoProxy{echoed: map[string]bool{}}
	rp := httputil.NewSingleHostReverseProxy(u)
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.Method + " " + r.URL.Path
		p.mu.Lock()
		if a := r.Header.Get("Authorization"); a != "" {
			p.auth = append(p.auth, strings.TrimPrefix(a, "Bearer "))
		}
		echo := r.Method != http.MethodGet && !p.echoed[key]
		p.echoed[key] = true
		p.mu.Unlock()
		if !echo {
			rp.ServeHTTP(w, r)
			return
		}
		body, _ := io.ReadAll(r.Body)
		quoted := ""
		var obj map[string]json.RawMessage
		if json.Unmarshal(body, &obj) == nil {
			for _, f := range fields {
				if v, ok := obj[f]; ok {
					quoted += f + ": " + string(v) + " "
				}
			}
		}
		text := "\x1b[31minvalid request\x1b]0;owned\x07 " + quoted + r.Header.Get("Authorization") + " " + string(body)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		json.NewEncoder(w).Encode(map[string]any{"statusCode": 400, "error": text, "error_description": text, "message": text, "errorCode": text})
	}))
	t.Cleanup(p.Close)
	return p
}

// TestEchoingServerLeaksNothing drives every mutating request of apply and
// rollback (and the token request) through a server that echoes the request
// in its error message, resuming until each finishes, and scans stdout,
// stderr, --json output, status and every file for each secret and for
// escape characters. The secrets include an apikey in the gateway URL and,
// with client credentials, the Twilio token carried over from the tenant
// (Guardian's in mfa-twilio).
func TestEchoingServerLeaksNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("runs migrations end to end")
	}
	t.Parallel()
	for _, sc := range []phonemigratetest.Scenario{phonemigratetest.LegacyGateway, phonemigratetest.LegacyTwilio, phonemigratetest.MFATwilio} {
		for _, creds := range []string{"token", "client-credentials"} {
			t.Run(string(sc)+"/"+creds, func(t *testing.T) {
				t.Parallel()
				srv := phonemigratetest.NewUnstartedServer(sc, phonemigratetest.WithActionBuild(5*time.Millisecond, 1))
				srv.UseSecrets(leakSentinels)
				srv.Start()
				defer srv.Close()
				proxy := newEchoProxy(t, srv.URL)
				dir := t.TempDir()
				env := map[string]string{envBaseURL: proxy.URL + "/api/v2", envWatch: "0"}
				if creds == "token" {
					env[envToken] = leakSentinels.ManagementToken
					env[envTwilioToken] = leakSentinels.TwilioAuthToken
				} else {
					// No TWILIO_AUTH_TOKEN: the legacy token (Guardian's in
					// mfa-twilio) is carried over, and echoed back.
					env[envClientID], env[envClientSecret] = srv.ClientID, leakSentinels.ClientSecret
				}
				var all bytes.Buffer
				cli := recordCLI(t, dir, env, &all, false)
				until := func(args ...string) {
					for range 25 {
						if cli(args...) == 0 {
							cli("status", "--checkpoint", "cp.json")
							return
						}
						cli("status", "--checkpoint", "cp.json")
						cli("status", "--checkpoint", "cp.json", "--json")
					}
					t.Fatalf("phonemigrate %s never succeeded:\n%s", args[0], all.String())
				}
				until("apply", "--yes", "--json", "--verbose", "--poll-interval", "5ms", "--test-to", "+15551230001", "--twilio-api-url", srv.Twilio().URL, "--checkpoint", "cp.json")
				until("rollback", "--yes", "--json", "--checkpoint", "cp.json")
				appendFiles(&all, dir)
				proxy.mu.Lock()
				echoes := len(proxy.echoed)
				forms := append(leakForms(), proxy.auth...)
				proxy.mu.Unlock()
				if echoes < 8 {
					t.Errorf("only %d requests were echoed", echoes)
				}
				if !strings.Contains(all.String(), "invalid request") || !strings.Contains(all.String(), "[redacted]") {
					t.Errorf("the echoed messages did not reach the output; the scan proves nothing:\n%s", all.String())
				}
				assertNoLeak(t, all.String(), forms...)
				if i := strings.IndexAny(all.String(), "\x1b\x07"); i >= 0 {
					t.Errorf("an escape sequence reached the output: ...%q...", all.String()[max(0, i-100):min(all.Len(), i+50)])
				}
			})
		}
	}
}

// recordCLI returns a function that runs the CLI in dir with env (in its
// own process: see runCLIIn), appends each command, its exit code and all
// its output to all (which the leak tests then scan), optionally logs a
// one-line summary, and returns the exit code.
func recordCLI(t *testing.T, dir string, env map[string]string, all *bytes.Buffer, logSummary bool) func(args ...string) int {
	return func(args ...string) int {
		var stdout, stderr bytes.Buffer
		ctx, cancel := context.WithTimeout(t.Context(), cliTimeout)
		defer cancel()
		code := runCLIIn(ctx, t, dir, env, &stdout, &stderr, args...)
		fmt.Fprintf(all, "$ %s -> %d\n%s%s", strings.Join(args, " "), code, stdout.String(), stderr.String())
		if logSummary {
			t.Logf("phonemigrate %s -> exit %d (%d bytes out, %d err)", args[0], code, stdout.Len(), stderr.Len())
		}
		return code
	}
}

// cliTimeout bounds one phonemigrate command of a test. It only matters
// when a command hangs: under -race on a busy machine a legitimate run
// (TestPagingBudget's megabytes of pages) takes over a minute.
const cliTimeout = 5 * time.Minute

// runCLIIn runs the phonemigrate command (this test binary, which
// testscript.Main installs as phonemigrate) with args in dir and returns
// its exit code. Of the variables phonemigrate reads (AUTH0_*,
// PHONEMIGRATE_*, TWILIO_*) it sees only env's, as the in-process run
// with env would. Its own process and working directory let the tests
// that use it run in parallel (t.Chdir is process-wide).
func runCLIIn(ctx context.Context, t *testing.T, dir string, env map[string]string, stdout, stderr io.Writer, args ...string) int {
	t.Helper()
	pm, err := exec.LookPath("phonemigrate")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, pm, args...)
	cmd.Dir = dir
	cmd.Env = cleanEnv(env)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	err = cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee) && ee.ExitCode() >= 0:
		return ee.ExitCode()
	default:
		t.Fatalf("phonemigrate %s: %v", strings.Join(args, " "), err)
		return -1
	}
}

// appendFiles adds every file under dir (checkpoints, locks, exports, ...)
// to all, named relative to dir, for a leak scan; unreadable ones are
// skipped.
func appendFiles(all *bytes.Buffer, dir string) {
	filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := os.ReadFile(path)
			rel, _ := filepath.Rel(dir, path)
			fmt.Fprintf(all, "== file %s\n%s\n", rel, b)
		}
		return nil
	})
}
