package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/unifiedphone/unifiedphone/phonemigrate"
	"github.com/unifiedphone/unifiedphone/phonemigrate/auth0api"
)

// apiTransport, when set, carries the command's Management API requests
// (auth0api.Config.HTTPClient). Nothing in the command sets it: only the
// test binary, re-executed as phonemigrate, gives it a transport that
// times the per-attempt timeouts itself (auth0api.AttemptTimer,
// cut_test.go), so that a test decides which request a timeout cuts.
var apiTransport http.RoundTripper

// connect builds the Management API client for t with auth0api. With
// client credentials it fetches a token at once, so wrong credentials fail
// here. An invalid configuration is a usage error (exit 2). The client
// shares the run's secret set (c.secrets).
func (c *cli) connect(ctx context.Context, t tenantConfig, log *slog.Logger) (phonemigrate.Client, error) {
	c.secrets.AddSecret(t.Token, t.ClientSecret)
	cfg := auth0api.Config{
		Secrets:      c.secrets,
		Domain:       t.Domain,
		BaseURL:      t.BaseURL,
		Token:        t.Token,
		ClientID:     t.ClientID,
		ClientSecret: t.ClientSecret,
		Logger:       log,

		RequestTimeout:        t.RequestTimeout,
		ResponseHeaderTimeout: t.HeaderTimeout,
	}
	if apiTransport != nil {
		cfg.HTTPClient = &http.Client{Transport: apiTransport}
	}
	cl, err := auth0api.New(ctx, cfg)
	var ce *auth0api.ConfigError
	if errors.As(err, &ce) {
		return nil, usageErrorf("%s", strings.TrimPrefix(ce.Error(), "auth0api: "))
	}
	if err != nil {
		return nil, fmt.Errorf("cannot get a Management API token for %s: %w", t.Name(), err)
	}
	return cl, nil
}

// timeoutHint adds to a timeout the flag that changes it, so that a hung
// endpoint fails with a sentence saying what to do.
func timeoutHint(err error) error {
	var te *auth0api.TimeoutError
	if !errors.As(err, &te) || strings.Contains(err.Error(), "did not answer in time") {
		return err
	}
	flag := "--request-timeout"
	if te.What == "response headers" {
		flag = "--header-timeout"
	}
	return fmt.Errorf("%w (the tenant did not answer in time; check the URL and your network, or raise %s)", err, flag)
}
