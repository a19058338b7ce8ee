package fleet

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/unifiedphone/unifiedphone/phonemigrate/outcome"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/unifiedphone/unifiedphone/internal/loopback"
	"github.com/unifiedphone/unifiedphone/phonemigrate"
)

// DefaultConcurrency is the number of Management API requests in flight at
// once, across the fleet, when neither the fleet file nor the Runner sets
// one.
const DefaultConcurrency = 10

// DefaultMaxInProgress is the number of tenants in progress at once unless
// [Runner.MaxInProgress] says otherwise.
const DefaultMaxInProgress = 1000

// Config is a validated fleet file: the tenants to migrate and how many at
// once. Build it with [Load] or [Parse]; a Config built by hand must pass
// [Config.Validate] before [Runner.Run] accepts it.
type Config struct {
	// Concurrency is the number of Management API requests in flight at
	// once across the fleet (0: the Runner's, else [DefaultConcurrency]);
	// every tenant progresses at once, each paced by its own rate limit.
	Concurrency int `json:"concurrency,omitempty" yaml:"concurrency,omitempty"`
	// Tenants are the tenants, in file order; reports keep this order.
	Tenants []Tenant `json:"tenants" yaml:"tenants"`
}

// Tenant is one tenant of a fleet file. Exactly one of Domain and BaseURL
// names the Management API, and exactly one of TokenEnv and the pair
// ClientIDEnv/ClientSecretEnv names the environment variables holding its
// credentials.
type Tenant struct {
	// Name identifies the tenant in reports and progress; unique in the
	// file; letters, digits, '.', '-' and '_'.
	Name string `json:"name" yaml:"name"`
	// Domain is the tenant's Auth0 domain ("acme.eu.auth0.com"); the
	// Management API is then https://Domain/api/v2.
	Domain string `json:"domain,omitempty" yaml:"domain,omitempty"`
	// BaseURL is a full Management API URL, https (or http to a loopback
	// host only, such as a fake tenant).
	BaseURL string `json:"base_url,omitempty" yaml:"base_url,omitempty"`
	// TokenEnv names the environment variable holding a Management API
	// token.
	TokenEnv string `json:"token_env,omitempty" yaml:"token_env,omitempty"`
	// ClientIDEnv and ClientSecretEnv name the environment variables
	// holding client credentials (client-credentials grant).
	ClientIDEnv     string `json:"client_id_env,omitempty" yaml:"client_id_env,omitempty"`
	ClientSecretEnv string `json:"client_secret_env,omitempty" yaml:"client_secret_env,omitempty"`
	// Checkpoint is the checkpoint file. [Load] resolves a relative path
	// against the fleet file's directory and fills in the default
	// "phonemigrate-<name>.checkpoint.json"; no two tenants may share one.
	Checkpoint string `json:"checkpoint,omitempty" yaml:"checkpoint,omitempty"`
	// RateLimit paces this tenant's requests client-side.
	RateLimit RateLimit `json:"rate_limit,omitzero" yaml:"rate_limit,omitempty"`
	// Options are the migration choices for this tenant.
	Options TenantOptions `json:"options,omitzero" yaml:"options,omitempty"`
}

// RateLimit is a token bucket: PerSecond requests per second on average,
// Burst at once. The zero value means no client-side pacing. Auth0's
// Management API limits are per tenant and plan, typically 2 to 50
// requests per second with bursts of 10 to 50.
type RateLimit struct {
	PerSecond float64 `json:"per_second,omitempty" yaml:"per_second,omitempty"`
	Burst     int     `json:"burst,omitempty" yaml:"burst,omitempty"`
}

// TenantOptions are a tenant's migration choices; they become
// [phonemigrate.Options] (see there for their meaning).
type TenantOptions struct {
	// Provider is "auto" (or empty), "twilio" or "custom".
	Provider string `json:"provider,omitempty" yaml:"provider,omitempty"`
	// Delivery is the provider's delivery methods in [delivery.Parse] form
	// ("text", "voice", "text,voice"); empty derives them from the tenant.
	Delivery string `json:"delivery,omitempty" yaml:"delivery,omitempty"`
	// TestTo are E.164 numbers for the provider test.
	TestTo []string `json:"test_to,omitempty" yaml:"test_to,omitempty"`
	// SkipTest skips the provider test; required when TestTo is empty.
	SkipTest bool `json:"skip_test,omitempty" yaml:"skip_test,omitempty"`
	// AllowReplace permits replacing a provider or Action this tool did not
	// create.
	AllowReplace bool `json:"allow_replace,omitempty" yaml:"allow_replace,omitempty"`
	// TwilioTokenEnv names the environment variable holding the Twilio
	// auth token, which overrides the legacy token read from the tenant
	// (for a Twilio provider or a Twilio target of a custom one). Empty:
	// the Runner's DefaultTwilioTokenEnv, else the legacy token.
	TwilioTokenEnv string `json:"twilio_token_env,omitempty" yaml:"twilio_token_env,omitempty"`
	// TwilioAPIURL overrides the Twilio API base URL of the credential
	// check, the delivery evidence and a generated Action (tests against a
	// fake Twilio); https, or http to loopback.
	TwilioAPIURL string `json:"twilio_api_url,omitempty" yaml:"twilio_api_url,omitempty"`
	// SkipTwilioCheck skips checking the Twilio credentials with Twilio and
	// the test messages' delivery evidence (networks that cannot reach
	// Twilio).
	SkipTwilioCheck bool `json:"skip_twilio_check,omitempty" yaml:"skip_twilio_check,omitempty"`
	// EvidenceTimeout bounds the wait for each test message's Twilio
	// status, as a Go duration ("20s"); empty means the default.
	EvidenceTimeout string `json:"evidence_timeout,omitempty" yaml:"evidence_timeout,omitempty"`
	// AcceptDifferences are the consumers whose difference after the
	// migration this tenant's owner accepts, by the delivery model's ID
	// ("passwordless/sms/text/otp_verify", "mfa/voice/otp_enroll"), as the
	// CLI's --accept-difference takes them: the [Runner.Review] that
	// proves each tenant's outcome lets these through.
	AcceptDifferences []string `json:"accept_differences,omitempty" yaml:"accept_differences,omitempty"`
}

// ErrInvalidConfig is matched (errors.Is) by every [*ConfigError].
var ErrInvalidConfig = errors.New("invalid fleet file")

// ConfigError is a problem with a fleet file, found before any tenant is
// contacted. It never holds a secret: a value that might be one (a literal
// token, an *_env value that is not a variable name) is described, not
// quoted.
type ConfigError struct {
	// Path is the fleet file ("" when parsed from memory).
	Path string
	// Tenant is the tenant's name, or "#N" (1-based) when it has none; ""
	// for a problem with the file as a whole.
	Tenant string
	// Field is the key at fault, e.g. "token_env" or "options.test_to".
	Field string
	// Problem says what is wrong, as a sentence fragment.
	Problem string
	// Err is the underlying error, if any (the *fs.PathError of a file
	// that cannot be read).
	Err error
}

func (e *ConfigError) Error() string {
	var b strings.Builder
	b.WriteString("fleet file")
	if e.Path != "" {
		fmt.Fprintf(&b, " %s", e.Path)
	}
	if e.Tenant != "" {
		fmt.Fprintf(&b, ": tenant %s", e.Tenant)
	}
	if e.Field != "" {
		fmt.Fprintf(&b, ": %s", e.Field)
	}
	fmt.Fprintf(&b, ": %s", e.Problem)
	return b.String()
}

// Is reports whether target is [ErrInvalidConfig].
func (e *ConfigError) Is(target error) bool { return target == ErrInvalidConfig }

// Unwrap returns Err.
func (e *ConfigError) Unwrap() error { return e.Err }

// Format is a fleet file's syntax.
type Format int

const (
	// FormatAuto picks JSON when the first non-space byte is '{' or '[' and
	// YAML otherwise.
	FormatAuto Format = iota
	// FormatYAML is YAML (go.yaml.in/yaml/v3), unknown keys refused.
	FormatYAML
	// FormatJSON is JSON (encoding/json), unknown keys refused.
	FormatJSON
)

// Load reads, parses and validates the fleet file at path. The format
// follows the extension (.json, .yaml, .yml; anything else: [FormatAuto]).
// Relative checkpoint paths are resolved against path's directory.
// Problems are [*ConfigError] values (for an unreadable file, wrapping the
// *fs.PathError).
//
// A file is not trusted further than that: the environment variables it
// names must look like the credentials they are for (see [CheckEnvNames]),
// and its checkpoint paths must stay inside the file's directory unless
// [AllowCheckpointsAnywhere] is given.
func Load(path string, opts ...LoadOption) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &ConfigError{Path: path, Problem: "cannot be read: " + describeReadError(err), Err: err}
	}
	f := FormatAuto
	switch strings.ToLower(filepath.Ext(path)) {
	case ".json":
		f = FormatJSON
	case ".yaml", ".yml":
		f = FormatYAML
	}
	cfg, err := parse(data, f, path)
	if err != nil {
		return nil, err
	}
	raw := cfg.checkpoints()
	cfg.resolve(filepath.Dir(path))
	if err := cfg.validate(path); err != nil {
		return cfg, err
	}
	return cfg, cfg.untrusted(path, raw, opts)
}

// checkpoints returns the tenants' checkpoint paths as written in the file.
func (c *Config) checkpoints() []string {
	out := make([]string, len(c.Tenants))
	for i, t := range c.Tenants {
		out[i] = t.Checkpoint
	}
	return out
}

// LoadOption changes what [Load] and [Parse] accept.
type LoadOption func(*loadOptions)

type loadOptions struct{ anyCheckpoint bool }

// AllowCheckpointsAnywhere lets checkpoint paths of the file be absolute
// or leave its directory ("../x.json"). Without it they are refused, so
// that a fleet file from elsewhere cannot make the run read or write
// checkpoints in other places.
func AllowCheckpointsAnywhere() LoadOption { return func(o *loadOptions) { o.anyCheckpoint = true } }

// credentialEnvRE are the documented shapes of the environment variable
// names a fleet file may name: a word AUTH0 for the Management API
// credentials, TWILIO for the Twilio token (words are separated by '_').
var credentialEnvRE = map[string]*regexp.Regexp{
	"auth0":  regexp.MustCompile(`(^|_)AUTH0(_|$)`),
	"twilio": regexp.MustCompile(`(^|_)TWILIO(_|$)`),
}

// CheckEnvNames checks the environment variable names of a fleet file
// against the documented pattern: token_env, client_id_env and
// client_secret_env must contain the word AUTH0 (e.g. AUTH0_TOKEN,
// ACME_EU_AUTH0_CLIENT_SECRET) and options.twilio_token_env the word
// TWILIO (e.g. ACME_TWILIO_TOKEN), words being separated by '_'. A file
// can then not send an unrelated secret of the environment (a cloud key,
// a CI token) to the base_url it names. [Load] and [Parse] apply it;
// configurations built in code are trusted and not checked.
func (c *Config) CheckEnvNames() error { return c.checkEnvNames("") }

func (c *Config) checkEnvNames(path string) error {
	for i, t := range c.Tenants {
		label := t.Name
		if label == "" {
			label = fmt.Sprintf("#%d", i+1)
		}
		for _, f := range []struct{ field, value, kind string }{
			{"token_env", t.TokenEnv, "auth0"},
			{"client_id_env", t.ClientIDEnv, "auth0"},
			{"client_secret_env", t.ClientSecretEnv, "auth0"},
			{"options.twilio_token_env", t.Options.TwilioTokenEnv, "twilio"},
		} {
			if f.value == "" || !envRE.MatchString(f.value) || credentialEnvRE[f.kind].MatchString(f.value) {
				continue // empty or malformed names are validate's to report
			}
			return &ConfigError{Path: path, Tenant: label, Field: f.field, Problem: fmt.Sprintf(
				"names %s, which does not contain the word %s; a fleet file may name only variables such as %s (so that it cannot send an unrelated secret to its base_url)",
				f.value, strings.ToUpper(f.kind), map[string]string{"auth0": "AUTH0_TOKEN or ACME_AUTH0_CLIENT_SECRET", "twilio": "ACME_TWILIO_TOKEN"}[f.kind])}
		}
	}
	return nil
}

// untrusted applies the checks a file (as opposed to a Config built in
// code) gets: credential variable names, and checkpoint paths confined to
// the file's directory (the working directory for Parse).
func (c *Config) untrusted(path string, raw []string, opts []LoadOption) error {
	var o loadOptions
	for _, f := range opts {
		f(&o)
	}
	if err := c.checkEnvNames(path); err != nil {
		return err
	}
	if o.anyCheckpoint {
		return nil
	}
	for i, t := range c.Tenants {
		label := t.Name
		if label == "" {
			label = fmt.Sprintf("#%d", i+1)
		}
		cp := raw[i]
		if cp == "" {
			continue
		}
		dir := "."
		if path != "" {
			dir = filepath.Dir(path)
		}
		if filepath.IsAbs(cp) || !filepath.IsLocal(cp) || !staysInside(dir, cp) {
			return &ConfigError{Path: path, Tenant: label, Field: "checkpoint", Problem: fmt.Sprintf(
				"%q leaves the fleet file's directory; use a path inside it, or allow this explicitly (apply --allow-any-checkpoint)", cp)}
		}
	}
	return nil
}

// staysInside reports whether the local path rel, joined to dir, is still
// inside dir once every symlink on the way (of the part that exists) is
// resolved: a directory or file of a cloned repository that is a symlink
// to elsewhere does not count as inside.
func staysInside(dir, rel string) bool {
	base, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return false
	}
	existing, rest := filepath.Join(dir, rel), []string(nil)
	for {
		if _, err := os.Lstat(existing); err == nil {
			break
		}
		parent := filepath.Dir(existing)
		if parent == existing {
			return false
		}
		rest = append([]string{filepath.Base(existing)}, rest...)
		existing = parent
	}
	real, err := filepath.EvalSymlinks(existing)
	if err != nil {
		return false
	}
	r, err := filepath.Rel(base, filepath.Join(append([]string{real}, rest...)...))
	return err == nil && filepath.IsLocal(r)
}

func describeReadError(err error) string {
	switch {
	case errors.Is(err, os.ErrNotExist):
		return "no such file"
	case errors.Is(err, os.ErrPermission):
		return "permission denied"
	}
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// Parse parses and validates a fleet file held in memory. Relative
// checkpoint paths stay relative (to the working directory); default
// checkpoint names are filled in.
//
// Like [Load], it checks the variable names and confines checkpoint paths
// (to the working directory).
func Parse(data []byte, f Format, opts ...LoadOption) (*Config, error) {
	cfg, err := parse(data, f, "")
	if err != nil {
		return nil, err
	}
	raw := cfg.checkpoints()
	cfg.resolve("")
	if err := cfg.validate(""); err != nil {
		return cfg, err
	}
	return cfg, cfg.untrusted("", raw, opts)
}

// secretKeys are keys that would hold a credential itself.
var secretKeys = map[string]string{
	"token":              "token_env",
	"access_token":       "token_env",
	"management_token":   "token_env",
	"auth0_token":        "token_env",
	"client_secret":      "client_secret_env",
	"secret":             "client_secret_env",
	"password":           "an *_env key",
	"twilio_token":       "options.twilio_token_env",
	"twilio_auth_token":  "options.twilio_token_env",
	"auth_token":         "options.twilio_token_env",
	"gateway_secret":     "an Action secret (it never goes in a fleet file)",
	"credentials":        "token_env or client_id_env/client_secret_env",
	"authorization":      "token_env",
	"bearer":             "token_env",
	"api_key":            "token_env",
	"management_api_key": "token_env",
}

func parse(data []byte, f Format, path string) (*Config, error) {
	if f == FormatAuto {
		trimmed := bytes.TrimSpace(data)
		if len(trimmed) > 0 && (trimmed[0] == '{' || trimmed[0] == '[') {
			f = FormatJSON
		} else {
			f = FormatYAML
		}
	}
	// First a generic decode, to refuse literal secrets with a clear
	// message before strict decoding would call them unknown keys.
	var generic any
	var err error
	if f == FormatJSON {
		err = json.Unmarshal(data, &generic)
	} else {
		err = yaml.Unmarshal(data, &generic)
	}
	if err != nil {
		return nil, &ConfigError{Path: path, Problem: "is not valid " + formatName(f) + ": " + syntaxProblem(err)}
	}
	if generic == nil {
		return nil, &ConfigError{Path: path, Problem: "is empty; list at least one tenant"}
	}
	if err := scanSecrets(generic, path); err != nil {
		return nil, err
	}
	// A bare list is the tenants.
	if _, ok := generic.([]any); ok {
		data, f = wrapTenants(data, f)
	}
	cfg := new(Config)
	if f == FormatJSON {
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		err = dec.Decode(cfg)
		if err == nil && dec.More() {
			err = errors.New("more than one JSON value")
		}
	} else {
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		err = dec.Decode(cfg)
		if errors.Is(err, io.EOF) {
			err = nil
		}
	}
	if err != nil {
		return nil, &ConfigError{Path: path, Problem: "does not match the fleet file schema: " + syntaxProblem(err)}
	}
	return cfg, nil
}

func formatName(f Format) string {
	if f == FormatJSON {
		return "JSON"
	}
	return "YAML"
}

// syntaxProblem is the decoder's message, on one line. Decoder messages
// name keys and types, and quote at most a short token of input; fleet
// files hold no secret values (those are refused before strict decoding).
func syntaxProblem(err error) string {
	msg := strings.Join(strings.Fields(err.Error()), " ")
	msg = strings.TrimPrefix(msg, "yaml: ")
	msg = strings.TrimPrefix(msg, "json: ")
	return msg
}

// wrapTenants turns a bare list into {"tenants": list}.
func wrapTenants(data []byte, f Format) ([]byte, Format) {
	if f == FormatJSON {
		return append(append([]byte(`{"tenants":`), data...), '}'), FormatJSON
	}
	var b bytes.Buffer
	b.WriteString("tenants:\n")
	for _, line := range strings.SplitAfter(string(data), "\n") {
		if line != "" {
			b.WriteString("  " + line)
		}
	}
	return b.Bytes(), FormatYAML
}

// scanSecrets refuses keys that would hold a credential, anywhere in the
// document. The message names the key and where it is, never its value.
func scanSecrets(v any, path string) error {
	var walk func(v any, where string, tenant string) error
	walk = func(v any, where string, tenant string) error {
		switch x := v.(type) {
		case map[string]any:
			keys := make([]string, 0, len(x))
			for k := range x {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				field := k
				if where != "" {
					field = where + "." + k
				}
				if use, ok := secretKeys[strings.ToLower(k)]; ok {
					return &ConfigError{Path: path, Tenant: tenant, Field: field, Problem: "would hold a secret in the file; secrets come only from environment variables: use " + use + " with the variable's name"}
				}
				if err := walk(x[k], field, tenant); err != nil {
					return err
				}
			}
		case []any:
			for i, e := range x {
				t := tenant
				if where == "" || where == "tenants" {
					t = tenantLabel(e, i)
				}
				if err := walk(e, "", t); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return walk(v, "", "")
}

func tenantLabel(v any, i int) string {
	if m, ok := v.(map[string]any); ok {
		if n, ok := m["name"].(string); ok && nameRE.MatchString(n) {
			return n
		}
	}
	return fmt.Sprintf("#%d", i+1)
}

var (
	nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$`)
	envRE  = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,127}$`)
)

// ValidName reports whether name is a valid tenant name of a fleet file
// (letters, digits, '.', '-' and '_', at most 100, starting with a letter
// or digit): the name its checkpoint records, which the CLI's
// --tenant-name takes to work on one tenant of a fleet.
func ValidName(name string) bool { return nameRE.MatchString(name) }

// resolve fills default checkpoints and anchors relative ones at dir.
func (c *Config) resolve(dir string) {
	for i := range c.Tenants {
		t := &c.Tenants[i]
		if t.Checkpoint == "" && nameRE.MatchString(t.Name) {
			t.Checkpoint = "phonemigrate-" + t.Name + ".checkpoint.json"
		}
		if t.Checkpoint != "" && dir != "" && !filepath.IsAbs(t.Checkpoint) {
			t.Checkpoint = filepath.Join(dir, t.Checkpoint)
		}
	}
}

// Validate checks c as [Load] does and returns the first problem as a
// [*ConfigError], or nil. It does not look at the environment: missing
// variables are reported per tenant when the fleet runs.
func (c *Config) Validate() error { return c.validate("") }

func (c *Config) validate(path string) error {
	bad := func(tenant string, p *problem) error {
		return &ConfigError{Path: path, Tenant: tenant, Field: p.field, Problem: p.text}
	}
	if c.Concurrency < 0 || c.Concurrency > 1000 {
		return bad("", &problem{"concurrency", "must be between 1 and 1000"})
	}
	if len(c.Tenants) == 0 {
		return bad("", &problem{"tenants", "list at least one tenant"})
	}
	names := map[string]bool{}
	checkpoints := map[string]string{} // clean path -> tenant
	for i, t := range c.Tenants {
		if p := t.checkName(); p != nil {
			return bad(fmt.Sprintf("#%d", i+1), p)
		}
		if names[t.Name] {
			return bad(t.Name, &problem{"name", "is used by another tenant"})
		}
		names[t.Name] = true
		for _, check := range []func() *problem{t.checkAddress, t.checkCredentials, t.checkCheckpoint, t.checkRateLimit} {
			if p := check(); p != nil {
				return bad(t.Name, p)
			}
		}
		key := filepath.Clean(t.Checkpoint)
		if other, ok := checkpoints[key]; ok {
			return bad(t.Name, &problem{"checkpoint", "is also the checkpoint of tenant " + other + "; each tenant needs its own"})
		}
		checkpoints[key] = t.Name
		if _, err := t.Options.options(); err != nil {
			var ce *ConfigError
			if errors.As(err, &ce) {
				return bad(t.Name, &problem{ce.Field, ce.Problem})
			}
			return err
		}
	}
	return nil
}

// problem is what is wrong with one field of a fleet file.
type problem struct{ field, text string }

func (t *Tenant) checkName() *problem {
	if nameRE.MatchString(t.Name) {
		return nil
	}
	if t.Name == "" {
		return &problem{"name", "is required"}
	}
	return &problem{"name", "must be letters, digits, '.', '-' or '_' (at most 100)"}
}

// checkAddress: a domain (a host name) or a base_url, one of them.
func (t *Tenant) checkAddress() *problem {
	switch {
	case t.Domain != "" && t.BaseURL != "":
		return &problem{"domain", "set domain or base_url, not both"}
	case t.Domain == "" && t.BaseURL == "":
		return &problem{"domain", "set domain or base_url"}
	case t.Domain != "":
		if strings.Contains(t.Domain, "://") || strings.ContainsAny(t.Domain, "/?#@ \t") {
			return &problem{"domain", "must be a host name such as acme.eu.auth0.com, not a URL"}
		}
	default:
		if p := checkURL(t.BaseURL); p != "" {
			return &problem{"base_url", p}
		}
	}
	return nil
}

// checkCredentials: the names of the environment variables holding a
// token, or a client ID and secret — never the values.
func (t *Tenant) checkCredentials() *problem {
	hasCC := t.ClientIDEnv != "" || t.ClientSecretEnv != ""
	switch {
	case t.TokenEnv != "" && hasCC:
		return &problem{"token_env", "set token_env or client_id_env/client_secret_env, not both"}
	case t.TokenEnv != "":
		if !envRE.MatchString(t.TokenEnv) {
			return &problem{"token_env", "must be the name of an environment variable (it holds the token), not the token itself"}
		}
	case hasCC:
		if t.ClientIDEnv == "" || t.ClientSecretEnv == "" {
			return &problem{"client_id_env", "client_id_env and client_secret_env must be set together"}
		}
		if !envRE.MatchString(t.ClientIDEnv) {
			return &problem{"client_id_env", "must be the name of an environment variable"}
		}
		if !envRE.MatchString(t.ClientSecretEnv) {
			return &problem{"client_secret_env", "must be the name of an environment variable (it holds the secret), not the secret itself"}
		}
	default:
		return &problem{"token_env", "set token_env, or client_id_env and client_secret_env (names of environment variables)"}
	}
	return nil
}

func (t *Tenant) checkCheckpoint() *problem {
	if t.Checkpoint == "" {
		return &problem{"checkpoint", "is required"}
	}
	return nil
}

func (t *Tenant) checkRateLimit() *problem {
	switch r := t.RateLimit; {
	case r.PerSecond < 0 || r.PerSecond > 10000:
		return &problem{"rate_limit.per_second", "must be between 0 (no pacing) and 10000"}
	case r.Burst < 0 || r.Burst > 10000:
		return &problem{"rate_limit.burst", "must be between 0 and 10000"}
	case r.Burst > 0 && r.PerSecond == 0:
		return &problem{"rate_limit.burst", "is set without per_second"}
	}
	return nil
}

// checkURL returns what is wrong with a Management API or Twilio URL, or "".
func checkURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return "must be an https URL with a host"
	}
	if u.User != nil {
		return "must not hold credentials"
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return "must not hold a query or fragment"
	}
	if u.Scheme == "http" && !loopback.Host(u.Hostname()) {
		return "plain http is allowed only to loopback hosts; use https"
	}
	return ""
}

// options turns o into engine options, without the Twilio token. Problems
// are *ConfigError with Field set.
func (o TenantOptions) options() (phonemigrate.Options, error) {
	var out phonemigrate.Options
	bad := func(field, problem string) error {
		return &ConfigError{Field: "options." + field, Problem: problem}
	}
	var evidence time.Duration
	if o.EvidenceTimeout != "" {
		d, err := time.ParseDuration(o.EvidenceTimeout)
		if err != nil || d <= 0 {
			return out, bad("evidence_timeout", fmt.Sprintf("%q is not a positive duration such as 20s", o.EvidenceTimeout))
		}
		evidence = d
	}
	// The checks are the library's, the same the CLI's flags get.
	out, err := phonemigrate.Settings{
		Provider: o.Provider, Delivery: o.Delivery, TestTo: o.TestTo, SkipTest: o.SkipTest,
		AllowReplace: o.AllowReplace, SkipTwilioCheck: o.SkipTwilioCheck, EvidenceTimeout: evidence,
	}.Options(nil)
	if se := (*phonemigrate.SettingError)(nil); errors.As(err, &se) {
		return out, bad(se.Setting, se.Problem)
	} else if err != nil {
		return out, &ConfigError{Field: "options", Problem: err.Error()}
	}
	for _, id := range o.AcceptDifferences {
		if !outcome.ValidID(id) {
			return out, bad("accept_differences", fmt.Sprintf("%q is not a consumer ID such as passwordless/sms/text/otp_verify or mfa/voice/otp_enroll (the plan lists them)", id))
		}
	}
	if o.TwilioTokenEnv != "" && !envRE.MatchString(o.TwilioTokenEnv) {
		return out, bad("twilio_token_env", "must be the name of an environment variable (it holds the token), not the token itself")
	}
	if o.TwilioAPIURL != "" {
		if p := checkURL(o.TwilioAPIURL); p != "" {
			return out, bad("twilio_api_url", p)
		}
		out.TwilioAPIBaseURL = o.TwilioAPIURL
	}
	return out, nil
}
