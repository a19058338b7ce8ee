package phonemigrate_test

import (
	"strings"
	"testing"

	"github.com/unifiedphone/unifiedphone/phonemigrate"
	"github.com/unifiedphone/unifiedphone/phonemigrate/phonemigratetest"
)

// TestIntegrationMixedKeepsTexts: in the mixed scenario (Passwordless
// through an SMS gateway, MFA through Twilio, with different verification
// texts) the tenant's one otp_verify template takes the Passwordless text,
// and the routing Action renders MFA's legacy Guardian texts itself, so
// both products' users receive, through the same destination, exactly the
// text they received before — checked where the messages arrive, with the
// Action running in Node. The plan no longer warns about MFA texts.
func TestIntegrationMixedKeepsTexts(t *testing.T) {
	requireNode(t)
	t.Parallel()
	srv, m := fakeTenant(t, phonemigratetest.Mixed)
	reqs := srv.State().Messages(recipient)
	before := deliverAll(t, srv, reqs)
	// The scenario is the one that needs the override: the texts differ.
	if before[0].Text == before[1].Text {
		t.Fatalf("Passwordless and MFA verification texts are the same (%q); the scenario no longer tests anything", before[0].Text)
	}

	p, err := m.Plan(t.Context(), fakeOptions(srv))
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range p.Warnings {
		if strings.Contains(w, "MFA verification message") {
			t.Errorf("plan still warns about MFA texts: %s", w)
		}
	}
	res, err := m.Apply(t.Context(), fakeOptions(srv))
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if got := res.Checkpoint.Intent.DefaultText; got == nil || got.Verify != phonemigratetest.MFAVerificationMessage {
		t.Errorf("Intent.DefaultText = %+v, want the legacy MFA verification message", got)
	}
	assertSame(t, "after the migration", before, deliverAll(t, srv, reqs))
	// The tenant template still carries the Passwordless text.
	for _, tp := range srv.State().PhoneTemplates {
		if tp.Type == "otp_verify" && !strings.HasPrefix(tp.Content.Body.Text, "Your ACME verification code is:") {
			t.Errorf("otp_verify template = %q, want the Passwordless text", tp.Content.Body.Text)
		}
	}
}

// TestPlanMFATextNotRenderable: a legacy MFA text the Action cannot render
// (a Liquid filter) is not embedded; MFA takes the template's text and the
// plan warns, saying why.
func TestPlanMFATextNotRenderable(t *testing.T) {
	t.Parallel()
	mt := scenario("mixed")
	mt.LegacyTemplates.VerificationMessage = "{{ code | upcase }} is your ACME verification code."
	m, _ := newMigrator(t, mt)
	p, err := m.Plan(t.Context(), baseOptions())
	if err != nil {
		t.Fatal(err)
	}
	warned := false
	for _, w := range p.Warnings {
		warned = warned || strings.Contains(w, "MFA verification message") && strings.Contains(w, "cannot be rendered by the Action")
	}
	if !warned {
		t.Errorf("no warning about the MFA text in %q", p.Warnings)
	}
	if strings.Contains(p.Steps[0].Writes[0].Note, "MFA messages keep") {
		t.Errorf("Action note claims the MFA text is kept: %s", p.Steps[0].Writes[0].Note)
	}
	// Apply follows the plan: the Action is generated without the text.
	if _, err := m.Apply(t.Context(), baseOptions()); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(mt.Actions[0].Code, "is your ACME verification code.") {
		t.Errorf("the Action embeds the MFA text it cannot render")
	}
}

// TestPlanMFATextWithoutRouting: without a routing Action (one Twilio
// provider for both), the MFA text cannot be kept apart and the plan says so.
func TestPlanMFATextWithoutRouting(t *testing.T) {
	t.Parallel()
	mt := scenario("legacy-twilio")
	mfaTwilio(mt, 0)
	m, _ := newMigrator(t, mt)
	p, err := m.Plan(t.Context(), baseOptions())
	if err != nil {
		t.Fatal(err)
	}
	if p.Provider != phonemigrate.ProviderKindTwilio {
		t.Fatalf("provider %s, want twilio", p.Provider)
	}
	warned := false
	for _, w := range p.Warnings {
		warned = warned || strings.Contains(w, "MFA verification message differs")
	}
	if !warned {
		t.Errorf("no warning about the MFA text in %q", p.Warnings)
	}
}
