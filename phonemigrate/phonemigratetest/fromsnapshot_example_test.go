package phonemigratetest_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"strings"

	"github.com/unifiedphone/unifiedphone/phonemigrate/phonemigratetest"
	"github.com/unifiedphone/unifiedphone/phonemigrate/snapshot"
)

// A fake tenant served from a snapshot (here written by hand; `phonemigrate
// snapshot` writes one from a real tenant): its gateway is re-pointed to
// the fake Gateway, which verifies the JWT signed with the placeholder
// secret and the connection's own audience and subject.
func ExampleNewServerFrom() {
	snap := &snapshot.Snapshot{
		Version: snapshot.Version,
		Connections: []snapshot.Connection{{ID: "con_1", Name: "sms-web", Options: map[string]any{
			"provider": "sms_gateway", "gateway_url": "https://sms.example/send", "from": "ACME",
			"gateway_authentication": map[string]any{"method": "bearer", "audience": "urn:acme:sms", "subject": "urn:auth0",
				"secret": "PLACEHOLDER-secret", "secret_base64_encoded": false},
			"syntax": "md_with_macros", "template": "ACME code: @@password@@",
		}}},
	}
	srv, err := phonemigratetest.NewServerFrom(snap)
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	fmt.Println(srv.GatewayRedirects()[0].Original)

	ds, err := srv.Deliver(context.Background(), srv.State().Messages("+15551234567"))
	if err != nil {
		log.Fatal(err)
	}
	d := ds[0]
	fmt.Println(d.Path, d.Route, d.Via, d.Sender, d.Claims["aud"], d.Delivered)
	// Output:
	// https://sms.example/send
	// passwordless sms-web text otp_verify legacy_gateway gateway ACME urn:acme:sms true
}

// Deliver sends every message a tenant's users get; Compare says, path by
// path, whether they still get the same message after a change.
func ExampleCompare() {
	ctx := context.Background()
	srv := phonemigratetest.NewServer(phonemigratetest.MFATwilio)
	defer srv.Close()
	reqs := srv.State().Messages("+15551234567")
	before, err := srv.Deliver(ctx, reqs)
	if err != nil {
		log.Fatal(err)
	}
	// Someone turns MFA voice off through the Management API.
	req, _ := http.NewRequest("PUT", srv.BaseURL+"/guardian/factors/phone/message-types", strings.NewReader(`{"message_types": ["sms"]}`))
	req.Header.Set("Authorization", "Bearer "+srv.Token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	after, err := srv.Deliver(ctx, reqs)
	if err != nil {
		log.Fatal(err)
	}
	for _, c := range phonemigratetest.Compare(before, after) {
		fmt.Println(c.Path, c.Same, c.Why)
	}
	// Output:
	// mfa text otp_verify true []
	// mfa text otp_enroll true []
	// mfa voice otp_verify false [not delivered after: MFA phone message type voice is not enabled]
	// mfa voice otp_enroll false [not delivered after: MFA phone message type voice is not enabled]
}
