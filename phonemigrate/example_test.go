package phonemigrate_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"strings"
	"time"

	"github.com/unifiedphone/unifiedphone/phonemigrate"
	"github.com/unifiedphone/unifiedphone/phonemigrate/auth0api"
	"github.com/unifiedphone/unifiedphone/phonemigrate/phonemigratetest"
)

// exampleTenant starts a fake legacy tenant and connects to it with the real
// go-auth0 client, as a program would connect to Auth0.
func exampleTenant(sc phonemigratetest.Scenario) (*phonemigratetest.Server, phonemigrate.Client) {
	srv := phonemigratetest.NewServer(sc, phonemigratetest.WithActionBuild(5*time.Millisecond, 1))
	client, err := auth0api.New(context.Background(), auth0api.Config{
		BaseURL: srv.BaseURL, // for Auth0: Domain: "acme.eu.auth0.com"
		// The application the migration runs as (client credentials): the
		// integrations-at-risk report tells it apart from your services.
		ClientID:     srv.ClientID,
		ClientSecret: phonemigrate.Secret(srv.ClientSecret),
	})
	if err != nil {
		log.Fatal(err)
	}
	return srv, client
}

// Plan shows every write a migration would make, without making any.
func ExampleMigrator_Plan() {
	ctx := context.Background()
	srv, client := exampleTenant(phonemigratetest.LegacyTwilio)
	defer srv.Close()

	m, err := phonemigrate.New(client, phonemigrate.WithTenant("acme-legacy"))
	if err != nil {
		log.Fatal(err)
	}
	// No Twilio auth token given: the connection's legacy token is carried
	// over (set TwilioAuthToken, from an env var, to override it).
	plan, err := m.Plan(ctx, phonemigrate.Options{
		TestRecipients: []string{"+15551230001"},
	})
	if err != nil {
		log.Fatal(err)
	}
	// plan.Text() is the whole plan, as 'phonemigrate plan' prints it; here
	// where the token comes from and the writes, in order.
	fmt.Println("Twilio token:", plan.TwilioToken)
	for _, st := range plan.Steps {
		for _, w := range st.Writes {
			fmt.Println(w.Method, w.Path)
		}
	}
	// Output:
	// Twilio token: carried over from connection "sms" (options.twilio_token) of account ACf0e1d2c3b4a5968778695a4b3c2d1e0f, read from the tenant
	// POST /branding/phone/providers
	// POST /branding/phone/providers/{new_provider_id}/try
	// PATCH /tenants/settings
	// PATCH /connections/con_Tw3hJ6cV9mQs1KeY
	// POST /branding/phone/templates
}

// Apply migrates a tenant whose Passwordless connection uses a custom SMS
// gateway: it generates, deploys and binds a custom-phone-provider Action,
// creates the custom provider, tests it, then switches the tenant and the
// connection. The observer sees every transition (here the last is
// printed); a file store would let a
// failed run resume where it stopped.
func ExampleMigrator_Apply() {
	ctx := context.Background()
	srv, client := exampleTenant(phonemigratetest.LegacyGateway)
	defer srv.Close()

	m, err := phonemigrate.New(client,
		phonemigrate.WithPollInterval(10*time.Millisecond),
		phonemigrate.WithObserver(func(t phonemigrate.Transition) {
			if t.To == phonemigrate.StateCompleted {
				fmt.Printf("%s → %s\n", t.From, t.To)
			}
		}))
	if err != nil {
		log.Fatal(err)
	}
	res, err := m.Apply(ctx, phonemigrate.Options{
		TestRecipients: []string{"+15551230001"},
		Confirm: func(ctx context.Context, t phonemigrate.TestMessage) (bool, error) {
			return true, nil // ask a person: Auth0 reports no delivery
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("result:", res.State, "provider:", res.Plan.Provider)

	// Applying again is a no-op.
	res, err = m.Apply(ctx, phonemigrate.Options{})
	fmt.Println("again:", res.State, res.AlreadyDone, err)
	// Output:
	// templates_migrated → completed
	// result: completed provider: custom
	// again: completed true <nil>
}

// Rollback puts back every original value and removes what the migration
// Run is Apply as an operator runs it: the plan is shown before any write,
// and a person approves it; the store lock is held from the plan to the
// end, so no other run writes in between.
func ExampleMigrator_Run() {
	ctx := context.Background()
	srv, client := exampleTenant(phonemigratetest.LegacyTwilio)
	defer srv.Close()

	m, err := phonemigrate.New(client, phonemigrate.WithTenant("acme-legacy"))
	if err != nil {
		log.Fatal(err)
	}
	res, err := m.Run(ctx, phonemigrate.Session{
		Options: phonemigrate.Options{SkipTest: true, TwilioAPIBaseURL: srv.Twilio().URL}, // the fake's Twilio
		Review: func(ctx context.Context, o *phonemigrate.Options, p *phonemigrate.Plan, resume *phonemigrate.Checkpoint) error {
			if resume != nil {
				fmt.Println("resuming from", resume.ResumePoint())
				return nil
			}
			writes := 0
			for _, st := range p.Steps {
				writes += len(st.Writes)
			}
			fmt.Println("plan:", writes, "writes, provider", p.Provider)
			return nil
		},
		Approve: func(ctx context.Context, p *phonemigrate.Plan, resume *phonemigrate.Checkpoint) (bool, error) {
			return true, nil // ask a person
		},
	})
	fmt.Println("result:", res.State, err)
	// Output:
	// plan: 4 writes, provider twilio
	// result: completed <nil>
}

// created, consumers first.
func ExampleMigrator_Rollback() {
	ctx := context.Background()
	srv, client := exampleTenant(phonemigratetest.MFATwilio)
	defer srv.Close()

	m, err := phonemigrate.New(client)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := m.Apply(ctx, phonemigrate.Options{
		TwilioAuthToken:  phonemigrate.Secret(phonemigratetest.TwilioAuthToken),
		TwilioAPIBaseURL: srv.Twilio().URL, // default https://api.twilio.com
		SkipTest:         true,
	}); err != nil {
		log.Fatal(err)
	}
	fmt.Println("unified:", srv.State().TenantSettings["phone_consolidated_experience"], "providers:", len(srv.State().PhoneProviders))

	res, err := m.Rollback(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.State)
	fmt.Println("unified:", srv.State().TenantSettings["phone_consolidated_experience"], "providers:", len(srv.State().PhoneProviders))

	// Without a checkpoint there is nothing to roll back.
	other, _ := phonemigrate.New(client)
	_, err = other.Rollback(ctx)
	fmt.Println(errors.Is(err, phonemigrate.ErrNoCheckpoint))
	// Output:
	// unified: true providers: 1
	// rolled_back
	// unified: false providers: 0
	// true
}

// ExitCode maps errors to process exit codes for command-line tools.
func ExampleExitCode() {
	fmt.Println(phonemigrate.ExitCode(nil))
	fmt.Println(phonemigrate.ExitCode(phonemigrate.ErrAlreadyUnified))
	fmt.Println(phonemigrate.ExitCode(&phonemigrate.InputError{Field: "TestRecipients", Problem: "\"555\" is not an E.164 number"}))
	fmt.Println(phonemigrate.ExitCode(fmt.Errorf("plan: %w", phonemigrate.ErrNotEligible)))
	// Output:
	// 0
	// 0
	// 2
	// 3
}

// A Twilio tenant migrates with no token at hand: the legacy token Auth0
// returns is carried over, checked with Twilio before it is written, and
// each test message is followed in the Twilio account. A rejected token
// would be a *TwilioCredentialsError; an undelivered message a
// *TestDeliveryError, both before the tenant switch.
func ExampleTestOutcome() {
	ctx := context.Background()
	srv, client := exampleTenant(phonemigratetest.LegacyTwilio)
	defer srv.Close()

	m, err := phonemigrate.New(client, phonemigrate.WithPollInterval(5*time.Millisecond))
	if err != nil {
		log.Fatal(err)
	}
	res, err := m.Apply(ctx, phonemigrate.Options{
		TestRecipients:   []string{"+15551230001"},
		TwilioAPIBaseURL: srv.Twilio().URL, // default https://api.twilio.com
		EvidenceTimeout:  time.Minute,      // ends once Twilio reports a final status
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("token:", res.Plan.TwilioToken)
	for _, t := range res.Checkpoint.Tests {
		fmt.Println(t.Summary())
	}
	// Output:
	// token: carried over from connection "sms" (options.twilio_token) of account ACf0e1d2c3b4a5968778695a4b3c2d1e0f, read from the tenant
	// text test message to +15551230001: Twilio status delivered (SM00000000000000000000000000000001)
}

// Repair switches back a tenant that was switched to the Unified Phone
// Experience by hand without a phone provider, so that MFA codes flow
// again through the legacy Guardian settings; then Apply migrates it
// properly.
func ExampleMigrator_Repair() {
	ctx := context.Background()
	srv, client := exampleTenant(phonemigratetest.MFATwilio)
	defer srv.Close()
	// Someone switched the tenant in the Dashboard: MFA users get no code.
	req, _ := http.NewRequestWithContext(ctx, "PATCH", srv.BaseURL+"/tenants/settings", strings.NewReader(`{"phone_consolidated_experience": true}`))
	req.Header.Set("Authorization", "Bearer "+srv.Token)
	req.Header.Set("Content-Type", "application/json")
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
	}

	m, err := phonemigrate.New(client, phonemigrate.WithTenant("acme-legacy"))
	if err != nil {
		log.Fatal(err)
	}
	// Plan refuses, proposing the repair.
	_, err = m.Plan(ctx, phonemigrate.Options{SkipTest: true})
	var ue *phonemigrate.UnhealthyError
	if errors.As(err, &ue) && ue.Repair != nil {
		for _, w := range ue.Repair.Steps[0].Writes {
			fmt.Println("proposed:", w.Method, w.Path, w.After)
		}
	}
	res, err := m.Repair(ctx, phonemigrate.RepairOptions{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Outcome, "→", res.Health.State)
	for _, r := range res.Routes {
		fmt.Printf("%s: %s\n", r.Consumer, r.Via)
	}
	// Output:
	// proposed: PATCH /tenants/settings map[phone_consolidated_experience:false]
	// repaired → legacy
	// MFA: the legacy Guardian Twilio provider (account ACf0e1d2c3b4a5968778695a4b3c2d1e0f); message types SMS + Voice
}
