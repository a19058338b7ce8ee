package phonemigrate_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/unifiedphone/unifiedphone/phonemigrate"
	"github.com/unifiedphone/unifiedphone/phonemigrate/phonemigratetest"
)

// TestGatewayPasswordlessWithHookMFA migrates, end to end on the fake, a
// tenant whose Passwordless codes go to a legacy SMS gateway and whose MFA
// codes go through a send-phone-message Action: one routing Action then
// serves both, and each keeps its request — the gateway its JWT-signed
// body, the Action's service the same calls as before.
func TestGatewayPasswordlessWithHookMFA(t *testing.T) {
	t.Parallel()
	requireNode(t)
	svc := newSMSService(t)
	srv, m := fakeTenant(t, phonemigratetest.LegacyGateway)
	buildHookTenant(t, srv, hookAction(svc.URL), nil)

	pwl := []phonemigratetest.NotifyRequest{{Kind: "passwordless", Recipient: recipient, Connection: "sms"}}
	pwlBefore := deliverAll(t, srv, pwl)
	if !pwlBefore[0].Delivered || pwlBefore[0].Via != "gateway" {
		t.Fatalf("Passwordless before: %+v", pwlBefore[0])
	}
	mfaBefore := sendAll(t, srv, svc, phonemigratetest.RouteLegacyHook)

	o := phonemigrate.Options{SkipTest: true, ActionSecret: func(string) (phonemigrate.Secret, bool) { return hookKey, true }}
	if _, err := m.Apply(t.Context(), o); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	pwlAfter := deliverAll(t, srv, pwl)
	if pwlAfter[0].Route != phonemigratetest.RouteProviderCustom {
		t.Errorf("Passwordless after went %s: %s", pwlAfter[0].Route, pwlAfter[0].Detail)
	}
	assertSame(t, "Passwordless after the migration", pwlBefore, pwlAfter)
	if diff := cmp.Diff(mfaBefore, sendAll(t, srv, svc, phonemigratetest.RouteProviderCustom)); diff != "" {
		t.Errorf("what the MFA Action's service received (-before +after):\n%s", diff)
	}
	if h, err := m.Check(t.Context()); err != nil || !h.Healthy() {
		t.Errorf("Check: %+v, %v; want healthy", h, err)
	}
}
