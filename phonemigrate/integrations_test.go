package phonemigrate_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/unifiedphone/unifiedphone/phonemigrate"
	"github.com/unifiedphone/unifiedphone/phonemigrate/phonemigratetest"
)

// callAs calls the fake's root-relative path with token.
func callAs(t *testing.T, srv *phonemigratetest.Server, method, path, token string, body any) map[string]any {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequestWithContext(t.Context(), method, srv.URL+path, bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, raw)
	}
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	return m
}

// The plan of a tenant where another application holds a grant with
// update:guardian_factors and has called PUT
// /guardian/factors/sms/providers/twilio names that application, the
// call, its replacement, and how far back the logs reached; check says
// the same before the switch.
func TestIntegrationsAtRisk(t *testing.T) {
	t.Parallel()
	srv, m := fakeTenant(t, phonemigratetest.MFATwilio)
	app := callAs(t, srv, "POST", "/api/v2/clients", srv.Token, map[string]any{"name": "Ops SMS rotator", "app_type": "non_interactive"})
	id, secret := app["client_id"].(string), app["client_secret"].(string)
	callAs(t, srv, "POST", "/api/v2/client-grants", srv.Token, map[string]any{"client_id": id, "audience": srv.ManagementAudience(),
		"scope": []any{"read:guardian_factors", "update:guardian_factors", "read:users"}})
	tok := callAs(t, srv, "POST", "/oauth/token", "", map[string]any{"grant_type": "client_credentials", "client_id": id,
		"client_secret": secret, "audience": srv.ManagementAudience()})["access_token"].(string)
	for range 2 {
		callAs(t, srv, "PUT", "/api/v2/guardian/factors/sms/providers/twilio", tok,
			map[string]any{"sid": phonemigratetest.TwilioSID, "from": phonemigratetest.TwilioFrom, "auth_token": phonemigratetest.TwilioAuthToken})
	}

	p, err := m.Plan(t.Context(), fakeOptions(srv))
	if err != nil {
		t.Fatal(err)
	}
	r := p.Integrations
	if r == nil {
		t.Fatal("the plan has no integrations report")
	}
	var grant *phonemigrate.GrantAtRisk
	for i, g := range r.Grants {
		if g.ClientID == id {
			grant = &r.Grants[i]
		}
	}
	if grant == nil || grant.Name != "Ops SMS rotator" || strings.Join(grant.Scopes, " ") != "read:guardian_factors update:guardian_factors" {
		t.Errorf("grants = %+v, want Ops SMS rotator with its two guardian scopes", r.Grants)
	}
	if len(r.Calls) != 1 {
		t.Fatalf("calls = %+v, want the rotator's PUT", r.Calls)
	}
	c := r.Calls[0]
	if c.ClientID != id || c.Name != "Ops SMS rotator" || c.Method != "PUT" || c.Path != "/api/v2/guardian/factors/sms/providers/twilio" ||
		c.Count != 2 || !strings.HasPrefix(c.Replacement, "/api/v2/branding/phone/providers") {
		t.Errorf("call = %+v", c)
	}
	if r.LogsRead == 0 || r.LogsSince.IsZero() || !r.LogsComplete {
		t.Errorf("logs read %d since %v complete %v", r.LogsRead, r.LogsSince, r.LogsComplete)
	}
	text := p.Text()
	for _, want := range []string{`application "Ops SMS rotator" (` + id + `) may call them: its Management API grant holds read:guardian_factors, update:guardian_factors`,
		`called PUT /api/v2/guardian/factors/sms/providers/twilio 2 time(s)`, "use /api/v2/branding/phone/providers", "sapi/fapi entries read (every sapi/fapi entry the tenant keeps), back to",
		"may call Guardian phone endpoints that answer 403 after the switch"} {
		if !strings.Contains(text, want) {
			t.Errorf("plan does not say %q:\n%s", want, text)
		}
	}
	h, err := m.Check(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if h.Integrations == nil || len(h.Integrations.Calls) != 1 || h.Integrations.Calls[0].ClientID != id {
		t.Errorf("check before the switch: integrations = %+v", h.Integrations)
	}
}

func TestReplacementFor(t *testing.T) {
	tests := []struct {
		path, want string
		ok         bool
	}{
		{"/api/v2/guardian/factors/sms/providers/twilio", "/api/v2/branding/phone/providers", true},
		{"/api/v2/guardian/factors/phone/providers/twilio", "/api/v2/branding/phone/providers", true},
		{"/api/v2/guardian/factors/phone/selected-provider", "/api/v2/branding/phone/providers", true},
		{"/api/v2/guardian/factors/sms/templates", "/api/v2/branding/phone/templates", true},
		{"/api/v2/guardian/factors/phone/message-types", "", false},
		{"/api/v2/guardian/factors/sms", "", false},
		{"/api/v2/log-streams/lst_1", "", false},
	}
	for _, tt := range tests {
		got, ok := phonemigrate.ReplacementFor(tt.path)
		if ok != tt.ok || !strings.HasPrefix(got, tt.want) {
			t.Errorf("ReplacementFor(%q) = %q, %v; want %q…, %v", tt.path, got, ok, tt.want, tt.ok)
		}
	}
}

// TestIntegrationsSelfCallsNotAtRisk: the calls the migration's own
// application made to the endpoints that stop working (a rollback restores
// Guardian settings through them) are listed as its own, not as an
// integration at risk.
func TestIntegrationsSelfCallsNotAtRisk(t *testing.T) {
	t.Parallel()
	srv, m := fakeTenant(t, phonemigratetest.MFATwilio)
	callAs(t, srv, "PUT", "/api/v2/guardian/factors/sms/providers/twilio", srv.Token,
		map[string]any{"sid": phonemigratetest.TwilioSID, "from": phonemigratetest.TwilioFrom, "auth_token": phonemigratetest.TwilioAuthToken})
	p, err := m.Plan(t.Context(), fakeOptions(srv))
	if err != nil {
		t.Fatal(err)
	}
	r := p.Integrations
	if r == nil || len(r.Calls) != 1 || !r.Calls[0].Self || r.Calls[0].ClientID != srv.ClientID {
		t.Fatalf("calls = %+v, want the migration's own PUT marked Self", r)
	}
	if r.AtRisk() {
		t.Error("AtRisk: true for the migration's own calls")
	}
	text := p.Text()
	if !strings.Contains(text, "Integrations at risk: none found") || !strings.Contains(text, "whose only calls to endpoints that stop working are this application's") {
		t.Errorf("plan:\n%s", text)
	}
	if strings.Contains(text, "may call Guardian phone endpoints") {
		t.Errorf("plan warns of the migration's own calls:\n%s", text)
	}
}
