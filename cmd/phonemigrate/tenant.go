package main

import (
	"flag"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/unifiedphone/unifiedphone/internal/loopback"
	"github.com/unifiedphone/unifiedphone/phonemigrate"
	"github.com/unifiedphone/unifiedphone/phonemigrate/auth0api"
	"github.com/unifiedphone/unifiedphone/phonemigrate/fleet"
	"github.com/unifiedphone/unifiedphone/phonemigrate/redact"
)

// Environment variables the CLI reads. Secrets are read only from the
// environment (or a terminal prompt), never from flags.
const (
	envDomain       = "AUTH0_DOMAIN"
	envToken        = "AUTH0_TOKEN"
	envClientID     = "AUTH0_CLIENT_ID"
	envClientSecret = "AUTH0_CLIENT_SECRET"
	envBaseURL      = "PHONEMIGRATE_BASE_URL"
	envTwilioToken  = "TWILIO_AUTH_TOKEN"
	envTwilioAPIURL = "PHONEMIGRATE_TWILIO_API_URL"
	envWatch        = "PHONEMIGRATE_WATCH" // apply's --watch default
)

// tenantFlags are the flags that name the tenant and bound each request.
type tenantFlags struct {
	baseURL        string
	name           string
	requestTimeout time.Duration
	headerTimeout  time.Duration
}

func (t *tenantFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&t.baseURL, "base-url", "", "Management API base `URL`, e.g. http://127.0.0.1:8080/api/v2 (overrides "+envBaseURL+" and "+envDomain+")")
	fs.StringVar(&t.name, "tenant-name", "", "the tenant's `NAME` in its checkpoint: a fleet file's name, to check, repair or roll back one tenant of a fleet (default the domain, or the base URL's host)")
	fs.DurationVar(&t.requestTimeout, "request-timeout", auth0api.DefaultRequestTimeout, "longest `TIME` one attempt of a request may take, answer included")
	fs.DurationVar(&t.headerTimeout, "header-timeout", auth0api.DefaultResponseHeaderTimeout, "longest `TIME` to wait for the response headers of one attempt")
}

// resolve is resolveTenant with the flags' base URL and timeouts.
func (t *tenantFlags) resolve(getenv func(string) string) (tenantConfig, error) {
	if t.requestTimeout <= 0 || t.headerTimeout <= 0 {
		return tenantConfig{}, usageErrorf("--request-timeout and --header-timeout must be positive durations such as 25s")
	}
	if t.name != "" && !fleet.ValidName(t.name) {
		return tenantConfig{}, usageErrorf("--tenant-name must be letters, digits, '.', '-' or '_' (at most 100), as a fleet file's names are")
	}
	tc, err := resolveTenant(t.baseURL, getenv)
	tc.RequestTimeout, tc.HeaderTimeout, tc.NameOverride = t.requestTimeout, t.headerTimeout, t.name
	return tc, err
}

// tenantConfig is a resolved tenant: where the Management API is and how to
// authenticate. Exactly one of Domain and BaseURL is set; either Token or
// ClientID+ClientSecret is set.
type tenantConfig struct {
	Domain       string
	BaseURL      string
	Token        phonemigrate.Secret
	ClientID     string
	ClientSecret phonemigrate.Secret
	// RequestTimeout and HeaderTimeout bound each attempt (0: the
	// auth0api defaults).
	RequestTimeout, HeaderTimeout time.Duration
	// NameOverride is --tenant-name ("": the name derives from the
	// domain or base URL).
	NameOverride string
}

// Name is the tenant as people read it and its checkpoint records it:
// --tenant-name, else the domain, else the base URL's host[:port].
func (t tenantConfig) Name() string {
	if t.NameOverride != "" {
		return t.NameOverride
	}
	if t.Domain != "" {
		return t.Domain
	}
	u, err := url.Parse(t.BaseURL)
	if err != nil || u.Host == "" {
		return t.BaseURL
	}
	return u.Host
}

// defaultCheckpoint is the checkpoint file used without --checkpoint:
// ./phonemigrate-<tenant>.checkpoint.json, with every character other than
// letters, digits, '.', '-' and '_' in the tenant name replaced by '_'
// (so "127.0.0.1:8080" gives phonemigrate-127.0.0.1_8080.checkpoint.json).
func (t tenantConfig) defaultCheckpoint() string {
	name := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-', r == '_':
			return r
		}
		return '_'
	}, t.Name())
	return filepath.Join(".", "phonemigrate-"+name+".checkpoint.json")
}

// resolveTenant works out the tenant from --base-url and the environment.
//
// The --base-url flag wins over everything. Without it, setting both
// PHONEMIGRATE_BASE_URL and AUTH0_DOMAIN is refused as ambiguous.
// Credentials: AUTH0_TOKEN, else AUTH0_CLIENT_ID with AUTH0_CLIENT_SECRET;
// when AUTH0_TOKEN is set the client credentials are ignored.
func resolveTenant(flagBaseURL string, getenv func(string) string) (tenantConfig, error) {
	var t tenantConfig
	baseURL := strings.TrimSpace(flagBaseURL)
	domain := strings.TrimSpace(getenv(envDomain))
	if baseURL == "" {
		baseURL = strings.TrimSpace(getenv(envBaseURL))
		if baseURL != "" && domain != "" {
			return t, usageErrorf("both %s and %s are set; unset one, or pass --base-url to choose", envBaseURL, envDomain)
		}
	}
	switch {
	case baseURL != "":
		if err := checkBaseURL(baseURL); err != nil {
			return t, err
		}
		t.BaseURL = strings.TrimRight(baseURL, "/")
	case domain != "":
		if err := checkDomain(domain); err != nil {
			return t, err
		}
		t.Domain = domain
	default:
		return t, usageErrorf("no tenant given; set %s (with %s, or %s and %s), or pass --base-url", envDomain, envToken, envClientID, envClientSecret)
	}
	if tok := getenv(envToken); tok != "" {
		t.Token = phonemigrate.Secret(tok)
		return t, nil
	}
	id, secret := getenv(envClientID), getenv(envClientSecret)
	switch {
	case id != "" && secret != "":
		t.ClientID, t.ClientSecret = id, phonemigrate.Secret(secret)
		return t, nil
	case id != "" || secret != "":
		return t, usageErrorf("%s and %s must be set together", envClientID, envClientSecret)
	}
	return t, usageErrorf("no credentials; set %s, or %s and %s", envToken, envClientID, envClientSecret)
}

// checkBaseURL accepts https URLs, and http URLs only to loopback hosts
// (localhost, 127.0.0.0/8, ::1).
func checkBaseURL(raw string) error {
	return checkURL("--base-url", raw)
}

// checkURL is checkBaseURL for the flag named name.
func checkURL(name, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return usageErrorf("%s %q is not an http(s) URL with a host", name, redactURL(raw))
	}
	if u.User != nil {
		return usageErrorf("%s must not hold credentials", name)
	}
	if u.Scheme == "http" && !loopback.Host(u.Hostname()) {
		return usageErrorf("plain http is allowed only to loopback hosts, not %q; use https", u.Hostname())
	}
	return nil
}

// redactURL keeps a URL's credentials out of messages.
func redactURL(raw string) string { return redact.URL(raw) }

// checkDomain accepts a bare host name such as "acme.eu.auth0.com".
func checkDomain(d string) error {
	if strings.Contains(d, "://") || strings.ContainsAny(d, "/ @?#") {
		return usageErrorf("%s must be a host name such as acme.eu.auth0.com, not a URL", envDomain)
	}
	return nil
}
