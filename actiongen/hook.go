package actiongen

import (
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"
)

// Hook is a legacy send-phone-message Action: the MFA "phone message hook"
// (Guardian's selected provider phone-message-hook) that delivered MFA
// codes through the customer's own service. A [Target] with a Hook runs the
// hook's code, unchanged, inside the generated custom-phone-provider
// Action:
//
//   - The code is embedded byte for byte between the lines
//     [HookBeginMarker] and [HookEndMarker], inside the function wrapper Node
//     puts around every CommonJS module (exports, require, module,
//     __filename, __dirname), so it loads as it did; [EmbeddedHookCode]
//     gets it back out.
//
//   - For each notification a generated adapter builds the legacy event
//     from the custom-phone-provider event, by Auth0's translation table
//     (auth0-domain §12.1), and awaits exports.onExecuteSendPhoneMessage(
//     event, {cache: api.cache}):
//
//     event.message_options.recipient     notification.recipient
//     event.message_options.text          notification.as_text (text), as_voice (voice)
//     event.message_options.code          notification.code
//     event.message_options.action        otp_enroll → "enrollment",
//     otp_verify → "second-factor-authentication"
//     event.message_options.message_type  delivery_method text → "sms", voice → "voice"
//     event.message_options.language      notification.locale (absent when absent)
//     event.request                       ip, user_agent, language, method, hostname, geoip
//     event.client                        client_id, name, client_metadata ← client.metadata
//     event.tenant                        id
//     event.user                          event.user without login_count (which the
//     old trigger never had; identities, which the new one may lack, is
//     passed when Auth0 gives it)
//     event.secrets                       only the secrets named in SecretNames
//
//   - blocked_account, change_password and password_breach notifications,
//     which the send-phone-message trigger never received, are not given
//     to the old handler: the Action drops them with the reason
//     "<type> notifications never went to the send-phone-message Action;
//     not sent" (Auth0 logs the drop). A tenant that wants them delivered
//     edits the Action.
//
//   - The handler completing is a sent message; a throw drops the message
//     (the old trigger had no retry) with the error's name only — never its
//     message, which may hold a phone number or a secret.
type Hook struct {
	// Name is the legacy Action's name, used in reasons and log lines.
	Name string
	// Code is the legacy Action's code. It must export
	// onExecuteSendPhoneMessage (checked when the Action runs, not here).
	Code string
	// Secrets are the legacy Action's secrets, carried with the same names.
	// Their values come from the operator (Auth0 never returns them); an
	// empty value is allowed here (a plan shows names only) and must be
	// filled before the Action is created.
	Secrets []Secret
	// Dependencies are the legacy Action's npm dependencies, carried with
	// their versions into [Action.Dependencies].
	Dependencies []Dependency
}

// Lines around a [Hook]'s code in the generated Action.
const (
	HookBeginMarker = "// ---- BEGIN send-phone-message Action code, unchanged ----"
	HookEndMarker   = "// ---- END send-phone-message Action code ----"
)

// EmbeddedHookCode returns the legacy code a generated Action embeds, byte
// for byte, and whether it holds one.
func EmbeddedHookCode(code string) (string, bool) {
	_, rest, ok := strings.Cut(code, HookBeginMarker+"\n")
	if !ok {
		return "", false
	}
	i := strings.LastIndex(rest, "\n"+HookEndMarker)
	if i < 0 {
		return "", false
	}
	return rest[:i], true
}

// secretNamePattern is what Auth0 accepts as an Action secret name.
var secretNamePattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,127}$`)

type jsHook struct {
	Name        string   `json:"name"`
	SecretNames []string `json:"secretNames"`
}

func buildHook(field string, h *Hook, reserved []string) (jsTarget, []Secret, error) {
	if !utf8.ValidString(h.Name) {
		return jsTarget{}, nil, invalid(ErrInvalidSpec, field+".Name", "is not valid UTF-8")
	}
	if strings.TrimSpace(h.Code) == "" {
		return jsTarget{}, nil, invalid(ErrInvalidSpec, field+".Code", "is empty")
	}
	if !utf8.ValidString(h.Code) {
		return jsTarget{}, nil, invalid(ErrInvalidSpec, field+".Code", "is not valid UTF-8")
	}
	if strings.Contains(h.Code, HookEndMarker) {
		return jsTarget{}, nil, invalid(ErrInvalidSpec, field+".Code", "contains the line %q", HookEndMarker)
	}
	js := &jsHook{Name: h.Name, SecretNames: []string{}}
	var secrets []Secret
	for _, s := range h.Secrets {
		switch {
		case !secretNamePattern.MatchString(s.Name):
			return jsTarget{}, nil, invalid(ErrInvalidSpec, field+".Secrets", "has the name %q, which is not an Action secret name", printable(s.Name))
		case slices.Contains(js.SecretNames, s.Name):
			return jsTarget{}, nil, invalid(ErrInvalidSpec, field+".Secrets", "names %s twice", s.Name)
		case slices.Contains(reserved, s.Name):
			return jsTarget{}, nil, invalid(ErrInvalidSpec, field+".Secrets", "names %s, which the generated Action uses for its other target; rename the secret in the send-phone-message Action", s.Name)
		}
		if err := checkSecretValue(ErrInvalidSpec, field+".Secrets."+s.Name, s.Value); err != nil {
			return jsTarget{}, nil, err
		}
		js.SecretNames = append(js.SecretNames, s.Name)
		secrets = append(secrets, s)
	}
	for _, d := range h.Dependencies {
		if d.Name == "" || !utf8.ValidString(d.Name+d.Version) {
			return jsTarget{}, nil, invalid(ErrInvalidSpec, field+".Dependencies", "has a dependency without a valid name")
		}
	}
	return jsTarget{Hook: js}, secrets, nil
}

// hookTarget returns the spec's Hook, which only the Default target may
// have (Passwordless never went through a send-phone-message Action).
func hookOf(spec Spec) (*Hook, error) {
	if spec.Passwordless != nil && spec.Passwordless.Hook != nil {
		return nil, invalid(ErrInvalidSpec, "Passwordless.Hook", "is set; a send-phone-message Action served MFA only: make it the Default target")
	}
	return spec.Default.Hook, nil
}

func hookDependencies(h *Hook) []Dependency {
	out := []Dependency{}
	if h != nil {
		out = append(out, h.Dependencies...)
	}
	return out
}
