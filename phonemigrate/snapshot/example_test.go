package snapshot_test

import (
	"context"
	"fmt"
	"log"

	"github.com/unifiedphone/unifiedphone/phonemigrate"
	"github.com/unifiedphone/unifiedphone/phonemigrate/auth0api"
	"github.com/unifiedphone/unifiedphone/phonemigrate/phonemigratetest"
	"github.com/unifiedphone/unifiedphone/phonemigrate/snapshot"
)

// Take reads what a migration depends on, writing nothing, with
// every secret replaced by a placeholder; the file is safe to share, and
// phonemigratetest.NewServerFrom serves it as a fake tenant to rehearse on.
func ExampleTake() {
	srv, client := exampleTenant(phonemigratetest.LegacyTwilio)
	defer srv.Close()

	snap, err := snapshot.Take(context.Background(), client, "acme-legacy")
	if err != nil {
		log.Fatal(err)
	}
	c := snap.Connections[0]
	fmt.Println(c.ID, c.Name, c.Options["template"])
	for _, p := range snap.Placeholders {
		fmt.Println(p.Where, "=", p.Value)
	}
	fmt.Println("token in the options:", c.Options["twilio_token"])
	// Output:
	// con_Tw3hJ6cV9mQs1KeY sms {{ code }} is your ACME login code. It expires in 5 minutes.
	// connection sms options.twilio_token = PLACEHOLDER-twilio-auth-token-ACf0e1d2c3b4a5968778695a4b3c2d1e0f
	// token in the options: PLACEHOLDER-twilio-auth-token-ACf0e1d2c3b4a5968778695a4b3c2d1e0f
}

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
