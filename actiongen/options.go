package actiongen

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/unifiedphone/unifiedphone/internal/loopback"
)

// GatewayFromOptions reads a [Gateway] from the raw options of a legacy
// Passwordless SMS connection, as decoded from the Management API's JSON
// (GET /api/v2/connections/{id}, "options"): strings, bools, float64s,
// nested map[string]any, nil.
//
// It reads provider (must be "sms_gateway"), gateway_url, from,
// forward_req_info (a bool, or the string "true" or "false" as Auth0's own
// docs write it), and gateway_authentication {method, subject, audience,
// secret, secret_base64_encoded}. When gateway_authentication has no
// secret_base64_encoded, a top-level options.secret_base64_encoded (where an
// older version of Auth0's docs put it) is used. A null or absent
// gateway_authentication means no authentication. Other keys (template,
// syntax, totp, ...) are ignored. Voice is always false: the legacy gateway
// never received voice messages. A gateway_url with credentials and no
// gateway_authentication is kept as it is: [Generate] moves the credentials
// into an HTTP Basic header.
//
// It rejects, with a [*ValidationError] whose Field is the option key: a
// provider other than "sms_gateway" ([ErrNotGateway]); and ([ErrInvalidGateway])
// a missing gateway_url, one that is not https (http is allowed only for
// loopback hosts: 127.0.0.0/8, ::1, localhost), one on a port Node's fetch
// refuses, one with credentials (user:password@) when
// gateway_authentication is set too, a gateway_authentication
// without audience or secret, with a method other than "bearer", or with
// secret_base64_encoded and a secret that is not base64 or base64url, and
// any value of the wrong JSON type. The error never includes the secret
// or the URL.
func GatewayFromOptions(options map[string]any) (*Gateway, error) {
	provider, err := optString(options, "provider")
	if err != nil {
		return nil, err
	}
	if provider != "sms_gateway" {
		if provider == "" {
			return nil, invalid(ErrNotGateway, "provider", "is not set; a custom SMS gateway connection has provider \"sms_gateway\"")
		}
		return nil, invalid(ErrNotGateway, "provider", "is %q, not \"sms_gateway\"", printable(provider))
	}

	g := &Gateway{}
	if g.URL, err = optString(options, "gateway_url"); err != nil {
		return nil, err
	}
	if err := checkURL(ErrInvalidGateway, "gateway_url", g.URL); err != nil {
		return nil, err
	}
	if g.From, err = optString(options, "from"); err != nil {
		return nil, err
	}
	if g.ForwardRequestInfo, err = optBool(options, "forward_req_info", "forward_req_info"); err != nil {
		return nil, err
	}

	rawAuth, ok := options["gateway_authentication"]
	if !ok || rawAuth == nil {
		return g, nil
	}
	am, ok := rawAuth.(map[string]any)
	if !ok {
		return nil, invalid(ErrInvalidGateway, "gateway_authentication", "is a %s, want an object or null", jsonType(rawAuth))
	}
	a := &GatewayAuth{}
	fields := []struct {
		key string
		dst *string
	}{
		{"method", &a.Method},
		{"subject", &a.Subject},
		{"audience", &a.Audience},
		{"secret", &a.Secret},
	}
	for _, f := range fields {
		s, err := optStringField(am, f.key, "gateway_authentication."+f.key)
		if err != nil {
			return nil, err
		}
		*f.dst = s
	}
	if a.Method == "" {
		return nil, invalid(ErrInvalidGateway, "gateway_authentication.method", "is required; the only method is \"bearer\"")
	}
	if _, nested := am["secret_base64_encoded"]; nested {
		a.SecretBase64Encoded, err = optBool(am, "secret_base64_encoded", "gateway_authentication.secret_base64_encoded")
	} else {
		a.SecretBase64Encoded, err = optBool(options, "secret_base64_encoded", "secret_base64_encoded")
	}
	if err != nil {
		return nil, err
	}
	if err := checkAuth(ErrInvalidGateway, "gateway_authentication", a.Method, a.Audience, a.Secret, a.SecretBase64Encoded); err != nil {
		ve := err.(*ValidationError)
		ve.Field = optionField(ve.Field)
		return nil, ve
	}
	a.Method = "bearer"
	if !utf8.ValidString(a.Subject) {
		return nil, invalid(ErrInvalidGateway, "gateway_authentication.subject", "is not valid UTF-8")
	}
	if _, basic, err := splitUserinfo(ErrInvalidGateway, "gateway_url", g.URL); err != nil {
		return nil, err
	} else if basic != nil {
		return nil, invalid(ErrInvalidGateway, "gateway_url", "%s", userinfoWithAuth)
	}
	g.Auth = a
	return g, nil
}

// userinfoWithAuth is the problem reported for a gateway URL with
// credentials and JWT authentication: Node's fetch cannot send the URL as
// it is, and the two would need the same header.
const userinfoWithAuth = "carries a user name and password (user:password@) and JWT authentication " +
	"(gateway_authentication) is set too; both need the Authorization header, so no Action can send both. " +
	"Remove the credentials from the URL (the gateway then checks the JWT only), or remove gateway_authentication " +
	"(the Action then sends the credentials as HTTP Basic authentication)"

// splitUserinfo separates the credentials of a URL that checkURL accepted:
// it returns the URL without them and, when it had a user name or a
// password, "user:password" (percent-decoded), the credentials of an HTTP
// Basic Authorization header. Node's fetch refuses a URL with credentials,
// so the URL is cut textually, leaving every other byte as it was.
func splitUserinfo(kind error, field, raw string) (string, *string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", nil, invalid(kind, field, "is not a valid URL")
	}
	if u.User == nil {
		return raw, nil, nil
	}
	i := strings.Index(raw, "//")
	if i < 0 {
		return "", nil, invalid(kind, field, "has credentials but no //host part")
	}
	start := i + 2
	end := len(raw)
	if j := strings.IndexAny(raw[start:], "/?#"); j >= 0 {
		end = start + j
	}
	at := strings.LastIndex(raw[start:end], "@")
	if at < 0 {
		return "", nil, invalid(kind, field, "has credentials that cannot be separated from the host")
	}
	plain := raw[:start] + raw[start+at+1:]
	pu, err := url.Parse(plain)
	if err != nil || pu.User != nil || pu.Host != u.Host {
		return "", nil, invalid(kind, field, "has credentials that cannot be separated from the host")
	}
	user := u.User.Username()
	pass, _ := u.User.Password()
	if user == "" && pass == "" {
		return plain, nil, nil
	}
	basic := user + ":" + pass
	if err := checkSecretValue(kind, field, basic); err != nil {
		return "", nil, err
	}
	return plain, &basic, nil
}

// optionField turns checkAuth's Go-style field names into option keys.
func optionField(f string) string {
	r := strings.NewReplacer(".Method", ".method", ".Audience", ".audience", ".Secret", ".secret")
	return r.Replace(f)
}

func optString(m map[string]any, key string) (string, error) {
	return optStringField(m, key, key)
}

func optStringField(m map[string]any, key, field string) (string, error) {
	v, ok := m[key]
	if !ok || v == nil {
		return "", nil
	}
	s, ok := v.(string)
	if !ok {
		return "", invalid(ErrInvalidGateway, field, "is a %s, want a string", jsonType(v))
	}
	return s, nil
}

// optBool accepts a JSON bool or the strings "true" and "false".
func optBool(m map[string]any, key, field string) (bool, error) {
	v, ok := m[key]
	if !ok || v == nil {
		return false, nil
	}
	switch b := v.(type) {
	case bool:
		return b, nil
	case string:
		switch b {
		case "true":
			return true, nil
		case "false", "":
			return false, nil
		}
		return false, invalid(ErrInvalidGateway, field, "is the string %q, want true or false", printable(b))
	}
	return false, invalid(ErrInvalidGateway, field, "is a %s, want a boolean", jsonType(v))
}

func jsonType(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case bool:
		return "boolean"
	case float64, float32, int, int64, int32, uint, uint64:
		return "number"
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", v)
}

// checkURL accepts an absolute https URL with a host, or an http URL whose
// host is a loopback address. Its errors never repeat the URL, which may
// carry credentials.
func checkURL(kind error, field, raw string) error {
	if raw == "" {
		return invalid(kind, field, "is required")
	}
	if !utf8.ValidString(raw) {
		return invalid(kind, field, "is not valid UTF-8")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return invalid(kind, field, "is not a valid URL")
	}
	if u.Host == "" || u.Hostname() == "" {
		return invalid(kind, field, "is not an absolute URL with a host")
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
	case "http":
		if !loopback.Host(u.Hostname()) {
			return invalid(kind, field, "uses http; only https is allowed, except for loopback hosts (127.0.0.0/8, ::1, localhost)")
		}
	default:
		return invalid(kind, field, "has scheme %q; want https", printable(u.Scheme))
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return invalid(kind, field, "has port %q; a port is a number from 1 to 65535", printable(p))
		}
		if fetchBlockedPorts[n] {
			return invalid(kind, field, "uses port %d, which Node's fetch refuses to call (the Fetch standard's \"bad ports\"): use another port", n)
		}
	}
	return nil
}

// fetchBlockedPorts are the Fetch standard's "bad ports"
// (https://fetch.spec.whatwg.org/#port-blocking): fetch fails on them
// without connecting, so an Action could never reach a gateway there. The
// list matches what Node 20's fetch refuses (checked by a test).
var fetchBlockedPorts = func() map[int]bool {
	m := map[int]bool{}
	for _, p := range []int{1, 7, 9, 11, 13, 15, 17, 19, 20, 21, 22, 23, 25, 37, 42, 43, 53, 69, 77, 79, 87, 95,
		101, 102, 103, 104, 109, 110, 111, 113, 115, 117, 119, 123, 135, 137, 139, 143, 161, 179, 389, 427,
		465, 512, 513, 514, 515, 526, 530, 531, 532, 540, 548, 554, 556, 563, 587, 601, 636, 989, 990, 993,
		995, 1719, 1720, 1723, 2049, 3659, 4045, 4190, 5060, 5061, 6000, 6566, 6665, 6666, 6667, 6668,
		6669, 6679, 6697, 10080} {
		m[p] = true
	}
	return m
}()

// decodeBase64Secret decodes base64 or base64url, padded or not: the forms
// Node's Buffer.from(s, "base64") accepts for a well-formed input, which the
// generated code uses.
func decodeBase64Secret(s string) ([]byte, error) {
	var lastErr error
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		b, err := enc.DecodeString(s)
		if err == nil {
			return b, nil
		}
		lastErr = err
	}
	return nil, lastErr
}
