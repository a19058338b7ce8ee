// Command testing-with-mocks shows how a service that uses phonemigrate
// tests itself with the gomock mocks in package mock_phonemigrate (see
// main_test.go), without a server.
//
// The service here is a read-only status endpoint a platform team might
// run for its tenants: "is this tenant on the Unified Phone Experience,
// and if not, what would the migration do?". Its one hard rule is that it
// never writes to a tenant. A gomock MockClient enforces that rule in the
// tests for free: any call the test did not expect — every write — fails
// the test.
//
// main runs the service against three fake tenants.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/unifiedphone/unifiedphone/phonemigrate"
	"github.com/unifiedphone/unifiedphone/phonemigrate/auth0api"
	"github.com/unifiedphone/unifiedphone/phonemigrate/phonemigratetest"
)

// Status is what the service reports for a tenant.
type Status struct {
	// Unified is true when the tenant is already on the Unified Phone
	// Experience.
	Unified bool
	// Eligible is false when the tenant has nothing to migrate.
	Eligible bool
	// Provider and Steps describe the planned migration (when Eligible and
	// not Unified).
	Provider phonemigrate.ProviderKind
	Steps    int
	// NeedsTwilioToken is true when planning needs the Twilio auth token,
	// which this service does not hold.
	NeedsTwilioToken bool
	// Problems counts the invariants a switched tenant violates
	// (phonemigrate.UnhealthyError).
	Problems int
}

// StatusService reports tenants' phone migration status. It only reads.
type StatusService struct {
	Client phonemigrate.Client
}

// Status plans the migration (which writes nothing) and turns the outcome
// into a Status. Errors talking to Auth0 are returned wrapped, so callers
// can still match phonemigrate.ErrServer and friends.
func (s *StatusService) Status(ctx context.Context) (Status, error) {
	m, err := phonemigrate.New(s.Client)
	if err != nil {
		return Status{}, err
	}
	plan, err := m.Plan(ctx, phonemigrate.Options{SkipTest: true})
	var unhealthy *phonemigrate.UnhealthyError
	switch {
	case errors.Is(err, phonemigrate.ErrAlreadyUnified):
		return Status{Unified: true, Eligible: true}, nil
	case errors.As(err, &unhealthy):
		// Switched, but something leaves users without codes.
		return Status{Unified: true, Eligible: true, Problems: len(unhealthy.Findings)}, nil
	case errors.Is(err, phonemigrate.ErrNotEligible):
		return Status{}, nil
	case errors.Is(err, phonemigrate.ErrTwilioTokenRequired):
		return Status{Eligible: true, NeedsTwilioToken: true}, nil
	case err != nil:
		return Status{}, fmt.Errorf("phone migration status: %w", err)
	}
	return Status{Eligible: true, Provider: plan.Provider, Steps: len(plan.Steps)}, nil
}

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "testing-with-mocks:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, w io.Writer) error {
	for _, sc := range []phonemigratetest.Scenario{phonemigratetest.LegacyGateway, phonemigratetest.Unified, phonemigratetest.Empty} {
		srv := phonemigratetest.NewServer(sc)
		client, err := auth0api.New(ctx, auth0api.Config{BaseURL: srv.BaseURL, Token: phonemigrate.Secret(srv.Token)})
		if err != nil {
			srv.Close()
			return err
		}
		st, err := (&StatusService{Client: client}).Status(ctx)
		srv.Close()
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "%-15s %+v\n", sc, st)
	}
	return nil
}
