package auth0api

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/auth0/go-auth0/v3/management"
	"github.com/auth0/go-auth0/v3/management/client"
	"github.com/auth0/go-auth0/v3/management/option"
)

// BenchmarkSDKSleepOn429 measures why auth0api never lets go-auth0 see a
// retryable status: one call answered 429 (Retry-After: 0) costs go-auth0
// at least a second even with retries off, and the sleep ignores the
// context. Run with -benchtime=3x; each go-auth0 op takes ≥1 s. Measured
// (v3.0.0, 2 cores): client-level WithoutRetries 2.98 s/op (ignored: 2
// attempts), per-call WithoutRetries and client WithMaxAttempts(1) 1.00 s/op,
// with a 200 ms context deadline 1.07 s/op; auth0api 0.1–0.3 ms/op.
func BenchmarkSDKSleepOn429(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "0")
		w.WriteHeader(http.StatusTooManyRequests)
		io.WriteString(w, `{"statusCode":429,"error":"Too Many Requests","message":"Global limit has been reached"}`)
	}))
	defer srv.Close()
	// sdk builds a go-auth0 client with opt at client level, or per call.
	sdk := func(opt option.RequestOption, perCall bool) func(ctx context.Context) error {
		opts := []option.RequestOption{option.WithBaseURL(srv.URL + "/api/v2"), option.WithToken("t"), option.WithHTTPClient(srv.Client())}
		var callOpts []option.RequestOption
		if perCall {
			callOpts = append(callOpts, opt)
		} else {
			opts = append(opts, opt)
		}
		m := client.NewWithOptions(opts...)
		return func(ctx context.Context) error {
			_, err := m.Tenants.Settings.Get(ctx, &management.GetTenantSettingsRequestParameters{}, callOpts...)
			return err
		}
	}
	c, err := New(context.Background(), Config{BaseURL: srv.URL, Token: "t", MaxAttempts: 1})
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name    string
		call    func(ctx context.Context) error
		timeout time.Duration
	}{
		// Client-level WithoutRetries is ignored by go-auth0 v3.0.0: 2
		// attempts, ~1 s + ~2 s of sleep.
		{"go-auth0/client-WithoutRetries", sdk(option.WithoutRetries(), false), 0},
		{"go-auth0/call-WithoutRetries", sdk(option.WithoutRetries(), true), 0},
		{"go-auth0/client-WithMaxAttempts(1)", sdk(option.WithMaxAttempts(1), false), 0},
		{"go-auth0/call-WithoutRetries/ctx-200ms", sdk(option.WithoutRetries(), true), 200 * time.Millisecond},
		{"auth0api/MaxAttempts-1", func(ctx context.Context) error { _, err := c.TenantSettings(ctx); return err }, 0},
		{"auth0api/MaxAttempts-1/ctx-200ms", func(ctx context.Context) error { _, err := c.TenantSettings(ctx); return err }, 200 * time.Millisecond},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				ctx, cancel := context.Background(), context.CancelFunc(func() {})
				if bc.timeout > 0 {
					ctx, cancel = context.WithTimeout(ctx, bc.timeout)
				}
				if err := bc.call(ctx); err == nil {
					b.Fatal("no error")
				}
				cancel()
			}
		})
	}
}
