package redact

import (
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode"
)

// What is secret in a tenant — the one rule that redaction, snapshot
// placeholders, export keywords and variables, rehearse, fake --from and
// watch follow:
//
//   - In a connection's options, every non-empty string under a key whose
//     name is secret (see [SecretName]), nested maps and lists included:
//     options.twilio_token, gateway_authentication.secret, an api_key or a
//     header such as "X-API-Key" or "Authorization".
//   - In any string of the options that is an absolute URL (gateway_url and
//     any other): the user name and the password of its user info, and the
//     value of each query parameter whose name is secret
//     (https://user:pass@sms.example/send?apikey=…&to=… holds three
//     secrets: user, pass and the apikey value; "to" is not one).
//   - Twilio auth tokens from any source: the caller's, Guardian's legacy
//     setting, a connection's twilio_token.
//   - The Management API token, the client secret and the access tokens
//     fetched with it; Action secret values.
//
// Code that reads one of these adds it to the run's [Set] at once,
// and every text that leaves the program through an error, a log, a
// checkpoint or the output is redacted with that set.

// SecretName reports whether an option key, a URL query parameter or a
// header of this name holds a secret. Case, '-', '_' and '.' are ignored;
// the name is secret when it contains "token", "secret", "password",
// "passwd", "credential", "signature" or "authorization", ends in "key"
// (key, apikey, api_key, X-API-Key, access_key), or is one of "pass",
// "pwd", "sig", "auth" or "apiauth".
func SecretName(name string) bool {
	n := strings.Map(func(r rune) rune {
		switch r {
		case '-', '_', '.', ' ':
			return -1
		}
		return unicode.ToLower(r)
	}, name)
	for _, w := range []string{"token", "secret", "password", "passwd", "credential", "signature", "authorization"} {
		if strings.Contains(n, w) {
			return true
		}
	}
	switch n {
	case "pass", "pwd", "sig", "auth", "apiauth":
		return true
	}
	return strings.HasSuffix(n, "key")
}

// OptionSecret is one secret of a connection's options, found by
// [FindOptionSecrets].
type OptionSecret struct {
	// Path is the dotted path of the option ("twilio_token",
	// "gateway_authentication.secret", "headers.X-API-Key", a list
	// element's index as a segment) and, for a part of a URL, the URL
	// option's path followed by "username", "password" or "query.NAME"
	// ("gateway_url.password", "gateway_url.query.apikey").
	Path string
	// Value is the secret as the options hold it (for a URL part, as
	// written in the URL: percent-encoded if it was).
	Value string
	// Decoded is a URL part's value percent-decoded ("" when it is the
	// same as Value, or not a URL part).
	Decoded string
}

// FindOptionSecrets returns the secrets of opts by the rule above, sorted
// by Path. opts is only read.
func FindOptionSecrets(opts map[string]any) []OptionSecret {
	var out []OptionSecret
	walkOptions(opts, func(path string, v string, secretKey bool) string {
		if secretKey {
			out = append(out, OptionSecret{Path: path, Value: v})
			return v
		}
		for _, p := range urlSecretParts(v) {
			out = append(out, OptionSecret{Path: path + "." + p.name, Value: v[p.lo:p.hi], Decoded: p.decoded})
		}
		return v
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// ReplaceOptionSecrets returns a deep copy of opts in which each secret
// [FindOptionSecrets] finds is replaced by repl(secret): a whole string
// value, or the part of a URL (the rest of the URL kept as written). opts
// is not changed.
func ReplaceOptionSecrets(opts map[string]any, repl func(OptionSecret) string) map[string]any {
	if opts == nil {
		return nil
	}
	out, _ := walkOptions(opts, func(path string, v string, secretKey bool) string {
		if secretKey {
			return repl(OptionSecret{Path: path, Value: v})
		}
		parts := urlSecretParts(v)
		for i := len(parts) - 1; i >= 0; i-- {
			p := parts[i]
			v = v[:p.lo] + repl(OptionSecret{Path: path + "." + p.name, Value: v[p.lo:p.hi], Decoded: p.decoded}) + v[p.hi:]
		}
		return v
	}).(map[string]any)
	return out
}

// walkOptions returns a deep copy of opts (maps and lists copied) in which
// f, called on every non-empty string in key order with its dotted path
// and whether a key on the way is secret, chose each string. opts is only
// read.
func walkOptions(opts map[string]any, f func(path, v string, secretKey bool) string) any {
	var walk func(v any, path string, secretKey bool) any
	walk = func(v any, path string, secretKey bool) any {
		switch x := v.(type) {
		case string:
			if x != "" {
				return f(path, x, secretKey)
			}
		case map[string]any:
			keys := make([]string, 0, len(x))
			for k := range x {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			m := make(map[string]any, len(x))
			for _, k := range keys {
				m[k] = walk(x[k], joinOptionPath(path, k), secretKey || SecretName(k))
			}
			return m
		case []any:
			l := make([]any, len(x))
			for i := range x {
				l[i] = walk(x[i], joinOptionPath(path, strconv.Itoa(i)), secretKey)
			}
			return l
		}
		return v
	}
	return walk(opts, "", false)
}

func joinOptionPath(a, b string) string {
	if a == "" {
		return b
	}
	return a + "." + b
}

// urlPart is a secret part of a URL: v[lo:hi], named name.
type urlPart struct {
	name    string
	lo, hi  int
	decoded string
}

// urlSecretParts returns the secret parts of v when v is an absolute URL
// (scheme://authority...): the user name and password of its user info
// and the values of its secret query parameters, in order.
func urlSecretParts(v string) []urlPart {
	i := strings.Index(v, "://")
	if i <= 0 {
		return nil
	}
	for j, r := range v[:i] {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || j > 0 && (r >= '0' && r <= '9' || r == '+' || r == '-' || r == '.')) {
			return nil
		}
	}
	var parts []urlPart
	part := func(name string, lo, hi int, unescape func(string) (string, error)) {
		if lo >= hi {
			return
		}
		p := urlPart{name: name, lo: lo, hi: hi}
		if d, err := unescape(v[lo:hi]); err == nil && d != v[lo:hi] {
			p.decoded = d
		}
		parts = append(parts, p)
	}
	auth := i + 3
	end := len(v)
	if k := strings.IndexAny(v[auth:], "/?#"); k >= 0 {
		end = auth + k
	}
	if at := strings.LastIndex(v[auth:end], "@"); at >= 0 {
		info := v[auth : auth+at]
		if c := strings.Index(info, ":"); c >= 0 {
			part("username", auth, auth+c, url.PathUnescape)
			part("password", auth+c+1, auth+at, url.PathUnescape)
		} else {
			part("username", auth, auth+at, url.PathUnescape)
		}
	}
	q := strings.Index(v[end:], "?")
	if q < 0 || strings.Contains(v[end:end+q], "#") {
		return parts
	}
	lo := end + q + 1
	qend := len(v)
	if h := strings.Index(v[lo:], "#"); h >= 0 {
		qend = lo + h
	}
	for lo < qend {
		hi := qend
		if a := strings.IndexAny(v[lo:qend], "&;"); a >= 0 {
			hi = lo + a
		}
		if eq := strings.Index(v[lo:hi], "="); eq >= 0 {
			name, err := url.QueryUnescape(v[lo : lo+eq])
			if err == nil && SecretName(name) {
				part("query."+name, lo+eq+1, hi, url.QueryUnescape)
			}
		}
		lo = hi + 1
	}
	return parts
}

// URL returns u with its secret parts by the rule above — the user
// name and password of its user info, the values of its secret query
// parameters — replaced by "[redacted]", for a URL that must be shown.
func URL(u string) string {
	for _, p := range slices.Backward(urlSecretParts(u)) {
		u = u[:p.lo] + Mark + u[p.hi:]
	}
	return u
}

// OptionSecrets returns the secret values of opts by the rule above
// ([FindOptionSecrets]), with the forms a URL's secrets are also sent in —
// percent-decoded, and "user:password" as in a Basic authorization header
// — so that they can be given to [Text].
func OptionSecrets(opts map[string]any) []string {
	var out []string
	user, pass := map[string]string{}, map[string]string{}
	for _, s := range FindOptionSecrets(opts) {
		out = append(out, s.Value)
		plain := s.Value
		if s.Decoded != "" {
			out = append(out, s.Decoded)
			plain = s.Decoded
		}
		if base, ok := strings.CutSuffix(s.Path, ".username"); ok {
			user[base] = plain
		}
		if base, ok := strings.CutSuffix(s.Path, ".password"); ok {
			pass[base] = plain
		}
	}
	for base, p := range pass {
		out = append(out, user[base]+":"+p)
	}
	return out
}

// Set is the set of secret values one run knows of, which it redacts
// from every text it lets out: add each secret to it the moment it is
// read (from the environment, a prompt, the tenant, a file). The
// [Migrator] ([WithSecrets]) and the auth0api client share one, so a
// secret either of them has seen is redacted from the other's errors.
// A nil *Set holds nothing and ignores Add; use [NewSet]. It
// is safe for concurrent use.
type Set struct {
	mu   sync.Mutex
	vals map[string]struct{}
}

// NewSet returns a set holding vals.
func NewSet(vals ...string) *Set {
	s := &Set{}
	s.Add(vals...)
	return s
}

// Add adds the non-empty vals.
func (s *Set) Add(vals ...string) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.vals == nil {
		s.vals = map[string]struct{}{}
	}
	for _, v := range vals {
		if v != "" {
			s.vals[v] = struct{}{}
		}
	}
}

// AddSecret adds secret values; see [Set.Add].
func (s *Set) AddSecret(vals ...Secret) {
	for _, v := range vals {
		s.Add(v.Reveal())
	}
}

// AddOptions adds the secrets of a connection's options ([OptionSecrets]).
func (s *Set) AddOptions(opts map[string]any) { s.Add(OptionSecrets(opts)...) }

// Values returns the set's values, in no particular order.
func (s *Set) Values() []string {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.vals))
	for v := range s.vals {
		out = append(out, v)
	}
	return out
}

// Redact is [Text] with the set's values and extra.
func (s *Set) Redact(text string, extra ...string) string {
	return Text(text, append(s.Values(), extra...)...)
}

// RedactError is [Error] with the set's values and extra.
func (s *Set) RedactError(err error, extra ...string) error {
	return Error(err, append(s.Values(), extra...)...)
}
