package actiongen

import (
	"strings"
	"unicode/utf8"
)

// MessageText, when set on a [Target], makes the Action build the message
// body itself for otp_verify and otp_enroll notifications instead of using
// notification.as_text / as_voice, which Auth0 renders from the tenant's
// single otp_verify / otp_enroll phone templates.
//
// It exists for routing specs: a tenant whose Passwordless connection and
// MFA used different legacy providers also had different texts, but under
// the Unified Phone Experience both products share the tenant's phone
// templates. Migrate one product's text to the templates and give the other
// target its own text here, so that both keep what their users received.
//
// # Placeholders
//
// A text is Liquid-style: literal text with placeholders, whitespace inside
// the braces optional ("{{code}}", "{{ code }}", "{{\tcode\n}}" are the
// same). The supported placeholders are:
//
//	{{ code }}                  notification.code, the one-time password
//	{{ password }}              the same (the legacy Passwordless Liquid name)
//	{{ tenant.friendly_name }}  event.tenant.friendly_name, "" when absent
//	{{ friendly_name }}         the same (the phone templates' short name)
//	{{ locale }}                notification.locale, "" when absent
//
// A Liquid string literal prints as it is: {{ "{{" }} gives "{{" (this is
// how phonemigrate escapes the braces of legacy md_with_macros text, which
// were sent literally).
//
// [Generate] rejects, with a [*ValidationError] wrapping [ErrInvalidSpec]
// whose Field names the text ("Default.Text.Verify", ...): any other
// "{{ ... }}" (another variable, a filter such as "{{ code | upcase }}",
// whitespace control "{{- code -}}"), any "{% ... %}" tag, an unclosed
// "{{" or "{%", a text without a code placeholder (the user would get no
// code), invalid UTF-8, a text longer than [MaxMessageTextLength]
// characters, and a MessageText with every field empty (use a nil Text).
// Nothing is ever silently dropped. A legacy md_with_macros template
// ("@@password@@") must be converted to "{{ code }}" by the caller.
//
// # What the Action does
//
// For an otp_verify (otp_enroll) notification, the Action replaces as_text
// with Verify (Enroll) and as_voice with VerifyVoice (EnrollVoice), each
// rendered with the values above, before delivering it the usual way:
// "body" for a [Gateway], Body or the spoken TwiML for [Twilio]. The texts
// are embedded in the code as JSON literals, already split into literal
// parts and placeholders; the code only concatenates strings (no eval, no
// regular expression built from the text). Notifications of the types
// change_password, blocked_account and password_breach always use as_text /
// as_voice. When notification.code is absent or empty at run time, the
// Action keeps as_text / as_voice, which Auth0 rendered with whatever code it
// had: an override without the code would be useless to the user.
type MessageText struct {
	// Verify is the otp_verify text; "" keeps notification.as_text.
	Verify string
	// Enroll is the otp_enroll text; "" keeps notification.as_text.
	Enroll string
	// VerifyVoice and EnrollVoice are spoken for voice deliveries. "" means
	// the text variant (Verify, Enroll) is spoken, so that one legacy text
	// serves both channels; when that is "" too, notification.as_voice is.
	// "{{ code }}" is the bare code ("482913"): a text-to-speech engine may
	// read it as one number, where Auth0's own as_voice may space the
	// digits; write the voice text accordingly.
	VerifyVoice, EnrollVoice string
}

// MaxMessageTextLength is the most characters (Unicode code points) a
// [MessageText] field may hold: Twilio's limit for a message body.
const MaxMessageTextLength = 1600

// Placeholder names in the generated code's CONFIG.
const (
	placeholderCode         = "code"
	placeholderLocale       = "locale"
	placeholderFriendlyName = "tenant.friendly_name"
)

// placeholders maps what may stand between "{{" and "}}" (trimmed) to the
// value the code substitutes.
var placeholders = map[string]string{
	"code":                 placeholderCode,
	"password":             placeholderCode,
	"locale":               placeholderLocale,
	"tenant.friendly_name": placeholderFriendlyName,
	"friendly_name":        placeholderFriendlyName,
}

// liquidSpace is the white space Liquid allows around a variable name.
const liquidSpace = " \t\n\r\v\f"

// jsText is a target's "text" in CONFIG.
type jsText struct {
	OTPVerify *jsMessage `json:"otpVerify"`
	OTPEnroll *jsMessage `json:"otpEnroll"`
}

// jsMessage holds the override for one message type: Text replaces as_text,
// Voice (or Text when Voice is nil) replaces as_voice.
type jsMessage struct {
	Text  *jsTemplate `json:"text"`
	Voice *jsTemplate `json:"voice"`
}

// jsTemplate is one text: Source as given (for people reading the Action)
// and Parts, what the code concatenates: literal strings and
// jsPlaceholder objects.
type jsTemplate struct {
	Source string `json:"source"`
	Parts  []any  `json:"parts"`
}

type jsPlaceholder struct {
	Name string `json:"name"`
}

// buildText validates t and converts it for CONFIG. field is the Target's
// name ("Default", "Passwordless").
func buildText(field string, t *MessageText) (*jsText, error) {
	if t.Verify == "" && t.Enroll == "" && t.VerifyVoice == "" && t.EnrollVoice == "" {
		return nil, invalid(ErrInvalidSpec, field+".Text", "sets no text; leave Text nil to use the tenant's phone templates")
	}
	var out jsText
	for _, m := range []struct {
		dst          **jsMessage
		text, voice  string
		tname, vname string
	}{
		{&out.OTPVerify, t.Verify, t.VerifyVoice, "Verify", "VerifyVoice"},
		{&out.OTPEnroll, t.Enroll, t.EnrollVoice, "Enroll", "EnrollVoice"},
	} {
		text, err := parseText(field+".Text."+m.tname, m.text)
		if err != nil {
			return nil, err
		}
		voice, err := parseText(field+".Text."+m.vname, m.voice)
		if err != nil {
			return nil, err
		}
		if text != nil || voice != nil {
			*m.dst = &jsMessage{Text: text, Voice: voice}
		}
	}
	return &out, nil
}

// parseText splits s into literal parts and placeholders; "" yields nil.
func parseText(field, s string) (*jsTemplate, error) {
	if s == "" {
		return nil, nil
	}
	if !utf8.ValidString(s) {
		return nil, invalid(ErrInvalidSpec, field, "is not valid UTF-8")
	}
	if n := utf8.RuneCountInString(s); n > MaxMessageTextLength {
		return nil, invalid(ErrInvalidSpec, field, "is %d characters long; at most %d are allowed", n, MaxMessageTextLength)
	}
	tpl := &jsTemplate{Source: s, Parts: []any{}}
	var lit strings.Builder
	hasCode := false
	rest := s
	for rest != "" {
		i := strings.IndexByte(rest, '{')
		if i < 0 || i == len(rest)-1 {
			lit.WriteString(rest)
			break
		}
		lit.WriteString(rest[:i])
		rest = rest[i:]
		switch rest[1] {
		case '%':
			return nil, invalid(ErrInvalidSpec, field, "has a Liquid tag %q; only the placeholders {{ code }}, {{ tenant.friendly_name }} and {{ locale }} are supported", printable(tagAt(rest, "%}")))
		case '{':
			end := strings.Index(rest[2:], "}}")
			if end < 0 {
				return nil, invalid(ErrInvalidSpec, field, "has %q without a closing }}", printable(rest))
			}
			inner := rest[2 : 2+end]
			tag := rest[:2+end+2]
			if str, ok := stringLiteral(strings.Trim(inner, liquidSpace)); ok {
				// {{ "{{" }}: literal text (how legacy md_with_macros
				// text with braces is escaped).
				lit.WriteString(str)
				rest = rest[len(tag):]
				continue
			}
			name, ok := placeholders[strings.Trim(inner, liquidSpace)]
			if !ok {
				return nil, invalid(ErrInvalidSpec, field, "has %q; only the placeholders {{ code }}, {{ tenant.friendly_name }} and {{ locale }} are supported (no filters, tags or whitespace control)", printable(tag))
			}
			if lit.Len() > 0 {
				tpl.Parts = append(tpl.Parts, lit.String())
				lit.Reset()
			}
			tpl.Parts = append(tpl.Parts, jsPlaceholder{Name: name})
			hasCode = hasCode || name == placeholderCode
			rest = rest[len(tag):]
		default:
			lit.WriteByte('{')
			rest = rest[1:]
		}
	}
	if lit.Len() > 0 {
		tpl.Parts = append(tpl.Parts, lit.String())
	}
	if !hasCode {
		return nil, invalid(ErrInvalidSpec, field, "has no {{ code }} placeholder; users would receive no code")
	}
	return tpl, nil
}

// stringLiteral returns the content of a Liquid string literal ("..." or
// '...', without the quote inside).
func stringLiteral(s string) (string, bool) {
	if len(s) < 2 || (s[0] != '"' && s[0] != '\'') || s[len(s)-1] != s[0] {
		return "", false
	}
	inner := s[1 : len(s)-1]
	if strings.IndexByte(inner, s[0]) >= 0 {
		return "", false
	}
	return inner, true
}

// tagAt returns s up to and including the first closer, or all of s.
func tagAt(s, closer string) string {
	if i := strings.Index(s, closer); i >= 0 {
		return s[:i+len(closer)]
	}
	return s
}
