package phonemigratetest

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCompare(t *testing.T) {
	t.Parallel()
	base := Delivery{Path: "p", Route: RouteLegacyGateway, Via: "gateway", Sender: "ACME", Recipient: "+15551234567",
		Text: "Your code is 123456", Claims: map[string]string{"aud": "urn:a", "sub": "urn:s"}, Delivered: true}
	with := func(f func(d *Delivery)) Delivery {
		d := base
		d.Claims = map[string]string{"aud": "urn:a", "sub": "urn:s"}
		f(&d)
		return d
	}
	tests := []struct {
		name  string
		after Delivery
		want  []string
	}{
		{"same, another route", with(func(d *Delivery) { d.Route = RouteProviderCustom }), nil},
		{"not delivered", with(func(d *Delivery) { d.Delivered, d.Detail = false, "gateway answered 401" }), []string{"not delivered after: gateway answered 401"}},
		{"recipient", with(func(d *Delivery) { d.Recipient = "+15550000000" }), []string{`recipient "+15551234567" before, "+15550000000" after`}},
		{"sender", with(func(d *Delivery) { d.Sender = "+15005550006" }), []string{`sender "ACME" before, "+15005550006" after`}},
		{"destination", with(func(d *Delivery) { d.Via, d.Claims = "twilio/sms", nil }), []string{"arrived through gateway before, twilio/sms after"}},
		{"text lost", with(func(d *Delivery) { d.Text = "Your code is " }), []string{`text differs: "123456" is missing after (before "Your code is 123456", after "Your code is ")`}},
		{"text added", with(func(d *Delivery) { d.Text = "Your code is 123456!" }), []string{`text differs: "!" is added after (before "Your code is 123456", after "Your code is 123456!")`}},
		{"text changed, multibyte", with(func(d *Delivery) { d.Text = "Your cöde is 123456" }), []string{`text differs: "o" before where "ö" after (before "Your code is 123456", after "Your cöde is 123456")`}},
		{"claims", with(func(d *Delivery) { d.Claims["aud"] = "urn:other" }), []string{"gateway token aud/sub urn:a/urn:s before, urn:other/urn:s after"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Compare([]Delivery{base}, []Delivery{tt.after})
			if diff := cmp.Diff(tt.want, got[0].Why); diff != "" {
				t.Errorf("Why (-want +got):\n%s", diff)
			}
			if got[0].Same != (tt.want == nil) || AllSame(got) != got[0].Same {
				t.Errorf("Same = %v, AllSame = %v, want %v", got[0].Same, AllSame(got), tt.want == nil)
			}
		})
	}
	if got := Compare([]Delivery{base}, nil); got[0].Same || len(got[0].Why) != 1 {
		t.Errorf("Compare with nothing after = %+v", got)
	}
}
