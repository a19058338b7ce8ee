package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/unifiedphone/unifiedphone/phonemigrate/phonemigratetest"
)

// scanFiles appends every file under dir to all, for a leak scan.
func scanFiles(t *testing.T, dir string, all *bytes.Buffer) {
	t.Helper()
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		fmt.Fprintf(all, "== file %s\n%s\n", path, b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// assertNoLeak fails for each form found in text, showing where with the
// secret masked.
func assertNoLeak(t *testing.T, text string, forms ...string) {
	t.Helper()
	for _, f := range forms {
		if i := strings.Index(text, f); f != "" && i >= 0 {
			lo, hi := max(0, i-200), min(len(text), i+len(f)+50)
			t.Errorf("a secret form leaked:\n...%s...", strings.ReplaceAll(text[lo:hi], f, "<SECRET>"))
		}
	}
}

// echoingTwilio is a Twilio API that answers every request 401 with a
// message echoing the Basic authorization it received, decoded.
func echoingTwilio(t *testing.T) *httptest.Server {
	t.Helper()
	tw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, _ := r.BasicAuth()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		json.NewEncoder(w).Encode(map[string]any{"code": 20003, "status": 401,
			"message": "Authenticate: bad credentials " + user + ":" + pass + " (" + r.Header.Get("Authorization") + ")"})
	}))
	t.Cleanup(tw.Close)
	return tw
}

// TestGuardianTwilioTokenRedacted (#23 item 4): the Twilio token carried
// over from Guardian's legacy settings is a secret from the moment it is
// read, so a Twilio 401 that echoes the credentials leaks it neither on
// stderr, nor in --json, nor in the checkpoint, nor in fleet output.
func TestGuardianTwilioTokenRedacted(t *testing.T) {
	t.Parallel()
	for _, sc := range []phonemigratetest.Scenario{phonemigratetest.MFATwilio, phonemigratetest.Mixed} {
		t.Run(string(sc), func(t *testing.T) {
			t.Parallel()
			srv := phonemigratetest.NewUnstartedServer(sc, phonemigratetest.WithActionBuild(5*time.Millisecond, 1))
			srv.UseSecrets(leakSentinels)
			srv.Start()
			defer srv.Close()
			tw := echoingTwilio(t)
			dir := t.TempDir()
			// No TWILIO_AUTH_TOKEN: the Guardian token is carried over.
			env := map[string]string{envBaseURL: srv.BaseURL, envClientID: srv.ClientID, envClientSecret: leakSentinels.ClientSecret, envWatch: "0"}
			var all bytes.Buffer
			cli := recordCLI(t, t.TempDir(), env, &all, false)
			cp := filepath.Join(dir, "cp.json")
			if code := cli("apply", "--yes", "--skip-test", "--poll-interval", "5ms", "--twilio-api-url", tw.URL, "--checkpoint", cp); code == 0 {
				t.Fatal("apply succeeded with Twilio refusing the token")
			}
			cli("apply", "--yes", "--json", "--skip-test", "--poll-interval", "5ms", "--twilio-api-url", tw.URL, "--checkpoint", cp)
			cli("status", "--json", "--checkpoint", cp)
			fleetFile := filepath.Join(dir, "fleet.json")
			fleet := fmt.Sprintf(`[{"name": "t", "base_url": %q, "client_id_env": "AUTH0_CLIENT_ID", "client_secret_env": "AUTH0_CLIENT_SECRET", "checkpoint": "fleet-cp.json", "options": {"skip_test": true, "twilio_api_url": %q}}]`, srv.BaseURL, tw.URL)
			if err := os.WriteFile(fleetFile, []byte(fleet), 0o600); err != nil {
				t.Fatal(err)
			}
			cli("apply", "--yes", "--fleet", fleetFile)
			cli("apply", "--yes", "--json", "--fleet", fleetFile)
			scanFiles(t, dir, &all)
			if !strings.Contains(all.String(), "bad credentials") {
				t.Fatalf("Twilio's echo never reached the output; the scan proves nothing:\n%s", all.String())
			}
			assertNoLeak(t, all.String(), append(leakForms(), base64.StdEncoding.EncodeToString([]byte(leakSentinels.TwilioAuthToken)))...)
		})
	}
}

// TestTenantDataFilesPrivate (#23 item 13): the files that can hold tenant
// data — the snapshot, every export file, the checkpoint — are 0600 and
// the directories the CLI creates for them 0700, whatever the umask; a
// symlink at --out is replaced, not followed.
func TestTenantDataFilesPrivate(t *testing.T) {
	t.Parallel()
	srv := phonemigratetest.NewServer(phonemigratetest.Unified)
	defer srv.Close()
	dir := t.TempDir()
	env := map[string]string{envBaseURL: srv.BaseURL, envToken: srv.Token, envWatch: "0"}
	victim := filepath.Join(t.TempDir(), "victim")
	if err := os.WriteFile(victim, []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	snap := filepath.Join(dir, "snap.json")
	if err := os.Symlink(victim, snap); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"snapshot", "--quiet", "--out", snap},
		{"export", "--format", "terraform", "--out", filepath.Join(dir, "tf")},
		{"export", "--format", "deploy-cli", "--layout", "directory", "--out", filepath.Join(dir, "dc", "nested")},
	} {
		if code, _, stderr := runCLI(t, t.TempDir(), env, args...); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, stderr)
		}
	}
	if b, _ := os.ReadFile(victim); string(b) != "mine" {
		t.Errorf("snapshot --out followed the symlink: the file it pointed at now holds %q", b)
	}
	n := 0
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || path == dir {
			return err
		}
		fi, err := os.Lstat(path)
		if err != nil {
			return err
		}
		want := os.FileMode(0o600)
		if fi.IsDir() {
			want = 0o700 | os.ModeDir
		}
		if fi.Mode() != want {
			t.Errorf("%s: mode %v, want %v", path, fi.Mode(), want)
		}
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 8 {
		t.Errorf("only %d files and directories written; the check proves little", n)
	}
}

// URL credentials of the gateway in TestGatewayURLCredentialsNeverLeak.
const (
	gwURLUser = "SENTINEL-GWUSER-4a1"
	gwURLPass = "SENTINEL-GWPASS-7c1"
	gwURLKey  = "SENTINEL-GWKEY-5d2"
)

// withGatewayURLCredentials gives srv's gateway connection a gateway_url
// with user info and an apikey query parameter (and no JWT, which cannot
// go with URL credentials), through the Management API.
func withGatewayURLCredentials(t *testing.T, srv *phonemigratetest.Server) {
	t.Helper()
	for _, c := range srv.State().Connections {
		u, ok := c.Options["gateway_url"].(string)
		if !ok {
			continue
		}
		opts := c.Options
		delete(opts, "gateway_authentication")
		opts["gateway_url"] = strings.Replace(u, "://", "://"+gwURLUser+":"+gwURLPass+"@", 1) + "?to=x&apikey=" + gwURLKey
		body, _ := json.Marshal(map[string]any{"options": opts})
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPatch, srv.BaseURL+"/connections/"+c.ID, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+srv.Token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("PATCH connection: %s", resp.Status)
		}
		return
	}
	t.Fatal("no gateway connection")
}

// TestGatewayURLCredentialsNeverLeak (#23 item 2): the user name, password
// and apikey in a gateway URL are secrets everywhere — snapshot (replaced
// by placeholders and counted), rehearse and fake --from of a snapshot
// that still holds them, every export output, and an apply resumed in a
// new process against a server that echoes each request.
func TestGatewayURLCredentialsNeverLeak(t *testing.T) {
	t.Parallel()
	srv := phonemigratetest.NewUnstartedServer(phonemigratetest.LegacyGateway, phonemigratetest.WithActionBuild(5*time.Millisecond, 1))
	srv.Start()
	defer srv.Close()
	withGatewayURLCredentials(t, srv)
	dir := t.TempDir()
	p := func(name string) string { return filepath.Join(dir, name) }
	var all bytes.Buffer
	env := map[string]string{envBaseURL: srv.BaseURL, envToken: srv.Token, envWatch: "0"}
	cli := recordCLI(t, t.TempDir(), env, &all, false)

	if code := cli("snapshot", "--out", p("snap.json")); code != 0 {
		t.Fatalf("snapshot: exit %d:\n%s", code, all.String())
	}
	if !strings.Contains(all.String(), "3 secrets replaced") {
		t.Errorf("snapshot did not count the URL's three secrets:\n%s", all.String())
	}
	// A snapshot that still holds them (written by hand, or by an earlier
	// version), rehearsed and served.
	b, err := os.ReadFile(p("snap.json"))
	if err != nil {
		t.Fatal(err)
	}
	var snap map[string]any
	if err := json.Unmarshal(b, &snap); err != nil {
		t.Fatal(err)
	}
	for _, c := range snap["connections"].([]any) {
		opts := c.(map[string]any)["options"].(map[string]any)
		if _, ok := opts["gateway_url"]; ok {
			opts["gateway_url"] = "https://" + gwURLUser + ":" + gwURLPass + "@sms.example/send?apikey=" + gwURLKey
		}
	}
	b, _ = json.Marshal(snap)
	if err := os.WriteFile(p("raw-snap.json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	cli("rehearse", p("raw-snap.json"), "--skip-test")
	cli("rehearse", p("raw-snap.json"), "--skip-test", "--json")
	fakeCtx, cancel := context.WithCancel(t.Context())
	var fakeOut, fakeErr syncBuffer
	go func() {
		// Until it has said all it says (where the gateways are, then
		// how to use it); the minute only guards against a fake that
		// never does.
		for hang := time.Now().Add(time.Minute); !strings.Contains(fakeErr.String(), "In another shell") && fakeCtx.Err() == nil; time.Sleep(10 * time.Millisecond) {
			if time.Now().After(hang) {
				t.Errorf("fake --from did not finish its announcement within a minute")
				break
			}
		}
		cancel()
	}()
	run(fakeCtx, []string{"fake", "--from", p("raw-snap.json")}, strings.NewReader(""), &fakeOut, &fakeErr, func(string) string { return "" })
	fmt.Fprintf(&all, "$ fake --from\n%s%s", fakeOut.String(), fakeErr.String())

	// The migration, resumed through a server echoing every write.
	proxy := newEchoProxy(t, srv.URL)
	// Without the pre-write rehearsal: this run is about what leaks, and a
	// gateway URL with credentials is rehearsed as a difference (refused).
	penv := map[string]string{envBaseURL: proxy.URL + "/api/v2", envToken: srv.Token, envWatch: "0", envRehearse: "0"}
	pcli := recordCLI(t, t.TempDir(), penv, &all, false)
	ok := false
	for range 25 {
		if pcli("apply", "--yes", "--json", "--verbose", "--skip-test", "--no-rehearse", "--poll-interval", "5ms", "--checkpoint", p("cp.json")) == 0 {
			ok = true
			break
		}
		pcli("status", "--checkpoint", p("cp.json"), "--json")
	}
	if !ok {
		t.Fatalf("apply never finished:\n%s", all.String())
	}
	cli("export", "--format", "terraform", "--out", p("tf"))
	cli("export", "--format", "deploy-cli", "--out", p("dc"))
	cli("export", "--format", "deploy-cli", "--layout", "directory", "--out", p("dcdir"))
	// The hand-made snapshot holds them, of course.
	if err := os.Remove(p("raw-snap.json")); err != nil {
		t.Fatal(err)
	}
	scanFiles(t, dir, &all)
	for _, want := range []string{"invalid request", "served by the fake gateway at", "played by a fake gateway at", "GATEWAY_URL_PASSWORD", "gateway_url.query.apikey"} {
		if !strings.Contains(all.String(), want) {
			t.Errorf("output lacks %q; the scan may prove nothing", want)
		}
	}
	assertNoLeak(t, all.String(), gwURLUser, gwURLPass, gwURLKey, base64.StdEncoding.EncodeToString([]byte(gwURLUser+":"+gwURLPass)))
}

// TestTwilioClientRefusesRedirects (#23 item 3): a Twilio API that
// redirects (307, to another port of the same host) never receives the
// credentials a second time elsewhere: the redirect is not followed and
// the run fails saying so.
func TestTwilioClientRefusesRedirects(t *testing.T) {
	t.Parallel()
	for _, status := range []int{http.StatusTemporaryRedirect, http.StatusFound, http.StatusPermanentRedirect} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			t.Parallel()
			srv := phonemigratetest.NewServer(phonemigratetest.LegacyTwilio)
			defer srv.Close()
			var got atomic.Int32
			target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Header.Get("Authorization") != "" {
					got.Add(1)
				}
				http.Error(w, "nothing here", http.StatusNotFound)
			}))
			defer target.Close()
			redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, target.URL+r.URL.RequestURI(), status)
			}))
			defer redirector.Close()
			env := map[string]string{envBaseURL: srv.BaseURL, envToken: srv.Token, envTwilioToken: phonemigratetest.TwilioAuthToken, envWatch: "0"}
			code, _, stderr := runCLI(t, t.TempDir(), env, "apply", "--yes", "--quiet", "--skip-test", "--poll-interval", "5ms", "--twilio-api-url", redirector.URL, "--checkpoint", filepath.Join(t.TempDir(), "cp.json"))
			if n := got.Load(); n > 0 {
				t.Errorf("the redirect target received the credentials %d times", n)
			}
			if code == 0 || !strings.Contains(stderr, "redirect") {
				t.Errorf("exit %d, stderr %q: want a failure naming the redirect", code, stderr)
			}
		})
	}
}

// TestResponseHeaderCap (#23 item 12): response headers larger than 64 KiB
// — from the Management API or from Twilio — fail the call instead of
// being read into memory.
func TestResponseHeaderCap(t *testing.T) {
	t.Parallel()
	huge := strings.Repeat("x", 1<<20)
	bloat := func(h http.Header) {
		for i := range 9 {
			h.Set(fmt.Sprintf("X-Junk-%d", i), huge)
		}
	}
	t.Run("management API", func(t *testing.T) {
		t.Parallel()
		srv := phonemigratetest.NewServer(phonemigratetest.LegacyGateway)
		defer srv.Close()
		u, _ := url.Parse(srv.URL)
		rp := httputil.NewSingleHostReverseProxy(u)
		rp.ModifyResponse = func(r *http.Response) error { bloat(r.Header); return nil }
		p := httptest.NewServer(rp)
		defer p.Close()
		env := map[string]string{envBaseURL: p.URL + "/api/v2", envToken: srv.Token}
		code, _, stderr := runCLI(t, t.TempDir(), env, "plan", "--skip-test", "--quiet")
		if code == 0 || !strings.Contains(stderr, "header") {
			t.Errorf("exit %d, stderr %q: want a failure naming the headers", code, stderr)
		}
	})
	t.Run("Twilio", func(t *testing.T) {
		t.Parallel()
		srv := phonemigratetest.NewServer(phonemigratetest.LegacyTwilio)
		defer srv.Close()
		u, _ := url.Parse(srv.Twilio().URL)
		rp := httputil.NewSingleHostReverseProxy(u)
		rp.ModifyResponse = func(r *http.Response) error { bloat(r.Header); return nil }
		tw := httptest.NewServer(rp)
		defer tw.Close()
		env := map[string]string{envBaseURL: srv.BaseURL, envToken: srv.Token, envTwilioToken: phonemigratetest.TwilioAuthToken, envWatch: "0"}
		code, _, stderr := runCLI(t, t.TempDir(), env, "apply", "--yes", "--quiet", "--skip-test", "--poll-interval", "5ms", "--twilio-api-url", tw.URL, "--checkpoint", filepath.Join(t.TempDir(), "cp.json"))
		if code == 0 || !strings.Contains(stderr, "header") {
			t.Errorf("exit %d, stderr %q: want a failure naming the headers", code, stderr)
		}
	})
}

// TestRedactBeforeTruncate (#23 item 6): a server message is cut (500
// bytes; a token endpoint's error_description 300) only after it is
// redacted, so a secret straddling the cut leaves no part of itself.
func TestRedactBeforeTruncate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, method, path, field string
		cut                       int
		creds                     string
	}{
		{"management message", "GET", "/api/v2/connections", "message", 500, "token"},
		{"token error_description", "POST", "/oauth/token", "error_description", 300, "client-credentials"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := phonemigratetest.NewUnstartedServer(phonemigratetest.LegacyGateway)
			srv.UseSecrets(leakSentinels)
			srv.Start()
			defer srv.Close()
			secret := leakSentinels.ManagementToken
			if tc.creds != "token" {
				secret = leakSentinels.ClientSecret
			}
			// The secret starts 8 bytes before the cut.
			echo := strings.Repeat("x", tc.cut-8) + secret + " trailing words"
			base := misbehave(t, srv, tc.method, tc.path, func(w http.ResponseWriter, r *http.Request) bool {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusBadRequest)
				json.NewEncoder(w).Encode(map[string]any{"statusCode": 400, "error": "invalid_request", tc.field: echo})
				return true
			})
			env := map[string]string{envBaseURL: base, envToken: leakSentinels.ManagementToken}
			if tc.creds != "token" {
				env = map[string]string{envBaseURL: base, envClientID: srv.ClientID, envClientSecret: leakSentinels.ClientSecret}
			}
			code, stdout, stderr := runCLI(t, t.TempDir(), env, "plan", "--skip-test", "--quiet")
			if code == 0 || !strings.Contains(stderr, "xxxxxxxx") {
				t.Fatalf("exit %d, stderr %q: want the server's message, cut", code, stderr)
			}
			assertNoLeak(t, stdout+stderr, secret[:8], secret)
		})
	}
}

// TestMisleadingCharactersNeverPrinted (#23 item 11): a right-to-left
// override, a line separator and a one-byte CSI held by the tenant (a
// connection's template) or sent by a server (an error message) never
// reach text output raw, and JSON output (plan --json, status --json)
// holds them only escaped — the data intact.
func TestMisleadingCharactersNeverPrinted(t *testing.T) {
	t.Parallel()
	const evil = "Code \u202e@@password@@\u2028 \u009b31m end"
	srv := phonemigratetest.NewServer(phonemigratetest.LegacyGateway)
	defer srv.Close()
	for _, c := range srv.State().Connections {
		if c.Strategy != "sms" {
			continue
		}
		opts := c.Options
		opts["template"] = evil
		body, _ := json.Marshal(map[string]any{"options": opts})
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPatch, srv.BaseURL+"/connections/"+c.ID, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+srv.Token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	base := misbehave(t, srv, "PATCH", "/api/v2/tenants/settings", func(w http.ResponseWriter, r *http.Request) bool {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		json.NewEncoder(w).Encode(map[string]any{"statusCode": 400, "message": "refused \u202eevil\u2029 \u009b2J"})
		return true
	})
	cp := filepath.Join(t.TempDir(), "cp.json")
	env := map[string]string{envBaseURL: base, envToken: srv.Token, envWatch: "0"}
	var all bytes.Buffer
	cli := recordCLI(t, t.TempDir(), env, &all, false)
	cli("plan", "--skip-test")
	_, jsonPlan, planErr := runCLI(t, t.TempDir(), env, "plan", "--skip-test", "--json")
	cli("apply", "--yes", "--skip-test", "--poll-interval", "5ms", "--checkpoint", cp)
	cli("status", "--checkpoint", cp)
	text := all.String()
	_, jsonStatus, _ := runCLI(t, t.TempDir(), env, "status", "--json", "--checkpoint", cp)
	for name, out := range map[string]string{"text": text, "plan --json": jsonPlan, "status --json": jsonStatus} {
		if i := strings.IndexAny(out, "\u202e\u2028\u2029\u009b"); i >= 0 {
			t.Errorf("%s output holds a raw misleading character: ...%q...", name, out[max(0, i-60):min(len(out), i+20)])
		}
	}
	if !strings.Contains(text, "refused") {
		t.Errorf("the server's message did not reach the output; the scan proves little:\n%s", text)
	}
	if !strings.Contains(jsonPlan, `\u202e{{ code }}`) || !json.Valid([]byte(jsonPlan)) {
		t.Errorf("plan --json lost the template's characters or is not JSON:\n%s%s", jsonPlan, planErr)
	}
}

// TestPagingBudget (#23 item 8): a server that always answers with a next
// page — full pages of large connections, or one small one a page — stops the
// listing at its budget (bytes, items, pages) with a clear error, instead
// of growing without bound.
func TestPagingBudget(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("y", 256<<10)
	for name, page := range map[string]func(n int) []any{
		"large pages": func(n int) []any {
			var cs []any
			for i := range 4 {
				cs = append(cs, map[string]any{"id": fmt.Sprintf("con_%d_%d", n, i), "name": fmt.Sprintf("c%d-%d", n, i), "strategy": "sms", "options": map[string]any{"pad": big}})
			}
			return cs
		},
		"small pages": func(n int) []any {
			return []any{map[string]any{"id": fmt.Sprintf("con_%d", n), "name": fmt.Sprintf("c%d", n), "strategy": "sms", "options": map[string]any{}}}
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv := phonemigratetest.NewServer(phonemigratetest.LegacyGateway)
			defer srv.Close()
			var n atomic.Int32
			base := misbehave(t, srv, "GET", "/api/v2/connections", func(w http.ResponseWriter, r *http.Request) bool {
				k := int(n.Add(1))
				w.Header().Set("Content-Type", "application/json")
				json.NewEncoder(w).Encode(map[string]any{"connections": page(k), "next": fmt.Sprintf("page-%d", k)})
				return true
			})
			env := map[string]string{envBaseURL: base, envToken: srv.Token}
			code, _, stderr := runCLI(t, t.TempDir(), env, "plan", "--skip-test", "--quiet")
			if code == 0 || !strings.Contains(stderr, "budget") || !strings.Contains(stderr, "keeps paging") {
				t.Errorf("exit %d after %d pages, stderr %q: want the listing stopped at its budget", code, n.Load(), stderr)
			}
		})
	}
}

// TestFakeRemoteControlToken (#23 item 5): a fake started with
// --allow-remote answers its control API only with the control token it
// printed, whatever Host the request names; without --allow-remote
// nothing changes.
func TestFakeRemoteControlToken(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan int)
	go func() {
		done <- run(ctx, []string{"fake", "--listen", "0.0.0.0:0", "--allow-remote"}, strings.NewReader(""), &stdout, &stderr, func(string) string { return "" })
	}()
	var base string
	for base == "" {
		select {
		case code := <-done:
			t.Fatalf("fake exited %d: %s", code, stderr.String())
		case <-time.After(5 * time.Millisecond):
		}
		for _, l := range strings.Split(stdout.String(), "\n") {
			if v, ok := strings.CutPrefix(l, "PHONEMIGRATE_BASE_URL="); ok && strings.Contains(stderr.String(), "Ctrl-C") {
				base = strings.TrimSuffix(v, "/api/v2")
			}
		}
	}
	_, after, ok := strings.Cut(stderr.String(), phonemigratetest.ControlTokenHeader+" header: ")
	token, _, _ := strings.Cut(after, "\n")
	if !ok || len(token) < 32 {
		t.Fatalf("no control token printed: %s", stderr.String())
	}
	u, _ := url.Parse(base)
	get := func(path, host, tok string) int {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://"+u.Host+path, nil)
		req.Host = host
		if tok != "" {
			req.Header.Set(phonemigratetest.ControlTokenHeader, tok)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, tc := range []struct {
		host, tok string
		want      int
	}{
		{"127.0.0.1", "", http.StatusUnauthorized},
		{"localhost", "wrong", http.StatusUnauthorized},
		{"fake.example", "", http.StatusUnauthorized},
		{"127.0.0.1", token, http.StatusOK},
		{"fake.example", token, http.StatusOK},
	} {
		if got := get("/__fake/state", tc.host, tc.tok); got != tc.want {
			t.Errorf("GET /__fake/state Host %s token %q: %d, want %d", tc.host, tc.tok, got, tc.want)
		}
	}
	if got := get("/api/v2/tenants/settings", "127.0.0.1", ""); got != http.StatusUnauthorized {
		t.Errorf("the Management API without its bearer token: %d", got)
	}
	cancel()
	<-done
}

// TestWatchRedactsLogReasons (#23 item 7): failure reasons read from the
// tenant logs are redacted of every secret the run knows — the Management
// token, a gateway URL's credentials — and their phone numbers masked.
func TestWatchRedactsLogReasons(t *testing.T) {
	t.Parallel()
	srv := phonemigratetest.NewUnstartedServer(phonemigratetest.LegacyGateway)
	srv.UseSecrets(phonemigratetest.Secrets{ManagementToken: leakSentinels.ManagementToken})
	srv.Start()
	defer srv.Close()
	withGatewayURLCredentials(t, srv)
	var gw string
	for _, c := range srv.State().Connections {
		if u, ok := c.Options["gateway_url"].(string); ok {
			gw = u
		}
	}
	reason := "POST " + gw + " failed for +1\u00a0555\u00a0123\u00a04567 with Authorization " + leakSentinels.ManagementToken
	base := misbehave(t, srv, "GET", "/api/v2/logs", func(w http.ResponseWriter, r *http.Request) bool {
		w.Header().Set("Content-Type", "application/json")
		events := []any{map[string]any{"log_id": "90020260101", "type": "gd_send_sms_failure", "date": time.Now().UTC().Format(time.RFC3339Nano),
			"description": reason, "details": map[string]any{"error": reason}}}
		if r.URL.Query().Has("from") {
			json.NewEncoder(w).Encode(events)
			return true
		}
		if r.URL.Query().Get("page") != "" && r.URL.Query().Get("page") != "0" {
			events = []any{}
		}
		json.NewEncoder(w).Encode(map[string]any{"start": 0, "limit": 100, "length": len(events), "total": 1, "logs": events})
		return true
	})
	env := map[string]string{envBaseURL: base, envToken: leakSentinels.ManagementToken}
	var all bytes.Buffer
	cli := recordCLI(t, t.TempDir(), env, &all, false)
	cli("watch", "--since", "1h")
	cli("watch", "--since", "1h", "--json")
	if !strings.Contains(all.String(), "failed for") {
		t.Fatalf("the log reason did not reach the output; the scan proves nothing:\n%s", all.String())
	}
	assertNoLeak(t, all.String(), leakSentinels.ManagementToken, gwURLUser, gwURLPass, gwURLKey, "555\u00a0123", "123\u00a04567") // not a bare "555": a timestamp's nanoseconds can hold it
}
