package watch_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/unifiedphone/unifiedphone/phonemigrate"
	"github.com/unifiedphone/unifiedphone/phonemigrate/auth0api"
	"github.com/unifiedphone/unifiedphone/phonemigrate/phonemigratetest"
	"github.com/unifiedphone/unifiedphone/phonemigrate/watch"
)

// exampleTenant starts a fake tenant and connects to it with the real
// go-auth0 client, as a program would connect to Auth0.
func exampleTenant(sc phonemigratetest.Scenario) (*phonemigratetest.Server, phonemigrate.Client) {
	srv := phonemigratetest.NewServer(sc)
	client, err := auth0api.New(context.Background(), auth0api.Config{
		BaseURL: srv.BaseURL, ClientID: srv.ClientID, ClientSecret: phonemigrate.Secret(srv.ClientSecret),
	})
	if err != nil {
		log.Fatal(err)
	}
	return srv, client
}

// Delivery reads the tenant logs: what was sent and what failed, per
// path, with reasons fit to print.
func ExampleDelivery() {
	ctx := context.Background()
	srv, client := exampleTenant(phonemigratetest.MFATwilio)
	defer srv.Close()
	from := time.Now().Add(-time.Minute)

	// Two MFA messages go out, then Twilio starts failing.
	for range 2 {
		_, _ = srv.Notify(ctx, phonemigratetest.NotifyRequest{Kind: "mfa", Recipient: "+15551230001"})
	}
	_ = srv.BreakDelivery(phonemigratetest.DeliveryBreak{Path: phonemigratetest.BreakTwilio, Status: 400, Code: 21211, Message: "Invalid 'To' Phone Number: +15551230001"})
	_, _ = srv.Notify(ctx, phonemigratetest.NotifyRequest{Kind: "mfa", Recipient: "+15551230001"})

	rep, err := watch.Delivery(ctx, client, from, time.Time{})
	if err != nil {
		log.Fatal(err)
	}
	p := rep.Current.Path(watch.PathMFAText)
	fmt.Printf("%s: %d sent, %d failed (%.0f%%)\n", p.Path, p.Sent, p.Failed, 100*p.FailureRate)
	fmt.Println(p.TopErrors[0].Reason)
	// Output:
	// mfa/text: 2 sent, 1 failed (33%)
	// Twilio answered 400: 21211 Invalid 'To' Phone Number: +•••••••••01
}
