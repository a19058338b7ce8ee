package auth0api_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"time"

	"golang.org/x/time/rate"

	"github.com/unifiedphone/unifiedphone/phonemigrate"
	"github.com/unifiedphone/unifiedphone/phonemigrate/auth0api"
	"github.com/unifiedphone/unifiedphone/phonemigrate/phonemigratetest"
)

// A Client for a fake tenant, addressed by its full base URL (plain http is
// accepted because the host is loopback) with a static token.
func ExampleNew() {
	srv := phonemigratetest.NewServer(phonemigratetest.LegacyGateway)
	defer srv.Close()

	ctx := context.Background()
	c, err := auth0api.New(ctx, auth0api.Config{
		BaseURL: srv.BaseURL, // http://127.0.0.1:PORT/api/v2
		Token:   phonemigrate.Secret(srv.Token),
	})
	if err != nil {
		log.Fatal(err)
	}
	conns, err := c.ListSMSConnections(ctx)
	if err != nil {
		log.Fatal(err)
	}
	for _, cn := range conns {
		fmt.Println(cn.ID, cn.Name, cn.Options["provider"])
	}
	// Output: con_Gw7tQ2mN8xLp4RvZ sms sms_gateway
}

// Client credentials: New fetches a token from the tenant's /oauth/token at
// once, so wrong credentials fail here with a *TokenError.
func ExampleNew_clientCredentials() {
	srv := phonemigratetest.NewServer(phonemigratetest.Unified)
	defer srv.Close()

	ctx := context.Background()
	c, err := auth0api.New(ctx, auth0api.Config{
		BaseURL:      srv.BaseURL,
		ClientID:     srv.ClientID,
		ClientSecret: phonemigrate.Secret(srv.ClientSecret),
	})
	if err != nil {
		log.Fatal(err)
	}
	s, err := c.TenantSettings(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("unified:", *s.PhoneConsolidatedExperience)

	_, err = auth0api.New(ctx, auth0api.Config{BaseURL: srv.BaseURL, ClientID: srv.ClientID, ClientSecret: "wrong"})
	fmt.Println(err)
	fmt.Println(errors.Is(err, phonemigrate.ErrUnauthorized))
	// Output:
	// unified: true
	// auth0api: client-credentials token: status 401 access_denied: Unauthorized
	// true
}

// A real tenant: the domain (always https) and a token from the
// environment, with client-side pacing below Auth0's rate limit, a bound on
// each attempt and debug logging. This example needs a network, so it is
// only compiled.
func ExampleNew_domain() {
	ctx := context.Background()
	c, err := auth0api.New(ctx, auth0api.Config{
		Domain:         "acme.eu.auth0.com",
		Token:          phonemigrate.Secret(os.Getenv("AUTH0_TOKEN")),
		RateLimit:      rate.Limit(5), // requests per second
		RateBurst:      5,
		RequestTimeout: 20 * time.Second,
		MaxAttempts:    5,
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(c) // auth0api.Client{https://acme.eu.auth0.com/api/v2, token}
}

// Invalid configurations are refused before any network traffic, with a
// *ConfigError naming the field.
func ExampleConfig_Validate() {
	for _, cfg := range []auth0api.Config{
		{BaseURL: "http://acme.eu.auth0.com/api/v2", Token: "t"},
		{Domain: "acme.eu.auth0.com", Token: "t", ClientID: "id", ClientSecret: "s"},
		{Domain: "acme.eu.auth0.com", ClientID: "id"},
		{BaseURL: "http://[::1]:8787/api/v2", Token: "t"},
	} {
		err := cfg.Validate()
		var ce *auth0api.ConfigError
		if errors.As(err, &ce) {
			fmt.Printf("%s: %s\n", ce.Field, ce.Reason)
			continue
		}
		fmt.Println("ok")
	}
	// Output:
	// BaseURL: plain http is only allowed to loopback hosts, not "acme.eu.auth0.com"; use https
	// Token: set Token or ClientID/ClientSecret, not both
	// ClientSecret: required with ClientID
	// ok
}

// Errors from Auth0 are *phonemigrate.APIError values that match the
// phonemigrate sentinels.
func ExampleClient_errors() {
	srv := phonemigratetest.NewServer(phonemigratetest.Unified)
	defer srv.Close()
	ctx := context.Background()
	c, err := auth0api.New(ctx, auth0api.Config{BaseURL: srv.BaseURL, Token: phonemigrate.Secret(srv.Token)})
	if err != nil {
		log.Fatal(err)
	}
	// Legacy Guardian endpoints answer 403 once the tenant is on UPE.
	_, err = c.SelectedPhoneProvider(ctx)
	var apiErr *phonemigrate.APIError
	if errors.As(err, &apiErr) {
		fmt.Println(apiErr.StatusCode, apiErr.Method, apiErr.Path)
	}
	fmt.Println(errors.Is(err, phonemigrate.ErrForbidden))
	// Output:
	// 403 GET /guardian/factors/phone/selected-provider
	// true
}
