package phonemigratetest

// Auth0's built-in phone template texts, as a real tenant answered them
// (go-auth0's recorded GET /branding/phone/templates and PATCH
// /branding/phone/templates/{id}/reset; see testdata/recordings). A tenant
// lists them, without an id and with "from": "", for every type it has not
// customised, and renders them when nothing is customised.
const (
	DefaultVerifyText  = "{{ code | escape }} is your verification code for {{ friendly_name | escape }}"
	DefaultVerifyVoice = "Hello. Your verification code for {{ friendly_name | escape }} is {{ pause }} {{ code | escape }}. I repeat, your verification code is {{ pause }} {{ code | escape }}"
	DefaultEnrollText  = "{{ code | escape }} is your verification code for {{ friendly_name | escape }}. Please enter this code to verify your enrollment."
	// DefaultEnrollVoice is the same as [DefaultVerifyVoice] (recorded).
	DefaultEnrollVoice         = DefaultVerifyVoice
	DefaultChangePasswordText  = "{{ code | escape }} is your password change code for {{ friendly_name | escape }}"
	DefaultChangePasswordVoice = "Hello. Your password change code for {{ friendly_name | escape }} is {{ pause }} {{ code | escape }}. I repeat, your password change code is {{ pause }} {{ code | escape }}"
	// DefaultBlockedAccountText is also the voice text (recorded).
	DefaultBlockedAccountText = "We detected suspicious activity on your account from the ip {{user.source_ip}}{% if user.city %} from {{user.city}}, {{user.country}}{% elsif user.country %} from {{user.country}}{% endif %}. Logins from this IP have been blocked on your account. If this is your IP, please reset your password to unblock your account. Otherwise, disregard this message."
)

// defaultsCreatedAt is the created_at/updated_at of the defaults (Auth0
// answers them with timestamps too).
const defaultsCreatedAt = "2025-02-10T12:00:53.221Z"

// DefaultPhoneTemplate returns Auth0's built-in template of type typ, as
// the templates list answers it: no id, "from": "", syntax liquid. The
// recorded list has defaults for otp_verify, otp_enroll, change_password
// and blocked_account; password_breach has none (ok is false), so the fake
// lists no default for it.
func DefaultPhoneTemplate(typ string) (t PhoneTemplate, ok bool) {
	var text, voice string
	switch typ {
	case "otp_verify":
		text, voice = DefaultVerifyText, DefaultVerifyVoice
	case "otp_enroll":
		text, voice = DefaultEnrollText, DefaultEnrollVoice
	case "change_password":
		text, voice = DefaultChangePasswordText, DefaultChangePasswordVoice
	case "blocked_account":
		text, voice = DefaultBlockedAccountText, DefaultBlockedAccountText
	default:
		return PhoneTemplate{}, false
	}
	return PhoneTemplate{
		Channel: "phone", Tenant: TenantName, Type: typ,
		Content:   PhoneTemplateContent{Syntax: "liquid", Body: PhoneTemplateBody{Text: text, Voice: voice}},
		CreatedAt: defaultsCreatedAt, UpdatedAt: defaultsCreatedAt,
	}, true
}
