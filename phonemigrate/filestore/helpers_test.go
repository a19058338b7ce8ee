package filestore_test

import (
	"testing"
	"time"

	"github.com/unifiedphone/unifiedphone/phonemigrate"
	"github.com/unifiedphone/unifiedphone/phonemigrate/auth0api"
	"github.com/unifiedphone/unifiedphone/phonemigrate/phonemigratetest"
)

// sampleCheckpoint is a checkpoint of a migration that failed part-way.
func sampleCheckpoint() *phonemigrate.Checkpoint {
	return &phonemigrate.Checkpoint{
		Version: 1, Tenant: "acme", State: phonemigrate.StateFailed, LastGood: phonemigrate.State("tenant_switched"),
		Error: "boom", UpdatedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
	}
}

// fakeMigrator is a Migrator of tenant "acme", a legacy-gateway fake
// tenant reached with the real go-auth0 client, keeping its checkpoint in s.
func fakeMigrator(t *testing.T, s phonemigrate.Store) (*phonemigratetest.Server, *phonemigrate.Migrator) {
	t.Helper()
	srv := phonemigratetest.NewServer(phonemigratetest.LegacyGateway)
	t.Cleanup(srv.Close)
	cl, err := auth0api.New(t.Context(), auth0api.Config{BaseURL: srv.BaseURL, Token: phonemigrate.Secret(srv.Token)})
	if err != nil {
		t.Fatal(err)
	}
	m, err := phonemigrate.New(cl, phonemigrate.WithStore(s), phonemigrate.WithTenant("acme"), phonemigrate.WithPollInterval(time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	return srv, m
}
