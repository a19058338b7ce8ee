package phonemigrate

import "github.com/unifiedphone/unifiedphone/phonemigrate/redact"

// Secret is a credential (a Twilio auth token, a gateway secret, an API
// token): a [redact.Secret], which prints, marshals and logs as
// "[redacted]"; only its Reveal method returns the value.
type Secret = redact.Secret

// secrets are the secret values r knows of: the Migrator's set (see
// [WithSecrets]), the Twilio auth token of the options, every secret of
// the options of the connections it read and the legacy Guardian Twilio
// token.
func (r *run) secrets() []string {
	out := r.m.secrets.Values()
	if r.o != nil {
		out = append(out, r.o.TwilioAuthToken.Reveal())
	}
	if r.d != nil {
		for _, c := range r.d.SMSConnections {
			out = append(out, redact.OptionSecrets(c.Options)...)
		}
		if r.d.LegacyTwilio != nil {
			out = append(out, r.d.LegacyTwilio.AuthToken.Reveal())
		}
	}
	return out
}
