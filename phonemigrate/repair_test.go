package phonemigrate_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/unifiedphone/unifiedphone/phonemigrate"
	"github.com/unifiedphone/unifiedphone/phonemigrate/phonemigratetest"
)

// repairWrite is the one write every repair proposal makes.
var repairWrite = []phonemigrate.Write{{Method: "PATCH", Path: "/tenants/settings",
	Before: map[string]any{"phone_consolidated_experience": true},
	After:  map[string]any{"phone_consolidated_experience": false},
	Note:   "the only write; verified from Auth0's answer"}}

// proposalWrites returns every write of plan p, in order.
func proposalWrites(p *phonemigrate.Plan) []phonemigrate.Write {
	var out []phonemigrate.Write
	for _, s := range p.Steps {
		out = append(out, s.Writes...)
	}
	return out
}

// mentioned returns the phrases of want that some warning of p contains,
// so that a diff against want names the missing ones.
func mentioned(p *phonemigrate.Plan, want []string) []string {
	var got []string
	for _, w := range want {
		for _, n := range p.Warnings {
			if strings.Contains(n, w) {
				got = append(got, w)
				break
			}
		}
	}
	return got
}

func flagOnByHand(t *testing.T, srv *phonemigratetest.Server) {
	t.Helper()
	api(t, srv, "PATCH", "/tenants/settings", map[string]any{"phone_consolidated_experience": true})
}

// TestRepairBrokenTenants: for each tenant switched by hand into a state
// where users get no code, Plan and Apply refuse with an *UnhealthyError
// carrying the repair (one write: the switch off, with notes naming what
// happens to each consumer), Check shows the same proposal, Repair makes
// exactly that write and reads the tenant again — now no factor in use
// routes nowhere, and MFA's legacy Guardian settings are readable — and
// apply then migrates the tenant properly.
func TestRepairBrokenTenants(t *testing.T) {
	t.Parallel()
	const twConn = "con_Tw3hJ6cV9mQs1KeY"
	mfaLegacy := phonemigrate.Route{Consumer: "MFA", Via: "the legacy Guardian Twilio provider (account " + phonemigratetest.TwilioSID + "); message types SMS + Voice"}
	mfaAfter := "After it, MFA (SMS + Voice) goes back to the Guardian phone settings in place before the switch"
	tests := []struct {
		name      string
		sc        phonemigratetest.Scenario
		shape     func(t *testing.T, srv *phonemigratetest.Server)
		want      []phonemigrate.Invariant
		wantNotes []string
		// wantRoutes are where codes go after the repair.
		wantRoutes []phonemigrate.Route
		// fix is the repair's write, "METHOD PATH", when it is not the
		// switch back: the tenant holds what brings codes back through
		// the migrated route, and stays switched.
		fix string
		// stillNoCode: a consumer gets no code either way (the repair
		// cannot help it, and says so).
		stillNoCode bool
	}{
		{"switched without a provider", phonemigratetest.MFATwilio, func(t *testing.T, srv *phonemigratetest.Server) {
			flagOnByHand(t, srv)
		}, []phonemigrate.Invariant{phonemigrate.InvariantProviderPresent},
			[]string{"Now: the tenant is switched to the Unified Phone Experience but has no phone provider: MFA users get no code.", mfaAfter, "Next: run 'phonemigrate apply'"},
			[]phonemigrate.Route{mfaLegacy}, "", false},
		{"text-only provider while MFA offers voice", phonemigratetest.MFATwilio, func(t *testing.T, srv *phonemigratetest.Server) {
			api(t, srv, "POST", "/branding/phone/providers", twilioProvider("text"))
			flagOnByHand(t, srv)
		}, []phonemigrate.Invariant{phonemigrate.InvariantProviderCoversFactors},
			[]string{"MFA users (voice) get no code", "every consumer gets a code again"},
			[]phonemigrate.Route{{Consumer: "MFA", Via: "the tenant-level twilio phone provider pro_Fk00000000000001 (SMS + Voice); message types SMS + Voice"}},
			"PATCH /api/v2/branding/phone/providers/pro_Fk00000000000001", false},
		{"disabled provider", phonemigratetest.MFATwilio, func(t *testing.T, srv *phonemigratetest.Server) {
			p := twilioProvider("text", "voice")
			p["disabled"] = true
			api(t, srv, "POST", "/branding/phone/providers", p)
			flagOnByHand(t, srv)
		}, []phonemigrate.Invariant{phonemigrate.InvariantProviderEnabled},
			[]string{"is disabled: MFA users get no code", "every consumer gets a code again"},
			[]phonemigrate.Route{{Consumer: "MFA", Via: "the tenant-level twilio phone provider pro_Fk00000000000001 (SMS + Voice); message types SMS + Voice"}},
			"PATCH /api/v2/branding/phone/providers/pro_Fk00000000000001", false},
		{"custom provider without a bound Action", phonemigratetest.MFATwilio, func(t *testing.T, srv *phonemigratetest.Server) {
			api(t, srv, "POST", "/branding/phone/providers", map[string]any{"name": "custom", "configuration": map[string]any{"delivery_methods": []string{"text", "voice"}}, "credentials": map[string]any{}})
			flagOnByHand(t, srv)
		}, []phonemigrate.Invariant{phonemigrate.InvariantCustomActionBound},
			[]string{"has no deployed custom-phone-provider Action bound to its trigger: MFA users get no code", mfaAfter},
			[]phonemigrate.Route{mfaLegacy}, "", false},
		{"switched connections without a provider, one with no legacy settings", phonemigratetest.LegacyTwilio, func(t *testing.T, srv *phonemigratetest.Server) {
			opts := srv.State().Connections[1].Options
			opts[phonemigrate.UsePhoneProviderKey] = true
			api(t, srv, "PATCH", "/connections/"+twConn, map[string]any{"options": opts})
			api(t, srv, "POST", "/connections", map[string]any{"name": "sms-bare", "strategy": "sms", "options": map[string]any{phonemigrate.UsePhoneProviderKey: true}})
			flagOnByHand(t, srv)
		}, []phonemigrate.Invariant{phonemigrate.InvariantProviderPresent},
			[]string{
				`Passwordless connection(s) "sms" (its Twilio settings) send their codes through their legacy settings again`,
				`The repair does not help Passwordless connection(s) "sms-bare"`,
			},
			[]phonemigrate.Route{
				{Consumer: `Passwordless connection "sms"`, Via: "its legacy Twilio settings (account " + phonemigratetest.TwilioSID + ")"},
				{Consumer: `Passwordless connection "sms-bare"`, Via: "nothing: the connection has no legacy SMS provider and the tenant is not switched", NoCode: true},
			}, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, m := fakeTenant(t, tt.sc, phonemigrate.WithStore(phonemigrate.NewMemoryStore()))
			tt.shape(t, srv)
			srv.ResetRequests()

			// Plan and Apply propose the repair, writing nothing.
			_, err := m.Plan(t.Context(), fakeOptions(srv))
			var ue *phonemigrate.UnhealthyError
			if !errors.As(err, &ue) || phonemigrate.ExitCode(err) != 3 {
				t.Fatalf("Plan err = %v, want *UnhealthyError (exit 3)", err)
			}
			if ue.Repair == nil {
				t.Fatalf("Plan's UnhealthyError proposes no repair: %v", err)
			}
			var got []phonemigrate.Invariant
			for _, f := range ue.Findings {
				got = append(got, f.Invariant)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("findings (-want +got):\n%s", diff)
			}
			if tt.fix == "" {
				if diff := cmp.Diff(repairWrite, proposalWrites(ue.Repair)); diff != "" {
					t.Errorf("repair writes (-want +got):\n%s", diff)
				}
			} else if w := proposalWrites(ue.Repair); len(w) != 1 || w[0].Method+" /api/v2"+w[0].Path != tt.fix {
				t.Errorf("repair writes %+v, want %s", w, tt.fix)
			}
			if diff := cmp.Diff(tt.wantNotes, mentioned(ue.Repair, tt.wantNotes)); diff != "" {
				t.Errorf("repair notes (-want +got):\n%s\nnotes: %q", diff, ue.Repair.Warnings)
			}
			if ue.Repair.Tenant != phonemigratetest.TenantName || !strings.HasPrefix(ue.Repair.Text(), "Repair plan for "+phonemigratetest.TenantName+"\n") {
				t.Errorf("repair text:\n%s", ue.Repair.Text())
			}
			_, err = m.Apply(t.Context(), fakeOptions(srv))
			var ae *phonemigrate.UnhealthyError
			if !errors.As(err, &ae) {
				t.Fatalf("Apply err = %v, want *UnhealthyError", err)
			}
			if diff := cmp.Diff(ue.Repair, ae.Repair); diff != "" {
				t.Errorf("Apply's repair differs from Plan's (-plan +apply):\n%s", diff)
			}
			h, err := m.Check(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(ue.Repair, h.Repair); diff != "" {
				t.Errorf("Check's repair differs from Plan's (-plan +check):\n%s", diff)
			}
			if w := writesOf(srv); len(w) != 0 {
				t.Errorf("Plan, Apply and Check wrote %q", w)
			}

			// Repair: exactly the proposed write, then a re-read.
			srv.ResetRequests()
			_, m2 := fakeTenantOn(t, srv, phonemigrate.WithStore(phonemigrate.NewMemoryStore()))
			res, err := m2.Repair(t.Context(), phonemigrate.RepairOptions{})
			if err != nil {
				t.Fatalf("Repair: %v", err)
			}
			wantWrite := "PATCH /api/v2/tenants/settings"
			if tt.fix != "" {
				wantWrite = tt.fix
			}
			if diff := cmp.Diff([]string{wantWrite}, writesOf(srv)); diff != "" {
				t.Errorf("Repair's writes (-want +got):\n%s", diff)
			}
			if res.Outcome != phonemigrate.RepairDone || res.Health.Broken() != tt.stillNoCode || res.Discovery == nil || res.Discovery.UPE != (tt.fix != "") {
				t.Errorf("Repair = %+v, health %+v; want repaired, broken %v, switched %v", res, res.Health, tt.stillNoCode, tt.fix != "")
			}
			if diff := cmp.Diff(ue.Repair, res.Proposal); diff != "" {
				t.Errorf("Repair performed another proposal than Plan's (-plan +repair):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantRoutes, res.Routes); diff != "" {
				t.Errorf("routes after the repair (-want +got):\n%s", diff)
			}
			if got := srv.State().TenantSettings["phone_consolidated_experience"]; got != (tt.fix != "") {
				t.Errorf("phone_consolidated_experience = %v after the repair, want %v", got, tt.fix != "")
			}
			if tt.fix != "" {
				if !res.Health.Healthy() || res.Health.State != "unified" {
					t.Errorf("after the repair: %+v, want unified and healthy", res.Health)
				}
				return
			}
			if tt.stillNoCode {
				return // sms-bare needs a person: settings, or a provider
			}

			// Then migrate properly.
			o := fakeOptions(srv)
			o.AllowReplace = true
			if _, err := m2.Apply(t.Context(), o); err != nil {
				t.Fatalf("Apply after the repair: %v", err)
			}
			if h, err := m2.Check(t.Context()); err != nil || !h.Healthy() || h.State != "unified" {
				t.Errorf("after repair and apply: %+v, %v; want unified and healthy", h, err)
			}
		})
	}
}

// TestRepairNotNeeded: a switched tenant whose only fault is a connection
// not using the provider is not broken: Plan converges it (no repair
// proposed) and Repair writes nothing, saying so.
func TestRepairNotNeeded(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		sc    phonemigratetest.Scenario
		shape func(t *testing.T, srv *phonemigratetest.Server)
		state string
	}{
		{"connection not switched", phonemigratetest.LegacyTwilio, func(t *testing.T, srv *phonemigratetest.Server) {
			api(t, srv, "POST", "/branding/phone/providers", twilioProvider("text"))
			flagOnByHand(t, srv)
		}, "inconsistent"},
		{"healthy unified tenant", phonemigratetest.Unified, func(*testing.T, *phonemigratetest.Server) {}, "unified"},
		{"legacy tenant", phonemigratetest.MFATwilio, func(*testing.T, *phonemigratetest.Server) {}, "legacy"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, m := fakeTenant(t, tc.sc, phonemigrate.WithStore(phonemigrate.NewMemoryStore()))
			tc.shape(t, srv)
			h, err := m.Check(t.Context())
			if err != nil || h.Repair != nil {
				t.Fatalf("Check = %+v, %v; want no repair proposed", h, err)
			}
			srv.ResetRequests()
			res, err := m.Repair(t.Context(), phonemigrate.RepairOptions{})
			if err != nil {
				t.Fatalf("Repair: %v", err)
			}
			want := &phonemigrate.RepairResult{Outcome: phonemigrate.RepairNotNeeded, Reason: "no finding leaves users without a code", Before: h, Health: h}
			// Repair judges the tenant as Check does; the integrations
			// report is Check's alone.
			if diff := cmp.Diff(want, res, cmpopts.IgnoreFields(phonemigrate.Health{}, "Integrations")); diff != "" {
				t.Errorf("Repair (-want +got):\n%s", diff)
			}
			if w := writesOf(srv); len(w) != 0 {
				t.Errorf("Repair wrote %q", w)
			}
			if h.State != tc.state {
				t.Errorf("state %q, want %q", h.State, tc.state)
			}
		})
	}
}

// flipClient is a colleague's hand on the tenant while Repair runs: before
// the n-th call of ListPhoneTemplates (discovery's last read) it runs
// colleague; it counts the tenant flag writes the Migrator makes.
type flipClient struct {
	phonemigrate.Client
	n, calls  int
	colleague func()
	flagSets  int
}

func (c *flipClient) ListPhoneTemplates(ctx context.Context) ([]phonemigrate.PhoneTemplate, error) {
	c.calls++
	if c.calls == c.n {
		c.colleague()
	}
	return c.Client.ListPhoneTemplates(ctx)
}

func (c *flipClient) SetPhoneConsolidatedExperience(ctx context.Context, on bool) (phonemigrate.TenantSettings, error) {
	c.flagSets++
	return c.Client.SetPhoneConsolidatedExperience(ctx, on)
}

// TestRepairConcurrent: someone repairs the tenant between the proposal
// and the write — before Repair reads it, while it reads it, or while a
// person considers the proposal — and Repair writes nothing.
func TestRepairConcurrent(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		// run repairs the broken tenant srv while colleague fixes it at
		// some point; it returns the migrator's own flag writes.
		run        func(t *testing.T, srv *phonemigratetest.Server, colleague func()) (*phonemigrate.RepairResult, int)
		wantReason string
	}{
		{"between Plan and Repair", func(t *testing.T, srv *phonemigratetest.Server, colleague func()) (*phonemigrate.RepairResult, int) {
			_, m := fakeTenantOn(t, srv)
			var ue *phonemigrate.UnhealthyError
			if _, err := m.Plan(t.Context(), fakeOptions(srv)); !errors.As(err, &ue) || ue.Repair == nil {
				t.Fatalf("Plan = %v, want a repair proposed", err)
			}
			colleague()
			srv.ResetRequests()
			res, err := m.Repair(t.Context(), phonemigrate.RepairOptions{})
			if err != nil {
				t.Fatal(err)
			}
			return res, len(writesOf(srv))
		}, "no finding leaves users without a code"},
		{"while Repair reads the tenant", func(t *testing.T, srv *phonemigratetest.Server, colleague func()) (*phonemigrate.RepairResult, int) {
			fc := &flipClient{n: 1, colleague: colleague}
			fc.Client = clientOf(t, srv)
			m, err := newStubbed(fc, phonemigrate.WithTenant(phonemigratetest.TenantName))
			if err != nil {
				t.Fatal(err)
			}
			res, err := m.Repair(t.Context(), phonemigrate.RepairOptions{})
			if err != nil {
				t.Fatal(err)
			}
			return res, fc.flagSets
		}, "someone switched the tenant back since it was read"},
		{"while a person considers the proposal", func(t *testing.T, srv *phonemigratetest.Server, colleague func()) (*phonemigrate.RepairResult, int) {
			fc := &flipClient{colleague: func() {}}
			fc.Client = clientOf(t, srv)
			m, err := newStubbed(fc, phonemigrate.WithTenant(phonemigratetest.TenantName), phonemigrate.WithConfirmStaleAfter(0))
			if err != nil {
				t.Fatal(err)
			}
			res, err := m.Repair(t.Context(), phonemigrate.RepairOptions{Confirm: func(context.Context, *phonemigrate.Plan) (bool, error) {
				colleague()
				return true, nil
			}})
			if err != nil {
				t.Fatal(err)
			}
			return res, fc.flagSets
		}, "the tenant changed since the proposal and no longer calls for the repair"},
	} {
		for _, fix := range []struct {
			name string
			do   func(t *testing.T, srv *phonemigratetest.Server)
		}{
			{"switch off", func(t *testing.T, srv *phonemigratetest.Server) {
				api(t, srv, "PATCH", "/tenants/settings", map[string]any{"phone_consolidated_experience": false})
			}},
			{"provider added", func(t *testing.T, srv *phonemigratetest.Server) {
				api(t, srv, "POST", "/branding/phone/providers", twilioProvider("text", "voice"))
			}},
		} {
			if fix.name == "provider added" && tc.name == "while Repair reads the tenant" {
				continue // discovery read the providers already: only a full re-read would see it
			}
			t.Run(tc.name+"/"+fix.name, func(t *testing.T) {
				srv, _ := fakeTenant(t, phonemigratetest.MFATwilio)
				flagOnByHand(t, srv)
				res, writes := tc.run(t, srv, func() { fix.do(t, srv) })
				if writes != 0 {
					t.Errorf("Repair wrote the tenant flag %d time(s) after someone else repaired it", writes)
				}
				reason := tc.wantReason
				if diff := cmp.Diff(struct {
					Outcome phonemigrate.RepairOutcome
					Reason  string
					Broken  bool
				}{phonemigrate.RepairNotNeeded, reason, false}, struct {
					Outcome phonemigrate.RepairOutcome
					Reason  string
					Broken  bool
				}{res.Outcome, res.Reason, res.Health.Broken()}); diff != "" {
					t.Errorf("Repair (-want +got):\n%s", diff)
				}
			})
		}
	}
}

// TestRepairDeclinedAndUnderway: a declined confirmation writes nothing; a
// checkpoint of a migration under way refuses the repair (exit 3) before
// any write.
func TestRepairDeclinedAndUnderway(t *testing.T) {
	t.Parallel()
	srv, m := fakeTenant(t, phonemigratetest.MFATwilio)
	flagOnByHand(t, srv)
	srv.ResetRequests()
	var shown *phonemigrate.Plan
	res, err := m.Repair(t.Context(), phonemigrate.RepairOptions{Confirm: func(_ context.Context, p *phonemigrate.Plan) (bool, error) {
		shown = p
		return false, nil
	}})
	if err != nil || res.Outcome != phonemigrate.RepairDeclined || shown == nil || len(writesOf(srv)) != 0 {
		t.Errorf("declined Repair = %+v, %v (shown %v, writes %q); want declined, nothing written", res, err, shown != nil, writesOf(srv))
	}

	store := phonemigrate.NewMemoryStore()
	if err := store.Save(t.Context(), &phonemigrate.Checkpoint{Version: phonemigrate.CheckpointVersion, Tenant: phonemigratetest.TenantName,
		State: phonemigrate.StateFailed, LastGood: phonemigrate.StateTenantSwitched}); err != nil {
		t.Fatal(err)
	}
	_, m = fakeTenantOn(t, srv, phonemigrate.WithStore(store))
	srv.ResetRequests()
	_, err = m.Repair(t.Context(), phonemigrate.RepairOptions{})
	var mu *phonemigrate.MigrationUnderwayError
	if !errors.As(err, &mu) || phonemigrate.ExitCode(err) != 3 || len(srv.Requests()) != 0 {
		t.Errorf("Repair with a migration under way = %v (requests %v); want *MigrationUnderwayError, exit 3, no request", err, srv.Requests())
	}
}

// TestRecheckProposesRepair: a completed migration whose provider was
// deleted since (deploy-cli with AUTH0_ALLOW_DELETE) leaves the switched
// connection with no code. Check proposes the fastest repair (switching
// back sends the connection's codes through its legacy settings again);
// Apply on the completed checkpoint migrates again instead of refusing:
// it creates the provider anew, and the tenant is healthy.
func TestRecheckProposesRepair(t *testing.T) {
	t.Parallel()
	srv, m := fakeTenant(t, phonemigratetest.LegacyTwilio, phonemigrate.WithStore(phonemigrate.NewMemoryStore()))
	if _, err := m.Apply(t.Context(), fakeOptions(srv)); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	api(t, srv, "DELETE", "/branding/phone/providers/"+srv.State().PhoneProviders[0].ID, nil)
	h, err := m.Check(t.Context())
	if err != nil || h.Repair == nil {
		t.Fatalf("Check = %+v, %v; want a repair proposed", h, err)
	}
	want := []string{`Passwordless connection(s) "sms" (its Twilio settings) send their codes through their legacy settings again`}
	if diff := cmp.Diff(want, mentioned(h.Repair, want)); diff != "" {
		t.Errorf("repair notes (-want +got):\n%s\n%s", diff, h.Repair.Text())
	}
	res, err := m.Apply(t.Context(), fakeOptions(srv))
	if err != nil || res.State != phonemigrate.StateCompleted {
		t.Fatalf("Apply on the completed, broken tenant = %+v, %v; want it migrated again", res, err)
	}
	if n := len(srv.State().PhoneProviders); n != 1 {
		t.Errorf("%d providers after the re-migration, want 1", n)
	}
	if h, err := m.Check(t.Context()); err != nil || !h.Healthy() {
		t.Errorf("after the re-migration: %+v, %v; want healthy", h, err)
	}
}
