package actiongen

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/unifiedphone/unifiedphone/internal/actionrun"
)

// echoHook posts the whole legacy event, and the api keys, to one URL.
const echoHook = `exports.onExecuteSendPhoneMessage = async (event, api) => {
  await fetch('https://hook.example/echo', {method: 'POST', body: JSON.stringify({event, api: Object.keys(api)})});
  if (event.message_options.code === 'throw') throw new TypeError('secret ' + event.secrets.GW_KEY + ' to ' + event.message_options.recipient);
};`

// The adapter builds the legacy event by Auth0's table, for every message
// type the old trigger saw and both delivery methods.
func TestHookAdapterBuildsTheLegacyEvent(t *testing.T) {
	t.Parallel()
	requireNode(t)
	a := generate(t, Spec{Default: Target{Hook: &Hook{Name: "h", Code: echoHook, Secrets: []Secret{{Name: "GW_KEY", Value: "k-123456"}}}}})
	for _, mt := range []string{"otp_verify", "otp_enroll"} {
		for _, dm := range []string{"text", "voice"} {
			ev := mfaEvent(dm)
			ev.Notification.MessageType = mt
			ev.Notification.Locale = "fr"
			ev.Client.Metadata = map[string]string{"tier": "gold"}
			ev.Secrets = map[string]string{"GW_KEY": "k-123456", "OTHER": "not for the hook"}
			res, err := actionrun.Run(context.Background(), a.Code, ev, actionrun.WithRecorder())
			if err != nil {
				t.Fatal(err)
			}
			if res.Outcome != actionrun.Sent || len(res.Requests) != 1 {
				t.Fatalf("%s/%s: %+v", mt, dm, res)
			}
			var got map[string]any
			if err := json.Unmarshal([]byte(res.Requests[0].Body), &got); err != nil {
				t.Fatal(err)
			}
			text, typ := ev.Notification.AsText, "sms"
			if dm == "voice" {
				text, typ = ev.Notification.AsVoice, "voice"
			}
			want := map[string]any{"api": []any{"cache"}, "event": map[string]any{
				"message_options": map[string]any{"recipient": testRecipient, "text": text, "code": "12345",
					"action":       map[string]string{"otp_verify": "second-factor-authentication", "otp_enroll": "enrollment"}[mt],
					"message_type": typ, "language": "fr"},
				"request": map[string]any{"ip": "167.56.227.117", "user_agent": "Mozilla/5.0 (X11; Linux x86_64)", "method": "POST",
					"hostname": "acme.eu.auth0.com", "language": "en", "geoip": map[string]any{}},
				"client":  map[string]any{"client_id": "client-1", "name": "Acme", "client_metadata": map[string]any{"tier": "gold"}},
				"tenant":  map[string]any{"id": "acme"},
				"secrets": map[string]any{"GW_KEY": "k-123456"},
				"user": map[string]any{"user_id": "auth0|65f1decade", "identities": []any{map[string]any{
					"connection": "Username-Password-Authentication", "provider": "auth0", "user_id": "65f1decade", "isSocial": false}}},
			}}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s/%s legacy event (-want +got):\n%s", mt, dm, diff)
			}
		}
	}
}

func TestHookAdapterOutcomes(t *testing.T) {
	t.Parallel()
	requireNode(t)
	a := generate(t, Spec{Default: Target{Hook: &Hook{Name: "h", Code: echoHook, Secrets: []Secret{{Name: "GW_KEY", Value: "k-123456"}}}}})
	tests := []struct {
		name     string
		mt, code string
		want     actionrun.Outcome
		reason   string
		requests int
	}{
		{"verify", "otp_verify", "1", actionrun.Sent, "", 1},
		{"blocked_account never went to the hook", "blocked_account", "", actionrun.Drop, "blocked_account notifications never went to the send-phone-message Action; not sent", 0},
		{"change_password", "change_password", "", actionrun.Drop, "change_password notifications never went to the send-phone-message Action; not sent", 0},
		{"password_breach", "password_breach", "", actionrun.Drop, "password_breach notifications never went to the send-phone-message Action; not sent", 0},
		{"a throw drops with the error's name only", "otp_verify", "throw", actionrun.Drop, "the send-phone-message Action threw TypeError", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ev := mfaEvent("text")
			ev.Notification.MessageType, ev.Notification.Code = tt.mt, tt.code
			ev.Secrets = map[string]string{"GW_KEY": "k-123456"}
			res, err := actionrun.Run(context.Background(), a.Code, ev, actionrun.WithRecorder())
			if err != nil {
				t.Fatal(err)
			}
			if res.Outcome != tt.want || res.Reason != tt.reason || len(res.Requests) != tt.requests {
				t.Errorf("got %s %q with %d requests, want %s %q with %d", res.Outcome, res.Reason, len(res.Requests), tt.want, tt.reason, tt.requests)
			}
			for _, l := range res.Logs {
				if strings.Contains(l, testRecipient) || strings.Contains(l, "[redacted]") {
					t.Errorf("log line leaks: %q", l)
				}
			}
		})
	}
}

// The hook keeps its module-level state and its own require, and its
// other handlers (post-login) do not disturb the copy.
func TestHookCodeLoadsAsAModule(t *testing.T) {
	t.Parallel()
	requireNode(t)
	code := `'use strict';
const crypto = require('node:crypto');
let calls = 0;
module.exports.onExecutePostLogin = async () => {};
module.exports.onExecuteSendPhoneMessage = async (event) => {
  calls++;
  await fetch('https://x.example/', {method: 'POST', body: crypto.createHash('sha256').update(event.message_options.text).digest('hex') + ' ' + calls + ' ' + typeof exports + ' ' + (module.exports === exports)});
}`
	a := generate(t, Spec{Default: Target{Hook: &Hook{Name: "h", Code: code}}})
	res, err := actionrun.Run(context.Background(), a.Code, mfaEvent("text"), actionrun.WithRecorder())
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != actionrun.Sent || len(res.Requests) != 1 || !strings.HasSuffix(res.Requests[0].Body, " 1 object true") {
		t.Errorf("got %+v", res)
	}
}

func TestHookSpecErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		spec  Spec
		field string
	}{
		{"hook for Passwordless", Spec{Default: Target{Twilio: &Twilio{AccountSID: "AC1", AuthToken: "t", From: "+1"}}, Passwordless: &Target{Hook: &Hook{Code: "x"}}}, "Passwordless.Hook"},
		{"hook and gateway", Spec{Default: Target{Hook: &Hook{Code: "x"}, Gateway: &Gateway{URL: "https://a.example"}}}, "Default"},
		{"empty code", Spec{Default: Target{Hook: &Hook{Code: " "}}}, "Default.Hook.Code"},
		{"end marker in code", Spec{Default: Target{Hook: &Hook{Code: "x\n" + HookEndMarker}}}, "Default.Hook.Code"},
		{"bad secret name", Spec{Default: Target{Hook: &Hook{Code: "x", Secrets: []Secret{{Name: "A-B"}}}}}, "Default.Hook.Secrets"},
		{"secret name of the other target", Spec{
			Default:      Target{Hook: &Hook{Code: "x", Secrets: []Secret{{Name: "PASSWORDLESS_GATEWAY_URL"}}}},
			Passwordless: &Target{Gateway: &Gateway{URL: "https://a.example"}}}, "Default.Hook.Secrets"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Generate(tt.spec)
			var ve *ValidationError
			if !errors.As(err, &ve) || ve.Field != tt.field {
				t.Errorf("err = %v, want a ValidationError for %s", err, tt.field)
			}
		})
	}
}
