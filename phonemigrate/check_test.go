package phonemigrate_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/unifiedphone/unifiedphone/phonemigrate"
	"github.com/unifiedphone/unifiedphone/phonemigrate/phonemigratetest"
)

// api calls the fake's Management API as a person changing the tenant by
// hand would, failing the test unless it answers 2xx.
func api(t *testing.T, srv *phonemigratetest.Server, method, path string, body any) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequestWithContext(t.Context(), method, srv.BaseURL+path, strings.NewReader(string(b)))
	req.Header.Set("Authorization", "Bearer "+srv.Token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("%s %s: %d", method, path, resp.StatusCode)
	}
}

func twilioProvider(methods ...string) map[string]any {
	return map[string]any{"name": "twilio", "configuration": map[string]any{"sid": phonemigratetest.TwilioSID, "default_from": phonemigratetest.TwilioFrom, "delivery_methods": methods},
		"credentials": map[string]any{"auth_token": phonemigratetest.TwilioAuthToken}}
}

// TestCheckHalfMigratedTenants: tenants switched by hand, or changed after
// a migration, are not "nothing to do": Check names each violated
// invariant with its consequence for users, and Plan and Apply refuse with
// an *UnhealthyError (exit 3) instead of ErrAlreadyUnified (exit 0).
func TestCheckHalfMigratedTenants(t *testing.T) {
	t.Parallel()
	const twConn = "con_Tw3hJ6cV9mQs1KeY"
	flagOn := func(t *testing.T, srv *phonemigratetest.Server) {
		api(t, srv, "PATCH", "/tenants/settings", map[string]any{"phone_consolidated_experience": true})
	}
	tests := []struct {
		name   string
		sc     phonemigratetest.Scenario
		shape  func(t *testing.T, srv *phonemigratetest.Server, m *phonemigrate.Migrator)
		want   []phonemigrate.Invariant
		broken bool
	}{
		{"flag switched by hand, connection not switched", phonemigratetest.LegacyTwilio, func(t *testing.T, srv *phonemigratetest.Server, _ *phonemigrate.Migrator) {
			api(t, srv, "POST", "/branding/phone/providers", twilioProvider("text"))
			flagOn(t, srv)
		}, []phonemigrate.Invariant{phonemigrate.InvariantConnectionsUseProvider}, false},
		{"flag on, no provider", phonemigratetest.MFATwilio, func(t *testing.T, srv *phonemigratetest.Server, _ *phonemigrate.Migrator) {
			flagOn(t, srv)
		}, []phonemigrate.Invariant{phonemigrate.InvariantProviderPresent}, true},
		{"provider text-only while MFA offers voice", phonemigratetest.MFATwilio, func(t *testing.T, srv *phonemigratetest.Server, _ *phonemigrate.Migrator) {
			api(t, srv, "POST", "/branding/phone/providers", twilioProvider("text"))
			flagOn(t, srv)
		}, []phonemigrate.Invariant{phonemigrate.InvariantProviderCoversFactors}, true},
		{"completed, then use_phone_provider removed", phonemigratetest.LegacyTwilio, func(t *testing.T, srv *phonemigratetest.Server, m *phonemigrate.Migrator) {
			if _, err := m.Apply(t.Context(), fakeOptions(srv)); err != nil {
				t.Fatalf("Apply: %v", err)
			}
			opts := srv.State().Connections[1].Options
			delete(opts, phonemigrate.UsePhoneProviderKey)
			api(t, srv, "PATCH", "/connections/"+twConn, map[string]any{"options": opts})
		}, []phonemigrate.Invariant{phonemigrate.InvariantConnectionsUseProvider}, false},
		{"custom provider without an Action", phonemigratetest.MFATwilio, func(t *testing.T, srv *phonemigratetest.Server, _ *phonemigrate.Migrator) {
			api(t, srv, "POST", "/branding/phone/providers", map[string]any{"name": "custom", "configuration": map[string]any{"delivery_methods": []string{"text", "voice"}}, "credentials": map[string]any{}})
			flagOn(t, srv)
		}, []phonemigrate.Invariant{phonemigrate.InvariantCustomActionBound}, true},
		{"connection switched, tenant not", phonemigratetest.LegacyTwilio, func(t *testing.T, srv *phonemigratetest.Server, _ *phonemigrate.Migrator) {
			opts := srv.State().Connections[1].Options
			opts[phonemigrate.UsePhoneProviderKey] = true
			api(t, srv, "PATCH", "/connections/"+twConn, map[string]any{"options": opts})
		}, []phonemigrate.Invariant{phonemigrate.InvariantTenantSwitched}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, m := fakeTenant(t, tt.sc, phonemigrate.WithStore(phonemigrate.NewMemoryStore()))
			tt.shape(t, srv, m)
			h, err := m.Check(t.Context())
			if err != nil {
				t.Fatalf("Check: %v", err)
			}
			var got []phonemigrate.Invariant
			for _, f := range h.Findings {
				got = append(got, f.Invariant)
				if f.Problem == "" || f.Consequence == "" || f.Fix == "" {
					t.Errorf("finding without problem, consequence or fix: %+v", f)
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("findings (-want +got):\n%s\n%+v", diff, h.Findings)
			}
			if h.Broken() != tt.broken || h.State != "inconsistent" {
				t.Errorf("Broken %v State %q, want %v inconsistent", h.Broken(), h.State, tt.broken)
			}
			if tt.want[0] == phonemigrate.InvariantTenantSwitched {
				return // not switched: planning migrates it as usual
			}
			if !tt.broken {
				testConverges(t, srv)
				return
			}
			_, err = m.Plan(t.Context(), fakeOptions(srv))
			var ue *phonemigrate.UnhealthyError
			if !errors.As(err, &ue) || errors.Is(err, phonemigrate.ErrAlreadyUnified) || phonemigrate.ExitCode(err) != 3 {
				t.Errorf("Plan err = %v (exit %d), want *UnhealthyError, exit 3", err, phonemigrate.ExitCode(err))
			}
		})
	}
}

// testConverges: a switched tenant whose only fault is connections still on
// their legacy settings converges — the plan writes exactly those
// connections, apply switches them keeping everything else, the tenant is
// then healthy, and rollback undoes only what this run wrote.
func testConverges(t *testing.T, srv *phonemigratetest.Server) {
	t.Helper()
	_, m := fakeTenantOn(t, srv, phonemigrate.WithStore(phonemigrate.NewMemoryStore()))
	o := fakeOptions(srv)
	o.TestRecipients, o.SkipTest = nil, true
	p, err := m.Plan(t.Context(), o)
	if err != nil {
		t.Fatalf("Plan: %v", err)
	}
	var writes []string
	for _, st := range p.Steps {
		for _, w := range st.Writes {
			writes = append(writes, w.Method+" "+w.Path)
		}
	}
	want := []string{"PATCH /connections/con_Tw3hJ6cV9mQs1KeY"}
	if !slices.ContainsFunc(srv.State().PhoneTemplates, func(t phonemigratetest.PhoneTemplate) bool { return t.Type == "otp_verify" }) {
		// The connection keeps its words: its legacy text becomes the
		// tenant template it will be served with.
		want = append(want, "POST /branding/phone/templates")
	}
	if diff := cmp.Diff(want, writes); diff != "" {
		t.Errorf("converging plan writes (-want +got):\n%s", diff)
	}
	before := srv.State()
	if _, err := m.Apply(t.Context(), o); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if h, err := m.Check(t.Context()); err != nil || !h.Healthy() {
		t.Errorf("after converging: %+v, %v", h, err)
	}
	if _, err := m.Rollback(t.Context()); err != nil {
		t.Fatalf("Rollback: %v", err)
	}
	if diff := cmp.Diff(before, srv.State(), phonemigratetest.IgnoreGenerated); diff != "" {
		t.Errorf("rollback of the converging run (-before +after):\n%s", diff)
	}
}

// TestCheckHealthy: a legacy tenant is "legacy", a migrated one and the
// unified scenario are "unified", with no findings.
func TestCheckHealthy(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		sc      phonemigratetest.Scenario
		migrate bool
		want    string
	}{
		{phonemigratetest.LegacyGateway, false, "legacy"},
		{phonemigratetest.Unified, false, "unified"},
		{phonemigratetest.LegacyGateway, true, "unified"},
		{phonemigratetest.Mixed, true, "unified"},
	} {
		t.Run(string(tc.sc), func(t *testing.T) {
			srv, m := fakeTenant(t, tc.sc, phonemigrate.WithStore(phonemigrate.NewMemoryStore()))
			if tc.migrate {
				if _, err := m.Apply(t.Context(), fakeOptions(srv)); err != nil {
					t.Fatalf("Apply: %v", err)
				}
			}
			h, err := m.Check(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if h.State != tc.want || !h.Healthy() {
				t.Errorf("Check = %+v, want %s and healthy", h, tc.want)
			}
		})
	}
}

// TestApplyRechecksACompletedMigration: apply on a completed checkpoint
// checks the tenant again. A connection switched back since is switched
// again within the same checkpoint (and a rollback still restores the
// original tenant); the switch turned off since is reported, nothing
// written; a healthy tenant is nothing to do.
func TestApplyRechecksACompletedMigration(t *testing.T) {
	t.Parallel()
	const twConn = "con_Tw3hJ6cV9mQs1KeY"
	srv, m := fakeTenant(t, phonemigratetest.LegacyTwilio, phonemigrate.WithStore(phonemigrate.NewMemoryStore()))
	original := srv.State()
	if _, err := m.Apply(t.Context(), fakeOptions(srv)); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if res, err := m.Apply(t.Context(), fakeOptions(srv)); err != nil || !res.AlreadyDone {
		t.Fatalf("Apply on a healthy completed tenant = %+v, %v; want nothing to do", res, err)
	}

	opts := srv.State().Connections[1].Options
	delete(opts, phonemigrate.UsePhoneProviderKey)
	api(t, srv, "PATCH", "/connections/"+twConn, map[string]any{"options": opts})
	res, err := m.Apply(t.Context(), fakeOptions(srv))
	if err != nil || res.AlreadyDone || res.State != phonemigrate.StateCompleted {
		t.Fatalf("Apply after the connection was switched back = %+v, %v; want it switched again", res, err)
	}
	if got := srv.State().Connections[1].Options[phonemigrate.UsePhoneProviderKey]; got != true {
		t.Errorf("use_phone_provider = %v after re-apply, want true", got)
	}

	// Switched off since (an IaC run): not "nothing to do" — Apply
	// migrates again within the same checkpoint, switching it on.
	api(t, srv, "PATCH", "/tenants/settings", map[string]any{"phone_consolidated_experience": false})
	if res, err := m.Apply(t.Context(), fakeOptions(srv)); err != nil || res.State != phonemigrate.StateCompleted {
		t.Fatalf("Apply after the switch was turned off = %+v, %v; want it migrated again", res, err)
	}
	if got := srv.State().TenantSettings["phone_consolidated_experience"]; got != true {
		t.Errorf("phone_consolidated_experience = %v after the re-migration, want true", got)
	}
	if _, err := m.Rollback(t.Context()); err != nil {
		t.Fatalf("Rollback: %v", err)
	}
	if diff := cmp.Diff(original, srv.State(), phonemigratetest.IgnoreGenerated); diff != "" {
		t.Errorf("tenant after rollback (-original +got):\n%s", diff)
	}
}

// TestTakesOverTheProviderSetUpForIt: a half-migrated tenant where
// someone created in the Dashboard exactly the provider the migration
// writes, but did not switch. The plan takes it over (no --allow-replace
// needed), writing it again only for its credentials; a different
// provider still needs AllowReplace; rollback keeps the taken-over
// provider, with its configuration.
func TestTakesOverTheProviderSetUpForIt(t *testing.T) {
	t.Parallel()
	srv, m := fakeTenant(t, phonemigratetest.LegacyTwilio, phonemigrate.WithStore(phonemigrate.NewMemoryStore()))
	api(t, srv, "POST", "/branding/phone/providers", twilioProvider("voice"))
	var ee *phonemigrate.ExistingResourceError
	if _, err := m.Plan(t.Context(), fakeOptions(srv)); !errors.As(err, &ee) {
		t.Fatalf("Plan with a different provider: %v, want *ExistingResourceError", err)
	}
	id := srv.State().PhoneProviders[0].ID
	api(t, srv, "PATCH", "/branding/phone/providers/"+id, map[string]any{"configuration": map[string]any{"sid": phonemigratetest.TwilioSID,
		"default_from": phonemigratetest.TwilioFrom, "delivery_methods": []string{"text"}}})
	p, err := m.Plan(t.Context(), fakeOptions(srv))
	if err != nil {
		t.Fatalf("Plan with the provider set up for it: %v", err)
	}
	var got []string
	for _, st := range p.Steps {
		if st.State == phonemigrate.StateProviderConfigured {
			for _, w := range st.Writes {
				got = append(got, w.Method+" "+w.Path)
			}
		}
	}
	if diff := cmp.Diff([]string{"PATCH /branding/phone/providers/" + id}, got); diff != "" {
		t.Errorf("provider writes (-want +got):\n%s", diff)
	}
	if _, err := m.Apply(t.Context(), fakeOptions(srv)); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if _, err := m.Rollback(t.Context()); err != nil {
		t.Fatalf("Rollback: %v", err)
	}
	ps := srv.State().PhoneProviders
	if len(ps) != 1 || ps[0].ID != id {
		t.Fatalf("providers after rollback: %+v, want the taken-over one kept", ps)
	}
}
