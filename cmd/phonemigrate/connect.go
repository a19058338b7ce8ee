package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/unifiedphone/unifiedphone/phonemigrate"
	"github.com/unifiedphone/unifiedphone/phonemigrate/auth0api"
)

// connect builds the Management API client for t with auth0api. With
// client credentials it fetches a token at once, so wrong credentials fail
// here. An invalid configuration is a usage error (exit 2).
func connect(ctx context.Context, t tenantConfig, log *slog.Logger) (phonemigrate.Client, error) {
	cfg := auth0api.Config{
		Domain:       t.Domain,
		BaseURL:      t.BaseURL,
		Token:        t.Token,
		ClientID:     t.ClientID,
		ClientSecret: t.ClientSecret,
		Logger:       log,
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
