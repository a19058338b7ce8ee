package iacexport_test

import (
	"fmt"

	"github.com/unifiedphone/unifiedphone/delivery"
	"github.com/unifiedphone/unifiedphone/phonemigrate"
	"github.com/unifiedphone/unifiedphone/phonemigrate/iacexport"
)

// DeployCLI turns a snapshot (as Read returns it) into auth0-deploy-cli
// files; the connection's gateway secret becomes a keyword.
func ExampleDeployCLI() {
	s := &iacexport.Snapshot{
		Providers: []phonemigrate.PhoneProvider{{ID: "pro_1", Name: "custom", Configuration: phonemigrate.ProviderConfiguration{DeliveryMethods: delivery.Of(delivery.Text)}}},
		Connections: []phonemigrate.Connection{{ID: "con_1", Name: "sms", Strategy: "sms", Options: map[string]any{
			"use_phone_provider":     true,
			"gateway_authentication": map[string]any{"secret": "s3cr3t-value"},
		}}},
		MessageTypes: delivery.Of(delivery.Text),
	}
	files, err := iacexport.DeployCLI(s, iacexport.LayoutDirectory)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, f := range files {
		fmt.Println(f.Path)
	}
	conn, _ := files.Get("connections/sms.json")
	fmt.Print(string(conn.Data))
	// Output:
	// EDITS.md
	// config.snippet.json
	// connections/sms.json
	// guardian/phoneFactorMessageTypes.json
	// phone-providers/provider.json
	// tenant.json
	// {
	//   "name": "sms",
	//   "strategy": "sms",
	//   "options": {
	//     "gateway_authentication": {
	//       "secret": "##CONNECTION_SMS_GATEWAY_AUTHENTICATION_SECRET##"
	//     },
	//     "use_phone_provider": true
	//   }
	// }
}
