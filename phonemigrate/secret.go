package phonemigrate

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/url"
	"sort"
	"strings"
	"unicode/utf8"
)

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

// Redacted is what [Redact] puts in place of a secret value.
const Redacted = redacted

// Redact returns text with every occurrence of each non-empty secret
// replaced by "[redacted]": the value itself and the forms a server could
// echo it in (JSON-escaped, as in a request body quoted back; and
// URL-encoded, as in a form body). Longer secrets are replaced first, so
// a secret containing another is redacted whole. C0 and C1 control
// characters (escape sequences included) are replaced by spaces, so that
// text from a server cannot drive a terminal.
func Redact(text string, secrets ...string) string {
	text = redactValues(text, secrets)
	return StripControl(text)
}

func redactValues(text string, secrets []string) string {
	var forms []string
	for _, s := range secrets {
		if s == "" {
			continue
		}
		forms = append(forms, s)
		for _, html := range []bool{true, false} {
			var b strings.Builder
			enc := json.NewEncoder(&b)
			enc.SetEscapeHTML(html)
			if enc.Encode(s) == nil {
				if e := strings.TrimSuffix(b.String(), "\n"); len(e) >= 2 && e[1:len(e)-1] != s {
					forms = append(forms, e[1:len(e)-1])
				}
			}
		}
		if q := url.QueryEscape(s); q != s {
			forms = append(forms, q)
		}
		if p := url.PathEscape(s); p != s {
			forms = append(forms, p)
		}
	}
	sort.Slice(forms, func(i, j int) bool { return len(forms[i]) > len(forms[j]) })
	for _, f := range forms {
		if strings.Contains(text, f) {
			text = strings.ReplaceAll(text, f, redacted)
		}
	}
	return text
}

// StripControl replaces every C0 and C1 control character of s (ESC, BEL,
// CR, LF, DEL, U+0080–U+009F, ...) and every invalid UTF-8 byte with a
// space, so that text from a server or a tenant prints as plain text.
func StripControl(s string) string {
	clean := true
	for _, r := range s {
		if isControl(r) || r == utf8.RuneError {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if isControl(r) || r == utf8.RuneError {
			r = ' '
		}
		b.WriteRune(r)
	}
	return b.String()
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f) }

// OptionSecrets returns the string values held under every key of opts
// (nested maps and lists included) whose name contains "token" or
// "secret" in any case — gateway secrets, Twilio auth tokens — so that
// they can be given to [Redact].
func OptionSecrets(opts map[string]any) []string {
	var out []string
	var walk func(v any, secretKey bool)
	walk = func(v any, secretKey bool) {
		switch v := v.(type) {
		case string:
			if secretKey && v != "" {
				out = append(out, v)
			}
		case map[string]any:
			for k, x := range v {
				walk(x, secretKey || secretName(k))
			}
		case []any:
			for _, x := range v {
				walk(x, secretKey)
			}
		}
	}
	walk(opts, false)
	return out
}

func secretName(k string) bool {
	k = strings.ToLower(k)
	return strings.Contains(k, "token") || strings.Contains(k, "secret")
}

// RedactedError is an error whose text had secret values removed by
// [RedactError]. It unwraps to the original error, so errors.Is and
// errors.As still classify it; code that reads fields of the wrapped
// errors must not print them.
type RedactedError struct {
	Text string // the redacted text
	Err  error  // the original error
}

func (e *RedactedError) Error() string { return e.Text }
func (e *RedactedError) Unwrap() error { return e.Err }

// RedactError returns err unchanged when its text holds none of secrets
// and no control character, and otherwise a [*RedactedError] with the
// redacted text. A nil err gives nil.
func RedactError(err error, secrets ...string) error {
	if err == nil {
		return nil
	}
	text := err.Error()
	clean := Redact(text, secrets...)
	if clean == text {
		return err
	}
	var re *RedactedError
	if errors.As(err, &re) && re == err {
		return &RedactedError{Text: clean, Err: re.Err}
	}
	return &RedactedError{Text: clean, Err: err}
}

// secrets are the secret values r knows of: the Twilio auth token given in
// the options, and every token or secret among the options of the
// connections it read.
func (r *run) secrets() []string {
	var out []string
	if r.o != nil {
		out = append(out, r.o.TwilioAuthToken.Reveal())
	}
	if r.d != nil {
		for _, c := range r.d.SMSConnections {
			out = append(out, OptionSecrets(c.Options)...)
		}
	}
	return out
}
