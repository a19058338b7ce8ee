// Package redact keeps secrets out of everything phonemigrate lets out:
// the [Secret] type, which never prints its value; the one rule of what is
// secret in a connection's options ([FindOptionSecrets], [SecretName]);
// [Text] and [Error], which remove secret values in every form a server
// could echo them in, and strip characters that could mislead a terminal
// ([StripControl]); and the [Set] of secrets a run knows of.
package redact

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"net/url"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Secret is a credential (a Twilio auth token, a gateway secret). It prints,
// marshals and logs as "[redacted]"; only [Secret.Reveal] returns the value,
// and only code that must send it to Auth0 calls it.
type Secret string

// Reveal returns the secret value.
func (s Secret) Reveal() string { return string(s) }

// String returns "[redacted]" (or "" for the empty Secret).
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return Mark
}

// GoString keeps %#v from printing the value.
func (s Secret) GoString() string { return `"` + s.String() + `"` }

// MarshalText writes "[redacted]", so JSON, plans and checkpoints never hold
// the value.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// LogValue implements [slog.LogValuer].
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// Mark is what [Text] puts in place of a secret value.
const Mark = "[redacted]"

// Text returns text with every occurrence of each non-empty secret
// replaced by "[redacted]", and every character that could mislead a
// terminal or a reader replaced by a space (see [StripControl]).
//
// A secret is found in any of the forms a server could echo it in: the
// value itself, JSON-escaped (as in a request body quoted back),
// URL-encoded (as in a form body or a URL), base64 (standard or URL
// alphabet, padded or not, also inside a longer base64 value such as a
// Basic authorization header) and hex — in any letter case, and split by
// control or invisible characters ("tok\x1ben" is the secret "token").
// Matching is done before anything is stripped, so nothing of a secret is
// left behind.
func Text(text string, secrets ...string) string {
	return redactValues(text, secrets, StripControl)
}

// Values is [Text] that leaves every character that is not part of a
// secret as it is (no [StripControl]), for text kept as it was written,
// such as the log lines of an Action (package actionrun), whose secrets
// are found in all the forms Text finds.
func Values(text string, secrets ...string) string {
	return redactValues(text, secrets, func(s string) string { return s })
}

// redactValues is [Text], with strip applied to the text around secrets.
func redactValues(text string, secrets []string, strip func(string) string) string {
	forms := secretForms(secrets)
	// The skeleton is text lowered, without the characters StripControl
	// replaces; at[i] is the offset in text of the skeleton's byte i.
	var skel strings.Builder
	var at []int
	for i, r := range text {
		if unsafeRune(r) {
			continue
		}
		l := string(unicode.ToLower(r))
		skel.WriteString(l)
		for range len(l) {
			at = append(at, i)
		}
	}
	sk := skel.String()
	// Mark the byte ranges of text that hold a secret.
	type span struct{ lo, hi int }
	var spans []span
	for _, f := range forms {
		for off := 0; off <= len(sk)-len(f); {
			j := strings.Index(sk[off:], f)
			if j < 0 {
				break
			}
			lo := at[off+j]
			last := at[off+j+len(f)-1]
			_, size := utf8.DecodeRuneInString(text[last:])
			spans = append(spans, span{lo, last + size})
			off += j + 1
		}
	}
	if len(spans) == 0 {
		return strip(text)
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i].lo < spans[j].lo })
	var b strings.Builder
	pos := 0
	for i := 0; i < len(spans); {
		lo, hi := spans[i].lo, spans[i].hi
		for i++; i < len(spans) && spans[i].lo <= hi; i++ {
			hi = max(hi, spans[i].hi)
		}
		b.WriteString(strip(text[pos:lo]))
		b.WriteString(Mark)
		pos = hi
	}
	b.WriteString(strip(text[pos:]))
	return b.String()
}

// minEncodedLen is the shortest encoded (base64, hex) form of a secret
// that is searched for: shorter ones would match ordinary words.
const minEncodedLen = 6

// secretForms returns, lowered, every form of each secret [Text] looks
// for.
func secretForms(secrets []string) []string {
	seen := map[string]bool{}
	var forms []string
	add := func(f string, min int) {
		f = strings.ToLower(f)
		if len(f) < min || seen[f] {
			return
		}
		seen[f] = true
		forms = append(forms, f)
	}
	for _, s := range secrets {
		if s == "" {
			continue
		}
		add(StripControl(s), 1)
		add(strings.Map(func(r rune) rune {
			if unsafeRune(r) {
				return -1
			}
			return r
		}, s), 1)
		for _, html := range []bool{true, false} {
			var b strings.Builder
			enc := json.NewEncoder(&b)
			enc.SetEscapeHTML(html)
			if enc.Encode(s) == nil {
				if e := strings.TrimSuffix(b.String(), "\n"); len(e) >= 2 {
					add(e[1:len(e)-1], 1)
				}
			}
		}
		add(url.QueryEscape(s), 1)
		add(url.PathEscape(s), 1)
		add(hex.EncodeToString([]byte(s)), minEncodedLen)
		for _, f := range base64Forms([]byte(s)) {
			add(f, minEncodedLen)
		}
	}
	// Longest first, so that a secret containing another is marked whole
	// (the spans are merged anyway).
	sort.Slice(forms, func(i, j int) bool { return len(forms[i]) > len(forms[j]) })
	return forms
}

// base64Forms returns the base64 text (standard and URL alphabets) that
// encodes b wherever b starts in a longer value: at each of the three
// byte alignments, the characters that depend on b alone.
func base64Forms(b []byte) []string {
	var out []string
	for o := range 3 {
		buf := append(make([]byte, o), b...)
		bits := 8 * len(buf)
		first := (8*o + 5) / 6 // first character holding no bit of the prefix
		last := bits / 6       // characters [first, last) hold only bits of b
		for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
			e := enc.EncodeToString(buf)
			if first < last && last <= len(e) {
				out = append(out, e[first:last])
			}
		}
	}
	return out
}

// StripControl replaces with a space every character of s that could
// drive a terminal or make text read other than it is: C0 and C1 control
// characters (ESC, BEL, CR, LF, DEL, U+0080–U+009F, one-byte CSI
// included), the line and paragraph separators U+2028 and U+2029,
// bidirectional controls (U+202A–U+202E, U+2066–U+2069, U+200E, U+200F,
// U+061C), zero-width and invisible characters (U+200B–U+200D, U+2060–
// U+2064, U+FEFF, U+00AD, U+180E) and invalid UTF-8, so that text from a
// server or a tenant prints as plain text.
func StripControl(s string) string {
	clean := true
	for _, r := range s {
		if unsafeRune(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if unsafeRune(r) {
			r = ' '
		}
		b.WriteRune(r)
	}
	return b.String()
}

// unsafeRune reports whether r, decoded from text, is a character
// StripControl replaces: [UnsafeRune], or invalid UTF-8.
func unsafeRune(r rune) bool { return r == utf8.RuneError || UnsafeRune(r) }

// UnsafeRune reports whether r is one of the characters [StripControl]
// replaces (invalid UTF-8 aside). JSON output escapes them as \uXXXX.
func UnsafeRune(r rune) bool {
	switch {
	case r < 0x20, r == 0x7f, r >= 0x80 && r <= 0x9f:
		return true
	case r == 0x00ad, r == 0x061c, r == 0x180e, r == 0xfeff:
		return true
	case r >= 0x200b && r <= 0x200f, r >= 0x2028 && r <= 0x202e, r >= 0x2060 && r <= 0x2064, r >= 0x2066 && r <= 0x2069:
		return true
	}
	return false
}

// RedactedError is an error whose text had secret values removed by
// [Error]. It unwraps to the original error, so errors.Is and
// errors.As still classify it; code that reads fields of the wrapped
// errors must not print them.
type RedactedError struct {
	Text string // the redacted text
	Err  error  // the original error
}

func (e *RedactedError) Error() string { return e.Text }
func (e *RedactedError) Unwrap() error { return e.Err }

// Error returns err unchanged when its text holds none of secrets
// and no control character, and otherwise a [*RedactedError] with the
// redacted text. A nil err gives nil.
func Error(err error, secrets ...string) error {
	if err == nil {
		return nil
	}
	text := err.Error()
	clean := Text(text, secrets...)
	if clean == text {
		return err
	}
	var re *RedactedError
	if errors.As(err, &re) && re == err {
		return &RedactedError{Text: clean, Err: re.Err}
	}
	return &RedactedError{Text: clean, Err: err}
}
