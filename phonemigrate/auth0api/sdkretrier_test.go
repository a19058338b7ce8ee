package auth0api_test

import (
	"testing"

	"github.com/unifiedphone/unifiedphone/phonemigrate"
	"github.com/unifiedphone/unifiedphone/phonemigrate/auth0api"
	"github.com/unifiedphone/unifiedphone/phonemigrate/phonemigratetest"
)

// TestSDKRetrier checks that Config.SDKRetrier hands a 500 to go-auth0's
// retrier (which retries it) and that the transport itself then makes a
// single attempt per call (MaxAttempts 2: one retry, so a second 500 is
// returned).
func TestSDKRetrier(t *testing.T) {
	t.Parallel()
	srv := phonemigratetest.NewServer(phonemigratetest.LegacyTwilio)
	defer srv.Close()
	cl, err := auth0api.New(t.Context(), auth0api.Config{BaseURL: srv.BaseURL, Token: phonemigrate.Secret(srv.Token), SDKRetrier: true, MaxAttempts: 2})
	if err != nil {
		t.Fatal(err)
	}
	srv.InjectFault(phonemigratetest.Fault{Method: "GET", Path: "/tenants/settings", Status: 500, Times: 1})
	if _, err := cl.TenantSettings(t.Context()); err != nil {
		t.Fatalf("TenantSettings after one 500 = %v, want go-auth0 to retry it", err)
	}
	if got := len(srv.Requests()); got != 2 {
		t.Errorf("requests = %d, want 2 (one 500, one retry)", got)
	}
	srv.ResetRequests()
	srv.InjectFault(phonemigratetest.Fault{Method: "GET", Path: "/tenants/settings", Status: 500, Times: 2})
	if _, err := cl.TenantSettings(t.Context()); err == nil {
		t.Fatal("TenantSettings after two 500s with MaxAttempts 2 succeeded, want the 500")
	}
	if got := len(srv.Requests()); got != 2 {
		t.Errorf("requests = %d, want 2 (MaxAttempts 2, no transport retries on top)", got)
	}
}
