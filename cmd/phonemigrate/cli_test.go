package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/unifiedphone/unifiedphone/phonemigrate/phonemigratetest"
	"github.com/unifiedphone/unifiedphone/phonemigrate/snapshot"
)

// terminalCLI is a cli whose stdin pretends to be a terminal, answering
// prompts from answers.
func terminalCLI(answers string, env map[string]string) (*cli, *bytes.Buffer, *bytes.Buffer) {
	var stdout, stderr bytes.Buffer
	c := &cli{
		stdin:    strings.NewReader(answers),
		stdout:   &stdout,
		stderr:   &stderr,
		getenv:   func(k string) string { return env[k] },
		stdinTTY: true,
		readSecret: func() (string, error) {
			return phonemigratetest.TwilioAuthToken, nil
		},
	}
	return c, &stdout, &stderr
}

func writes(srv *phonemigratetest.Server) []string {
	var out []string
	for _, r := range srv.Requests() {
		if r.Method != http.MethodGet && r.Path != "/oauth/token" {
			out = append(out, r.Method+" "+r.Path)
		}
	}
	return out
}

// On a terminal, apply shows the plan and asks; "n" writes nothing.
func TestApplyPromptDeclined(t *testing.T) {
	t.Parallel()
	srv := phonemigratetest.NewServer(phonemigratetest.LegacyGateway)
	defer srv.Close()
	env := map[string]string{envBaseURL: srv.BaseURL, envToken: srv.Token, envWatch: "0"}
	c, stdout, stderr := terminalCLI("n\n", env)
	code := c.main(context.Background(), []string{"apply", "--skip-test", "--checkpoint", t.TempDir() + "/cp.json"})
	if code != exitOK {
		t.Fatalf("exit %d, want 0; stderr:\n%s", code, stderr)
	}
	for _, want := range []string{"Migration plan for", "Apply these changes to 127.0.0.1:", "[y/N]", "Nothing was written."} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if stdout.Len() != 0 {
		t.Errorf("stdout = %q, want nothing", stdout)
	}
	if diff := cmp.Diff([]string(nil), writes(srv)); diff != "" {
		t.Errorf("writes (-want +got):\n%s", diff)
	}
}

// On a terminal, "y" applies, the Twilio token is asked for without echo,
// and each test message is confirmed by the person: "n" stops before the
// tenant switch with exit 1.
func TestApplyPromptTwilioAndTestConfirmation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		answers    string
		wantCode   int
		wantSwitch bool
	}{
		{"test message confirmed", "y\ny\n", exitOK, true},
		{"test message not confirmed", "y\nn\n", exitFailed, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := phonemigratetest.NewServer(phonemigratetest.LegacyTwilio)
			defer srv.Close()
			env := map[string]string{envBaseURL: srv.BaseURL, envToken: srv.Token, envWatch: "0"}
			c, _, stderr := terminalCLI(tt.answers, env)
			// The answers are read line by line by separate readers;
			// give each prompt exactly one line.
			c.stdin = &lineReader{r: bufio.NewReader(strings.NewReader(tt.answers))}
			code := c.main(context.Background(), []string{"apply", "--provider", "twilio", "--ask-twilio-token", "--test-to", "+15555550100",
				"--twilio-api-url", srv.Twilio().URL, "--evidence-timeout", "2m", "--poll-interval", "5ms", "--checkpoint", t.TempDir() + "/cp.json"})
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, tt.wantCode, stderr)
			}
			for _, want := range []string{"Twilio auth token (input hidden", "Twilio reports the text test message to +15555550100 as delivered: did it arrive?",
				"Twilio token: given by the caller"} {
				if !strings.Contains(stderr.String(), want) {
					t.Errorf("stderr lacks %q:\n%s", want, stderr)
				}
			}
			if strings.Contains(stderr.String(), phonemigratetest.TwilioAuthToken) {
				t.Errorf("stderr holds the Twilio token")
			}
			got := srv.State().TenantSettings["phone_consolidated_experience"] == true
			if got != tt.wantSwitch {
				t.Errorf("tenant switched = %v, want %v", got, tt.wantSwitch)
			}
		})
	}
}

// lineReader hands out one line per Read, as a terminal does, so that
// successive bufio readers each see exactly one answer.
type lineReader struct{ r *bufio.Reader }

func (l *lineReader) Read(p []byte) (int, error) {
	line, err := l.r.ReadString('\n')
	if line == "" && err != nil {
		return 0, err
	}
	return copy(p, line), nil
}

// fake prints the two environment lines, serves until cancelled, and
// exits 0; the printed URL and token work.
func TestFakeCommand(t *testing.T) {
	t.Parallel()
	pr, pw := io.Pipe()
	var stderr bytes.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"fake", "--scenario", "legacy-gateway", "--listen", "127.0.0.1:0"}, strings.NewReader(""), pw, &stderr, nil)
		pw.Close()
	}()
	sc := bufio.NewScanner(pr)
	env := map[string]string{}
	for i := 0; i < 2 && sc.Scan(); i++ {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if !ok {
			t.Fatalf("line %q is not NAME=value", sc.Text())
		}
		env[k] = v
	}
	if !strings.HasPrefix(env[envBaseURL], "http://127.0.0.1:") || !strings.HasSuffix(env[envBaseURL], "/api/v2") {
		t.Fatalf("%s = %q", envBaseURL, env[envBaseURL])
	}
	if env[envToken] == "" {
		t.Fatalf("no %s line", envToken)
	}
	go io.Copy(io.Discard, pr)

	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"plan", "--skip-test"}, strings.NewReader(""), &out, &errOut, func(k string) string { return env[k] })
	if code != exitOK || !strings.Contains(out.String(), "Provider: custom") {
		t.Fatalf("plan against the fake: exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errOut.String())
	}

	cancel()
	select {
	case code := <-done:
		if code != exitOK {
			t.Fatalf("fake exited %d, want 0; stderr:\n%s", code, stderr.String())
		}
	case <-time.After(time.Minute): // only if it never stops
		t.Fatal("fake did not stop within a minute of the cancellation")
	}
}

func TestFakeBadUsage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"fake", "--scenario", "nope"}, `phonemigrate fake: --scenario "nope" is not one of`},
		{[]string{"fake", "--listen", "127.0.0.1:99999"}, "phonemigrate fake: the fake tenant cannot listen:"},
		{[]string{"fake", "--listen", "256.0.0.1:99999"}, "phonemigrate fake: --listen 256.0.0.1:99999 would let other machines reach"},
	}
	for _, tt := range tests {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), tt.args, strings.NewReader(""), &stdout, &stderr, nil)
		if code == exitOK || !strings.HasPrefix(stderr.String(), tt.want) || strings.Count(stderr.String(), "\n") != 1 {
			t.Errorf("%v: exit %d, stderr %q; want an error starting %q", tt.args, code, stderr.String(), tt.want)
		}
		if stdout.Len() != 0 {
			t.Errorf("%v: stdout %q, want nothing", tt.args, stdout.String())
		}
	}
}

func TestResolveTenant(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		flag    string
		env     map[string]string
		want    tenantConfig
		wantErr string
	}{
		{name: "domain and token", env: map[string]string{envDomain: "acme.eu.auth0.com", envToken: "t"},
			want: tenantConfig{Domain: "acme.eu.auth0.com", Token: "t"}},
		{name: "token wins over client credentials", env: map[string]string{envDomain: "acme.eu.auth0.com", envToken: "t", envClientID: "id", envClientSecret: "s"},
			want: tenantConfig{Domain: "acme.eu.auth0.com", Token: "t"}},
		{name: "client credentials", env: map[string]string{envDomain: "acme.eu.auth0.com", envClientID: "id", envClientSecret: "s"},
			want: tenantConfig{Domain: "acme.eu.auth0.com", ClientID: "id", ClientSecret: "s"}},
		{name: "flag wins over both", flag: "http://[::1]:8080/api/v2/", env: map[string]string{envDomain: "acme.eu.auth0.com", envBaseURL: "https://x.example/api/v2", envToken: "t"},
			want: tenantConfig{BaseURL: "http://[::1]:8080/api/v2", Token: "t"}},
		{name: "localhost", env: map[string]string{envBaseURL: "http://localhost:1/api/v2", envToken: "t"},
			want: tenantConfig{BaseURL: "http://localhost:1/api/v2", Token: "t"}},
		{name: "https anywhere", flag: "https://tenant.example.com/api/v2", env: map[string]string{envToken: "t"},
			want: tenantConfig{BaseURL: "https://tenant.example.com/api/v2", Token: "t"}},
		{name: "http elsewhere", flag: "http://192.168.1.2/api/v2", env: map[string]string{envToken: "t"}, wantErr: "plain http is allowed only to loopback hosts"},
		{name: "ambiguous", env: map[string]string{envDomain: "a.auth0.com", envBaseURL: "https://b/api/v2", envToken: "t"}, wantErr: "both PHONEMIGRATE_BASE_URL and AUTH0_DOMAIN are set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := resolveTenant(tt.flag, func(k string) string { return tt.env[k] })
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || exitCode(err) != exitUsage {
					t.Fatalf("err = %v (exit %d), want usage error containing %q", err, exitCode(err), tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(tenantConfig{})); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestDefaultCheckpoint(t *testing.T) {
	t.Parallel()
	tests := []struct {
		t    tenantConfig
		want string
	}{
		{tenantConfig{Domain: "acme.eu.auth0.com"}, "phonemigrate-acme.eu.auth0.com.checkpoint.json"},
		{tenantConfig{BaseURL: "http://127.0.0.1:8080/api/v2"}, "phonemigrate-127.0.0.1_8080.checkpoint.json"},
		{tenantConfig{BaseURL: "http://[::1]:8080/api/v2"}, "phonemigrate-___1__8080.checkpoint.json"},
	}
	for _, tt := range tests {
		if got := tt.t.defaultCheckpoint(); got != tt.want {
			t.Errorf("%+v: got %q, want %q", tt.t, got, tt.want)
		}
	}
}

// fake --from serves a snapshot: a snapshot of it (through the CLI, over
// HTTP) equals the file it was served from, ids and all, but for the
// tenant's name (its address) and the gateway URLs, re-pointed to the fake
// gateway as fake announced on stderr.
func TestFakeFromSnapshot(t *testing.T) {
	t.Parallel()
	src := phonemigratetest.NewServer(phonemigratetest.Mixed)
	defer src.Close()
	dir := t.TempDir()
	file := filepath.Join(dir, "snap.json")
	var out, errOut bytes.Buffer
	env := map[string]string{envBaseURL: src.BaseURL, envToken: src.Token}
	if code := run(t.Context(), []string{"snapshot", "--out", file, "--quiet"}, strings.NewReader(""), &out, &errOut, func(k string) string { return env[k] }); code != exitOK {
		t.Fatalf("snapshot: exit %d: %s", code, errOut.String())
	}

	pr, pw := io.Pipe()
	var stderr lockedBuffer
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"fake", "--from", file}, strings.NewReader(""), pw, &stderr, nil)
		pw.Close()
	}()
	sc := bufio.NewScanner(pr)
	fenv := map[string]string{}
	for i := 0; i < 3 && sc.Scan(); i++ {
		k, v, _ := strings.Cut(sc.Text(), "=")
		fenv[k] = v
	}
	go io.Copy(io.Discard, pr)
	out.Reset()
	if code := run(t.Context(), []string{"snapshot"}, strings.NewReader(""), &out, &errOut, func(k string) string { return fenv[k] }); code != exitOK {
		t.Fatalf("snapshot of fake --from: exit %d: %s", code, errOut.String())
	}
	cancel()
	if code := <-done; code != exitOK {
		t.Fatalf("fake exited %d: %s", code, stderr.String())
	}

	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	want, err := snapshot.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	got, err := snapshot.Parse(out.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	orig := want.Connections[0].Options["gateway_url"].(string)
	local := got.Connections[0].Options["gateway_url"].(string)
	if !strings.Contains(stderr.String(), "Connection sms: its gateway "+orig+" is served by the fake gateway at "+local+" ") {
		t.Errorf("stderr does not announce %s -> %s:\n%s", orig, local, stderr.String())
	}
	got.Connections[0].Options["gateway_url"] = orig
	got.Tenant = want.Tenant
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("snapshot of fake --from (-file +fake):\n%s", diff)
	}
}

// lockedBuffer is a bytes.Buffer safe for one writer and one reader.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// On a terminal, repair shows its one write and asks: "n" writes nothing
// (exit 0), "y" switches the tenant back and reports where codes go.
func TestRepairPrompt(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		answer     string
		wantWrites []string
		wantStdout string
	}{
		{"n\n", nil, ""},
		{"y\n", []string{"PATCH /api/v2/tenants/settings"}, "Where codes go now:\n  ok MFA: the legacy Guardian Twilio provider"},
	} {
		t.Run(strings.TrimSpace(tc.answer), func(t *testing.T) {
			srv := phonemigratetest.NewServer(phonemigratetest.MFATwilio)
			defer srv.Close()
			req, _ := http.NewRequest("PATCH", srv.BaseURL+"/tenants/settings", strings.NewReader(`{"phone_consolidated_experience": true}`))
			req.Header.Set("Authorization", "Bearer "+srv.Token)
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			srv.ResetRequests()
			env := map[string]string{envBaseURL: srv.BaseURL, envToken: srv.Token}
			c, stdout, stderr := terminalCLI(tc.answer, env)
			if code := c.main(context.Background(), []string{"repair", "--checkpoint", t.TempDir() + "/cp.json"}); code != exitOK {
				t.Fatalf("exit %d, want 0; stderr:\n%s", code, stderr)
			}
			for _, want := range []string{"Repair plan for", `after:  {"phone_consolidated_experience":false}`, "Switch 127.0.0.1:", "[y/N]"} {
				if !strings.Contains(stderr.String(), want) {
					t.Errorf("stderr lacks %q:\n%s", want, stderr)
				}
			}
			if !strings.Contains(stdout.String(), tc.wantStdout) {
				t.Errorf("stdout lacks %q:\n%s", tc.wantStdout, stdout)
			}
			if diff := cmp.Diff(tc.wantWrites, writes(srv)); diff != "" {
				t.Errorf("writes (-want +got):\n%s", diff)
			}
		})
	}
}
