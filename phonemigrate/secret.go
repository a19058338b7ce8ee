package phonemigrate

import "log/slog"

// Secret is a credential (a Twilio auth token, a gateway secret). It prints,
// marshals and logs as "[redacted]"; only [Secret.Reveal] returns the value,
// and only code that must send it to Auth0 calls it.
type Secret string

const redacted = "[redacted]"

// Reveal returns the secret value.
func (s Secret) Reveal() string { return string(s) }

// String returns "[redacted]" (or "" for the empty Secret).
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// GoString keeps %#v from printing the value.
func (s Secret) GoString() string { return `"` + s.String() + `"` }

// MarshalText writes "[redacted]", so JSON, plans and checkpoints never hold
// the value.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// LogValue implements [slog.LogValuer].
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }
