package phonemigrate_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/mock/gomock"

	"github.com/unifiedphone/unifiedphone/delivery"
	"github.com/unifiedphone/unifiedphone/phonemigrate"
	"github.com/unifiedphone/unifiedphone/phonemigrate/mock_phonemigrate"
)

var errBoom = &phonemigrate.APIError{Method: "X", Path: "/boom", StatusCode: 503, Message: "injected"}

func newMigrator(t *testing.T, c phonemigrate.Client, opts ...phonemigrate.Option) (*phonemigrate.Migrator, phonemigrate.Store) {
	t.Helper()
	store := phonemigrate.NewMemoryStore()
	m, err := newStubbed(c, append([]phonemigrate.Option{phonemigrate.WithStore(store), phonemigrate.WithPollInterval(time.Millisecond), phonemigrate.WithTenant("acme-legacy")}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return m, store
}

func statesOf(ts []phonemigrate.Transition) []phonemigrate.State {
	var out []phonemigrate.State
	for _, t := range ts {
		out = append(out, t.To)
	}
	return out
}

// assertNoSecrets fails when the checkpoint holds a secret value.
func assertNoSecrets(t *testing.T, cp *phonemigrate.Checkpoint, extra ...string) {
	t.Helper()
	data, err := json.Marshal(cp)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range append([]string{fxTwilioToken, fxGwSecret, fxGatewayURL}, extra...) {
		if bytes.Contains(data, []byte(s)) {
			t.Errorf("checkpoint holds secret %q", s[:6]+"…")
		}
	}
}

// migrated is what a scenario's tenant must look like after Apply.
func checkMigrated(t *testing.T, before, after *memTenant, o phonemigrate.Options) {
	t.Helper()
	if after.UPE == nil || !*after.UPE {
		t.Errorf("tenant not switched")
	}
	if len(after.Providers) != 1 || after.Providers[0].Disabled {
		t.Fatalf("providers = %+v, want one enabled", after.Providers)
	}
	for i, c := range before.Conns {
		if c.Strategy != "sms" {
			continue
		}
		want := cloneMap(c.Options)
		v := o.UsePhoneProvider
		if v == nil {
			v = true
		}
		want[phonemigrate.UsePhoneProviderKey] = v
		if diff := cmp.Diff(want, after.Conns[i].Options); diff != "" {
			t.Errorf("connection %s options (-want +got):\n%s", c.Name, diff)
		}
	}
	if before.MFAEnabled && !after.MsgTypes.SubsetOf(after.Providers[0].Configuration.DeliveryMethods) {
		t.Errorf("MFA types %s not within %s", after.MsgTypes, after.Providers[0].Configuration.DeliveryMethods)
	}
}

func TestApplyScenarios(t *testing.T) {
	t.Parallel()
	tests := []struct {
		scenario string
		provider string
		delivery delivery.Set
		verify   string // otp_verify text
	}{
		{"legacy-gateway", "custom", delivery.Of(delivery.Text), "Your ACME verification code is: {{ code }}"},
		{"legacy-twilio", "twilio", delivery.Of(delivery.Text), "{{ code }} is your ACME login code."},
		{"mfa-twilio", "twilio", delivery.Of(delivery.Text, delivery.Voice), "{{code}} is your ACME verification code."},
		{"mixed", "custom", delivery.Of(delivery.Text), "Your ACME verification code is: {{ code }}"},
	}
	// The path each scenario takes is a golden file (written by -update
	// from the step table's runs), so adding a step is regenerating it.
	paths := map[string][]phonemigrate.State{}
	for _, tt := range tests {
		t.Run(tt.scenario, func(t *testing.T) {
			mt := scenario(tt.scenario)
			before := mt.snapshot()
			var observed []phonemigrate.Transition
			var logs bytes.Buffer
			m, store := newMigrator(t, mockOver(t, mt, false, nil),
				phonemigrate.WithObserver(func(tr phonemigrate.Transition) { observed = append(observed, tr) }),
				phonemigrate.WithLogger(slog.New(slog.NewJSONHandler(&logs, nil))))
			o := baseOptions()
			res, err := m.Apply(t.Context(), o)
			if err != nil {
				t.Fatalf("Apply: %v", err)
			}
			paths[tt.scenario] = statesOf(res.Steps)
			if diff := cmp.Diff(res.Steps, observed, cmp.Comparer(func(a, b error) bool { return a == b })); diff != "" {
				t.Errorf("observer saw other transitions (-result +observer):\n%s", diff)
			}
			after := mt.snapshot()
			checkMigrated(t, before, after, o)
			if got := after.Providers[0]; got.Name != tt.provider || got.Configuration.DeliveryMethods != tt.delivery {
				t.Errorf("provider = %+v, want %s with %s", got, tt.provider, tt.delivery)
			}
			var verify string
			for _, tp := range after.Templates {
				if tp.Type == "otp_verify" {
					verify = tp.Content.Text
				}
			}
			if verify != tt.verify {
				t.Errorf("otp_verify = %q, want %q", verify, tt.verify)
			}
			if tt.provider == "custom" {
				if len(after.Actions) != 1 || !after.Actions[0].Deployed || len(after.Bindings) != 1 || after.Bindings[0].ActionID != after.Actions[0].ID {
					t.Errorf("action not built, deployed and bound: %+v %+v", after.Actions, after.Bindings)
				}
				if strings.Contains(after.Actions[0].Code, fxGwSecret) || strings.Contains(after.Actions[0].Code, fxTwilioToken) {
					t.Errorf("generated code embeds a secret")
				}
			}
			// The token was sent (as credentials or an Action secret) …
			if tt.scenario != "legacy-gateway" && !contains(mt.Tokens, fxTwilioToken) {
				t.Errorf("Twilio token never sent")
			}
			// … but is nowhere in the checkpoint, the logs or the plan.
			cp, err := store.Load(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if cp.State != phonemigrate.StateCompleted || cp.Tenant != "acme-legacy" {
				t.Errorf("checkpoint state %s tenant %q", cp.State, cp.Tenant)
			}
			assertNoSecrets(t, cp)
			if bytes.Contains(logs.Bytes(), []byte(fxTwilioToken)) || bytes.Contains(logs.Bytes(), []byte(fxGwSecret)) {
				t.Errorf("logs leak a secret")
			}
			if n := bytes.Count(logs.Bytes(), []byte(`"msg":"migration transition"`)); n != len(res.Steps) {
				t.Errorf("logged %d transitions, want %d:\n%s", n, len(res.Steps), logs.String())
			}
			if !bytes.Contains(logs.Bytes(), []byte(`"duration"`)) {
				t.Errorf("logs carry no duration")
			}
		})
	}
	var got strings.Builder
	for _, tt := range tests {
		fmt.Fprintf(&got, "%s: %v\n", tt.scenario, paths[tt.scenario])
	}
	golden(t, "apply_paths.golden", []byte(got.String()))
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// TestApplyOrderTwilio pins the order of every write on the Twilio path:
// provider before test before tenant switch before connections before MFA
// message types before templates.
func TestApplyOrderTwilio(t *testing.T) {
	t.Parallel()
	mt := scenario("legacy-twilio")
	mt.MFAEnabled, mt.Selected, mt.MsgTypes = true, "twilio", nil // message types not configured: MFA write needed
	mt.LegacyTw = &phonemigrate.LegacyTwilio{SID: fxTwilioSID, From: fxFrom}
	c := mockOver(t, mt, true, func(m *mock_phonemigrate.MockClient) {
		e := m.EXPECT()
		gomock.InOrder(
			e.CreatePhoneProvider(gomock.Any(), gomock.Cond(func(r phonemigrate.PhoneProviderRequest) bool {
				return r.Name == "twilio" && r.AuthToken.Reveal() == fxTwilioToken && r.Configuration.SID == fxTwilioSID && r.Configuration.DefaultFrom == fxFrom
			})).DoAndReturn(mt.CreatePhoneProvider),
			e.TestPhoneProvider(gomock.Any(), gomock.Any(), fxRecipient, delivery.Text).DoAndReturn(mt.TestPhoneProvider),
			e.SetPhoneConsolidatedExperience(gomock.Any(), true).DoAndReturn(mt.SetPhoneConsolidatedExperience),
			e.ReplaceConnectionOptions(gomock.Any(), "con_tw", gomock.Any()).DoAndReturn(mt.ReplaceConnectionOptions),
			e.SetPhoneMessageTypes(gomock.Any(), delivery.Of(delivery.Text)).DoAndReturn(mt.SetPhoneMessageTypes),
			e.CreatePhoneTemplate(gomock.Any(), gomock.Any()).DoAndReturn(mt.CreatePhoneTemplate).Times(2),
		)
	})
	m, _ := newMigrator(t, c)
	if _, err := m.Apply(t.Context(), baseOptions()); err != nil {
		t.Fatalf("Apply: %v", err)
	}
}

// TestApplyOrderCustom pins the custom path: the Action is created (with
// its secrets), built, deployed and bound before the provider exists.
func TestApplyOrderCustom(t *testing.T) {
	t.Parallel()
	mt := scenario("mixed")
	c := mockOver(t, mt, true, func(m *mock_phonemigrate.MockClient) {
		e := m.EXPECT()
		gomock.InOrder(
			e.CreateAction(gomock.Any(), gomock.Cond(func(r phonemigrate.ActionRequest) bool {
				secrets := map[string]string{}
				for _, s := range r.Secrets {
					secrets[s.Name] = s.Value.Reveal()
				}
				return secrets["TWILIO_AUTH_TOKEN"] == fxTwilioToken && secrets["PASSWORDLESS_GATEWAY_SECRET"] == fxGwSecret &&
					!strings.Contains(r.Code, fxTwilioToken) && !strings.Contains(r.Code, fxGwSecret)
			})).DoAndReturn(mt.CreateAction),
			e.DeployAction(gomock.Any(), gomock.Any()).DoAndReturn(mt.DeployAction),
			e.SetTriggerBindings(gomock.Any(), phonemigrate.TriggerCustomPhoneProvider, gomock.Len(1)).DoAndReturn(mt.SetTriggerBindings),
			e.CreatePhoneProvider(gomock.Any(), gomock.Cond(func(r phonemigrate.PhoneProviderRequest) bool {
				return r.Name == "custom" && r.AuthToken == ""
			})).DoAndReturn(mt.CreatePhoneProvider),
			e.TestPhoneProvider(gomock.Any(), gomock.Any(), fxRecipient, delivery.Text).DoAndReturn(mt.TestPhoneProvider),
			e.SetPhoneConsolidatedExperience(gomock.Any(), true).DoAndReturn(mt.SetPhoneConsolidatedExperience),
			e.ReplaceConnectionOptions(gomock.Any(), "con_gw", gomock.Any()).DoAndReturn(mt.ReplaceConnectionOptions),
			e.CreatePhoneTemplate(gomock.Any(), gomock.Any()).DoAndReturn(mt.CreatePhoneTemplate).Times(2),
		)
	})
	m, _ := newMigrator(t, c)
	if _, err := m.Apply(t.Context(), baseOptions()); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if mt.polls < mt.BuildPolls {
		t.Errorf("GetAction polled %d times, want the build waited for (%d)", mt.polls, mt.BuildPolls)
	}
}

// failOnce makes the first call of one write method fail; lost makes the
// write land on the tenant but its answer fail (a lost response).
type injection struct {
	method string
	lost   bool
}

func inject(mt *memTenant, in injection) func(m *mock_phonemigrate.MockClient) {
	return func(m *mock_phonemigrate.MockClient) {
		e := m.EXPECT()
		switch in.method {
		case "CreateAction":
			e.CreateAction(gomock.Any(), gomock.Any()).DoAndReturn(func(ctx context.Context, r phonemigrate.ActionRequest) (phonemigrate.Action, error) {
				if in.lost {
					mt.CreateAction(ctx, r)
				}
				return phonemigrate.Action{}, errBoom
			})
		case "GetAction":
			e.GetAction(gomock.Any(), gomock.Any()).Return(phonemigrate.Action{}, errBoom)
		case "DeployAction":
			e.DeployAction(gomock.Any(), gomock.Any()).Return(errBoom)
		case "SetTriggerBindings":
			e.SetTriggerBindings(gomock.Any(), gomock.Any(), gomock.Any()).DoAndReturn(func(ctx context.Context, tr string, refs []phonemigrate.BindingRef) ([]phonemigrate.Binding, error) {
				if in.lost {
					mt.SetTriggerBindings(ctx, tr, refs)
				}
				return nil, errBoom
			})
		case "CreatePhoneProvider":
			e.CreatePhoneProvider(gomock.Any(), gomock.Any()).DoAndReturn(func(ctx context.Context, r phonemigrate.PhoneProviderRequest) (phonemigrate.PhoneProvider, error) {
				if in.lost {
					mt.CreatePhoneProvider(ctx, r)
				}
				return phonemigrate.PhoneProvider{}, errBoom
			})
		case "TestPhoneProvider":
			e.TestPhoneProvider(gomock.Any(), gomock.Any(), gomock.Any(), gomock.Any()).Return(errBoom)
		case "SetPhoneConsolidatedExperience":
			e.SetPhoneConsolidatedExperience(gomock.Any(), gomock.Any()).DoAndReturn(func(ctx context.Context, v bool) (phonemigrate.TenantSettings, error) {
				if in.lost {
					mt.SetPhoneConsolidatedExperience(ctx, v)
				}
				return phonemigrate.TenantSettings{}, errBoom
			})
		case "ReplaceConnectionOptions":
			e.ReplaceConnectionOptions(gomock.Any(), gomock.Any(), gomock.Any()).DoAndReturn(func(ctx context.Context, id string, o map[string]any) (phonemigrate.Connection, error) {
				if in.lost {
					mt.ReplaceConnectionOptions(ctx, id, o)
				}
				return phonemigrate.Connection{}, errBoom
			})
		case "SetPhoneMessageTypes":
			e.SetPhoneMessageTypes(gomock.Any(), gomock.Any()).Return(errBoom)
		case "CreatePhoneTemplate":
			e.CreatePhoneTemplate(gomock.Any(), gomock.Any()).DoAndReturn(func(ctx context.Context, tp phonemigrate.PhoneTemplate) (phonemigrate.PhoneTemplate, error) {
				if in.lost {
					mt.CreatePhoneTemplate(ctx, tp)
				}
				return phonemigrate.PhoneTemplate{}, errBoom
			})
		case "DeletePhoneProvider":
			e.DeletePhoneProvider(gomock.Any(), gomock.Any()).Return(errBoom)
		case "DeleteAction":
			e.DeleteAction(gomock.Any(), gomock.Any(), gomock.Any()).Return(errBoom)
		default:
			panic("no injection for " + in.method)
		}
	}
}

// mixedMFAUnset is the mixed scenario with no MFA message types selected,
// so that every forward step writes.
func mixedMFAUnset() *memTenant {
	mt := scenario("mixed")
	mt.MsgTypes = ptr(delivery.Set(0))
	return mt
}

// TestApplyFailureAndResume fails each write once (plain failures and lost
// answers), checks the migration stops in failed with the right LastGood,
// then resumes to exactly the tenant an undisturbed run produces.
// leftFrom returns the state that the step reaching to left from in a
// run's transitions: where a migration failing in that step fails from.
func leftFrom(t *testing.T, steps []phonemigrate.Transition, to phonemigrate.State) phonemigrate.State {
	t.Helper()
	for _, tr := range steps {
		if tr.To == to {
			return tr.From
		}
	}
	t.Fatalf("no step reached %s in %v", to, steps)
	return ""
}

func TestApplyFailureAndResume(t *testing.T) {
	t.Parallel()
	reference := mixedMFAUnset()
	m, _ := newMigrator(t, reference)
	done, err := m.Apply(t.Context(), baseOptions())
	if err != nil {
		t.Fatal(err)
	}
	want := reference.snapshot()

	tests := []struct {
		in injection
		// step is the state the step making the call reaches: the
		// migration fails from the state before it (lastGood).
		step phonemigrate.State
	}{
		{injection{method: "CreateAction"}, phonemigrate.StateActionDeployed},
		{injection{method: "CreateAction", lost: true}, phonemigrate.StateActionDeployed},
		{injection{method: "GetAction"}, phonemigrate.StateActionDeployed},
		{injection{method: "DeployAction"}, phonemigrate.StateActionDeployed},
		{injection{method: "SetTriggerBindings"}, phonemigrate.StateActionDeployed},
		{injection{method: "SetTriggerBindings", lost: true}, phonemigrate.StateActionDeployed},
		{injection{method: "CreatePhoneProvider"}, phonemigrate.StateProviderConfigured},
		{injection{method: "CreatePhoneProvider", lost: true}, phonemigrate.StateProviderConfigured},
		{injection{method: "TestPhoneProvider"}, phonemigrate.StateProviderTested},
		{injection{method: "SetPhoneConsolidatedExperience"}, phonemigrate.StateTenantSwitched},
		{injection{method: "SetPhoneConsolidatedExperience", lost: true}, phonemigrate.StateTenantSwitched},
		{injection{method: "ReplaceConnectionOptions"}, phonemigrate.StateConnectionsSwitched},
		{injection{method: "ReplaceConnectionOptions", lost: true}, phonemigrate.StateConnectionsSwitched},
		{injection{method: "SetPhoneMessageTypes"}, phonemigrate.StateMFAAligned},
		{injection{method: "CreatePhoneTemplate"}, phonemigrate.StateTemplatesMigrated},
		{injection{method: "CreatePhoneTemplate", lost: true}, phonemigrate.StateTemplatesMigrated},
	}
	for _, tt := range tests {
		name := tt.in.method
		if tt.in.lost {
			name += "/lost"
		}
		t.Run(name, func(t *testing.T) {
			lastGood := leftFrom(t, done.Steps, tt.step)
			mt := mixedMFAUnset()
			original := mt.snapshot()
			m, store := newMigrator(t, mockOver(t, mt, false, inject(mt, tt.in)))
			res, err := m.Apply(t.Context(), baseOptions())
			if !errors.Is(err, errBoom) {
				t.Fatalf("Apply err = %v, want the injected failure", err)
			}
			if res == nil || res.State != phonemigrate.StateFailed {
				t.Fatalf("result = %+v, want state failed", res)
			}
			cp, _ := store.Load(t.Context())
			if cp.State != phonemigrate.StateFailed || cp.LastGood != lastGood || cp.Error == "" {
				t.Errorf("checkpoint state %s last_good %s error %q, want failed/%s", cp.State, cp.LastGood, cp.Error, lastGood)
			}
			assertNoSecrets(t, cp)
			// Nothing after the failed step was written.
			if phonemigrate.StateOrder(lastGood) < phonemigrate.StateOrder(phonemigrate.StateProviderTested) && !tt.in.lost {
				if mt.UPE != nil && *mt.UPE {
					t.Errorf("tenant switched although the provider step failed")
				}
			}

			res, err = m.Apply(t.Context(), baseOptions())
			if err != nil {
				t.Fatalf("resume: %v", err)
			}
			if res.State != phonemigrate.StateCompleted || len(res.Steps) == 0 || res.Steps[0].From != lastGood {
				t.Errorf("resume result %s, first step from %v, want completed from %s", res.State, res.Steps, lastGood)
			}
			if diff := cmp.Diff(want, mt.snapshot(), cmpTenant, cmpIDs); diff != "" {
				t.Errorf("resumed tenant differs from an undisturbed run (-want +got):\n%s", diff)
			}
			// And the resumed migration rolls back to the original.
			if _, err := m.Rollback(t.Context()); err != nil {
				t.Fatalf("Rollback: %v", err)
			}
			if diff := cmp.Diff(original, mt.snapshot(), cmpTenant); diff != "" {
				t.Errorf("rollback after resume (-original +got):\n%s", diff)
			}
		})
	}
}

func TestApplyCompletedIsAlreadyDone(t *testing.T) {
	t.Parallel()
	mt := scenario("legacy-twilio")
	m, store := newMigrator(t, mt)
	if _, err := m.Apply(t.Context(), baseOptions()); err != nil {
		t.Fatal(err)
	}
	// A strict mock with no write expectations: any write fails the test.
	m2, err := newStubbed(mockOver(t, mt, true, nil), phonemigrate.WithStore(store))
	if err != nil {
		t.Fatal(err)
	}
	res, err := m2.Apply(t.Context(), baseOptions())
	if err != nil || !res.AlreadyDone || res.State != phonemigrate.StateCompleted || len(res.Steps) != 0 {
		t.Errorf("second Apply = %+v, %v; want AlreadyDone completed", res, err)
	}
}

func TestApplyAlreadyUnified(t *testing.T) {
	t.Parallel()
	mt := scenario("unified")
	m, store := newMigrator(t, mockOver(t, mt, true, nil))
	res, err := m.Apply(t.Context(), baseOptions())
	if !errors.Is(err, phonemigrate.ErrAlreadyUnified) || res.State != phonemigrate.StateAlreadyUnified {
		t.Fatalf("Apply = %+v, %v", res, err)
	}
	cp, _ := store.Load(t.Context())
	if cp.State != phonemigrate.StateAlreadyUnified {
		t.Errorf("checkpoint state %s", cp.State)
	}
}

func TestApplyConfirm(t *testing.T) {
	t.Parallel()
	mt := scenario("mfa-twilio")
	m, store := newMigrator(t, mt)
	var asked []phonemigrate.TestMessage
	o := baseOptions()
	o.TestRecipients = []string{fxRecipient, "+447700900123"}
	o.Confirm = func(ctx context.Context, tm phonemigrate.TestMessage) (bool, error) {
		asked = append(asked, tm)
		return tm.Method != delivery.Voice, nil
	}
	_, err := m.Apply(t.Context(), o)
	if !errors.Is(err, phonemigrate.ErrTestNotConfirmed) {
		t.Fatalf("err = %v, want ErrTestNotConfirmed", err)
	}
	if *mt.UPE {
		t.Errorf("tenant switched although the test was not confirmed")
	}
	cp, _ := store.Load(t.Context())
	if cp.State != phonemigrate.StateFailed || cp.LastGood != phonemigrate.StateProviderConfigured {
		t.Errorf("checkpoint %s/%s", cp.State, cp.LastGood)
	}
	if len(asked) != 2 || asked[0].Method != delivery.Text || asked[1].Method != delivery.Voice || asked[0].ProviderID == "" {
		t.Errorf("asked = %+v", asked)
	}
	asked = nil
	o.Confirm = func(ctx context.Context, tm phonemigrate.TestMessage) (bool, error) {
		asked = append(asked, tm)
		return true, nil
	}
	res, err := m.Apply(t.Context(), o)
	if err != nil || res.State != phonemigrate.StateCompleted {
		t.Fatalf("resume = %v, %v", res, err)
	}
	if len(asked) != 4 { // 2 recipients × SMS + Voice
		t.Errorf("confirmations = %d, want 4", len(asked))
	}
}

// TestApplyCanceled cancels the context in the middle of a step; the
// machine must not wedge (looplab/fsm#115): the failure is recorded and a
// new Apply resumes.
func TestApplyCanceled(t *testing.T) {
	t.Parallel()
	mt := scenario("legacy-twilio")
	m, store := newMigrator(t, mt)
	ctx, cancel := context.WithCancel(t.Context())
	o := baseOptions()
	o.Confirm = func(context.Context, phonemigrate.TestMessage) (bool, error) {
		cancel()
		return true, nil
	}
	_, err := m.Apply(ctx, o)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	cp, _ := store.Load(t.Context())
	if cp.State != phonemigrate.StateFailed || cp.LastGood != phonemigrate.StateProviderConfigured {
		t.Errorf("checkpoint %s/%s", cp.State, cp.LastGood)
	}
	o.Confirm = nil
	res, err := m.Apply(t.Context(), o)
	if err != nil || res.State != phonemigrate.StateCompleted {
		t.Fatalf("resume = %v, %v", res, err)
	}
}

// TestApplyDetectsOptionLoss: a connection write that loses another option
// key is caught by the read-back, and the error names the key, not values.
func TestApplyDetectsOptionLoss(t *testing.T) {
	t.Parallel()
	mt := scenario("legacy-gateway")
	c := mockOver(t, mt, false, func(m *mock_phonemigrate.MockClient) {
		m.EXPECT().ReplaceConnectionOptions(gomock.Any(), gomock.Any(), gomock.Any()).DoAndReturn(
			func(ctx context.Context, id string, o map[string]any) (phonemigrate.Connection, error) {
				o = cloneMap(o)
				delete(o, "custom_flag") // what a typed SDK round-trip would do
				return mt.ReplaceConnectionOptions(ctx, id, o)
			})
	})
	m, _ := newMigrator(t, c)
	_, err := m.Apply(t.Context(), baseOptions())
	if err == nil || !strings.Contains(err.Error(), "custom_flag") {
		t.Fatalf("err = %v, want the lost key named", err)
	}
	if strings.Contains(err.Error(), fxGwSecret) {
		t.Errorf("error leaks the gateway secret")
	}
}

func TestApplyLocked(t *testing.T) {
	t.Parallel()
	mt := scenario("legacy-twilio")
	m, store := newMigrator(t, mt)
	unlock, err := store.Lock(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Apply(t.Context(), baseOptions()); !errors.Is(err, phonemigrate.ErrLocked) {
		t.Errorf("Apply while locked: %v, want ErrLocked", err)
	}
	if _, err := m.Rollback(t.Context()); !errors.Is(err, phonemigrate.ErrLocked) {
		t.Errorf("Rollback while locked: %v, want ErrLocked", err)
	}
	unlock()
	if _, err := m.Apply(t.Context(), baseOptions()); err != nil {
		t.Errorf("Apply after unlock: %v", err)
	}
}

func TestApplyForeignCheckpoint(t *testing.T) {
	t.Parallel()
	store := phonemigrate.NewMemoryStore()
	store.Save(t.Context(), &phonemigrate.Checkpoint{Version: 1, Tenant: "other-tenant", State: phonemigrate.StateFailed, LastGood: phonemigrate.StatePlanned})
	m, _ := newStubbed(scenario("legacy-twilio"), phonemigrate.WithStore(store), phonemigrate.WithTenant("acme-legacy"))
	var ce *phonemigrate.CheckpointError
	if _, err := m.Apply(t.Context(), baseOptions()); !errors.As(err, &ce) {
		t.Errorf("err = %v, want *CheckpointError", err)
	}
}
