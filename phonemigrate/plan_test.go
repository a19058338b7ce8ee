package phonemigrate_test

import (
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/unifiedphone/unifiedphone/delivery"
	"github.com/unifiedphone/unifiedphone/phonemigrate"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// golden compares got with testdata/name, rewriting the file under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden (run with -update to create): %v", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", path, diff)
	}
}

func TestDiagramGolden(t *testing.T) {
	t.Parallel()
	golden(t, "diagram.mmd", []byte(phonemigrate.Diagram()))
}

func baseOptions() phonemigrate.Options {
	return phonemigrate.Options{TwilioAuthToken: fxTwilioToken, TestRecipients: []string{fxRecipient}}
}

func TestPlanGolden(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		scenario string
		opts     func(*phonemigrate.Options)
		tenant   func(*memTenant)
	}{
		{name: "legacy-gateway", scenario: "legacy-gateway"},
		{name: "legacy-twilio", scenario: "legacy-twilio"},
		{name: "legacy-twilio-custom", scenario: "legacy-twilio", opts: func(o *phonemigrate.Options) { o.Provider = phonemigrate.ProviderKindCustom }},
		{name: "mfa-twilio", scenario: "mfa-twilio"},
		{name: "mixed", scenario: "mixed"},
		{name: "mixed-voice-replace", scenario: "mixed", opts: func(o *phonemigrate.Options) {
			o.Delivery = delivery.Of(delivery.Text, delivery.Voice)
			o.AllowReplace = true
			o.UsePhoneProvider = "unified"
		}, tenant: func(m *memTenant) {
			m.Providers = []phonemigrate.PhoneProvider{{ID: "pro_old", Name: "twilio", Configuration: phonemigrate.ProviderConfiguration{SID: "ACold", DefaultFrom: "+15550000000", DeliveryMethods: delivery.Of(delivery.Text)}}}
			m.Templates = []phonemigrate.PhoneTemplate{{ID: "tem_v", Type: "otp_verify", Content: phonemigrate.PhoneTemplateContent{Syntax: "liquid", Text: "old {{ code }}"}}}
		}},
		{name: "gateway-voice", scenario: "legacy-gateway", opts: func(o *phonemigrate.Options) {
			o.Delivery = delivery.Of(delivery.Text, delivery.Voice)
		}},
		{name: "mfa-twilio-types-unset", scenario: "mfa-twilio", tenant: func(m *memTenant) {
			m.MsgTypes = nil
			m.Selected = "twilio"
			m.LegacyTw.MessagingServiceSID = "MG0123456789abcdef0123456789abcdef"
		}},
		{name: "gateway-unknown-macro-skiptest", scenario: "legacy-gateway", opts: func(o *phonemigrate.Options) {
			o.TestRecipients, o.SkipTest = nil, true
		}, tenant: func(m *memTenant) {
			m.Conns[1].Options["template"] = "@@password@@ for @@application_name@@"
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mt := scenario(tt.scenario)
			if tt.tenant != nil {
				tt.tenant(mt)
			}
			o := baseOptions()
			if tt.opts != nil {
				tt.opts(&o)
			}
			m, err := newStubbed(mt, phonemigrate.WithTenant("acme-legacy"))
			if err != nil {
				t.Fatal(err)
			}
			before := mt.snapshot()
			p, err := m.Plan(t.Context(), o)
			if err != nil {
				t.Fatalf("Plan: %v", err)
			}
			if diff := cmp.Diff(before, mt.snapshot(), cmpTenant); diff != "" {
				t.Errorf("Plan wrote to the tenant (-before +after):\n%s", diff)
			}
			data, err := json.MarshalIndent(p, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			for _, secret := range []string{fxTwilioToken, fxGwSecret} {
				if strings.Contains(p.Text(), secret) || strings.Contains(string(data), secret) {
					t.Errorf("plan leaks a secret")
				}
			}
			golden(t, "plan/"+tt.name+".txt", []byte(p.Text()))
			golden(t, "plan/"+tt.name+".json", append(data, '\n'))

			// Deterministic: a second plan is identical.
			p2, err := m.Plan(t.Context(), o)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(p, p2); diff != "" {
				t.Errorf("second plan differs (-first +second):\n%s", diff)
			}
		})
	}
}

func TestPreflightErrors(t *testing.T) {
	t.Parallel()
	var (
		inputErr    *phonemigrate.InputError
		recipErr    *phonemigrate.InvalidRecipientError
		conflictErr *phonemigrate.DeliveryConflictError
		existErr    *phonemigrate.ExistingResourceError
	)
	tests := []struct {
		name     string
		scenario string
		opts     func(*phonemigrate.Options)
		tenant   func(*memTenant)
		is       error
		as       any
		exit     int
	}{
		{name: "empty tenant", scenario: "empty", is: phonemigrate.ErrNotEligible, exit: 3},
		{name: "unified tenant", scenario: "unified", is: phonemigrate.ErrAlreadyUnified, exit: 0},
		// The flag absent means off; with MFA on, a 403 from the legacy
		// Guardian endpoints still says the tenant is on UPE.
		{name: "legacy 403 means unified", scenario: "mfa-twilio", tenant: func(m *memTenant) {
			m.UPE = nil
			m.Force403 = true
			m.Providers = []phonemigrate.PhoneProvider{{ID: "pro_1", Name: "twilio", Configuration: phonemigrate.ProviderConfiguration{SID: "AC1", DefaultFrom: "+15550001111", DeliveryMethods: delivery.Of(delivery.Text, delivery.Voice)}}}
		}, is: nil, exit: 0},
		{name: "mfa auth0 only", scenario: "empty", tenant: func(m *memTenant) { m.MFAEnabled = true }, is: phonemigrate.ErrNotEligible, exit: 3},
		{name: "no token twilio", scenario: "legacy-twilio", opts: func(o *phonemigrate.Options) { o.TwilioAuthToken = "" },
			tenant: func(m *memTenant) { delete(m.Conns[1].Options, "twilio_token") }, is: phonemigrate.ErrTwilioTokenRequired, exit: 2},
		{name: "no token mixed", scenario: "mixed", opts: func(o *phonemigrate.Options) { o.TwilioAuthToken = "" },
			tenant: func(m *memTenant) { m.LegacyTw.AuthToken = "" }, is: phonemigrate.ErrTwilioTokenRequired, exit: 2},
		{name: "gateway needs custom", scenario: "legacy-gateway", opts: func(o *phonemigrate.Options) { o.Provider = phonemigrate.ProviderKindTwilio }, is: phonemigrate.ErrCustomProviderRequired, exit: 3},
		{name: "mixed needs custom", scenario: "mixed", opts: func(o *phonemigrate.Options) { o.Provider = phonemigrate.ProviderKindTwilio }, is: phonemigrate.ErrCustomProviderRequired, exit: 3},
		{name: "passwordless needs text", scenario: "legacy-gateway", opts: func(o *phonemigrate.Options) { o.Delivery = delivery.Of(delivery.Voice) }, as: &conflictErr, exit: 3},
		{name: "mfa voice not covered", scenario: "mfa-twilio", opts: func(o *phonemigrate.Options) { o.Delivery = delivery.Of(delivery.Text) }, as: &conflictErr, exit: 3},
		{name: "existing provider", scenario: "legacy-twilio", tenant: func(m *memTenant) {
			m.Providers = []phonemigrate.PhoneProvider{{ID: "pro_x", Name: "twilio"}}
		}, as: &existErr, exit: 3},
		{name: "existing action", scenario: "legacy-gateway", tenant: func(m *memTenant) {
			m.Actions = []phonemigrate.Action{{ID: "act_x", Name: "mine"}}
		}, as: &existErr, exit: 3},
		{name: "existing action with allow replace", scenario: "legacy-gateway", opts: func(o *phonemigrate.Options) { o.AllowReplace = true }, tenant: func(m *memTenant) {
			m.Actions = []phonemigrate.Action{{ID: "act_x", Name: "mine"}}
		}, as: &existErr, exit: 3},
		{name: "bad recipient", scenario: "legacy-twilio", opts: func(o *phonemigrate.Options) { o.TestRecipients = []string{"555-1234"} }, as: &recipErr, exit: 2},
		{name: "recipient leading zero", scenario: "legacy-twilio", opts: func(o *phonemigrate.Options) { o.TestRecipients = []string{"+0551234567"} }, as: &recipErr, exit: 2},
		{name: "no recipients no skip", scenario: "legacy-twilio", opts: func(o *phonemigrate.Options) { o.TestRecipients = nil }, as: &inputErr, exit: 2},
		{name: "skip and recipients", scenario: "legacy-twilio", opts: func(o *phonemigrate.Options) { o.SkipTest = true }, as: &inputErr, exit: 2},
		{name: "bad provider kind", scenario: "legacy-twilio", opts: func(o *phonemigrate.Options) { o.Provider = "sns" }, as: &inputErr, exit: 2},
		{name: "bad use_phone_provider", scenario: "legacy-twilio", opts: func(o *phonemigrate.Options) { o.UsePhoneProvider = 3 }, as: &inputErr, exit: 2},
		{name: "gateway http url", scenario: "legacy-gateway", tenant: func(m *memTenant) { m.Conns[1].Options["gateway_url"] = "http://gateway.example/sms" }, is: phonemigrate.ErrNotEligible, exit: 3},
		{name: "mfa voice with only a gateway", scenario: "legacy-gateway", tenant: func(m *memTenant) {
			m.MFAEnabled, m.MsgTypes = true, ptr(delivery.Of(delivery.Text, delivery.Voice))
		}, is: phonemigrate.ErrNotEligible, exit: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mt := scenario(tt.scenario)
			if tt.tenant != nil {
				tt.tenant(mt)
			}
			o := baseOptions()
			if tt.opts != nil {
				tt.opts(&o)
			}
			m, _ := newStubbed(mt)
			_, err := m.Plan(t.Context(), o)
			if tt.is == nil && tt.as == nil {
				if !errors.Is(err, phonemigrate.ErrAlreadyUnified) {
					t.Fatalf("err = %v, want ErrAlreadyUnified", err)
				}
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Fatalf("err = %v, want errors.Is %v", err, tt.is)
			}
			if tt.as != nil && !errors.As(err, tt.as) {
				t.Fatalf("err = %v (%T), want errors.As %T", err, err, tt.as)
			}
			if tt.as == &existErr {
				// An existing custom-phone-provider Action can never be
				// replaced (one per trigger; its secrets are unreadable); a
				// provider can, with AllowReplace.
				if want := existErr.Kind == "action"; existErr.CannotReplace != want {
					t.Errorf("CannotReplace = %v for a %s, want %v", existErr.CannotReplace, existErr.Kind, want)
				}
			}
			if got := phonemigrate.ExitCode(err); got != tt.exit {
				t.Errorf("ExitCode(%v) = %d, want %d", err, got, tt.exit)
			}
			if err != nil && strings.Contains(err.Error(), fxGwSecret) {
				t.Errorf("error leaks the gateway secret: %v", err)
			}
			// Apply refuses the same way, writing nothing.
			before := mt.snapshot()
			if _, aerr := m.Apply(t.Context(), o); phonemigrate.ExitCode(aerr) != tt.exit || (aerr == nil) != (err == nil) {
				t.Errorf("Apply err = %v, Plan err = %v", aerr, err)
			}
			if diff := cmp.Diff(before, mt.snapshot(), cmpTenant); diff != "" {
				t.Errorf("refused Apply wrote (-before +after):\n%s", diff)
			}
		})
	}
	// The conflict carries the decision.
	m, _ := newStubbed(scenario("mfa-twilio"))
	o := baseOptions()
	o.Delivery = delivery.Of(delivery.Text)
	_, err := m.Plan(t.Context(), o)
	if !errors.As(err, &conflictErr) || conflictErr.Decision.Action != delivery.UpdateFactors || conflictErr.Decision.Missing != delivery.Of(delivery.Voice) {
		t.Errorf("conflict = %+v", conflictErr)
	}
}

func TestExitCode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  error
		want int
	}{
		{nil, 0},
		{phonemigrate.ErrAlreadyUnified, 0},
		{&phonemigrate.InputError{Field: "x"}, 2},
		{&phonemigrate.CheckpointError{Problem: "x"}, 2},
		{phonemigrate.ErrTwilioTokenRequired, 2},
		{&phonemigrate.InvalidRecipientError{}, 2},
		{phonemigrate.ErrNotEligible, 3},
		{&phonemigrate.DeliveryConflictError{}, 3},
		{&phonemigrate.ExistingResourceError{}, 3},
		{phonemigrate.ErrCustomProviderRequired, 3},
		{phonemigrate.ErrLocked, 1},
		{phonemigrate.ErrTestNotConfirmed, 1},
		{errors.New("boom"), 1},
	}
	for _, tt := range tests {
		if got := phonemigrate.ExitCode(tt.err); got != tt.want {
			t.Errorf("ExitCode(%v) = %d, want %d", tt.err, got, tt.want)
		}
	}
}

// TestPlanAbsentFlagMeansOff: real tenants usually answer their settings
// without phone_consolidated_experience (recorded); absent means off, so a
// legacy tenant is planned without probing the legacy Guardian endpoints.
func TestPlanAbsentFlagMeansOff(t *testing.T) {
	t.Parallel()
	mt := scenario("legacy-gateway")
	mt.UPE = nil
	mt.Force403 = true // a probe would wrongly conclude "unified"
	m, _ := newStubbed(mt)
	p, err := m.Plan(t.Context(), baseOptions())
	if err != nil {
		t.Fatalf("Plan: %v", err)
	}
	if len(p.Steps) == 0 {
		t.Errorf("Plan of a legacy tenant with the flag absent has no steps")
	}
}

// TestPlanTwoTwilioAccounts: Passwordless and MFA on different Twilio
// accounts. One account serves both after the switch: the plan takes the
// MFA (Guardian) one, says so, and says what Passwordless users notice.
func TestPlanTwoTwilioAccounts(t *testing.T) {
	t.Parallel()
	mt := scenario("mixed")
	mt.Conns[1] = twilioConn()
	mt.Conns[1].Options["twilio_sid"] = "ACother"
	m, _ := newStubbed(mt)
	p, err := m.Plan(t.Context(), baseOptions())
	if err != nil {
		t.Fatalf("Plan: %v", err)
	}
	if p.Provider != phonemigrate.ProviderKindTwilio {
		t.Errorf("provider %s, want twilio", p.Provider)
	}
	found := false
	for _, w := range p.Warnings {
		if strings.Contains(w, "Twilio account ACother") && strings.Contains(w, "the MFA (Guardian) one is taken") {
			found = true
		}
	}
	if !found {
		t.Errorf("no warning names both accounts and the one taken: %q", p.Warnings)
	}
	var sid any
	for _, st := range p.Steps {
		for _, w := range st.Writes {
			if w.Method == "POST" && w.Path == "/branding/phone/providers" {
				b, _ := json.Marshal(w.After)
				var after struct {
					Configuration struct{ SID string }
				}
				_ = json.Unmarshal(b, &after)
				sid = after.Configuration.SID
			}
		}
	}
	if sid == "ACother" || sid == nil {
		t.Errorf("provider written with account %v, want the Guardian account", sid)
	}
	// The connection's sender belongs to ACother: not carried into the
	// template, where the Guardian account could not send from it.
	for _, st := range p.Steps {
		for _, w := range st.Writes {
			if strings.HasPrefix(w.Path, "/branding/phone/templates") {
				b, _ := json.Marshal(w.After)
				if strings.Contains(string(b), `"from"`) {
					t.Errorf("template write carries a sender of the other account: %s", b)
				}
			}
		}
	}
}
