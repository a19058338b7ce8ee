// Package actiongen writes Auth0 custom-phone-provider Actions that deliver
// phone messages exactly the way a tenant's legacy setup did.
//
// Under Auth0's Unified Phone Experience, Auth0 no longer calls the custom
// SMS gateway configured on a Passwordless connection, nor the Twilio account
// configured there. A tenant-level phone provider does: either Twilio, or
// "custom", an Action on the custom-phone-provider trigger. Auth0's own
// sample for turning a gateway into such an Action is a sketch with
// placeholders, no gateway authentication and no error handling. [Generate]
// turns the legacy settings ([Gateway], read from the raw connection options
// by [GatewayFromOptions], or [Twilio]) into an [Action] the gateway cannot
// tell apart from the old Auth0 calls.
//
// # What the generated code does
//
// For a [Gateway] target it POSTs, to the URL held in an Action secret, with
// Content-Type application/json, the legacy body field for field:
//
//	{"recipient": notification.recipient, "body": notification.as_text,
//	 "sender": Gateway.From, or notification.from when From is empty}
//
// plus "req": {"ip": request.ip, "user-agent": request.user_agent} only when
// ForwardRequestInfo is set. The "sender" key is absent when both From and
// notification.from are empty. The recipient is sent as Auth0 gives it, as
// the legacy gateway received it. A voice notification is dropped unless
// [Gateway.Voice] is set, in which case "body" carries notification.as_voice.
//
// With [GatewayAuth] it adds "Authorization: Bearer <JWT>". What Auth0
// documents of the legacy token: it "contains" the subject and the audience
// (claims sub, only when Subject is set, and aud) and is signed with the
// gateway secret, base64url-decoded first when secret_base64_encoded is set
// (the code accepts base64 or base64url, padded or not). What is assumed,
// because Auth0 documents none of it: the algorithm HS256 (the one a shared
// secret implies, and what users describe), the claims iat and exp = iat +
// [GatewayAuth.Lifetime] (default 5 minutes), and no iss unless
// [GatewayAuth.Issuer] is set. A gateway that checked other claims needs
// those options, or cannot be served.
//
// A gateway_url with credentials (https://user:password@host/...), which
// Node's fetch refuses to call, is split: without GatewayAuth the
// credentials become an "Authorization: Basic" header built from the
// secret GATEWAY_BASIC_AUTH; with GatewayAuth as well [Generate] and
// [GatewayFromOptions] refuse it, since both would need the Authorization
// header. URLs on a port fetch refuses ([Gateway.URL]) are refused too: no
// generated Action is undeliverable by construction.
//
// For a [Twilio] target it POSTs form-encoded To, From or
// MessagingServiceSid, and Body to {APIBaseURL}/2010-04-01/Accounts/{SID}/
// Messages.json for text, and To, From and Twiml
// "<Response><Say>{as_voice, XML-escaped}</Say></Response>" to
// .../Calls.json for voice (a Messaging Service cannot place calls: voice
// without From is dropped), with HTTP basic authentication SID:token. To is
// the recipient in E.164: spaces, dashes, dots and parentheses are removed
// (Auth0's own example recipient is +1-808-555-5555), and a recipient that
// is not then "+" and 2 to 15 digits is dropped without a request.
//
// # Outcomes
//
// Auth0 runs the Action again, up to 5 times, after
// api.notification.retry(); the legacy gateway path never retried. A retry
// after the gateway got the request would send the same code again, so the
// Action retries only when the request certainly was not processed, and
// drops everything else with a reason ([Spec.Retry], default
// [RetryUnsent]; [RetryNever] is the legacy-exact behaviour):
//
//	what happened                                  RetryUnsent  RetryNever
//	2xx                                            success      success
//	429, 503 (the server says it did not act)      retry        drop
//	any other status: 3xx (not followed), 4xx,
//	  500, 502, 504 and every other 5xx            drop         drop
//	no connection: ECONNREFUSED, ENOTFOUND,
//	  EAI_AGAIN (DNS), UND_ERR_CONNECT_TIMEOUT,
//	  EHOSTUNREACH, ENETUNREACH, or ECONNRESET
//	  while connecting (syscall "connect")         retry        drop
//	no answer within Spec.RequestTimeout,
//	  ECONNRESET or a closed socket after the
//	  connection was up, any other error           drop         drop
//
// The codes are err.cause.code of Node's fetch (undici). A timeout is
// counted as "may have been processed" even when it struck while
// connecting, because fetch does not tell the two apart; with the default
// timeout, longer than undici's 10 s connect timeout, a connection that
// cannot be made fails as UND_ERR_CONNECT_TIMEOUT first. An ECONNRESET
// after connecting is ambiguous (the gateway may have read the request),
// hence dropped. The default timeout, 17 s ([DefaultRequestTimeout]), is
// the legacy 30 s cut down to fit Auth0's 20 s execution limit with a 3 s
// margin.
//
// Reasons carry the HTTP status (and Twilio's numeric error code, or the
// network error code) and why there is no retry; never a URL, a secret, a
// phone number or a code. A secret missing from event.secrets at run time
// drops the message with a reason naming the secret. Each execution logs
// one line: Action name, message type, delivery method, the route taken
// (with a Passwordless target) and the reason.
//
// # Secrets
//
// URLs and credentials reach the code only as Action secrets, read from
// event.secrets; [Action.Code] never holds them. Every other value (From,
// Subject, Audience, the Twilio API base URL, the Action name) is embedded
// as a JSON literal produced by encoding/json, so no input can change the
// code around it. The secret names are:
//
//	GATEWAY_URL         Gateway.URL, without user:password@
//	GATEWAY_BASIC_AUTH  user:password from Gateway.URL (only when it has them)
//	GATEWAY_SECRET      Gateway.Auth.Secret (only with Auth)
//	TWILIO_ACCOUNT_SID  Twilio.AccountSID
//	TWILIO_AUTH_TOKEN   Twilio.AuthToken
//
// for the [Spec.Default] target, and the same names prefixed with
// PASSWORDLESS_ (PASSWORDLESS_GATEWAY_URL, ...) for the [Spec.Passwordless]
// target, so that the two never collide.
//
// # Routing
//
// Auth0 allows a single phone provider, and a single custom-phone-provider
// Action: a tenant that had a Passwordless gateway and Twilio MFA (or any
// two different providers) needs one Action that tells the two apart. A
// [Spec] with a Passwordless target decides with these event fields, in
// this order, the first that applies winning:
//
//  1. notification.message_type "otp_enroll": Default. Enrolling a phone
//     is MFA's; Passwordless SMS has no enrolment.
//  2. connection.strategy "sms" (a Passwordless SMS connection):
//     Passwordless.
//  3. user.user_id set: Passwordless when the user is a Passwordless SMS
//     user (user_id "sms|...", or an entry of user.identities with provider
//     "sms"), Default otherwise (MFA of a user who logged in with a
//     database, social or enterprise connection).
//  4. neither: Passwordless. MFA always challenges a user who has logged
//     in, so a code for no known user is a Passwordless login or signup.
//
// event.connection and event.user are both optional in Auth0's event
// reference, and event.connection is no proof of Passwordless: Auth0's own
// example otp_verify event carries connection {strategy: "auth0"}. A missing
// or unhelpful field only moves the decision to the next rule, so
// Passwordless messages reach their target with the SMS connection,
// with {strategy: "auth0"}, or with no connection at all, and MFA messages
// reach Default likewise (tests run each case in Node). What this cannot
// tell apart: MFA sent to a user who has a Passwordless SMS identity (the
// primary one, or a linked one) when event.connection is not the SMS
// connection goes to the Passwordless target; and which message_type
// Passwordless SMS sends is not documented (Auth0's gateway sample handles
// otp_verify). Without a Passwordless target every message goes to
// Default.
//
// # Texts
//
// Auth0 renders notification.as_text and as_voice from the tenant's phone
// templates, one per message type, shared by Passwordless and MFA. When the
// two products had different legacy texts, one of them can keep its own
// through [Target.Text]: a [MessageText] with otp_verify and otp_enroll
// texts using the placeholders {{ code }}, {{ tenant.friendly_name }} and
// {{ locale }}. The Action then builds the body itself from
// notification.code for those two message types (text and voice, gateway
// and Twilio alike); change_password, blocked_account and password_breach
// messages, and messages without notification.code, keep Auth0's
// rendering. Any other Liquid construct is rejected by [Generate], never
// dropped. The texts are embedded as JSON literals, already split into
// literal parts and placeholders, and the code only concatenates strings.
// An Action generated from a [Spec] without Text contains none of this
// code.
//
// The code needs only Node 18+ built-ins (global fetch, AbortController,
// node:crypto): [Action.Dependencies] is empty and [Action.Runtime] is
// "node22", Auth0's default. It is 13 to 17 kB (the goldens in testdata/),
// far below Auth0's 100 kB limit for an Action.
package actiongen

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"text/template"
	"time"
	"unicode/utf8"
)

// GatewayAuth is the legacy connection's gateway_authentication: how Auth0
// signed the JWT it sent to the gateway.
type GatewayAuth struct {
	// Method is "bearer", the only method the legacy gateway had. Empty
	// means "bearer".
	Method string
	// Subject is the JWT's sub claim; empty omits the claim.
	Subject string
	// Audience is the JWT's aud claim. Required.
	Audience string
	// Secret signs the token (HMAC-SHA256). Required. It becomes the Action
	// secret GATEWAY_SECRET; the code never holds it. Auth0 limits Action
	// secret values to 4096 characters.
	Secret string
	// SecretBase64Encoded means Secret is base64 or base64url text (padded
	// or not) and the decoded bytes are the key.
	SecretBase64Encoded bool
	// Issuer is the JWT's iss claim; empty (the default) omits the claim.
	// Auth0 documents no issuer for the legacy token.
	Issuer string
	// Lifetime is exp - iat. Zero means [DefaultJWTLifetime]; otherwise it
	// must be whole seconds between 1s and [MaxJWTLifetime]. Auth0
	// documents neither claim: the default is an assumption.
	Lifetime time.Duration
}

// Limits of [GatewayAuth.Lifetime].
const (
	DefaultJWTLifetime = 5 * time.Minute
	MaxJWTLifetime     = 24 * time.Hour
)

// Gateway is a legacy Passwordless custom SMS gateway (connection options
// provider "sms_gateway").
type Gateway struct {
	// URL is the gateway_url. It must be https; http is accepted only for
	// loopback hosts (127.0.0.0/8, ::1, localhost), for tests. Its port, if
	// any, must be one fetch may call (1-65535, not on the Fetch standard's
	// list of blocked ports such as 25 or 6667). It becomes the Action
	// secret GATEWAY_URL.
	//
	// Node's fetch refuses URLs with credentials (https://user:pass@host/).
	// Without Auth, a user name and password in URL are therefore moved
	// into an HTTP Basic Authorization header, as the legacy gateway
	// received them: the secret GATEWAY_URL holds the URL without them and
	// the secret GATEWAY_BASIC_AUTH holds "user:password" (percent-decoded).
	// With Auth as well, [Generate] refuses the URL: both would need the
	// Authorization header.
	URL string
	// From is the legacy options.from, sent as "sender". When empty, the
	// Action sends notification.from instead (absent when that is empty too).
	From string
	// ForwardRequestInfo is the legacy forward_req_info: send "req" with the
	// end user's IP address and user agent.
	ForwardRequestInfo bool
	// Auth, when not nil, is the legacy gateway_authentication.
	Auth *GatewayAuth
	// Voice forwards voice deliveries (notification.as_voice in "body")
	// instead of dropping them. The legacy gateway never received voice
	// messages: set it only for a gateway that handles them.
	Voice bool
}

// Twilio is a Twilio account that delivers the messages directly.
type Twilio struct {
	// AccountSID (AC...) and AuthToken authenticate to Twilio. Both are
	// required and become the Action secrets TWILIO_ACCOUNT_SID and
	// TWILIO_AUTH_TOKEN.
	AccountSID, AuthToken string
	// From (a phone number or alphanumeric sender) or MessagingServiceSID
	// (MG...) sends text messages: exactly one must be set. Voice calls need
	// From.
	From, MessagingServiceSID string
	// APIBaseURL is where Twilio's REST API lives, default
	// "https://api.twilio.com"; tests point it at a fake. Same rules as
	// Gateway.URL; it is embedded in the code, not a secret, and must have
	// no query, fragment or credentials.
	APIBaseURL string
}

// DefaultTwilioAPIBaseURL is the [Twilio.APIBaseURL] used when it is empty.
const DefaultTwilioAPIBaseURL = "https://api.twilio.com"

// Target is where messages go: exactly one of Gateway, Twilio and Hook is
// set. Only the Default target may be a Hook.
type Target struct {
	Gateway *Gateway
	Twilio  *Twilio
	// Hook runs a legacy send-phone-message Action's code unchanged, behind
	// an adapter that gives it the legacy event; see [Hook].
	Hook *Hook
	// Text, when not nil, is this target's own otp_verify / otp_enroll text,
	// used instead of the one Auth0 rendered from the tenant's phone
	// templates. See [MessageText].
	Text *MessageText
}

// Spec describes the Action to generate.
type Spec struct {
	// Name is the Action's name, default [DefaultName].
	Name string
	// Default handles every message unless Passwordless matches.
	Default Target
	// Passwordless, when not nil, handles the Passwordless SMS messages,
	// recognised by the rule in the package documentation (section
	// Routing). Its secrets are named with the prefix PASSWORDLESS_.
	Passwordless *Target
	// RequestTimeout bounds each HTTP request the Action makes. When it
	// passes, the request may have reached the gateway, so the Action drops
	// the message (see the package documentation, section Outcomes). Zero
	// means [DefaultRequestTimeout]. It must be between 1ms and
	// [MaxRequestTimeout].
	RequestTimeout time.Duration
	// Retry says when the Action asks Auth0 to retry. The zero value,
	// [RetryUnsent], retries only failures where the request certainly
	// did not reach the gateway; [RetryNever] never retries, like the legacy
	// gateway.
	Retry RetryPolicy
}

// RetryPolicy says which failures the Action reports with
// api.notification.retry (Auth0 then runs it again, up to 5 times) instead
// of api.notification.drop. The table is in the package documentation,
// section Outcomes.
type RetryPolicy int

const (
	// RetryUnsent retries only when the request certainly was not
	// processed: the connection could not be made (refused, DNS failure,
	// connect timeout, reset while connecting) or the server answered 429
	// or 503. It is the default.
	RetryUnsent RetryPolicy = iota
	// RetryNever never retries: every failure drops the message, as the
	// legacy gateway path (which never retried) did.
	RetryNever
)

// String returns "unsent" or "never", the names used in the generated
// code.
func (p RetryPolicy) String() string {
	switch p {
	case RetryUnsent:
		return "unsent"
	case RetryNever:
		return "never"
	}
	return fmt.Sprintf("RetryPolicy(%d)", int(p))
}

// Defaults and limits of a [Spec].
const (
	DefaultName = "phonemigrate-custom-phone-provider"
	// DefaultRequestTimeout is as close to the legacy gateway's 30 s as
	// Auth0's 20 s limit on an execution allows, keeping 3 s for
	// everything else the execution does (starting, signing the JWT,
	// reading Twilio's error body, reporting the outcome) so that the
	// Action, not Auth0, ends a slow request.
	DefaultRequestTimeout = 17 * time.Second
	// MaxRequestTimeout keeps at least 2 s of Auth0's 20 s execution
	// limit for the rest of the execution.
	MaxRequestTimeout = 18 * time.Second
	// Runtime is the Node runtime of every generated Action.
	Runtime = "node22"
	// maxSecretValue is Auth0's limit on an Action secret value.
	maxSecretValue = 4096
	// MaxCodeSize is Auth0's limit on an Action's code, in bytes. Only
	// [MessageText] can bring generated code near it.
	MaxCodeSize = 100 * 1024
)

// Names of the Action secrets. The [Spec.Passwordless] target's secrets carry
// [PasswordlessSecretPrefix] in front.
const (
	SecretGatewayURL         = "GATEWAY_URL"
	SecretGatewaySecret      = "GATEWAY_SECRET"
	SecretGatewayBasicAuth   = "GATEWAY_BASIC_AUTH"
	SecretTwilioAccountSID   = "TWILIO_ACCOUNT_SID"
	SecretTwilioAuthToken    = "TWILIO_AUTH_TOKEN"
	PasswordlessSecretPrefix = "PASSWORDLESS_"
)

// Secret is an Action secret: uploaded with the Action, read by the code as
// event.secrets[Name].
type Secret struct{ Name, Value string }

// Dependency is an npm package the Action needs. Generated Actions need
// none of their own; a [Hook]'s are carried.
type Dependency struct{ Name, Version string }

// Action is a generated custom-phone-provider Action, ready to be created
// through POST /api/v2/actions/actions with supported_triggers
// [{id: "custom-phone-provider", version: "v1"}].
type Action struct {
	// Name is Spec.Name or DefaultName.
	Name string
	// Runtime is "node22".
	Runtime string
	// Code is the JavaScript source. It exports onExecuteCustomPhoneProvider
	// and holds no secret value.
	Code string
	// Secrets carry the URLs and credentials, in a fixed order: the Default
	// target's, then the Passwordless target's.
	Secrets []Secret
	// Dependencies is empty (not nil): the code uses Node built-ins only;
	// with a [Hook] target, they are the Hook's.
	Dependencies []Dependency
}

//go:embed action.js.tmpl
var codeTemplateText string

var codeTemplate = template.Must(template.New("action.js").
	Funcs(template.FuncMap{"json": jsonLiteral,
		"hookBegin": func() string { return HookBeginMarker },
		"hookEnd":   func() string { return HookEndMarker }}).
	Parse(codeTemplateText))

// jsonLiteral encodes v as indented JSON without HTML escaping. JSON is a
// subset of JavaScript expressions (U+2028 and U+2029 are escaped by
// encoding/json), so the result can be inserted into the code as a literal.
func jsonLiteral(v any) (string, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}

// config is CONFIG in the generated code. It holds no secret value: only the
// names of the secrets.
type config struct {
	Name         string    `json:"name"`
	TimeoutMs    int64     `json:"timeoutMs"`
	Retry        string    `json:"retry"`
	Default      jsTarget  `json:"default"`
	Passwordless *jsTarget `json:"passwordless"`
}

type jsTarget struct {
	Gateway *jsGateway `json:"gateway,omitempty"`
	Twilio  *jsTwilio  `json:"twilio,omitempty"`
	Hook    *jsHook    `json:"hook,omitempty"`
	Text    *jsText    `json:"text,omitempty"`
}

// templateData is what action.js.tmpl renders. Text says whether any target
// has a [MessageText]: only then does the code carry the functions that use
// it, so that Actions without one stay exactly as they were.
type templateData struct {
	Config config
	Text   bool
	// Hook is the send-phone-message Action's code, embedded unchanged;
	// "" when no target is a Hook (the code then has none of the adapter).
	Hook string
}

type jsGateway struct {
	URLSecret          string  `json:"urlSecret"`
	BasicAuthSecret    string  `json:"basicAuthSecret,omitempty"`
	From               string  `json:"from"`
	ForwardRequestInfo bool    `json:"forwardRequestInfo"`
	Voice              bool    `json:"voice"`
	Auth               *jsAuth `json:"auth"`
}

type jsAuth struct {
	SecretName          string `json:"secretName"`
	Subject             string `json:"subject"`
	Audience            string `json:"audience"`
	Issuer              string `json:"issuer,omitempty"`
	LifetimeSeconds     int64  `json:"lifetimeSeconds"`
	SecretBase64Encoded bool   `json:"secretBase64Encoded"`
}

type jsTwilio struct {
	APIBaseURL          string `json:"apiBaseURL"`
	AccountSIDSecret    string `json:"accountSidSecret"`
	AuthTokenSecret     string `json:"authTokenSecret"`
	From                string `json:"from"`
	MessagingServiceSID string `json:"messagingServiceSid"`
}

// Generate validates spec and writes the Action.
//
// Every problem is reported before any code is written, as a
// [*ValidationError] wrapping [ErrInvalidSpec], [ErrInvalidGateway] or
// [ErrInvalidTwilio], with Field naming the input ("Default.Gateway.URL",
// "Passwordless.Twilio.AuthToken", "Default.Text.Verify", ...). All strings
// must be valid UTF-8. The one check made on the code itself is its size:
// code over [MaxCodeSize] bytes, which only very long [MessageText] texts
// can produce, is rejected with Field "Text". The same Spec always yields
// the same Action, byte for byte, and a Spec without Text yields the same
// code as before MessageText existed.
func Generate(spec Spec) (*Action, error) {
	name := spec.Name
	if name == "" {
		name = DefaultName
	}
	if !utf8.ValidString(name) {
		return nil, invalid(ErrInvalidSpec, "Name", "is not valid UTF-8")
	}
	if strings.TrimSpace(name) == "" {
		return nil, invalid(ErrInvalidSpec, "Name", "is blank")
	}
	timeout := spec.RequestTimeout
	switch {
	case timeout == 0:
		timeout = DefaultRequestTimeout
	case timeout < time.Millisecond:
		return nil, invalid(ErrInvalidSpec, "RequestTimeout", "is %v; it must be at least 1ms (or zero for the default %v)", timeout, DefaultRequestTimeout)
	case timeout > MaxRequestTimeout:
		return nil, invalid(ErrInvalidSpec, "RequestTimeout", "is %v; it must be at most %v to stay under Auth0's 20s Action limit", timeout, MaxRequestTimeout)
	}
	if spec.Retry != RetryUnsent && spec.Retry != RetryNever {
		return nil, invalid(ErrInvalidSpec, "Retry", "is %v; use RetryUnsent or RetryNever", spec.Retry)
	}

	cfg := config{Name: name, TimeoutMs: timeout.Milliseconds(), Retry: spec.Retry.String()}
	var secrets []Secret
	def, defSecrets, err := buildTarget("Default", "", spec.Default)
	if err != nil {
		return nil, err
	}
	cfg.Default = def
	secrets = append(secrets, defSecrets...)
	hook, err := hookOf(spec)
	if err != nil {
		return nil, err
	}
	if spec.Passwordless != nil {
		pwl, pwlSecrets, err := buildTarget("Passwordless", PasswordlessSecretPrefix, *spec.Passwordless)
		if err != nil {
			return nil, err
		}
		cfg.Passwordless = &pwl
		secrets = append(secrets, pwlSecrets...)
	}

	for i, sec := range secrets {
		if slices.ContainsFunc(secrets[:i], func(o Secret) bool { return o.Name == sec.Name }) {
			return nil, invalid(ErrInvalidSpec, "Default.Hook.Secrets", "names %s, which the Passwordless target's generated code uses too; rename the secret in the send-phone-message Action", sec.Name)
		}
	}
	data := templateData{Config: cfg, Text: cfg.Default.Text != nil || (cfg.Passwordless != nil && cfg.Passwordless.Text != nil)}
	if hook != nil {
		data.Hook = hook.Code
	}
	var code bytes.Buffer
	if err := codeTemplate.Execute(&code, data); err != nil {
		return nil, fmt.Errorf("actiongen: render code: %w", err)
	}
	if code.Len() > MaxCodeSize {
		// Only long texts full of characters JSON escapes get here.
		return nil, invalid(ErrInvalidSpec, "Text", "makes the Action code %d bytes long; Auth0 accepts at most %d: shorten the texts", code.Len(), MaxCodeSize)
	}
	return &Action{
		Name:         name,
		Runtime:      Runtime,
		Code:         code.String(),
		Secrets:      secrets,
		Dependencies: hookDependencies(hook),
	}, nil
}

func buildTarget(field, prefix string, t Target) (jsTarget, []Secret, error) {
	js, secrets, err := buildDelivery(field, prefix, t)
	if err != nil || t.Text == nil {
		return js, secrets, err
	}
	if js.Text, err = buildText(field, t.Text); err != nil {
		return jsTarget{}, nil, err
	}
	return js, secrets, nil
}

func buildDelivery(field, prefix string, t Target) (jsTarget, []Secret, error) {
	n := 0
	for _, set := range []bool{t.Gateway != nil, t.Twilio != nil, t.Hook != nil} {
		if set {
			n++
		}
	}
	switch {
	case n > 1:
		return jsTarget{}, nil, invalid(ErrInvalidSpec, field, "sets both (or all) of Gateway, Twilio and Hook; set exactly one")
	case t.Hook != nil:
		return buildHook(field+".Hook", t.Hook, nil)
	case t.Gateway != nil:
		return buildGateway(field+".Gateway", prefix, t.Gateway)
	case t.Twilio != nil:
		return buildTwilio(field+".Twilio", prefix, t.Twilio)
	default:
		return jsTarget{}, nil, invalid(ErrInvalidSpec, field, "sets neither Gateway, Twilio nor Hook; set exactly one")
	}
}

func buildGateway(field, prefix string, g *Gateway) (jsTarget, []Secret, error) {
	if err := checkURL(ErrInvalidGateway, field+".URL", g.URL); err != nil {
		return jsTarget{}, nil, err
	}
	if err := checkSecretValue(ErrInvalidGateway, field+".URL", g.URL); err != nil {
		return jsTarget{}, nil, err
	}
	if !utf8.ValidString(g.From) {
		return jsTarget{}, nil, invalid(ErrInvalidGateway, field+".From", "is not valid UTF-8")
	}
	plainURL, basic, err := splitUserinfo(ErrInvalidGateway, field+".URL", g.URL)
	if err != nil {
		return jsTarget{}, nil, err
	}
	if basic != nil && g.Auth != nil {
		return jsTarget{}, nil, invalid(ErrInvalidGateway, field+".URL", "%s", userinfoWithAuth)
	}
	js := &jsGateway{
		URLSecret:          prefix + SecretGatewayURL,
		From:               g.From,
		ForwardRequestInfo: g.ForwardRequestInfo,
		Voice:              g.Voice,
	}
	secrets := []Secret{{Name: js.URLSecret, Value: plainURL}}
	if basic != nil {
		js.BasicAuthSecret = prefix + SecretGatewayBasicAuth
		secrets = append(secrets, Secret{Name: js.BasicAuthSecret, Value: *basic})
	}
	if a := g.Auth; a != nil {
		if err := checkAuth(ErrInvalidGateway, field+".Auth", a.Method, a.Audience, a.Secret, a.SecretBase64Encoded); err != nil {
			return jsTarget{}, nil, err
		}
		if !utf8.ValidString(a.Subject) {
			return jsTarget{}, nil, invalid(ErrInvalidGateway, field+".Auth.Subject", "is not valid UTF-8")
		}
		if !utf8.ValidString(a.Issuer) {
			return jsTarget{}, nil, invalid(ErrInvalidGateway, field+".Auth.Issuer", "is not valid UTF-8")
		}
		lifetime := a.Lifetime
		switch {
		case lifetime == 0:
			lifetime = DefaultJWTLifetime
		case lifetime < time.Second || lifetime > MaxJWTLifetime:
			return jsTarget{}, nil, invalid(ErrInvalidGateway, field+".Auth.Lifetime", "is %v; it must be between 1s and %v (or zero for the default %v)", lifetime, MaxJWTLifetime, DefaultJWTLifetime)
		case lifetime%time.Second != 0:
			return jsTarget{}, nil, invalid(ErrInvalidGateway, field+".Auth.Lifetime", "is %v; exp and iat are whole seconds, so it must be too", lifetime)
		}
		js.Auth = &jsAuth{
			SecretName:          prefix + SecretGatewaySecret,
			Subject:             a.Subject,
			Audience:            a.Audience,
			Issuer:              a.Issuer,
			LifetimeSeconds:     int64(lifetime / time.Second),
			SecretBase64Encoded: a.SecretBase64Encoded,
		}
		secrets = append(secrets, Secret{Name: js.Auth.SecretName, Value: a.Secret})
	}
	return jsTarget{Gateway: js}, secrets, nil
}

// checkAuth validates gateway_authentication; field names follow the caller's
// style through the names table.
func checkAuth(kind error, field, method, audience, secret string, b64 bool) error {
	if method != "" && !strings.EqualFold(method, "bearer") {
		return invalid(kind, field+".Method", "is %q; the only gateway authentication method is \"bearer\"", printable(method))
	}
	if audience == "" {
		return invalid(kind, field+".Audience", "is required with gateway authentication")
	}
	if !utf8.ValidString(audience) {
		return invalid(kind, field+".Audience", "is not valid UTF-8")
	}
	if secret == "" {
		return invalid(kind, field+".Secret", "is required with gateway authentication")
	}
	if err := checkSecretValue(kind, field+".Secret", secret); err != nil {
		return err
	}
	if b64 {
		key, err := decodeBase64Secret(secret)
		if err != nil {
			return invalid(kind, field+".Secret", "is marked base64-encoded but is not valid base64 or base64url")
		}
		if len(key) == 0 {
			return invalid(kind, field+".Secret", "decodes to an empty key")
		}
	}
	return nil
}

func buildTwilio(field, prefix string, t *Twilio) (jsTarget, []Secret, error) {
	for _, f := range []struct{ name, value string }{
		{"AccountSID", t.AccountSID},
		{"AuthToken", t.AuthToken},
	} {
		if f.value == "" {
			return jsTarget{}, nil, invalid(ErrInvalidTwilio, field+"."+f.name, "is required")
		}
		if err := checkSecretValue(ErrInvalidTwilio, field+"."+f.name, f.value); err != nil {
			return jsTarget{}, nil, err
		}
	}
	// The SID is the user name of HTTP basic authentication.
	if strings.ContainsAny(t.AccountSID, ":\r\n") {
		return jsTarget{}, nil, invalid(ErrInvalidTwilio, field+".AccountSID", "contains a colon or a line break")
	}
	switch {
	case t.From != "" && t.MessagingServiceSID != "":
		return jsTarget{}, nil, invalid(ErrInvalidTwilio, field+".From", "and MessagingServiceSID are both set; set exactly one")
	case t.From == "" && t.MessagingServiceSID == "":
		return jsTarget{}, nil, invalid(ErrInvalidTwilio, field+".From", "and MessagingServiceSID are both empty; set exactly one")
	}
	if !utf8.ValidString(t.From) {
		return jsTarget{}, nil, invalid(ErrInvalidTwilio, field+".From", "is not valid UTF-8")
	}
	if !utf8.ValidString(t.MessagingServiceSID) {
		return jsTarget{}, nil, invalid(ErrInvalidTwilio, field+".MessagingServiceSID", "is not valid UTF-8")
	}
	base := t.APIBaseURL
	if base == "" {
		base = DefaultTwilioAPIBaseURL
	}
	if err := checkURL(ErrInvalidTwilio, field+".APIBaseURL", base); err != nil {
		return jsTarget{}, nil, err
	}
	if strings.ContainsAny(base, "?#") {
		return jsTarget{}, nil, invalid(ErrInvalidTwilio, field+".APIBaseURL", "has a query or fragment; give the base URL only")
	}
	if _, basic, err := splitUserinfo(ErrInvalidTwilio, field+".APIBaseURL", base); err != nil {
		return jsTarget{}, nil, err
	} else if basic != nil {
		return jsTarget{}, nil, invalid(ErrInvalidTwilio, field+".APIBaseURL", "carries credentials (user:password@); give the base URL only: the Action authenticates with AccountSID and AuthToken")
	}
	js := &jsTwilio{
		APIBaseURL:          strings.TrimRight(base, "/"),
		AccountSIDSecret:    prefix + SecretTwilioAccountSID,
		AuthTokenSecret:     prefix + SecretTwilioAuthToken,
		From:                t.From,
		MessagingServiceSID: t.MessagingServiceSID,
	}
	secrets := []Secret{
		{Name: js.AccountSIDSecret, Value: t.AccountSID},
		{Name: js.AuthTokenSecret, Value: t.AuthToken},
	}
	return jsTarget{Twilio: js}, secrets, nil
}

// checkSecretValue enforces what Auth0 accepts as an Action secret value.
func checkSecretValue(kind error, field, v string) error {
	if !utf8.ValidString(v) {
		return invalid(kind, field, "is not valid UTF-8")
	}
	if n := utf8.RuneCountInString(v); n > maxSecretValue {
		return invalid(kind, field, "is %d characters long; Auth0 Action secrets hold at most %d", n, maxSecretValue)
	}
	return nil
}

// printable shortens and sanitises a non-secret value for an error message.
func printable(s string) string {
	if !utf8.ValidString(s) {
		return "<invalid UTF-8>"
	}
	if utf8.RuneCountInString(s) > 40 {
		return string([]rune(s)[:40]) + "…"
	}
	return s
}
