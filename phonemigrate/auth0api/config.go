package auth0api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/auth0/go-auth0/v3/management/client"
	"github.com/auth0/go-auth0/v3/management/option"
	"golang.org/x/time/rate"

	"github.com/unifiedphone/unifiedphone/internal/loopback"
	"github.com/unifiedphone/unifiedphone/internal/safehttp"
	"github.com/unifiedphone/unifiedphone/phonemigrate"
	"github.com/unifiedphone/unifiedphone/phonemigrate/redact"
)

// Defaults applied by [New] to zero [Config] fields.
const (
	DefaultMaxAttempts  = 4 // total attempts per request
	DefaultMinBackoff   = 250 * time.Millisecond
	DefaultMaxBackoff   = 8 * time.Second  // cap of the exponential backoff
	DefaultMaxRetryWait = 30 * time.Second // longest server-requested wait honoured
	// DefaultRequestTimeout bounds each attempt, answer included, and
	// DefaultResponseHeaderTimeout the wait for its response headers: with
	// DefaultMaxAttempts a server that never answers fails a call in under
	// two minutes (4 × 25 s plus backoff).
	DefaultRequestTimeout        = 25 * time.Second
	DefaultResponseHeaderTimeout = 15 * time.Second
	maxMaxAttempts               = 20
)

// Config configures a [Client]. The zero value is not valid: set exactly one
// of Domain and BaseURL, and exactly one credential (Token, or ClientID with
// ClientSecret). Zero values of the other fields select the defaults
// documented on each field.
//
// Config is safe to print: Token and ClientSecret are [phonemigrate.Secret]
// values, which format as "[redacted]".
type Config struct {
	// Domain is the tenant's Auth0 domain, such as "acme.eu.auth0.com" or a
	// custom domain, without scheme or path. The Management API is then
	// https://Domain/api/v2.
	Domain string

	// BaseURL is the full Management API base URL, such as
	// "https://acme.eu.auth0.com/api/v2" or, for the fake tenant,
	// "http://127.0.0.1:PORT/api/v2". A URL with an empty path or "/" gets
	// "/api/v2". The scheme must be https, or http when the host is a
	// loopback address (127.0.0.0/8, ::1) or "localhost"; user info, query
	// and fragment are refused.
	BaseURL string

	// Token is a static Management API access token, sent as a bearer token.
	Token phonemigrate.Secret

	// ClientID and ClientSecret select the OAuth client-credentials grant:
	// tokens come from "<scheme>://<host>/oauth/token" of the API URL.
	ClientID     string
	ClientSecret phonemigrate.Secret

	// Audience is the audience requested in client-credentials mode. The
	// default is "<scheme>://<host>/api/v2/" of the API URL; set it when
	// Domain is a custom domain (the audience is then the canonical
	// https://TENANT.auth0.com/api/v2/).
	Audience string

	// MaxAttempts bounds the attempts per request, first one included
	// (1 disables retries). 0 means [DefaultMaxAttempts]; at most 20.
	MaxAttempts int

	// MinBackoff and MaxBackoff bound the jittered exponential backoff used
	// when the server gives no Retry-After or X-RateLimit-Reset: the n-th
	// retry waits a random duration in [b/2, b] with b = min(MinBackoff·2ⁿ⁻¹,
	// MaxBackoff). 0 means [DefaultMinBackoff] / [DefaultMaxBackoff].
	MinBackoff time.Duration
	MaxBackoff time.Duration

	// MaxRetryWait is the longest wait requested by the server (Retry-After,
	// X-RateLimit-Reset) that a retry will honour; a longer one ends the
	// retries and returns the 429. 0 means [DefaultMaxRetryWait].
	MaxRetryWait time.Duration

	// RequestTimeout bounds each attempt (connection, headers and body); an
	// attempt cut by it fails with a [*TimeoutError]. 0 means
	// [DefaultRequestTimeout].
	RequestTimeout time.Duration

	// ResponseHeaderTimeout bounds the wait for an attempt's response
	// headers once the attempt starts; an attempt cut by it fails with a
	// [*TimeoutError]. 0 means [DefaultResponseHeaderTimeout]; it has no
	// effect when not shorter than RequestTimeout.
	ResponseHeaderTimeout time.Duration

	// RateLimit, when positive, paces requests client-side to this many per
	// second (a token bucket of size RateBurst). Waiting for the bucket
	// watches the context.
	RateLimit rate.Limit
	// RateBurst is the bucket size for RateLimit; 0 means 1.
	RateBurst int

	// HTTPClient supplies the underlying transport (its Transport field;
	// http.DefaultTransport when nil or when HTTPClient is nil). Its Timeout
	// and Jar are kept; its CheckRedirect is not: redirects are never
	// followed (see [ErrRedirect]), and no request goes to a scheme or host
	// other than the API URL's. A Transport that implements [AttemptTimer]
	// times the per-attempt timeouts itself.
	HTTPClient *http.Client

	// Secrets, when set, is the run's set of secret values (shared with
	// the Migrator, see [phonemigrate.WithSecrets]): the client adds to it
	// every secret it is given or reads (the token, the client secret,
	// access tokens, connection option secrets, Twilio tokens, Action
	// secret values) and redacts everything it holds from its errors. nil
	// gives the client a set of its own.
	Secrets *redact.Set

	// Logger, when set, receives one debug record per attempt: method, path,
	// status, attempt, duration. Never headers or bodies.
	Logger *slog.Logger

	// SDKRetrier hands retries to go-auth0's own retrier (with MaxAttempts
	// attempts) instead of this package's transport, which then makes one
	// attempt per call and passes 429, 408 and 5xx answers up to go-auth0.
	// go-auth0 sleeps with time.Sleep, ignoring the context, at least one
	// second per retry, and never retries a broken connection. It exists so
	// that the two retriers can be measured against each other
	// (internal/reliability benchmarks); do not set it otherwise.
	// RateLimit pacing and RequestTimeout still apply.
	SDKRetrier bool
}

// AttemptTimer is implemented by a Config.HTTPClient Transport that decides
// itself when the per-attempt timeouts (RequestTimeout,
// ResponseHeaderTimeout) of the requests it carries expire, instead of the
// real clock. It exists for tests: a test's transport ends an attempt by
// its timeout at a moment the test controls (for example once a fake server
// holds the request), so that no test depends on how fast the machine is,
// and a request the test does not mean to time out never does.
type AttemptTimer interface {
	// ArmTimeout is called before req (one attempt) is sent, once for each
	// of its timeouts, with that timeout's duration d. Calling expire cuts
	// the attempt as the timeout would (the header timeout does nothing
	// once the headers arrived); expire may be called from any goroutine,
	// and does nothing once the attempt is over. The attempt calls disarm
	// when it ends.
	ArmTimeout(req *http.Request, d time.Duration, expire func()) (disarm func())
}

// ErrInvalidConfig is matched (with errors.Is) by every [*ConfigError].
var ErrInvalidConfig = errors.New("auth0api: invalid config")

// ConfigError reports an invalid [Config] field. It never holds a secret
// value, nor a URL containing user info.
type ConfigError struct {
	Field  string // the Config field, e.g. "BaseURL"
	Reason string // what is wrong with it
}

func (e *ConfigError) Error() string {
	return fmt.Sprintf("auth0api: invalid config: %s: %s", e.Field, e.Reason)
}

// Is reports whether target is [ErrInvalidConfig].
func (e *ConfigError) Is(target error) bool { return target == ErrInvalidConfig }

// credentialMode is the validated credential choice.
type credentialMode int

const (
	modeToken credentialMode = iota + 1
	modeClientCredentials
)

// settings is a validated Config with defaults applied.
type settings struct {
	Config
	base *url.URL
	mode credentialMode
}

// Validate checks c without any network traffic and returns the first
// problem found as a [*ConfigError], or nil.
func (c Config) Validate() error {
	_, err := c.validate()
	return err
}

func (c Config) validate() (*settings, error) {
	s := &settings{Config: c}
	for _, check := range []func(*settings) error{c.validateAddress, c.validateCredentials, validateLimits} {
		if err := check(s); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// validateAddress: a Domain or a BaseURL, one of them; sets s.base.
func (c Config) validateAddress(s *settings) error {
	var err error
	switch {
	case c.Domain != "" && c.BaseURL != "":
		return &ConfigError{Field: "Domain", Reason: "set Domain or BaseURL, not both"}
	case c.Domain == "" && c.BaseURL == "":
		return &ConfigError{Field: "Domain", Reason: "set Domain or BaseURL"}
	case c.Domain != "":
		s.base, err = domainURL(c.Domain)
	default:
		s.base, err = baseURL(c.BaseURL)
	}
	return err
}

// validateCredentials: a Token, or a ClientID and ClientSecret (with an
// optional Audience); sets s.mode.
func (c Config) validateCredentials(s *settings) error {
	hasToken := c.Token != ""
	hasCC := c.ClientID != "" || c.ClientSecret != ""
	switch {
	case hasToken && hasCC:
		return &ConfigError{Field: "Token", Reason: "set Token or ClientID/ClientSecret, not both"}
	case hasToken:
		if strings.ContainsAny(c.Token.Reveal(), " \t\r\n") {
			return &ConfigError{Field: "Token", Reason: "contains white space"}
		}
		s.mode = modeToken
	case hasCC:
		if c.ClientID == "" {
			return &ConfigError{Field: "ClientID", Reason: "required with ClientSecret"}
		}
		if c.ClientSecret == "" {
			return &ConfigError{Field: "ClientSecret", Reason: "required with ClientID"}
		}
		s.mode = modeClientCredentials
	default:
		return &ConfigError{Field: "Token", Reason: "set Token, or ClientID and ClientSecret"}
	}
	if c.Audience != "" && s.mode != modeClientCredentials {
		return &ConfigError{Field: "Audience", Reason: "only used with ClientID/ClientSecret"}
	}
	return nil
}

// validateLimits checks the attempts, waits, timeouts and rate limit,
// and fills in the defaults of those left zero.
func validateLimits(s *settings) error {
	c := s.Config
	switch {
	case c.MaxAttempts < 0 || c.MaxAttempts > maxMaxAttempts:
		return &ConfigError{Field: "MaxAttempts", Reason: fmt.Sprintf("must be between 0 and %d", maxMaxAttempts)}
	case c.MaxAttempts == 0:
		s.MaxAttempts = DefaultMaxAttempts
	}
	for _, d := range []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{
		{"MinBackoff", &s.MinBackoff, DefaultMinBackoff},
		{"MaxBackoff", &s.MaxBackoff, DefaultMaxBackoff},
		{"MaxRetryWait", &s.MaxRetryWait, DefaultMaxRetryWait},
		{"RequestTimeout", &s.RequestTimeout, DefaultRequestTimeout},
		{"ResponseHeaderTimeout", &s.ResponseHeaderTimeout, DefaultResponseHeaderTimeout},
	} {
		if *d.v < 0 {
			return &ConfigError{Field: d.name, Reason: "must not be negative"}
		}
		if *d.v == 0 {
			*d.v = d.def
		}
	}
	if s.MinBackoff > s.MaxBackoff {
		return &ConfigError{Field: "MinBackoff", Reason: "greater than MaxBackoff"}
	}
	if c.RateLimit < 0 {
		return &ConfigError{Field: "RateLimit", Reason: "must not be negative"}
	}
	if c.RateBurst < 0 {
		return &ConfigError{Field: "RateBurst", Reason: "must not be negative"}
	}
	if c.RateBurst > 0 && c.RateLimit == 0 {
		return &ConfigError{Field: "RateBurst", Reason: "set without RateLimit"}
	}
	if s.RateBurst == 0 {
		s.RateBurst = 1
	}
	return nil
}

// domainURL turns a bare domain into https://domain/api/v2.
func domainURL(domain string) (*url.URL, error) {
	if strings.Contains(domain, "://") {
		return nil, &ConfigError{Field: "Domain", Reason: "must be a host name without scheme (use BaseURL for a full URL)"}
	}
	if strings.ContainsAny(domain, "/?#@ \t\r\n") {
		return nil, &ConfigError{Field: "Domain", Reason: "must be a host name, optionally with :port, nothing else"}
	}
	u, err := url.Parse("https://" + domain)
	if err != nil || u.Host != domain || u.Hostname() == "" {
		return nil, &ConfigError{Field: "Domain", Reason: "not a valid host name"}
	}
	u.Path = "/api/v2"
	return u, nil
}

// baseURL validates a full Management API URL.
func baseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		// url.Parse errors quote the input, which could hold user info.
		return nil, &ConfigError{Field: "BaseURL", Reason: "not a valid URL"}
	}
	if u.User != nil {
		return nil, &ConfigError{Field: "BaseURL", Reason: "must not contain user info (credentials go in Token or ClientSecret)"}
	}
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return nil, &ConfigError{Field: "BaseURL", Reason: "must not contain a query or fragment"}
	}
	if u.Hostname() == "" {
		return nil, &ConfigError{Field: "BaseURL", Reason: "has no host"}
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !loopback.Host(u.Hostname()) {
			return nil, &ConfigError{Field: "BaseURL", Reason: fmt.Sprintf("plain http is only allowed to loopback hosts, not %q; use https", u.Hostname())}
		}
	default:
		return nil, &ConfigError{Field: "BaseURL", Reason: "scheme must be https (or http for a loopback host)"}
	}
	u.Path = strings.TrimRight(u.Path, "/")
	if u.Path == "" {
		u.Path = "/api/v2"
	}
	u.RawPath = ""
	return u, nil
}

// Client implements [phonemigrate.Client] over go-auth0 v3. Create it with
// [New]; it is safe for concurrent use.
type Client struct {
	m       *client.Management
	base    *url.URL
	mode    credentialMode
	secrets *redact.Set  // every secret sent or read, redacted from errors
	hc      *http.Client // the SDK's HTTP client, for checkpoint log paging
	self    string       // the application the Client calls as, when known
}

var _ phonemigrate.Client = (*Client)(nil)

// New validates cfg and returns a Client for the Management API it names.
// Validation happens before any network traffic; an invalid cfg gives a
// [*ConfigError].
//
// With ClientID and ClientSecret, New obtains an access token at once,
// within ctx, and returns a [*TokenError] when the token endpoint refuses
// the credentials or cannot be reached, so that a wrong secret fails here
// rather than as 401s later. With a static Token, New makes no request.
//
// ctx is used only for that first token request; later requests use their
// own contexts.
func New(ctx context.Context, cfg Config) (*Client, error) {
	s, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	var base http.RoundTripper = http.DefaultTransport
	hc := http.Client{}
	if cfg.HTTPClient != nil {
		hc = *cfg.HTTPClient
		if hc.Transport != nil {
			base = hc.Transport
		}
	}
	// Response headers are capped (64 KiB; Go's default accepts 10 MiB).
	base = safehttp.Capped(base)
	// Redirects are never followed (the transport answers them with
	// ErrRedirect before the client could): this only keeps a caller's
	// CheckRedirect from being consulted.
	hc.CheckRedirect = refuseRedirect
	secrets := cfg.Secrets
	if secrets == nil {
		secrets = redact.NewSet()
	}
	secrets.AddSecret(s.Token, s.ClientSecret)
	t := newTransport(base, s)
	if s.SDKRetrier {
		t.maxAttempts, t.passRetryable = 1, true
	}
	if s.mode == modeToken {
		t.auth = staticToken(s.Token)
	} else {
		tokenHTTP := hc
		// The token request is safe to replay: a second token is harmless.
		tokenHTTP.Transport = newTransport(base, s).replayAll()
		cc := newClientCredentials(s, &tokenHTTP)
		cc.secrets = secrets
		if _, err := cc.token(ctx); err != nil {
			return nil, err
		}
		t.auth = cc
	}
	hc.Transport = t
	m := client.NewWithOptions(
		option.WithBaseURL(s.base.String()),
		option.WithHTTPClient(&hc),
		sdkRetries(s),
	)
	return &Client{m: m, base: s.base, mode: s.mode, secrets: secrets, hc: &hc, self: ownClientID(cfg)}, nil
}

func refuseRedirect(*http.Request, []*http.Request) error { return ErrRedirect }

// sdkRetries is the go-auth0 retry option: the transport handles every
// retryable status itself, so the SDK is kept to a single attempt should
// one ever reach it, unless Config.SDKRetrier hands retries to it.
//
// It is WithMaxAttempts(1), not WithoutRetries(): go-auth0 v3.0.0 ignores
// WithoutRetries given to the client (NewRetrier drops the flag; only a
// per-call WithoutRetries reaches Retrier.Run), so a client built with it
// still makes 2 attempts and sleeps ~3 s on a 429 (BenchmarkSDKSleepOn429).
func sdkRetries(s *settings) option.RequestOption {
	if s.SDKRetrier {
		return option.WithMaxAttempts(uint(s.MaxAttempts))
	}
	return option.WithMaxAttempts(1)
}

// String describes the client without secrets, e.g.
// "auth0api.Client{https://acme.eu.auth0.com/api/v2, token}".
func (c *Client) String() string {
	mode := "token"
	if c.mode == modeClientCredentials {
		mode = "client-credentials"
	}
	return fmt.Sprintf("auth0api.Client{%s, %s}", c.base, mode)
}
