package phonemigratetest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/google/go-cmp/cmp"

	"github.com/unifiedphone/unifiedphone/phonemigrate/phonemigratetest"
)

func ExampleNewServer() {
	srv := phonemigratetest.NewServer(phonemigratetest.LegacyGateway)
	defer srv.Close()

	// Any HTTP client (go-auth0 v3 with option.WithBaseURL(srv.BaseURL) and
	// option.WithToken(srv.Token), say) talks to the Management API.
	req, _ := http.NewRequest("GET", srv.BaseURL+"/connections?strategy=sms&take=50", nil)
	req.Header.Set("Authorization", "Bearer "+srv.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	var page struct {
		Connections []struct {
			Name    string         `json:"name"`
			Options map[string]any `json:"options"`
		} `json:"connections"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&page)
	for _, c := range page.Connections {
		fmt.Println(c.Name, c.Options["provider"], c.Options["template"])
	}

	// Send a Passwordless code the way the tenant does today: through the
	// legacy gateway, which verifies the JWT.
	res, err := srv.Notify(context.Background(), phonemigratetest.NotifyRequest{Kind: "passwordless", Recipient: "+15551234567"})
	if err != nil {
		panic(err)
	}
	fmt.Println(res.Route, res.Delivered)
	fmt.Println(srv.Gateway().Messages()[0].Verified)
	// Output:
	// sms sms_gateway Your ACME verification code is: @@password@@
	// legacy_gateway true
	// true
}

func ExampleServer_InjectFault() {
	srv := phonemigratetest.NewServer(phonemigratetest.Unified)
	defer srv.Close()
	srv.InjectFault(phonemigratetest.Fault{Method: "GET", Path: "/api/v2/branding/phone/*", Status: 503, Times: 1})

	for range 2 {
		req, _ := http.NewRequest("GET", srv.BaseURL+"/branding/phone/providers", nil)
		req.Header.Set("Authorization", "Bearer "+srv.Token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		resp.Body.Close()
	}
	for _, r := range srv.Requests() {
		fmt.Println(r.Method, r.Path, r.Status)
	}
	// Output:
	// GET /api/v2/branding/phone/providers 503
	// GET /api/v2/branding/phone/providers 200
}

func ExampleServer_StartAt() {
	// What `phonemigrate fake --listen ADDR` does.
	srv := phonemigratetest.NewUnstartedServer(phonemigratetest.MFATwilio)
	defer srv.Close()
	if err := srv.StartAt("127.0.0.1:0"); err != nil {
		fmt.Println("listen:", err)
		return
	}
	fmt.Println(srv.BaseURL == srv.URL+"/api/v2", srv.Scenario)
	// Output:
	// true mfa-twilio
}

// The messages a tenant sends its users, sent before and after a change:
// the way tests prove that nobody's codes changed route or text. A
// migration and its rollback regenerate ids and timestamps;
// IgnoreGenerated compares everything else.
func ExampleState_Messages() {
	srv := phonemigratetest.NewServer(phonemigratetest.MFATwilio)
	defer srv.Close()
	ctx := context.Background()

	before := srv.State()
	for _, msg := range before.Messages("+15551234567") {
		res, err := srv.Notify(ctx, msg)
		if err != nil {
			panic(err)
		}
		fmt.Println(msg.Kind, msg.DeliveryMethod, msg.MessageType, res.Route, res.Delivered)
	}

	// Something switches the tenant to the Unified Phone Experience and
	// back (a migration and its rollback, say).
	for _, on := range []bool{true, false} {
		body := strings.NewReader(fmt.Sprintf(`{"phone_consolidated_experience": %t}`, on))
		req, _ := http.NewRequest("PATCH", srv.BaseURL+"/tenants/settings", body)
		req.Header.Set("Authorization", "Bearer "+srv.Token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		resp.Body.Close()
		fmt.Println("unified:", on, "same as before:", cmp.Equal(before, srv.State(), phonemigratetest.IgnoreGenerated))
	}
	// Output:
	// mfa text otp_verify legacy_twilio true
	// mfa text otp_enroll legacy_twilio true
	// mfa voice otp_verify legacy_twilio true
	// mfa voice otp_enroll legacy_twilio true
	// unified: true same as before: false
	// unified: false same as before: true
}

// The fake Twilio answers the credential check and reports delivery
// statuses; FailNumber makes what goes to a number end undelivered.
func ExampleTwilioAPI_FailNumber() {
	srv := phonemigratetest.NewServer(phonemigratetest.LegacyTwilio)
	defer srv.Close()
	tw := srv.Twilio()
	if err := tw.FailNumber("+15555550100", "undelivered"); err != nil {
		panic(err)
	}
	get := func(path, token string) map[string]any {
		req, _ := http.NewRequest("GET", tw.URL+"/2010-04-01/Accounts/"+phonemigratetest.TwilioSID+path, nil)
		req.SetBasicAuth(phonemigratetest.TwilioSID, token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return out
	}
	fmt.Println(get(".json", "typo")["code"], get(".json", phonemigratetest.TwilioAuthToken)["status"])

	// A provider test message through the legacy Twilio route, then read
	// back until final.
	if _, err := srv.Notify(context.Background(), phonemigratetest.NotifyRequest{Kind: "passwordless", Recipient: "+15555550100"}); err != nil {
		panic(err)
	}
	sid := tw.Messages()[0].SID
	for range 4 {
		get("/Messages/"+sid+".json", phonemigratetest.TwilioAuthToken)
	}
	fmt.Println(strings.Join(tw.Statuses(sid), " → "))
	// Output:
	// 20003 active
	// queued → sending → sent → undelivered
}

// Background traffic and a broken delivery path leave their trace in the
// tenant logs, as on a real tenant.
func ExampleServer_StartTraffic() {
	srv := phonemigratetest.NewServer(phonemigratetest.MFATwilio)
	defer srv.Close()
	_ = srv.BreakDelivery(phonemigratetest.DeliveryBreak{Path: phonemigratetest.BreakTwilio})
	if err := srv.StartTraffic(phonemigratetest.Traffic{PerSecond: 50, Count: 4, MFAPercent: 100}); err != nil {
		fmt.Println(err)
		return
	}
	_ = srv.WaitTraffic(context.Background())
	st := srv.TrafficStatus()
	fmt.Printf("sent %d, failed %d\n", st.Sent, st.Failed)
	for _, e := range srv.Logs()[:1] {
		fmt.Println(e["type"], e["description"])
	}
	// Output:
	// sent 4, failed 4
	// gd_send_sms_failure Twilio answered 500: 30008 Unknown error
}

// A half-migrated tenant, as real ones are found: someone created a
// text-only provider in the Dashboard and switched the tenant, while MFA
// still offers voice. Voice MFA users get no code.
func ExampleServer_Make() {
	srv := phonemigratetest.NewServer(phonemigratetest.MFATwilio)
	defer srv.Close()
	if err := srv.Make(context.Background(), phonemigratetest.AddTextOnlyProvider, phonemigratetest.SwitchOn); err != nil {
		panic(err)
	}
	st := srv.State()
	fmt.Println(st.TenantSettings["phone_consolidated_experience"], st.PhoneProviders[0].Configuration.DeliveryMethods)
	// Output: true [text]
}
