package iacexport

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Names follow auth0 tf generate's rule (auth0-cli internal/cli/terraform.go):
// runs of characters other than [a-zA-Z0-9_] become "_", leading digits
// and dashes go, "_" is trimmed, lowercase; repeats get _2, _3.
func TestNamer(t *testing.T) {
	t.Parallel()
	in := []string{"My Action", "my-action", "123-Send SMS!", "__x__", "ÄÖ", "", "otp_verify", "My  Action", "a.b/c"}
	want := []string{"my_action", "my_action_2", "send_sms", "x", "unnamed", "unnamed_2", "otp_verify", "my_action_3", "a_b_c"}
	n := newNamer()
	var got []string
	for _, s := range in {
		got = append(got, n.name(s))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("names (-want +got):\n%s", diff)
	}
	if got := keyword("CONNECTION", "sms-eu", "gateway_authentication.secret"); got != "CONNECTION_SMS_EU_GATEWAY_AUTHENTICATION_SECRET" {
		t.Errorf("keyword = %q", got)
	}
}
