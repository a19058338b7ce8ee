package phonemigrate_test

import (
	"testing"

	"github.com/unifiedphone/unifiedphone/phonemigrate"
	"github.com/unifiedphone/unifiedphone/phonemigrate/phonemigratetest"
)

// TestTwoTwilioSendersOneAccount: Passwordless sends through a Twilio
// Messaging Service and MFA (text and voice) through a From number of the
// same account — a tenant built by hand, not one of the scenarios. The
// routing Action must keep each one's sender: MFA's From (a Messaging
// Service cannot place calls), Passwordless's Messaging Service.
func TestTwoTwilioSendersOneAccount(t *testing.T) {
	requireNode(t)
	t.Parallel()
	srv, m := fakeTenant(t, phonemigratetest.Empty)
	const mssid = "MG0123456789abcdef0123456789abcdef"
	const mfaFrom = "+15550007777"
	mgmt(t, srv, "POST", "/connections", map[string]any{"name": "shop-sms", "strategy": "sms", "options": map[string]any{
		"provider": "twilio", "twilio_sid": phonemigratetest.TwilioSID, "twilio_token": phonemigratetest.TwilioAuthToken,
		"messaging_service_sid": mssid, "syntax": "liquid", "template": "Shop code {{ code }}",
	}})
	mgmt(t, srv, "PUT", "/guardian/factors/sms", map[string]any{"enabled": true})
	mgmt(t, srv, "PUT", "/guardian/factors/phone/message-types", map[string]any{"message_types": []any{"sms", "voice"}})
	mgmt(t, srv, "PUT", "/guardian/factors/phone/selected-provider", map[string]any{"provider": "twilio"})
	mgmt(t, srv, "PUT", "/guardian/factors/phone/providers/twilio", map[string]any{"sid": phonemigratetest.TwilioSID, "auth_token": phonemigratetest.TwilioAuthToken, "from": mfaFrom})
	mgmt(t, srv, "PUT", "/guardian/factors/sms/templates", map[string]any{"enrollment_message": "Enroll: {{code}}", "verification_message": "Verify: {{code}}"})

	reqs := srv.State().Messages(recipient)
	before := deliverAll(t, srv, reqs)
	senders := map[string]string{}
	for _, d := range before {
		if !d.Delivered {
			t.Fatalf("before: %s not delivered: %s", d.Path, d.Detail)
		}
		senders[d.Path] = d.Sender
	}
	if senders["passwordless shop-sms text otp_verify"] != mssid || senders["mfa voice otp_verify"] != mfaFrom {
		t.Fatalf("the tenant is not built as meant: senders %v", senders)
	}
	o := phonemigrate.Options{SkipTest: true, TwilioAPIBaseURL: srv.Twilio().URL}
	res, err := m.Apply(t.Context(), o)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if res.Plan.Provider != phonemigrate.ProviderKindCustom {
		t.Errorf("provider %s, want custom (two senders)", res.Plan.Provider)
	}
	after := deliverAll(t, srv, reqs)
	for _, d := range after {
		if d.Route != phonemigratetest.RouteProviderCustom {
			t.Errorf("%s went %s after the migration: %s", d.Path, d.Route, d.Detail)
		}
	}
	assertSame(t, "after the migration", before, after)
	// /__fake/notify answers the text the Action sent, not the template's.
	res2, err := srv.Notify(t.Context(), phonemigratetest.NotifyRequest{Kind: "mfa", Recipient: recipient})
	if err != nil {
		t.Fatal(err)
	}
	if want := "Verify: " + res2.Code; res2.Text != want {
		t.Errorf("notify's text = %q, want %q (what the routing Action sends)", res2.Text, want)
	}
	h, err := m.Check(t.Context())
	if err != nil || !h.Healthy() {
		t.Errorf("Check: %+v, %v; want healthy", h, err)
	}
}
