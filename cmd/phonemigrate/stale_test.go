package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/unifiedphone/unifiedphone/phonemigrate/phonemigratetest"
)

// editingReader answers prompts one line at a time, as a terminal does;
// before the line that answers prompt number at (from 1) it runs edit — a
// colleague changing the tenant while the person at the terminal reads
// the question.
type editingReader struct {
	r    *bufio.Reader
	n    int
	at   int
	edit func()
}

func (e *editingReader) Read(p []byte) (int, error) {
	e.n++
	if e.n == e.at {
		e.edit()
	}
	line, err := e.r.ReadString('\n')
	if line == "" && err != nil {
		return 0, err
	}
	return copy(p, line), nil
}

// editConnection changes the SMS connection's options through the fake's
// Management API as a colleague would: its template, and a key of its own.
func editConnection(t *testing.T, srv *phonemigratetest.Server, template string) {
	t.Helper()
	var id string
	var opts map[string]any
	for _, c := range srv.State().Connections {
		if c.Strategy == "sms" {
			id, opts = c.ID, c.Options
		}
	}
	opts["template"] = template
	opts["colleague_flag"] = "set during the wait"
	body, _ := json.Marshal(map[string]any{"options": opts})
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPatch, srv.BaseURL+"/connections/"+id, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+srv.Token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("colleague's PATCH: %s", resp.Status)
	}
}

// TestApplyMigratesEditsMadeWhileItWaits is the stale-reads rule through
// the CLI: a colleague edits the Passwordless connection (its template and
// a key of its own) while apply waits — for the person to confirm the plan,
// or for the test message and its confirmation. The edit is migrated, not
// reverted: the tenant's otp_verify template holds the edited text and the
// connection keeps the colleague's key next to use_phone_provider.
func TestApplyMigratesEditsMadeWhileItWaits(t *testing.T) {
	t.Parallel()
	const edited = "Edited while apply waited: {{ code }}"
	tests := []struct {
		name string
		at   int // the prompt during which the colleague edits
	}{
		{"during the confirmation of the plan", 1},
		{"during the test message and its confirmation", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := phonemigratetest.NewServer(phonemigratetest.LegacyTwilio)
			defer srv.Close()
			env := map[string]string{envBaseURL: srv.BaseURL, envToken: srv.Token, envWatch: "0"}
			c, _, stderr := terminalCLI("", env)
			c.stdin = &editingReader{r: bufio.NewReader(strings.NewReader("y\ny\n")), at: tt.at, edit: func() { editConnection(t, srv, edited) }}
			code := c.main(context.Background(), []string{"apply", "--test-to", "+15555550100",
				"--twilio-api-url", srv.Twilio().URL, "--evidence-timeout", "2m", "--poll-interval", "5ms", "--checkpoint", t.TempDir() + "/cp.json"})
			if code != exitOK {
				t.Fatalf("exit %d, want 0; stderr:\n%s", code, stderr)
			}
			st := srv.State()
			var text string
			for _, tpl := range st.PhoneTemplates {
				if tpl.Type == "otp_verify" && tpl.ID != "" {
					text = tpl.Content.Body.Text
				}
			}
			if text != edited {
				t.Errorf("otp_verify template = %q, want the colleague's edit %q", text, edited)
			}
			for _, cn := range st.Connections {
				if cn.Strategy != "sms" {
					continue
				}
				if cn.Options["colleague_flag"] != "set during the wait" || cn.Options["template"] != edited {
					t.Errorf("connection options lost the colleague's edit: colleague_flag = %v, template = %v", cn.Options["colleague_flag"], cn.Options["template"])
				}
				if cn.Options["use_phone_provider"] != true {
					t.Errorf("use_phone_provider = %v, want true", cn.Options["use_phone_provider"])
				}
			}
		})
	}
}

// TestApplyYesStartsFromThePlansReads: with nothing between the plan and
// the migration (--yes), apply reads the tenant once: each discovery read
// is made once, and the calls stay within the minimum of each scenario
// (plus, with a custom provider, the two Action status reads the fake's
// build and deploy take, and the plan's integrations-at-risk report: the
// client grants, one page of sapi/fapi logs and the name of the one
// application whose grant holds a guardian scope).
func TestApplyYesStartsFromThePlansReads(t *testing.T) {
	t.Parallel()
	const integrations = 3
	tests := []struct {
		sc  phonemigratetest.Scenario
		max int
	}{
		{phonemigratetest.LegacyGateway, 17 + 2 + integrations},
		{phonemigratetest.LegacyTwilio, 10 + integrations},
		{phonemigratetest.MFATwilio, 13 + integrations},
		{phonemigratetest.Mixed, 22 + 2 + integrations},
	}
	for _, tt := range tests {
		t.Run(string(tt.sc), func(t *testing.T) {
			t.Parallel()
			srv := phonemigratetest.NewServer(tt.sc)
			defer srv.Close()
			// The migration's own reads: the pre-write rehearsal's are
			// measured on their own (BenchmarkRehearsalCalls).
			env := map[string]string{envBaseURL: srv.BaseURL, envToken: srv.Token, envWatch: "0", envRehearse: "0"}
			var stdout, stderr bytes.Buffer
			code := run(t.Context(), []string{"apply", "--yes", "--skip-test", "--quiet", "--twilio-api-url", srv.Twilio().URL, "--checkpoint", t.TempDir() + "/cp.json"},
				strings.NewReader(""), &stdout, &stderr, func(k string) string { return env[k] })
			if code != exitOK {
				t.Fatalf("exit %d, want 0; stderr:\n%s", code, stderr.String())
			}
			calls, seen := 0, map[string]int{}
			for _, r := range srv.Requests() {
				if !strings.Contains(r.Path, "/api/v2/") {
					continue
				}
				calls++
				if r.Method == http.MethodGet {
					seen[r.Path]++
				}
			}
			for _, p := range []string{"/api/v2/tenants/settings", "/api/v2/connections", "/api/v2/guardian/factors", "/api/v2/branding/phone/providers", "/api/v2/branding/phone/templates"} {
				if seen[p] != 1 {
					t.Errorf("GET %s read %d times, want once (the plan's read)", p, seen[p])
				}
			}
			if calls > tt.max {
				t.Errorf("apply made %d Management API calls, want at most %d", calls, tt.max)
			}
		})
	}
}
