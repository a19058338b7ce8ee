package phonemigrate_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"go.uber.org/mock/gomock"

	"github.com/unifiedphone/unifiedphone/delivery"
	"github.com/unifiedphone/unifiedphone/phonemigrate"
	"github.com/unifiedphone/unifiedphone/phonemigrate/mock_phonemigrate"
)

// TestRollbackLeavesForeignObjects: a checkpoint whose created ids name
// objects this migration did not create (another Action, a provider of
// another kind, a template of a type the plan did not create) makes
// Rollback stop with a *NotCreatedError before deleting them.
func TestRollbackLeavesForeignObjects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		scenario string
		tamper   func(mt *memTenant, cp *phonemigrate.Checkpoint)
		wantKind string
	}{
		{name: "unrelated action", scenario: "legacy-gateway", tamper: func(mt *memTenant, cp *phonemigrate.Checkpoint) {
			mt.Actions = append(mt.Actions, phonemigrate.Action{ID: "act_payroll", Name: "payroll-sync", SupportedTriggers: []string{"post-login"}})
			cp.Created.ActionID = "act_payroll"
		}, wantKind: "action"},
		{name: "same trigger, other name", scenario: "legacy-gateway", tamper: func(mt *memTenant, cp *phonemigrate.Checkpoint) {
			mt.Actions = append(mt.Actions, phonemigrate.Action{ID: "act_other", Name: "someone-elses", SupportedTriggers: []string{phonemigrate.TriggerCustomPhoneProvider}})
			cp.Created.ActionID = "act_other"
		}, wantKind: "action"},
		{name: "no plan recorded", scenario: "legacy-gateway", tamper: func(mt *memTenant, cp *phonemigrate.Checkpoint) {
			cp.Intent.ActionName = ""
		}, wantKind: "action"},
		{name: "provider of another kind", scenario: "legacy-twilio", tamper: func(mt *memTenant, cp *phonemigrate.Checkpoint) {
			mt.Providers[0].Name = phonemigrate.ProviderCustom
		}, wantKind: "phone provider"},
		{name: "template the plan did not create", scenario: "legacy-twilio", tamper: func(mt *memTenant, cp *phonemigrate.Checkpoint) {
			mt.Templates = append(mt.Templates, phonemigrate.PhoneTemplate{ID: "tem_blocked", Type: "blocked_account"})
			cp.Created.TemplateIDs = append(cp.Created.TemplateIDs, "tem_blocked")
		}, wantKind: "phone template"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mt := scenario(tt.scenario)
			m, store := newMigrator(t, mt)
			if _, err := m.Apply(t.Context(), baseOptions()); err != nil {
				t.Fatalf("Apply: %v", err)
			}
			cp, err := store.Load(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			tt.tamper(mt, cp)
			if err := store.Save(t.Context(), cp); err != nil {
				t.Fatal(err)
			}
			before := mt.snapshot()
			ignoreStatus := cmpopts.IgnoreFields(phonemigrate.Action{}, "Status")
			_, err = m.Rollback(t.Context())
			var nce *phonemigrate.NotCreatedError
			if !errors.As(err, &nce) || nce.Kind != tt.wantKind {
				t.Fatalf("Rollback error = %v, want a NotCreatedError for a %s", err, tt.wantKind)
			}
			after := mt.snapshot()
			if diff := cmp.Diff(before.Actions, after.Actions, ignoreStatus); diff != "" {
				t.Errorf("actions changed (-before +after):\n%s", diff)
			}
			if diff := cmp.Diff(before.Bindings, after.Bindings); diff != "" {
				t.Errorf("bindings changed (-before +after):\n%s", diff)
			}
			if diff := cmp.Diff(before.Providers, after.Providers); diff != "" {
				t.Errorf("providers changed (-before +after):\n%s", diff)
			}
			if diff := cmp.Diff(before.Templates, after.Templates); diff != "" {
				t.Errorf("templates changed (-before +after):\n%s", diff)
			}
			if diff := cmp.Diff(before.Conns, after.Conns); diff != "" {
				t.Errorf("nothing may be written before the check (-before +after):\n%s", diff)
			}
			if got := phonemigrate.ExitCode(err); got != 1 {
				t.Errorf("ExitCode = %d, want 1", got)
			}
		})
	}
}

// TestRollbackRefusesBindingsChangedSince: after a custom-provider
// migration a colleague binds another Action to the custom-phone-provider
// trigger next to the migration's. Restoring the bindings from before
// would unbind it: Rollback refuses, naming it, writing nothing; forced,
// it goes ahead.
func TestRollbackRefusesBindingsChangedSince(t *testing.T) {
	t.Parallel()
	mt := scenario("legacy-gateway")
	m, _ := newMigrator(t, mt)
	if _, err := m.Apply(t.Context(), baseOptions()); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	mt.Actions = append(mt.Actions, phonemigrate.Action{ID: "act_audit", Name: "sms-audit", Deployed: true, SupportedTriggers: []string{phonemigrate.TriggerCustomPhoneProvider}})
	mt.Bindings = append(mt.Bindings, phonemigrate.Binding{ActionID: "act_audit", ActionName: "sms-audit", DisplayName: "sms-audit"})
	before := mt.snapshot()
	_, err := m.Rollback(t.Context())
	var de *phonemigrate.DriftError
	if !errors.As(err, &de) || !strings.Contains(err.Error(), `"sms-audit" (act_audit)`) {
		t.Fatalf("Rollback err = %v, want a *DriftError naming the Action bound since", err)
	}
	after := mt.snapshot()
	if diff := cmp.Diff(before.Bindings, after.Bindings); diff != "" {
		t.Errorf("a refused rollback changed the bindings (-before +after):\n%s", diff)
	}
	if diff := cmp.Diff(before.Actions, after.Actions, cmpopts.IgnoreFields(phonemigrate.Action{}, "Status")); diff != "" {
		t.Errorf("a refused rollback changed the actions (-before +after):\n%s", diff)
	}
	if res, err := m.Rollback(t.Context(), phonemigrate.RollbackOptions{Force: true}); err != nil || res.State != phonemigrate.StateRolledBack {
		t.Fatalf("forced Rollback = %+v, %v", res, err)
	}
}

// TestRollbackAdoptsOnlyWhatAppearedAfterTheAttempt: the provider's create
// got no answer (a 503: its outcome is unknown). A provider found later is
// taken as this migration's — and deleted by the rollback — only if it is
// configured as sent and appeared after the attempt (Auth0's created_at,
// two minutes of clock skew allowed).
func TestRollbackAdoptsOnlyWhatAppearedAfterTheAttempt(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		after    time.Duration // created_at relative to the attempt
		methods  delivery.Set
		wantGone bool
	}{
		{"appeared after, as sent", time.Second, delivery.Of(delivery.Text), true},
		{"within the clock skew", -time.Minute, delivery.Of(delivery.Text), true},
		{"there long before", -10 * time.Minute, delivery.Of(delivery.Text), false},
		{"appeared after, not as sent", time.Second, delivery.Of(delivery.Text, delivery.Voice), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mt := scenario("legacy-twilio")
			c := mockOver(t, mt, false, func(mc *mock_phonemigrate.MockClient) {
				mc.EXPECT().CreatePhoneProvider(gomock.Any(), gomock.Any()).Return(phonemigrate.PhoneProvider{},
					&phonemigrate.APIError{Method: "POST", Path: "/branding/phone/providers", StatusCode: 503, Message: "unavailable"}).Times(1)
			})
			m, store := newMigrator(t, c)
			if _, err := m.Apply(t.Context(), baseOptions()); err == nil {
				t.Fatal("Apply succeeded, want the provider's create to fail")
			}
			cp, err := store.Load(t.Context())
			if err != nil || !cp.Created.Unconfirmed.Provider || cp.Created.Unconfirmed.Since.IsZero() {
				t.Fatalf("checkpoint = %+v, %v; want the provider's creation unconfirmed, with its time", cp, err)
			}
			mt.Providers = append(mt.Providers, phonemigrate.PhoneProvider{ID: "pro_found", Name: phonemigrate.ProviderTwilio,
				Configuration: phonemigrate.ProviderConfiguration{SID: fxTwilioSID, DefaultFrom: fxFrom, DeliveryMethods: tt.methods},
				CreatedAt:     cp.Created.Unconfirmed.Since.Add(tt.after)})
			m2, _ := newStubbed(mt, phonemigrate.WithStore(store))
			if _, err := m2.Rollback(t.Context()); err != nil {
				t.Fatalf("Rollback: %v", err)
			}
			gone := !slices.ContainsFunc(mt.Providers, func(p phonemigrate.PhoneProvider) bool { return p.ID == "pro_found" })
			if gone != tt.wantGone {
				t.Errorf("provider deleted = %v, want %v", gone, tt.wantGone)
			}
		})
	}
}
