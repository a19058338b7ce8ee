package phonemigrate_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"go.uber.org/mock/gomock"

	"github.com/unifiedphone/unifiedphone/delivery"
	"github.com/unifiedphone/unifiedphone/phonemigrate"
	"github.com/unifiedphone/unifiedphone/phonemigrate/mock_phonemigrate"
	"github.com/unifiedphone/unifiedphone/phonemigrate/phonemigratetest"
)

func TestRollbackRestoresOriginal(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		tenant func() *memTenant
		opts   func(*phonemigrate.Options)
	}{
		{name: "legacy-gateway", tenant: func() *memTenant { return scenario("legacy-gateway") }},
		{name: "legacy-twilio", tenant: func() *memTenant { return scenario("legacy-twilio") }},
		{name: "mfa-twilio", tenant: func() *memTenant { return scenario("mfa-twilio") }},
		{name: "mixed", tenant: func() *memTenant { return scenario("mixed") }},
		{name: "use_phone_provider already false", tenant: func() *memTenant {
			mt := scenario("legacy-gateway")
			mt.Conns[1].Options[phonemigrate.UsePhoneProviderKey] = false
			return mt
		}},
		{name: "replaced provider, existing templates", tenant: func() *memTenant {
			mt := scenario("mixed")
			mt.Providers = []phonemigrate.PhoneProvider{{ID: "pro_old", Name: "twilio", Disabled: true, Configuration: phonemigrate.ProviderConfiguration{SID: "ACold", DefaultFrom: "+15550000000", DeliveryMethods: delivery.Of(delivery.Text)}}}
			mt.Templates = []phonemigrate.PhoneTemplate{{ID: "tem_v", Type: "otp_verify", Disabled: true, Content: phonemigrate.PhoneTemplateContent{Syntax: "liquid", From: "+1555", Text: "old {{ code }}", Voice: "old voice"}}}
			return mt
		}, opts: func(o *phonemigrate.Options) { o.AllowReplace = true }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mt := tt.tenant()
			original := mt.snapshot()
			m, store := newMigrator(t, mt)
			o := baseOptions()
			if tt.opts != nil {
				tt.opts(&o)
			}
			if _, err := m.Apply(t.Context(), o); err != nil {
				t.Fatalf("Apply: %v", err)
			}
			if cmp.Equal(original, mt.snapshot(), cmpTenant) {
				t.Fatal("Apply changed nothing")
			}
			res, err := m.Rollback(t.Context())
			if err != nil {
				t.Fatalf("Rollback: %v", err)
			}
			if diff := cmp.Diff([]phonemigrate.State{phonemigrate.StateRollingBack, phonemigrate.StateRolledBack}, statesOf(res.Steps)); diff != "" {
				t.Errorf("rollback states (-want +got):\n%s", diff)
			}
			// Binding ids are regenerated when bindings are restored.
			if diff := cmp.Diff(original, mt.snapshot(), cmpTenant, cmpopts.IgnoreFields(phonemigrate.Binding{}, "ID")); diff != "" {
				t.Errorf("tenant after rollback (-original +got):\n%s", diff)
			}
			cp, _ := store.Load(t.Context())
			assertNoSecrets(t, cp)
			// Idempotent: again is AlreadyDone and writes nothing.
			res, err = m.Rollback(t.Context())
			if err != nil || !res.AlreadyDone {
				t.Errorf("second Rollback = %+v, %v", res, err)
			}
			// And a new migration can start after a rollback.
			if _, err := m.Apply(t.Context(), o); err != nil {
				t.Errorf("Apply after rollback: %v", err)
			}
		})
	}
}

// TestRollbackOrder pins the safe order (undoOrder): what routes codes
// first (connections, tenant switch), then the other steps latest first —
// templates, MFA types, the provider, then the binding and the Action.
func TestRollbackOrder(t *testing.T) {
	t.Parallel()
	mt := mixedMFAUnset()
	m, store := newMigrator(t, mt)
	if _, err := m.Apply(t.Context(), baseOptions()); err != nil {
		t.Fatal(err)
	}
	c := mockOver(t, mt, true, func(mc *mock_phonemigrate.MockClient) {
		e := mc.EXPECT()
		gomock.InOrder(
			e.ReplaceConnectionOptions(gomock.Any(), "con_gw", gomock.Cond(func(o map[string]any) bool {
				_, has := o[phonemigrate.UsePhoneProviderKey]
				return !has && o["custom_flag"] == "keep-me"
			})).DoAndReturn(mt.ReplaceConnectionOptions),
			e.SetPhoneConsolidatedExperience(gomock.Any(), false).DoAndReturn(mt.SetPhoneConsolidatedExperience),
			e.DeletePhoneTemplate(gomock.Any(), gomock.Any()).DoAndReturn(mt.DeletePhoneTemplate).Times(2),
			e.SetPhoneMessageTypes(gomock.Any(), delivery.Set(0)).DoAndReturn(mt.SetPhoneMessageTypes),
			e.DeletePhoneProvider(gomock.Any(), gomock.Any()).DoAndReturn(mt.DeletePhoneProvider),
			e.SetTriggerBindings(gomock.Any(), phonemigrate.TriggerCustomPhoneProvider, gomock.Len(0)).DoAndReturn(mt.SetTriggerBindings),
			e.DeleteAction(gomock.Any(), gomock.Any(), true).DoAndReturn(mt.DeleteAction),
		)
	})
	m2, _ := newStubbed(c, phonemigrate.WithStore(store))
	if _, err := m2.Rollback(t.Context()); err != nil {
		t.Fatalf("Rollback: %v", err)
	}
}

// TestRollbackFailureAndResume: a rollback that fails part-way is recorded
// as failed (last good rolling_back), Apply refuses to go forward, and
// Rollback again finishes the job.
func TestRollbackFailureAndResume(t *testing.T) {
	t.Parallel()
	for _, method := range []string{"ReplaceConnectionOptions", "SetPhoneConsolidatedExperience", "DeletePhoneProvider", "DeleteAction"} {
		t.Run(method, func(t *testing.T) {
			mt := scenario("mixed")
			original := mt.snapshot()
			m, store := newMigrator(t, mt)
			if _, err := m.Apply(t.Context(), baseOptions()); err != nil {
				t.Fatal(err)
			}
			m2, _ := newStubbed(mockOver(t, mt, false, inject(mt, injection{method: method})), phonemigrate.WithStore(store))
			res, err := m2.Rollback(t.Context())
			if !errors.Is(err, errBoom) || res.State != phonemigrate.StateFailed {
				t.Fatalf("Rollback = %+v, %v; want failed with the injected error", res, err)
			}
			cp, _ := store.Load(t.Context())
			if cp.LastGood != phonemigrate.StateRollingBack {
				t.Errorf("last_good = %s", cp.LastGood)
			}
			if _, err := m2.Apply(t.Context(), baseOptions()); err == nil {
				t.Errorf("Apply after a failed rollback went ahead")
			}
			if _, err := m2.Rollback(t.Context()); err != nil {
				t.Fatalf("second Rollback: %v", err)
			}
			if diff := cmp.Diff(original, mt.snapshot(), cmpTenant); diff != "" {
				t.Errorf("tenant (-original +got):\n%s", diff)
			}
		})
	}
}

// TestRollbackFromFailedApply: a migration that failed half-way (tenant
// switched, connection not yet) rolls back to the original too.
func TestRollbackFromFailedApply(t *testing.T) {
	t.Parallel()
	mt := scenario("legacy-gateway")
	original := mt.snapshot()
	m, _ := newMigrator(t, mockOver(t, mt, false, inject(mt, injection{method: "ReplaceConnectionOptions"})))
	if _, err := m.Apply(t.Context(), baseOptions()); !errors.Is(err, errBoom) {
		t.Fatalf("Apply: %v", err)
	}
	if !*mt.UPE {
		t.Fatal("expected the tenant switched before the failure")
	}
	if _, err := m.Rollback(t.Context()); err != nil {
		t.Fatalf("Rollback: %v", err)
	}
	if diff := cmp.Diff(original, mt.snapshot(), cmpTenant); diff != "" {
		t.Errorf("tenant (-original +got):\n%s", diff)
	}
}

func TestRollbackNeedsCheckpoint(t *testing.T) {
	t.Parallel()
	m, _ := newMigrator(t, scenario("legacy-twilio"))
	if _, err := m.Rollback(t.Context()); !errors.Is(err, phonemigrate.ErrNoCheckpoint) {
		t.Errorf("err = %v, want ErrNoCheckpoint", err)
	}
	if _, err := m.Status(t.Context()); !errors.Is(err, phonemigrate.ErrNoCheckpoint) {
		t.Errorf("Status err = %v, want ErrNoCheckpoint", err)
	}
}

// TestRollbackInterrupted: a checkpoint left in a forward state (the
// process died) is marked failed and rolled back.
func TestRollbackInterrupted(t *testing.T) {
	t.Parallel()
	mt := scenario("legacy-twilio")
	original := mt.snapshot()
	m, store := newMigrator(t, mt)
	if _, err := m.Apply(t.Context(), baseOptions()); err != nil {
		t.Fatal(err)
	}
	cp, _ := store.Load(t.Context())
	cp.State = phonemigrate.StateConnectionsSwitched
	store.Save(t.Context(), cp)
	res, err := m.Rollback(t.Context())
	if err != nil {
		t.Fatalf("Rollback: %v", err)
	}
	if diff := cmp.Diff([]phonemigrate.State{phonemigrate.StateFailed, phonemigrate.StateRollingBack, phonemigrate.StateRolledBack}, statesOf(res.Steps)); diff != "" {
		t.Errorf("states (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(original, mt.snapshot(), cmpTenant); diff != "" {
		t.Errorf("tenant (-original +got):\n%s", diff)
	}
}

// TestRollbackUnconfiguredMFATypes: message types Auth0 had never
// configured (404) cannot be made absent again; everything else is
// restored, and the aligned types stay.
func TestRollbackUnconfiguredMFATypes(t *testing.T) {
	t.Parallel()
	mt := scenario("mfa-twilio")
	mt.MsgTypes = nil
	original := mt.snapshot()
	m, store := newMigrator(t, mt)
	if _, err := m.Apply(t.Context(), baseOptions()); err != nil {
		t.Fatal(err)
	}
	cp, _ := store.Load(t.Context())
	if !cp.Originals.MFAMessageTypesNotFound {
		t.Errorf("404 not recorded")
	}
	if _, err := m.Rollback(t.Context()); err != nil {
		t.Fatal(err)
	}
	got := mt.snapshot()
	if got.MsgTypes == nil || *got.MsgTypes != delivery.Of(delivery.Text) {
		t.Errorf("message types %v, want the aligned SMS left in place", got.MsgTypes)
	}
	got.MsgTypes = nil
	if diff := cmp.Diff(original, got, cmpTenant); diff != "" {
		t.Errorf("tenant (-original +got):\n%s", diff)
	}
}

// TestRollbackPlanIsWhatRollbackDoes: for every migrating scenario, the
// rollback plan lists exactly the writes the rollback then sends, in
// order, and making the plan writes nothing.
func TestRollbackPlanIsWhatRollbackDoes(t *testing.T) {
	t.Parallel()
	for _, sc := range []phonemigratetest.Scenario{phonemigratetest.LegacyGateway, phonemigratetest.LegacyTwilio, phonemigratetest.MFATwilio, phonemigratetest.Mixed} {
		t.Run(string(sc), func(t *testing.T) {
			srv, m := fakeTenant(t, sc, phonemigrate.WithStore(phonemigrate.NewMemoryStore()))
			if _, err := m.Apply(t.Context(), fakeOptions(srv)); err != nil {
				t.Fatalf("Apply: %v", err)
			}
			before := srv.State()
			srv.ResetRequests()
			p, err := m.RollbackPlan(t.Context())
			if err != nil {
				t.Fatalf("RollbackPlan: %v", err)
			}
			for _, r := range srv.Requests() {
				if r.Method != "GET" {
					t.Errorf("RollbackPlan wrote %s %s", r.Method, r.Path)
				}
			}
			if diff := cmp.Diff(before, srv.State(), phonemigratetest.IgnoreGenerated); diff != "" {
				t.Errorf("RollbackPlan changed the tenant:\n%s", diff)
			}
			if cp, _ := m.Status(t.Context()); cp.State != phonemigrate.StateCompleted {
				t.Errorf("RollbackPlan changed the checkpoint to %s", cp.State)
			}
			var planned []string
			for _, st := range p.Steps {
				for _, w := range st.Writes {
					planned = append(planned, w.Method+" "+w.Path)
				}
			}
			srv.ResetRequests()
			if _, err := m.Rollback(t.Context()); err != nil {
				t.Fatalf("Rollback: %v", err)
			}
			var done []string
			for _, r := range srv.Requests() {
				if r.Method != "GET" {
					done = append(done, r.Method+" "+strings.TrimPrefix(r.Path, "/api/v2"))
				}
			}
			if len(planned) == 0 {
				t.Errorf("the rollback plan lists no write")
			}
			if diff := cmp.Diff(planned, done); diff != "" {
				t.Errorf("rollback writes (-planned +sent):\n%s", diff)
			}
		})
	}
}

// TestRollbackPlanNothingToRestore: a migration that failed before its
// first write has nothing to restore, and the rollback plan says so
// instead of listing empty steps.
func TestRollbackPlanNothingToRestore(t *testing.T) {
	t.Parallel()
	srv, m := fakeTenant(t, phonemigratetest.LegacyTwilio, phonemigrate.WithStore(phonemigrate.NewMemoryStore()))
	srv.InjectFault(phonemigratetest.Fault{Method: "POST", Path: "/api/v2/branding/phone/providers", Status: 400, Times: 1})
	if _, err := m.Apply(t.Context(), fakeOptions(srv)); err == nil {
		t.Fatal("Apply succeeded, want the provider's creation to fail")
	}
	p, err := m.RollbackPlan(t.Context())
	if err != nil {
		t.Fatalf("RollbackPlan: %v", err)
	}
	if len(p.Steps) != 0 || len(p.Warnings) != 1 || !strings.HasPrefix(p.Warnings[0], "nothing to restore") {
		t.Errorf("RollbackPlan = %d steps, warnings %q; want no step and one 'nothing to restore' warning", len(p.Steps), p.Warnings)
	}
}
