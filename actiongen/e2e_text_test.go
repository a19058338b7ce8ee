package actiongen

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/unifiedphone/unifiedphone/internal/actionrun"
)

// TestMessageText runs a routing Action whose targets both have their own
// texts in real Node, against the fake Twilio and the local gateway, and
// checks what each receives.
func TestMessageText(t *testing.T) {
	requireNode(t)
	t.Parallel()
	gwSrv := newFakeServer(t, http.StatusOK)
	twSrv := newFakeServer(t, http.StatusCreated)
	const (
		code     = "482913"
		asText   = "Tenant template text 482913"
		asVoice  = "Tenant template voice 4 8 2 9 1 3"
		friendly = "Acme & <Co> {{ code }}"
		mfaEnrl  = "{{ code }} is your verification code for {{ tenant.friendly_name }}. Please enter this code to verify your enrollment."
	)
	spec := Spec{
		Default: Target{
			Twilio: &Twilio{AccountSID: testTwilioSID, AuthToken: testTwilioToken, From: "+15550001111", APIBaseURL: twSrv.URL},
			Text: &MessageText{
				Verify:      "{{code}} is your verification code for {{tenant.friendly_name}}",
				Enroll:      mfaEnrl,
				VerifyVoice: "Your {{ friendly_name }} code is {{ code }} ({{ locale }})",
			},
		},
		Passwordless: &Target{
			Gateway: &Gateway{URL: gwSrv.URL + "/pwl", From: "Acme", Voice: true},
			Text:    &MessageText{Verify: "Your login code: {{ password }} ${x} `t` \"q\""},
		},
	}
	a := generate(t, spec)

	event := func(passwordless bool, messageType, method string) actionrun.Event {
		ev := passwordlessEvent()
		if !passwordless {
			ev.Connection, ev.User = nil, dbUser()
		}
		ev.Tenant.FriendlyName = friendly
		ev.Notification.Code = code
		ev.Notification.Locale = "fr-CA"
		ev.Notification.AsText, ev.Notification.AsVoice = asText, asVoice
		ev.Notification.MessageType, ev.Notification.DeliveryMethod = messageType, method
		return ev
	}
	noCode := event(false, "otp_verify", "text")
	noCode.Notification.Code = ""
	noFriendly := event(false, "otp_verify", "text")
	noFriendly.Tenant.FriendlyName = ""
	// otp_enroll is MFA's even on the SMS connection: the routing rule
	// sends it to the default target, with that target's Enroll text.
	smsEnroll := event(true, "otp_enroll", "text")

	say := func(s string) string { return "<Response><Say>" + escapeXMLForTest(s) + "</Say></Response>" }
	tests := []struct {
		name string
		ev   actionrun.Event
		// Exactly one of these is set: what Twilio or the gateway receives.
		twilioText, twilioTwiml, gatewayBody string
	}{
		{name: "mfa otp_verify text", ev: event(false, "otp_verify", "text"),
			twilioText: code + " is your verification code for " + friendly},
		{name: "mfa otp_enroll text", ev: event(false, "otp_enroll", "text"),
			twilioText: code + " is your verification code for " + friendly + ". Please enter this code to verify your enrollment."},
		{name: "mfa otp_verify voice uses VerifyVoice", ev: event(false, "otp_verify", "voice"),
			twilioTwiml: say("Your " + friendly + " code is " + code + " (fr-CA)")},
		{name: "mfa otp_enroll voice falls back to Enroll", ev: event(false, "otp_enroll", "voice"),
			twilioTwiml: say(code + " is your verification code for " + friendly + ". Please enter this code to verify your enrollment.")},
		{name: "mfa change_password uses as_text", ev: event(false, "change_password", "text"), twilioText: asText},
		{name: "mfa blocked_account uses as_text", ev: event(false, "blocked_account", "text"), twilioText: asText},
		{name: "mfa password_breach uses as_voice", ev: event(false, "password_breach", "voice"), twilioTwiml: say(asVoice)},
		{name: "no code at run time keeps as_text", ev: noCode, twilioText: asText},
		{name: "no friendly_name renders empty", ev: noFriendly, twilioText: code + " is your verification code for "},
		{name: "passwordless otp_verify text goes to the gateway with its own text", ev: event(true, "otp_verify", "text"),
			gatewayBody: "Your login code: " + code + " ${x} `t` \"q\""},
		{name: "passwordless otp_verify voice speaks the text", ev: event(true, "otp_verify", "voice"),
			gatewayBody: "Your login code: " + code + " ${x} `t` \"q\""},
		{name: "otp_enroll on the SMS connection takes the MFA target and text", ev: smsEnroll,
			twilioText: code + " is your verification code for " + friendly + ". Please enter this code to verify your enrollment."},
		{name: "passwordless change_password uses as_text", ev: event(true, "change_password", "text"), gatewayBody: asText},
	}
	// Sequential: the servers are shared and counted per case.
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gwBefore, twBefore := len(gwSrv.got()), len(twSrv.got())
			res := run(t, a, tt.ev)
			if res.Outcome != actionrun.Sent {
				t.Fatalf("Outcome = %s (%s), want sent", res.Outcome, res.Reason)
			}
			gwReqs, twReqs := gwSrv.got()[gwBefore:], twSrv.got()[twBefore:]
			wantGW, wantTW := 0, 1
			if tt.gatewayBody != "" {
				wantGW, wantTW = 1, 0
			}
			if len(gwReqs) != wantGW || len(twReqs) != wantTW {
				t.Fatalf("requests: gateway %d, Twilio %d; want %d and %d", len(gwReqs), len(twReqs), wantGW, wantTW)
			}
			if tt.gatewayBody != "" {
				if gwReqs[0].Path != "/pwl" {
					t.Errorf("gateway path = %q, want /pwl", gwReqs[0].Path)
				}
				keys, body := decodeBody(t, gwReqs[0].Body)
				if diff := cmp.Diff([]string{"recipient", "body", "sender"}, keys); diff != "" {
					t.Errorf("body keys (-want +got):\n%s", diff)
				}
				if diff := cmp.Diff(map[string]any{"recipient": testRecipient, "body": tt.gatewayBody, "sender": "Acme"}, body); diff != "" {
					t.Errorf("gateway body (-want +got):\n%s", diff)
				}
				return
			}
			form, err := url.ParseQuery(string(twReqs[0].Body))
			if err != nil {
				t.Fatal(err)
			}
			want := url.Values{"To": {testRecipient}, "From": {"+15550001111"}}
			path := "/2010-04-01/Accounts/" + testTwilioSID + "/Messages.json"
			if tt.twilioText != "" {
				want.Set("Body", tt.twilioText)
			} else {
				want.Set("Twiml", tt.twilioTwiml)
				path = "/2010-04-01/Accounts/" + testTwilioSID + "/Calls.json"
			}
			if twReqs[0].Path != path {
				t.Errorf("Twilio path = %q, want %q", twReqs[0].Path, path)
			}
			if diff := cmp.Diff(want, form); diff != "" {
				t.Errorf("Twilio form (-want +got):\n%s", diff)
			}
		})
	}
}

// escapeXMLForTest escapes the way the Action's TwiML does.
var escapeXMLForTest = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&apos;").Replace
