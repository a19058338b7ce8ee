// Command quickstart is the library's quick start: it plans and applies the
// migration of a fake Auth0 tenant (package phonemigratetest) whose
// Passwordless SMS connection sends through a custom SMS gateway, then
// sends the same user a code again to show the text did not change.
//
// Against a real tenant only the client changes:
//
//	client, err := auth0api.New(ctx, auth0api.Config{
//		Domain:       "acme.eu.auth0.com",
//		ClientID:     os.Getenv("AUTH0_CLIENT_ID"),
//		ClientSecret: phonemigrate.Secret(os.Getenv("AUTH0_CLIENT_SECRET")),
//	})
//
// Run it with `go run ./examples/quickstart` (it needs Node.js, which runs
// the generated Action inside the fake).
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/unifiedphone/unifiedphone/phonemigrate"
	"github.com/unifiedphone/unifiedphone/phonemigrate/auth0api"
	"github.com/unifiedphone/unifiedphone/phonemigrate/phonemigratetest"
)

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, w io.Writer) error {
	// A fake tenant: Passwordless SMS through a custom gateway.
	srv := phonemigratetest.NewServer(phonemigratetest.LegacyGateway)
	defer srv.Close()

	// The Management API client (go-auth0 v3 underneath).
	client, err := auth0api.New(ctx, auth0api.Config{
		BaseURL: srv.BaseURL,
		Token:   phonemigrate.Secret(srv.Token),
	})
	if err != nil {
		return err
	}

	// The migrator keeps its checkpoint in memory here; use
	// phonemigrate.WithStore(filestore.New(path)) to resume
	// after a crash.
	m, err := phonemigrate.New(client,
		phonemigrate.WithTenant("acme"),
		phonemigrate.WithPollInterval(50*time.Millisecond),
		phonemigrate.WithObserver(func(t phonemigrate.Transition) {
			fmt.Fprintf(w, "  %s -> %s\n", t.From, t.To)
		}),
	)
	if err != nil {
		return err
	}

	// Test messages are optional but must be skipped explicitly.
	opts := phonemigrate.Options{SkipTest: true}

	plan, err := m.Plan(ctx, opts) // writes nothing
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "plan: provider %s, delivery %s, %d steps\n", plan.Provider, plan.Delivery, len(plan.Steps))

	res, err := m.Apply(ctx, opts)
	if err != nil {
		// phonemigrate.ExitCode(err) says whether it was bad input (2), a
		// tenant that is not eligible (3) or a failure Apply can resume (1).
		return err
	}
	fmt.Fprintf(w, "migration %s\n", res.State)

	// The same user, the same code, the new path.
	got, err := srv.Notify(ctx, phonemigratetest.NotifyRequest{Kind: "passwordless", Recipient: "+15555550100"})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "message via %s, delivered %t: %q\n", got.Route, got.Delivered, got.Text)
	return nil
}
