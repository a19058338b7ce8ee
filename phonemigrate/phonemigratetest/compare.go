package phonemigratetest

import (
	"slices"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// Messages lists the messages the tenant in st sends its users, one
// [NotifyRequest] each, all to recipient: a Passwordless code per SMS
// connection (in connection order), then, when the MFA phone factor
// ("sms") is enabled, an "otp_verify" and an "otp_enroll" message per MFA
// message type ("sms" sent as "text", "voice" as "voice").
//
// Sending them with [Server.Deliver] before and after a migration (or a
// rollback) and comparing the two with [Compare] is how a test proves that
// every user still gets the same message (see the example).
// A State with neither SMS connections nor an enabled MFA phone factor
// gives nil.
func (st State) Messages(recipient string) []NotifyRequest {
	var out []NotifyRequest
	for _, c := range st.Connections {
		if c.Strategy == "sms" {
			out = append(out, NotifyRequest{Kind: "passwordless", Connection: c.Name, Recipient: recipient})
		}
	}
	if !slices.ContainsFunc(st.Guardian.Factors, func(f Factor) bool { return f.Name == "sms" && f.Enabled }) {
		return out
	}
	for _, mt := range st.Guardian.MessageTypes {
		method, ok := factorToDelivery[mt]
		if !ok {
			continue
		}
		for _, typ := range []string{"otp_verify", "otp_enroll"} {
			out = append(out, NotifyRequest{Kind: "mfa", Recipient: recipient, DeliveryMethod: method, MessageType: typ})
		}
	}
	return out
}

// IgnoreGenerated makes [cmp.Diff] or [cmp.Equal] of two [State] values
// ignore what the fake generates anew when a migration, a retry or a
// rollback re-creates something: the ids and timestamps of bindings,
// providers, Actions and templates, the Actions' build times and their
// secrets' update times, "created_at"/"updated_at" keys of JSON maps
// (tenant settings, connection options), a trigger whose binding list is
// empty (the same as a trigger with no bindings), nil versus empty
// slices and maps, and a tenant setting "phone_consolidated_experience":
// false versus no such setting (absent means off, and Auth0 offers no way
// to remove the key once written). Everything else — settings, options, provider
// configurations, template texts, Action code and secret values — is
// compared, so
//
//	cmp.Diff(before, srv.State(), phonemigratetest.IgnoreGenerated)
//
// is empty exactly when a rollback restored the tenant.
var IgnoreGenerated cmp.Option = cmp.Options{
	cmpopts.IgnoreFields(Binding{}, "ID", "CreatedAt", "UpdatedAt"),
	cmpopts.IgnoreFields(PhoneProvider{}, "ID", "CreatedAt", "UpdatedAt"),
	cmpopts.IgnoreFields(Action{}, "ID", "CreatedAt", "UpdatedAt", "BuiltAt"),
	cmpopts.IgnoreFields(ActionSecret{}, "UpdatedAt"),
	cmpopts.IgnoreFields(PhoneTemplate{}, "ID", "CreatedAt", "UpdatedAt"),
	cmpopts.IgnoreMapEntries(func(k string, _ any) bool { return k == "updated_at" || k == "created_at" }),
	cmpopts.IgnoreMapEntries(func(k string, v any) bool { return k == "phone_consolidated_experience" && v == false }),
	cmpopts.IgnoreMapEntries(func(_ string, v []Binding) bool { return len(v) == 0 }),
	cmpopts.EquateEmpty(),
}
