package phonemigrate_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"go.uber.org/mock/gomock"

	"github.com/unifiedphone/unifiedphone/delivery"
	"github.com/unifiedphone/unifiedphone/phonemigrate"
	"github.com/unifiedphone/unifiedphone/phonemigrate/mock_phonemigrate"
)

// TestApplyVerifiesEveryWrite: a write Auth0 acknowledges but does not
// apply is caught by the read-back of its step, which fails.
func TestApplyVerifiesEveryWrite(t *testing.T) {
	t.Parallel()
	ref, _ := newMigrator(t, mixedMFAUnset())
	done, err := ref.Apply(t.Context(), baseOptions())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		silent func(e *mock_phonemigrate.MockClientMockRecorder)
		step   phonemigrate.State // reached by the step whose write is not applied
		want   string
	}{
		{"bindings", func(e *mock_phonemigrate.MockClientMockRecorder) {
			e.SetTriggerBindings(gomock.Any(), gomock.Any(), gomock.Any()).Return(nil, nil)
		}, phonemigrate.StateActionDeployed, "trigger bindings"},
		{"provider", func(e *mock_phonemigrate.MockClientMockRecorder) {
			e.CreatePhoneProvider(gomock.Any(), gomock.Any()).Return(phonemigrate.PhoneProvider{ID: "pro_ghost"}, nil)
		}, phonemigrate.StateProviderConfigured, "verify phone provider"},
		{"tenant switch (answer without the flag, read back)", func(e *mock_phonemigrate.MockClientMockRecorder) {
			e.SetPhoneConsolidatedExperience(gomock.Any(), true).Return(phonemigrate.TenantSettings{}, nil)
		}, phonemigrate.StateTenantSwitched, "verify tenant switch"},
		{"tenant switch (answer says off)", func(e *mock_phonemigrate.MockClientMockRecorder) {
			e.SetPhoneConsolidatedExperience(gomock.Any(), true).Return(phonemigrate.TenantSettings{PhoneConsolidatedExperience: ptr(false)}, nil)
		}, phonemigrate.StateTenantSwitched, "verify tenant switch"},
		{"connection", func(e *mock_phonemigrate.MockClientMockRecorder) {
			e.ReplaceConnectionOptions(gomock.Any(), gomock.Any(), gomock.Any()).Return(phonemigrate.Connection{}, nil)
		}, phonemigrate.StateConnectionsSwitched, "use_phone_provider did not take"},
		{"mfa types", func(e *mock_phonemigrate.MockClientMockRecorder) {
			e.SetPhoneMessageTypes(gomock.Any(), gomock.Any()).Return(nil)
		}, phonemigrate.StateMFAAligned, "verify MFA message types"},
		{"templates", func(e *mock_phonemigrate.MockClientMockRecorder) {
			e.CreatePhoneTemplate(gomock.Any(), gomock.Any()).Return(phonemigrate.PhoneTemplate{ID: "tem_ghost"}, nil).AnyTimes()
		}, phonemigrate.StateTemplatesMigrated, "verify phone templates"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mt := mixedMFAUnset()
			m, store := newMigrator(t, mockOver(t, mt, false, func(mc *mock_phonemigrate.MockClient) { tt.silent(mc.EXPECT()) }))
			_, err := m.Apply(t.Context(), baseOptions())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Apply err = %v, want it to mention %q", err, tt.want)
			}
			cp, _ := store.Load(t.Context())
			if lastGood := leftFrom(t, done.Steps, tt.step); cp.State != phonemigrate.StateFailed || cp.LastGood != lastGood {
				t.Errorf("checkpoint %s/%s, want failed/%s", cp.State, cp.LastGood, lastGood)
			}
		})
	}
}

func TestApplyActionBuildFails(t *testing.T) {
	t.Parallel()
	mt := scenario("legacy-gateway")
	c := mockOver(t, mt, false, func(mc *mock_phonemigrate.MockClient) {
		mc.EXPECT().GetAction(gomock.Any(), gomock.Any()).DoAndReturn(func(ctx context.Context, id string) (phonemigrate.Action, error) {
			a, err := mt.GetAction(ctx, id)
			a.Status = "failed"
			return a, err
		})
	})
	m, _ := newMigrator(t, c)
	_, err := m.Apply(t.Context(), baseOptions())
	if err == nil || !strings.Contains(err.Error(), "build failed") {
		t.Fatalf("err = %v, want build failed", err)
	}
	if len(mt.Providers) != 0 {
		t.Errorf("provider created although the Action did not build")
	}
}

// TestApplyCanceledWhileBuilding: cancellation during the build poll stops
// the run; the next run resumes with the Action already created. The
// context is cancelled at the first "building" answer, whatever the
// machine's speed.
func TestApplyCanceledWhileBuilding(t *testing.T) {
	t.Parallel()
	mt := scenario("legacy-gateway")
	mt.BuildPolls = 1000
	m, store := newMigrator(t, mt, phonemigrate.WithPollInterval(time.Millisecond))
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	mt.OnBuildPoll = cancel
	if _, err := m.Apply(ctx, baseOptions()); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want canceled", err)
	}
	mt.OnBuildPoll = nil
	cp, _ := store.Load(t.Context())
	if cp.Created.ActionID == "" || cp.State != phonemigrate.StateFailed {
		t.Fatalf("checkpoint %+v", cp)
	}
	mt.BuildPolls = 0
	res, err := m.Apply(t.Context(), baseOptions())
	if err != nil || res.State != phonemigrate.StateCompleted {
		t.Fatalf("resume = %v, %v", res, err)
	}
	if len(mt.Actions) != 1 {
		t.Errorf("%d actions, want the first one reused", len(mt.Actions))
	}
}

// TestApplyResumeNeedsToken: resuming before the provider is configured
// needs the Twilio token again (it is never stored).
func TestApplyResumeNeedsToken(t *testing.T) {
	t.Parallel()
	mt := scenario("legacy-twilio")
	m, _ := newMigrator(t, mockOver(t, mt, false, inject(mt, injection{method: "CreatePhoneProvider"})))
	if _, err := m.Apply(t.Context(), baseOptions()); !errors.Is(err, errBoom) {
		t.Fatal(err)
	}
	o := baseOptions()
	o.TwilioAuthToken = ""
	if _, err := m.Apply(t.Context(), o); !errors.Is(err, phonemigrate.ErrTwilioTokenRequired) {
		t.Errorf("resume without token: %v, want ErrTwilioTokenRequired", err)
	}
}

// TestApplyReplaceProvider: with AllowReplace an existing provider is
// PATCHed in place (never a second POST), and its original recorded
// without credentials.
func TestApplyReplaceProvider(t *testing.T) {
	t.Parallel()
	mt := scenario("legacy-twilio")
	mt.Providers = []phonemigrate.PhoneProvider{{ID: "pro_old", Name: "custom", Configuration: phonemigrate.ProviderConfiguration{DeliveryMethods: delivery.Of(delivery.Voice)}}}
	c := mockOver(t, mt, true, func(mc *mock_phonemigrate.MockClient) {
		e := mc.EXPECT()
		gomock.InOrder(
			e.UpdatePhoneProvider(gomock.Any(), "pro_old", gomock.Cond(func(r phonemigrate.PhoneProviderRequest) bool {
				return r.Name == "twilio" && r.AuthToken.Reveal() == fxTwilioToken
			})).DoAndReturn(mt.UpdatePhoneProvider),
			e.TestPhoneProvider(gomock.Any(), "pro_old", fxRecipient, delivery.Text).DoAndReturn(mt.TestPhoneProvider),
			e.SetPhoneConsolidatedExperience(gomock.Any(), true).DoAndReturn(mt.SetPhoneConsolidatedExperience),
			e.ReplaceConnectionOptions(gomock.Any(), gomock.Any(), gomock.Any()).DoAndReturn(mt.ReplaceConnectionOptions),
			e.CreatePhoneTemplate(gomock.Any(), gomock.Any()).DoAndReturn(mt.CreatePhoneTemplate),
		)
	})
	m, store := newMigrator(t, c)
	o := baseOptions()
	o.AllowReplace = true
	if _, err := m.Apply(t.Context(), o); err != nil {
		t.Fatal(err)
	}
	cp, _ := store.Load(t.Context())
	if cp.Originals.Provider == nil || cp.Originals.Provider.Name != "custom" || cp.Created.ProviderID != "" {
		t.Errorf("originals %+v created %+v", cp.Originals.Provider, cp.Created)
	}
}

// TestApplyAfterRefusal: a run refused by preflight (no token given, none
// on the tenant) leaves a failed checkpoint at discovered; fixing the input
// and applying again starts over (nothing was in progress) and completes.
func TestApplyAfterRefusal(t *testing.T) {
	t.Parallel()
	mt := scenario("mixed")
	mt.LegacyTw.AuthToken = ""
	m, store := newMigrator(t, mt)
	o := baseOptions()
	o.TwilioAuthToken = ""
	if _, err := m.Apply(t.Context(), o); !errors.Is(err, phonemigrate.ErrTwilioTokenRequired) {
		t.Fatalf("err = %v", err)
	}
	cp, _ := store.Load(t.Context())
	if cp.State != phonemigrate.StateFailed || cp.LastGood != phonemigrate.StateDiscovered || cp.Plan != nil {
		t.Fatalf("checkpoint %s/%s plan %v", cp.State, cp.LastGood, cp.Plan)
	}
	res, err := m.Apply(t.Context(), baseOptions())
	if err != nil || res.State != phonemigrate.StateCompleted || res.Steps[0].From != phonemigrate.StateNew {
		// Nothing was in progress (issue #22): it starts over.
		t.Fatalf("Apply = %+v, %v", res, err)
	}
}
