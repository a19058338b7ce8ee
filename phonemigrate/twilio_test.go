package phonemigrate_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/unifiedphone/unifiedphone/delivery"
	"github.com/unifiedphone/unifiedphone/phonemigrate"
	"github.com/unifiedphone/unifiedphone/phonemigrate/phonemigratetest"
)

// TestPlanTwilioTokenSource: without a given token the legacy one is
// carried over (Guardian's first); a given one overrides it; disagreeing
// tokens and a skipped check are warned about; no value is ever shown.
func TestPlanTwilioTokenSource(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		scenario  string
		tenant    func(*memTenant)
		opts      func(*phonemigrate.Options)
		wantToken string // prefix of Plan.TwilioToken
		wantCheck string // prefix of Plan.TwilioCheck
		wantWarn  string // a warning containing this, "" for none about tokens
	}{
		{name: "connection carried", scenario: "legacy-twilio",
			wantToken: `carried over from connection "sms" (options.twilio_token) of account ` + fxTwilioSID, wantCheck: "GET /2010-04-01/Accounts/" + fxTwilioSID + ".json"},
		{name: "guardian carried", scenario: "mfa-twilio",
			wantToken: "carried over from the legacy MFA (Guardian) Twilio settings of account " + fxTwilioSID, wantCheck: "GET /2010-04-01/Accounts/"},
		{name: "given equal", scenario: "legacy-twilio", opts: func(o *phonemigrate.Options) { o.TwilioAuthToken = fxTwilioToken },
			wantToken: "given by the caller", wantCheck: "GET "},
		{name: "given differs", scenario: "legacy-twilio", opts: func(o *phonemigrate.Options) { o.TwilioAuthToken = "rotated-token-value" },
			wantToken: "given by the caller", wantCheck: "GET ",
			wantWarn: `The given Twilio auth token differs from the one in connection "sms" for account ` + fxTwilioSID + "; the given one is used."},
		{name: "connection and guardian differ", scenario: "legacy-twilio", tenant: func(m *memTenant) {
			mfaTwilio(m, delivery.Of(delivery.Text))
			m.LegacyTw.AuthToken = "guardian-token-value"
		}, wantToken: "carried over from the legacy MFA (Guardian) Twilio settings", wantCheck: "GET ",
			wantWarn: `The legacy MFA (Guardian) Twilio settings and connection "sms" hold different auth tokens for Twilio account ` + fxTwilioSID + "; the one in the legacy MFA (Guardian) Twilio settings is used"},
		{name: "check skipped", scenario: "legacy-twilio", opts: func(o *phonemigrate.Options) { o.SkipTwilioCheck = true },
			wantToken: "carried over from connection", wantCheck: "skipped (SkipTwilioCheck)",
			wantWarn: "are not checked with Twilio before they are written (SkipTwilioCheck)"},
		{name: "gateway only", scenario: "legacy-gateway"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mt := scenario(tt.scenario)
			if tt.tenant != nil {
				tt.tenant(mt)
			}
			o := phonemigrate.Options{TestRecipients: []string{fxRecipient}}
			if tt.opts != nil {
				tt.opts(&o)
			}
			m, _ := newStubbed(mt)
			p, err := m.Plan(t.Context(), o)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(p.TwilioToken, tt.wantToken) || (tt.wantToken == "") != (p.TwilioToken == "") {
				t.Errorf("TwilioToken = %q, want prefix %q", p.TwilioToken, tt.wantToken)
			}
			if !strings.HasPrefix(p.TwilioCheck, tt.wantCheck) || (tt.wantCheck == "") != (p.TwilioCheck == "") {
				t.Errorf("TwilioCheck = %q, want prefix %q", p.TwilioCheck, tt.wantCheck)
			}
			var warned []string
			for _, w := range p.Warnings {
				if strings.Contains(w, "token") || strings.Contains(w, "Twilio credentials") {
					warned = append(warned, w)
				}
			}
			switch {
			case tt.wantWarn == "" && len(warned) > 0:
				t.Errorf("unexpected token warnings %q", warned)
			case tt.wantWarn != "" && (len(warned) != 1 || !strings.Contains(warned[0], tt.wantWarn)):
				t.Errorf("token warnings %q, want one containing %q", warned, tt.wantWarn)
			}
			b, _ := json.Marshal(p)
			for _, secret := range []string{fxTwilioToken, "rotated-token-value", "guardian-token-value"} {
				if strings.Contains(string(b)+p.Text(), secret) {
					t.Errorf("plan holds the token %q", secret)
				}
			}
		})
	}
}

func TestOptionsTwilioAPIBaseURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		url string
		ok  bool
	}{
		{"", true},
		{"https://api.twilio.com", true},
		{"http://127.0.0.1:8080", true},
		{"http://localhost:1", true},
		{"http://api.twilio.com", false},
		{"ftp://x", false},
		{"not a url", false},
	}
	for _, tt := range tests {
		m, _ := newStubbed(scenario("legacy-twilio"))
		_, err := m.Plan(t.Context(), phonemigrate.Options{SkipTest: true, TwilioAPIBaseURL: tt.url})
		var ie *phonemigrate.InputError
		if got := !errors.As(err, &ie); got != tt.ok {
			t.Errorf("TwilioAPIBaseURL %q: err = %v, want ok %v", tt.url, err, tt.ok)
		}
	}
}

// writesOf lists the fake's non-GET Management API requests.
func writesOf(srv *phonemigratetest.Server) []string {
	var out []string
	for _, r := range srv.Requests() {
		if r.Method != "GET" && r.Path != "/oauth/token" {
			out = append(out, r.Method+" "+r.Path)
		}
	}
	return out
}

// TestApplyTwilioCredentialCheck: the credentials about to be written are
// verified with (fake) Twilio first; rejected ones stop Apply with exit 3
// and nothing written.
func TestApplyTwilioCredentialCheck(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		scenario phonemigratetest.Scenario
		token    phonemigrate.Secret
		setup    func(*phonemigratetest.Server)
		skip     bool
		wantErr  *phonemigrate.TwilioCredentialsError
		wantSrc  string // prefix of Intent.TwilioTokenSource on success
		wantCred string // provider credentials on success
	}{
		{name: "carried from the connection", scenario: phonemigratetest.LegacyTwilio,
			wantSrc: phonemigrate.TokenSourceConnectionPrefix, wantCred: phonemigratetest.TwilioAuthToken},
		{name: "carried from guardian", scenario: phonemigratetest.MFATwilio,
			wantSrc: phonemigrate.TokenSourceGuardian, wantCred: phonemigratetest.TwilioAuthToken},
		{name: "given token is checked and wins", scenario: phonemigratetest.LegacyTwilio, token: "rotated-0000000000000000000000002",
			setup: func(s *phonemigratetest.Server) {
				s.Twilio().AddAccount(phonemigratetest.TwilioSID, "rotated-0000000000000000000000002")
			}, wantSrc: phonemigrate.TokenSourceOptions, wantCred: "rotated-0000000000000000000000002"},
		{name: "typo rejected", scenario: phonemigratetest.LegacyTwilio, token: "typo",
			wantErr: &phonemigrate.TwilioCredentialsError{SID: phonemigratetest.TwilioSID, Status: 401, Code: 20003, Message: "Authenticate"}},
		{name: "rotated legacy token rejected", scenario: phonemigratetest.MFATwilio,
			setup:   func(s *phonemigratetest.Server) { s.Twilio().RejectAccount(phonemigratetest.TwilioSID) },
			wantErr: &phonemigrate.TwilioCredentialsError{SID: phonemigratetest.TwilioSID, Status: 401, Code: 20003, Message: "Authenticate"}},
		{name: "check skipped writes what it has", scenario: phonemigratetest.LegacyTwilio, token: "typo", skip: true,
			wantSrc: phonemigrate.TokenSourceOptions, wantCred: "typo"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, m := fakeTenant(t, tt.scenario)
			if tt.setup != nil {
				tt.setup(srv)
			}
			o := fakeOptions(srv)
			o.TwilioAuthToken = tt.token
			o.SkipTwilioCheck = tt.skip
			o.EvidenceTimeout = finalWait
			res, err := m.Apply(t.Context(), o)
			if tt.wantErr != nil {
				var ce *phonemigrate.TwilioCredentialsError
				if !errors.As(err, &ce) {
					t.Fatalf("err = %v, want a TwilioCredentialsError", err)
				}
				if diff := cmp.Diff(tt.wantErr, ce); diff != "" {
					t.Errorf("error (-want +got):\n%s", diff)
				}
				if code := phonemigrate.ExitCode(err); code != 3 {
					t.Errorf("ExitCode = %d, want 3", code)
				}
				if w := writesOf(srv); len(w) != 0 {
					t.Errorf("writes after a rejected check: %v", w)
				}
				if strings.Contains(err.Error(), phonemigratetest.TwilioAuthToken) || (tt.token != "" && strings.Contains(err.Error(), tt.token.Reveal())) {
					t.Errorf("error holds the token: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if src := res.Checkpoint.Intent.TwilioTokenSource; !strings.HasPrefix(src, tt.wantSrc) {
				t.Errorf("TwilioTokenSource = %q, want prefix %q", src, tt.wantSrc)
			}
			if got := srv.State().PhoneProviders[0].Credentials.AuthToken; got != tt.wantCred {
				t.Errorf("provider auth token = %q, want %q", got, tt.wantCred)
			}
			b, _ := json.Marshal(res.Checkpoint)
			if strings.Contains(string(b), tt.wantCred) {
				t.Errorf("checkpoint holds the token")
			}
		})
	}
}

// finalWait is the evidence timeout of the tests whose test messages reach
// a final status in the fake Twilio (it moves one status further each time
// it is read): the wait ends then, so the bound only guards against a
// hang; a few seconds could run out on a busy machine. Only the "lost"
// message's wait runs out, whatever the bound.
const finalWait = 2 * time.Minute

// TestApplyTestEvidence: for a Twilio provider each test message is looked
// up in the Twilio account; failed, undelivered or missing ones stop before
// the tenant switch.
func TestApplyTestEvidence(t *testing.T) {
	t.Parallel()
	const to = "+15551230001"
	tests := []struct {
		name     string
		scenario phonemigratetest.Scenario
		final    string // FailNumber
		timeout  time.Duration
		want     []phonemigrate.TestOutcome
		wantErr  bool
	}{
		{name: "delivered", scenario: phonemigratetest.LegacyTwilio, timeout: finalWait,
			want: []phonemigrate.TestOutcome{{To: to, Method: delivery.Text, Evidence: phonemigrate.EvidenceTwilio, Status: "delivered"}}},
		{name: "sms and call", scenario: phonemigratetest.MFATwilio, timeout: finalWait,
			want: []phonemigrate.TestOutcome{
				{To: to, Method: delivery.Text, Evidence: phonemigrate.EvidenceTwilio, Status: "delivered"},
				{To: to, Method: delivery.Voice, Evidence: phonemigrate.EvidenceTwilio, Status: "completed"}}},
		{name: "undelivered", scenario: phonemigratetest.LegacyTwilio, final: "undelivered", timeout: finalWait, wantErr: true,
			want: []phonemigrate.TestOutcome{{To: to, Method: delivery.Text, Evidence: phonemigrate.EvidenceTwilio, Status: "undelivered", ErrorCode: 30003}}},
		{name: "failed", scenario: phonemigratetest.LegacyTwilio, final: "failed", timeout: finalWait, wantErr: true,
			want: []phonemigrate.TestOutcome{{To: to, Method: delivery.Text, Evidence: phonemigrate.EvidenceTwilio, Status: "failed", ErrorCode: 30008}}},
		{name: "not found", scenario: phonemigratetest.LegacyTwilio, final: "lost", timeout: 50 * time.Millisecond, wantErr: true,
			want: []phonemigrate.TestOutcome{{To: to, Method: delivery.Text, Evidence: phonemigrate.EvidenceTwilio, Status: phonemigrate.StatusNotFound}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, m := fakeTenant(t, tt.scenario)
			if tt.final != "" {
				if err := srv.Twilio().FailNumber(to, tt.final); err != nil {
					t.Fatal(err)
				}
			}
			o := fakeOptions(srv)
			o.TwilioAuthToken = ""
			o.EvidenceTimeout = tt.timeout
			res, err := m.Apply(t.Context(), o)
			if tt.wantErr {
				var de *phonemigrate.TestDeliveryError
				if !errors.As(err, &de) || !errors.Is(err, phonemigrate.ErrTestNotDelivered) || phonemigrate.ExitCode(err) != 1 {
					t.Fatalf("err = %v, want a TestDeliveryError (exit 1)", err)
				}
				if res.Checkpoint.State != phonemigrate.StateFailed || res.Checkpoint.LastGood != phonemigrate.StateProviderConfigured {
					t.Errorf("checkpoint %s/%s, want failed/provider_configured", res.Checkpoint.State, res.Checkpoint.LastGood)
				}
				if v := srv.State().TenantSettings["phone_consolidated_experience"]; v == true {
					t.Errorf("tenant switched after an undelivered test message")
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, res.Checkpoint.Tests, cmpopts.IgnoreFields(phonemigrate.TestOutcome{}, "SID")); diff != "" {
				t.Errorf("tests (-want +got):\n%s", diff)
			}
			for _, out := range res.Checkpoint.Tests {
				if out.Status == phonemigrate.StatusNotFound {
					continue
				}
				if out.SID == "" {
					t.Errorf("%s: no sid", out.Summary())
				}
				if st := srv.Twilio().Statuses(out.SID); len(st) == 0 || st[len(st)-1] != out.Status {
					t.Errorf("fake Twilio reported %v for %s, outcome %s", st, out.SID, out.Status)
				}
			}
		})
	}
}

// TestApplyAssumedReceived: without delivery evidence (a custom provider,
// or the Twilio check skipped) a test message counts as received only as
// "assumed", unless a person confirms it.
func TestApplyAssumedReceived(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		scenario phonemigratetest.Scenario
		skip     bool
		confirm  bool
		node     bool
		want     phonemigrate.TestOutcome
		summary  string
	}{
		{name: "custom provider, nobody answers", scenario: phonemigratetest.LegacyGateway, node: true,
			want:    phonemigrate.TestOutcome{To: "+15551230001", Method: delivery.Text, AssumedReceived: true},
			summary: "text test message to +15551230001: assumed received (no delivery evidence)"},
		{name: "custom provider, a person confirms", scenario: phonemigratetest.LegacyGateway, node: true, confirm: true,
			want:    phonemigrate.TestOutcome{To: "+15551230001", Method: delivery.Text, Confirmed: true},
			summary: "text test message to +15551230001: no delivery evidence; confirmed received"},
		{name: "twilio check skipped", scenario: phonemigratetest.LegacyTwilio, skip: true,
			want:    phonemigrate.TestOutcome{To: "+15551230001", Method: delivery.Text, AssumedReceived: true},
			summary: "text test message to +15551230001: assumed received (no delivery evidence)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.node {
				requireNode(t)
			}
			srv, m := fakeTenant(t, tt.scenario)
			o := fakeOptions(srv)
			o.SkipTwilioCheck = tt.skip
			if tt.confirm {
				o.Confirm = func(_ context.Context, tm phonemigrate.TestMessage) (bool, error) { return tm.TwilioStatus == "", nil }
			}
			res, err := m.Apply(t.Context(), o)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]phonemigrate.TestOutcome{tt.want}, res.Checkpoint.Tests); diff != "" {
				t.Errorf("tests (-want +got):\n%s", diff)
			}
			if got := res.Checkpoint.Tests[0].Summary(); got != tt.summary {
				t.Errorf("Summary = %q, want %q", got, tt.summary)
			}
		})
	}
}

// TestApplyResumeRereadsLegacyToken: a run that fails after planning
// resumes without any token given, re-reading the legacy one from where the
// plan found it (the checkpoint holds only the source).
func TestApplyResumeRereadsLegacyToken(t *testing.T) {
	t.Parallel()
	for _, sc := range []phonemigratetest.Scenario{phonemigratetest.LegacyTwilio, phonemigratetest.MFATwilio} {
		t.Run(string(sc), func(t *testing.T) {
			store := phonemigrate.NewMemoryStore()
			srv, m := fakeTenant(t, sc, phonemigrate.WithStore(store))
			srv.InjectFault(phonemigratetest.Fault{Method: "POST", Path: "/api/v2/branding/phone/providers", Status: 503, Times: 10})
			o := fakeOptions(srv)
			o.TwilioAuthToken = ""
			if _, err := m.Apply(t.Context(), o); err == nil {
				t.Fatal("first Apply succeeded through the fault")
			}
			srv.ClearFaults()
			srv.ResetRequests()
			res, err := m.Apply(t.Context(), o)
			if err != nil || res.State != phonemigrate.StateCompleted {
				t.Fatalf("resumed Apply = %v, %v", res.State, err)
			}
			if res.Steps[0].From != phonemigrate.StatePlanned {
				t.Errorf("resumed from %s, want planned", res.Steps[0].From)
			}
			if got := srv.State().PhoneProviders[0].Credentials.AuthToken; got != phonemigratetest.TwilioAuthToken {
				t.Errorf("provider auth token = %q, want the legacy one", got)
			}
		})
	}
}

// TestApplyAfterRejectedToken: credentials Twilio rejects fail the plan
// step (nothing recorded, nothing written); the next Apply plans again, here
// carrying the legacy token over once the bad one is no longer given.
func TestApplyAfterRejectedToken(t *testing.T) {
	t.Parallel()
	store := phonemigrate.NewMemoryStore()
	srv, m := fakeTenant(t, phonemigratetest.LegacyTwilio, phonemigrate.WithStore(store))
	o := fakeOptions(srv)
	o.TwilioAuthToken = "typo"
	_, err := m.Apply(t.Context(), o)
	var ce *phonemigrate.TwilioCredentialsError
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v, want a TwilioCredentialsError", err)
	}
	cp, _ := store.Load(t.Context())
	if cp.State != phonemigrate.StateFailed || cp.LastGood != phonemigrate.StateDiscovered || cp.Plan != nil || cp.Intent != nil {
		t.Fatalf("checkpoint %s/%s, plan recorded %v", cp.State, cp.LastGood, cp.Plan != nil)
	}
	if w := writesOf(srv); len(w) != 0 {
		t.Fatalf("writes after a rejected token: %v", w)
	}
	o.TwilioAuthToken = ""
	res, err := m.Apply(t.Context(), o)
	if err != nil || res.State != phonemigrate.StateCompleted || res.Steps[0].From != phonemigrate.StateNew {
		// Nothing was in progress (issue #22): it starts over.
		t.Fatalf("Apply = %+v, %v", res, err)
	}
	if got := res.Checkpoint.Intent.TwilioTokenSource; !strings.HasPrefix(got, phonemigrate.TokenSourceConnectionPrefix) {
		t.Errorf("TwilioTokenSource = %q, want the connection's", got)
	}
}
