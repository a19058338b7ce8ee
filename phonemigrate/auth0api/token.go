package auth0api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/unifiedphone/unifiedphone/phonemigrate"
	"github.com/unifiedphone/unifiedphone/phonemigrate/redact"
)

// TokenError reports a failed client-credentials token request. It holds
// the OAuth error fields of the token endpoint's answer, never its raw body
// or the client secret.
//
// It matches [phonemigrate.ErrUnauthorized] with errors.Is when the endpoint
// answered 401 or 403 (wrong client id or secret, or the client is not
// authorized for the Management API audience), and unwraps to the transport
// or context error when there was no answer.
type TokenError struct {
	StatusCode  int    // HTTP status of the token endpoint; 0 without an answer
	ErrorCode   string // OAuth "error", e.g. "access_denied"
	Description string // OAuth "error_description"
	Err         error  // the transport or context error, when StatusCode is 0
}

func (e *TokenError) Error() string {
	if e.StatusCode == 0 {
		return fmt.Sprintf("auth0api: client-credentials token: %v", e.Err)
	}
	s := fmt.Sprintf("auth0api: client-credentials token: status %d", e.StatusCode)
	if e.ErrorCode != "" {
		s += " " + e.ErrorCode
	}
	if e.Description != "" {
		s += ": " + e.Description
	}
	return s
}

// Unwrap returns the transport or context error, if any.
func (e *TokenError) Unwrap() error { return e.Err }

// Is matches [phonemigrate.ErrUnauthorized] for 401 and 403 answers.
func (e *TokenError) Is(target error) bool {
	return target == phonemigrate.ErrUnauthorized && (e.StatusCode == http.StatusUnauthorized || e.StatusCode == http.StatusForbidden)
}

// clientCredentials caches a client-credentials token and fetches a new one,
// within the requesting context, when it is missing or about to expire.
//
// go-auth0's option.WithClientCredentials is not used: its token source
// fetches with the context given at construction (not the request's), and
// go-auth0 drops token errors silently, sending the request without an
// Authorization header so the failure surfaces as an unexplained 401.
type clientCredentials struct {
	cfg  clientcredentials.Config
	http *http.Client
	sem  chan struct{} // one fetch at a time; waiting watches the context
	tok  *oauth2.Token
	// secrets receives each access token and redacts token errors (nil in
	// tests that build a clientCredentials by hand).
	secrets *redact.Set
}

func newClientCredentials(s *settings, hc *http.Client) *clientCredentials {
	root := s.base.Scheme + "://" + s.base.Host
	audience := s.Audience
	if audience == "" {
		audience = root + "/api/v2/"
	}
	return &clientCredentials{
		cfg: clientcredentials.Config{
			ClientID:       s.ClientID,
			ClientSecret:   s.ClientSecret.Reveal(),
			TokenURL:       root + "/oauth/token",
			EndpointParams: url.Values{"audience": {audience}},
			AuthStyle:      oauth2.AuthStyleInParams,
		},
		http: hc,
		sem:  make(chan struct{}, 1),
	}
}

func (c *clientCredentials) authorization(ctx context.Context) (string, error) {
	tok, err := c.token(ctx)
	if err != nil {
		return "", err
	}
	return "Bearer " + tok.AccessToken, nil
}

func (c *clientCredentials) token(ctx context.Context) (*oauth2.Token, error) {
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, &TokenError{Err: ctx.Err()}
	}
	defer func() { <-c.sem }()
	if c.tok.Valid() {
		return c.tok, nil
	}
	tok, err := c.cfg.Token(context.WithValue(ctx, oauth2.HTTPClient, c.http))
	if err != nil {
		te := tokenError(ctx, err)
		secrets := append(c.secrets.Values(), c.cfg.ClientSecret)
		te.ErrorCode = serverText(te.ErrorCode, maxMessage, secrets)
		te.Description = serverText(te.Description, maxDescription, secrets)
		if te.Err != nil {
			te.Err = redact.Error(te.Err, secrets...)
		}
		return nil, te
	}
	if c.secrets != nil {
		c.secrets.Add(tok.AccessToken, tok.RefreshToken)
	}
	c.tok = tok
	return tok, nil
}

// tokenError converts an oauth2 error without keeping its text, which for a
// *oauth2.RetrieveError includes the response body.
func tokenError(ctx context.Context, err error) *TokenError {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		te := &TokenError{ErrorCode: re.ErrorCode, Description: re.ErrorDescription}
		if re.Response != nil {
			te.StatusCode = re.Response.StatusCode
		}
		return te
	}
	var se *statusError
	if errors.As(err, &se) {
		return &TokenError{StatusCode: se.StatusCode, ErrorCode: se.ErrorCode, Description: se.Message}
	}
	if ctx.Err() != nil {
		return &TokenError{Err: ctx.Err()}
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return &TokenError{Err: ue.Err}
	}
	return &TokenError{Err: err}
}
