package phonemigrate_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/unifiedphone/unifiedphone/phonemigrate"
	"github.com/unifiedphone/unifiedphone/phonemigrate/phonemigratetest"
)

// TestCheckSeesAChangedSender: after a migration to a Twilio provider,
// someone sets a "from" on a tenant phone template. Passwordless and MFA
// users then get their codes from another number than before the
// migration (the fake Twilio shows it), so check is not healthy, naming
// the consumer and both senders.
func TestCheckSeesAChangedSender(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		sc       phonemigratetest.Scenario
		consumer string
		req      phonemigratetest.NotifyRequest
	}{
		{phonemigratetest.LegacyTwilio, "passwordless/sms/text/otp_verify", phonemigratetest.NotifyRequest{Kind: "passwordless", Connection: "sms", Recipient: "+15555550100", DeliveryMethod: "text"}},
		{phonemigratetest.MFATwilio, "mfa/text/otp_verify", phonemigratetest.NotifyRequest{Kind: "mfa", Recipient: "+15555550100", DeliveryMethod: "text", MessageType: "otp_verify"}},
	} {
		t.Run(string(tc.sc), func(t *testing.T) {
			t.Parallel()
			srv, m := fakeTenant(t, tc.sc, phonemigrate.WithStore(phonemigrate.NewMemoryStore()))
			if _, err := m.Apply(t.Context(), fakeOptions(srv)); err != nil {
				t.Fatalf("Apply: %v", err)
			}
			var id string
			for _, tpl := range srv.State().PhoneTemplates {
				if tpl.Type == "otp_verify" {
					id = tpl.ID
				}
			}
			if id == "" {
				t.Fatal("the migration created no otp_verify template")
			}
			sender := func() string {
				// The minute only guards against a hang.
				ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
				defer cancel()
				if _, err := srv.Notify(ctx, tc.req); err != nil {
					t.Fatal(err)
				}
				ms := srv.Twilio().Messages()
				return ms[len(ms)-1].From
			}
			before := sender()
			api(t, srv, "PATCH", "/branding/phone/templates/"+id, map[string]any{"content": map[string]any{"from": "+15559999999"}})
			if after := sender(); after == before {
				t.Fatalf("the fake sends from %s after the edit too; the test changes nothing", after)
			}
			h, err := m.Check(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, f := range h.Findings {
				if f.Consumer == tc.consumer && strings.Contains(f.Problem, "+15559999999") && strings.Contains(f.Problem, before) {
					found = true
				}
			}
			if h.Healthy() || !found {
				t.Errorf("Check after the sender changed from %s to +15559999999 = %+v; want a finding for %s naming both", before, h, tc.consumer)
			}
			// Repair writes nothing for it (users get codes), and does
			// not call the tenant healthy either.
			res, err := m.Repair(t.Context(), phonemigrate.RepairOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if res.Outcome != phonemigrate.RepairNotNeeded || res.Health == nil || res.Health.Healthy() {
				t.Errorf("Repair = %s, health %+v; want not needed and not healthy", res.Outcome, res.Health)
			}
		})
	}
}
