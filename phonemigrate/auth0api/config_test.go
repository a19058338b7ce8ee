package auth0api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/unifiedphone/unifiedphone/phonemigrate"
)

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	const secret = "cs-SECRET-123"
	ok := func(c Config) Config {
		if c.Domain == "" && c.BaseURL == "" {
			c.Domain = "acme.eu.auth0.com"
		}
		if c.Token == "" && c.ClientID == "" && c.ClientSecret == "" {
			c.Token = "tok"
		}
		return c
	}
	for _, tc := range []struct {
		name      string
		cfg       Config
		wantField string // "" = valid
		wantURL   string // base URL when valid
	}{
		{name: "domain+token", cfg: ok(Config{}), wantURL: "https://acme.eu.auth0.com/api/v2"},
		{name: "domain with port", cfg: ok(Config{Domain: "acme.test:8443"}), wantURL: "https://acme.test:8443/api/v2"},
		{name: "domain+client credentials", cfg: Config{Domain: "acme.auth0.com", ClientID: "id", ClientSecret: secret}, wantURL: "https://acme.auth0.com/api/v2"},
		{name: "https base URL", cfg: ok(Config{BaseURL: "https://acme.auth0.com/api/v2/"}), wantURL: "https://acme.auth0.com/api/v2"},
		{name: "https base URL without path", cfg: ok(Config{BaseURL: "https://acme.auth0.com"}), wantURL: "https://acme.auth0.com/api/v2"},
		{name: "http 127.0.0.1", cfg: ok(Config{BaseURL: "http://127.0.0.1:8080/api/v2"}), wantURL: "http://127.0.0.1:8080/api/v2"},
		{name: "http 127.9.8.7", cfg: ok(Config{BaseURL: "http://127.9.8.7/api/v2"}), wantURL: "http://127.9.8.7/api/v2"},
		{name: "http [::1]", cfg: ok(Config{BaseURL: "http://[::1]:9/api/v2"}), wantURL: "http://[::1]:9/api/v2"},
		{name: "http localhost", cfg: ok(Config{BaseURL: "http://LocalHost:9/api/v2"}), wantURL: "http://LocalHost:9/api/v2"},
		{name: "http non-loopback", cfg: ok(Config{BaseURL: "http://10.0.0.1/api/v2"}), wantField: "BaseURL"},
		{name: "http public host", cfg: ok(Config{BaseURL: "http://acme.auth0.com/api/v2"}), wantField: "BaseURL"},
		{name: "http localhost lookalike", cfg: ok(Config{BaseURL: "http://localhost.evil.com/api/v2"}), wantField: "BaseURL"},
		{name: "http 128.0.0.1", cfg: ok(Config{BaseURL: "http://128.0.0.1/api/v2"}), wantField: "BaseURL"},
		{name: "ftp scheme", cfg: ok(Config{BaseURL: "ftp://127.0.0.1/api/v2"}), wantField: "BaseURL"},
		{name: "no scheme", cfg: ok(Config{BaseURL: "acme.auth0.com/api/v2"}), wantField: "BaseURL"},
		{name: "user info", cfg: ok(Config{BaseURL: "https://user:" + secret + "@acme.auth0.com/api/v2"}), wantField: "BaseURL"},
		{name: "query", cfg: ok(Config{BaseURL: "https://acme.auth0.com/api/v2?x=1"}), wantField: "BaseURL"},
		{name: "bad URL", cfg: ok(Config{BaseURL: "https://%zz" + secret}), wantField: "BaseURL"},
		{name: "domain and base URL", cfg: ok(Config{Domain: "a.auth0.com", BaseURL: "https://a.auth0.com"}), wantField: "Domain"},
		{name: "neither domain nor base URL", cfg: Config{Token: "tok"}, wantField: "Domain"},
		{name: "domain with scheme", cfg: ok(Config{Domain: "https://acme.auth0.com"}), wantField: "Domain"},
		{name: "domain with path", cfg: ok(Config{Domain: "acme.auth0.com/api/v2"}), wantField: "Domain"},
		{name: "domain with user info", cfg: ok(Config{Domain: "u:" + secret + "@acme.auth0.com"}), wantField: "Domain"},
		{name: "no credential", cfg: Config{Domain: "acme.auth0.com"}, wantField: "Token"},
		{name: "token and client credentials", cfg: Config{Domain: "acme.auth0.com", Token: "tok", ClientID: "id", ClientSecret: secret}, wantField: "Token"},
		{name: "client id only", cfg: Config{Domain: "acme.auth0.com", ClientID: "id"}, wantField: "ClientSecret"},
		{name: "client secret only", cfg: Config{Domain: "acme.auth0.com", ClientSecret: secret}, wantField: "ClientID"},
		{name: "token with newline", cfg: Config{Domain: "acme.auth0.com", Token: "tok\nX-Evil: 1"}, wantField: "Token"},
		{name: "audience with token", cfg: ok(Config{Audience: "https://x/api/v2/"}), wantField: "Audience"},
		{name: "negative attempts", cfg: ok(Config{MaxAttempts: -1}), wantField: "MaxAttempts"},
		{name: "too many attempts", cfg: ok(Config{MaxAttempts: 21}), wantField: "MaxAttempts"},
		{name: "negative backoff", cfg: ok(Config{MinBackoff: -time.Second}), wantField: "MinBackoff"},
		{name: "min above max backoff", cfg: ok(Config{MinBackoff: 2 * time.Second, MaxBackoff: time.Second}), wantField: "MinBackoff"},
		{name: "negative timeout", cfg: ok(Config{RequestTimeout: -1}), wantField: "RequestTimeout"},
		{name: "negative retry wait", cfg: ok(Config{MaxRetryWait: -1}), wantField: "MaxRetryWait"},
		{name: "negative rate", cfg: ok(Config{RateLimit: -1}), wantField: "RateLimit"},
		{name: "burst without rate", cfg: ok(Config{RateBurst: 3}), wantField: "RateBurst"},
		{name: "rate with burst", cfg: ok(Config{RateLimit: 5, RateBurst: 3}), wantURL: "https://acme.eu.auth0.com/api/v2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := tc.cfg.validate()
			if tc.wantField == "" {
				if err != nil {
					t.Fatalf("validate: %v", err)
				}
				if got := s.base.String(); got != tc.wantURL {
					t.Errorf("base URL = %q, want %q", got, tc.wantURL)
				}
				return
			}
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("error = %v, want a *ConfigError", err)
			}
			if ce.Field != tc.wantField {
				t.Errorf("Field = %q, want %q (%v)", ce.Field, tc.wantField, err)
			}
			if !errors.Is(err, ErrInvalidConfig) {
				t.Error("errors.Is(err, ErrInvalidConfig) = false")
			}
			if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "X-Evil") {
				t.Errorf("error %q holds a secret", err)
			}
			if err2 := tc.cfg.Validate(); err2 == nil || err2.Error() != err.Error() {
				t.Errorf("Validate() = %v, want %v", err2, err)
			}
		})
	}
}

// TestConfigDefaults checks the zero fields get the documented defaults.
func TestConfigDefaults(t *testing.T) {
	t.Parallel()
	s, err := Config{Domain: "a.auth0.com", Token: "t"}.validate()
	if err != nil {
		t.Fatal(err)
	}
	got := []any{s.MaxAttempts, s.MinBackoff, s.MaxBackoff, s.MaxRetryWait, s.RequestTimeout, s.ResponseHeaderTimeout, s.RateBurst}
	want := []any{DefaultMaxAttempts, DefaultMinBackoff, DefaultMaxBackoff, DefaultMaxRetryWait, DefaultRequestTimeout, DefaultResponseHeaderTimeout, 1}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
}

// TestNewInvalidMakesNoRequest: an invalid Config is refused before any
// network traffic, even in client-credentials mode.
func TestNewInvalidMakesNoRequest(t *testing.T) {
	t.Parallel()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { n.Add(1) }))
	defer srv.Close()
	_, err := New(t.Context(), Config{BaseURL: srv.URL, ClientID: "id", ClientSecret: "s", MaxAttempts: 99})
	if !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("New error = %v, want ErrInvalidConfig", err)
	}
	if n.Load() != 0 {
		t.Errorf("%d requests before validation failed", n.Load())
	}
}

// TestSecretsNotPrinted: neither Config nor Client print their secrets.
func TestSecretsNotPrinted(t *testing.T) {
	t.Parallel()
	cfg := Config{Domain: "acme.auth0.com", ClientID: "id", ClientSecret: "cs-SECRET", Token: "tok-SECRET"}
	for _, s := range []string{fmt.Sprint(cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg)} {
		if strings.Contains(s, "SECRET") {
			t.Errorf("Config prints a secret: %s", s)
		}
	}
	c, err := New(t.Context(), Config{Domain: "acme.auth0.com", Token: "tok-SECRET"})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.String(), "auth0api.Client{https://acme.auth0.com/api/v2, token}"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if s := fmt.Sprintf("%v %+v", c, c); strings.Contains(s, "SECRET") {
		t.Errorf("Client prints a secret: %s", s)
	}
}

// tokenServer serves /oauth/token and /api/v2/tenants/settings, checking the
// bearer token; answers are chosen by fn.
func tokenServer(t *testing.T, fn func(n int, w http.ResponseWriter, r *http.Request)) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("POST /oauth/token", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fn(int(n.Add(1)), w, r)
	})
	mux.HandleFunc("GET /api/v2/tenants/settings", func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer cc-") {
			w.WriteHeader(401)
			io.WriteString(w, `{"statusCode":401,"message":"Missing authentication"}`)
			return
		}
		io.WriteString(w, `{"phone_consolidated_experience":false}`)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, &n
}

func TestClientCredentials(t *testing.T) {
	t.Parallel()
	const secret = "cs-SECRET-42"
	t.Run("token fetched once and used", func(t *testing.T) {
		var form []string
		srv, n := tokenServer(t, func(i int, w http.ResponseWriter, r *http.Request) {
			r.ParseForm()
			form = []string{r.PostForm.Get("grant_type"), r.PostForm.Get("client_id"), r.PostForm.Get("client_secret"), r.PostForm.Get("audience")}
			fmt.Fprintf(w, `{"access_token":"cc-%d","token_type":"Bearer","expires_in":86400}`, i)
		})
		c, err := New(t.Context(), Config{BaseURL: srv.URL + "/api/v2", ClientID: "cid", ClientSecret: secret})
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		if n.Load() != 1 {
			t.Errorf("New made %d token requests, want 1 (eager)", n.Load())
		}
		want := []string{"client_credentials", "cid", secret, srv.URL + "/api/v2/"}
		if diff := cmp.Diff(want, form); diff != "" {
			t.Errorf("token request form (-want +got):\n%s", diff)
		}
		for range 2 {
			if _, err := c.TenantSettings(t.Context()); err != nil {
				t.Fatalf("TenantSettings: %v", err)
			}
		}
		if n.Load() != 1 {
			t.Errorf("%d token requests, want 1 (cached)", n.Load())
		}
	})
	t.Run("custom audience", func(t *testing.T) {
		var aud string
		srv, _ := tokenServer(t, func(i int, w http.ResponseWriter, r *http.Request) {
			r.ParseForm()
			aud = r.PostForm.Get("audience")
			io.WriteString(w, `{"access_token":"cc-1","token_type":"Bearer","expires_in":86400}`)
		})
		if _, err := New(t.Context(), Config{BaseURL: srv.URL, ClientID: "cid", ClientSecret: secret, Audience: "https://acme.auth0.com/api/v2/"}); err != nil {
			t.Fatal(err)
		}
		if aud != "https://acme.auth0.com/api/v2/" {
			t.Errorf("audience = %q", aud)
		}
	})
	t.Run("expired token refreshed", func(t *testing.T) {
		srv, n := tokenServer(t, func(i int, w http.ResponseWriter, r *http.Request) {
			// oauth2 treats a token as expired 10 s early.
			fmt.Fprintf(w, `{"access_token":"cc-%d","token_type":"Bearer","expires_in":5}`, i)
		})
		c, err := New(t.Context(), Config{BaseURL: srv.URL, ClientID: "cid", ClientSecret: secret})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.TenantSettings(t.Context()); err != nil {
			t.Fatal(err)
		}
		if n.Load() != 2 {
			t.Errorf("%d token requests, want 2", n.Load())
		}
	})
	t.Run("refused", func(t *testing.T) {
		srv, _ := tokenServer(t, func(i int, w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(401)
			io.WriteString(w, `{"error":"access_denied","error_description":"Unauthorized","echo":"`+secret+`"}`)
		})
		_, err := New(t.Context(), Config{BaseURL: srv.URL, ClientID: "cid", ClientSecret: secret})
		var te *TokenError
		if !errors.As(err, &te) {
			t.Fatalf("error = %v, want *TokenError", err)
		}
		if diff := cmp.Diff(&TokenError{StatusCode: 401, ErrorCode: "access_denied", Description: "Unauthorized"}, te); diff != "" {
			t.Errorf("TokenError (-want +got):\n%s", diff)
		}
		if !errors.Is(err, phonemigrate.ErrUnauthorized) {
			t.Error("errors.Is(err, ErrUnauthorized) = false")
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error %q holds the secret", err)
		}
	})
	t.Run("503 retried", func(t *testing.T) {
		srv, n := tokenServer(t, func(i int, w http.ResponseWriter, r *http.Request) {
			if i == 1 {
				w.WriteHeader(503)
				return
			}
			io.WriteString(w, `{"access_token":"cc-2","token_type":"Bearer","expires_in":86400}`)
		})
		if _, err := New(t.Context(), Config{BaseURL: srv.URL, ClientID: "cid", ClientSecret: secret, MinBackoff: time.Millisecond, MaxBackoff: time.Millisecond}); err != nil {
			t.Fatalf("New: %v", err)
		}
		if n.Load() != 2 {
			t.Errorf("%d token requests, want 2", n.Load())
		}
	})
	t.Run("429 exhausted", func(t *testing.T) {
		srv, _ := tokenServer(t, func(i int, w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(429)
			io.WriteString(w, `{"error":"too_many_requests","error_description":"slow down"}`)
		})
		_, err := New(t.Context(), Config{BaseURL: srv.URL, ClientID: "cid", ClientSecret: secret, MaxAttempts: 2})
		var te *TokenError
		if !errors.As(err, &te) || te.StatusCode != 429 {
			t.Fatalf("error = %#v, want a 429 *TokenError", err)
		}
	})
	t.Run("unreachable", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		_, err = New(t.Context(), Config{BaseURL: "http://" + addr, ClientID: "cid", ClientSecret: secret, MaxAttempts: 2, MinBackoff: time.Millisecond, MaxBackoff: time.Millisecond})
		var te *TokenError
		var oe *net.OpError
		if !errors.As(err, &te) || te.StatusCode != 0 || !errors.As(err, &oe) {
			t.Fatalf("error = %v, want a *TokenError wrapping a *net.OpError", err)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		srv, _ := tokenServer(t, func(i int, w http.ResponseWriter, r *http.Request) {})
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		_, err := New(ctx, Config{BaseURL: srv.URL, ClientID: "cid", ClientSecret: secret})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("error = %v, want context.Canceled", err)
		}
	})
}
