package outcome

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestFor(t *testing.T) {
	gateway := map[string]any{"provider": "sms_gateway", "gateway_url": "https://gw.example/", "from": "ACME",
		"gateway_authentication": map[string]any{"audience": "urn:gw", "subject": "urn:auth0", "secret": "s3cret"}}
	twilioProvider := &Provider{ID: "pro_1", Name: "twilio", DeliveryMethods: []string{"text"}, SID: "AC1", DefaultFrom: "+15550001111"}
	pwl := Consumer{Product: ProductPasswordless, Connection: "sms", Method: "text", MessageType: "otp_verify"}
	mfaVoice := Consumer{Product: ProductMFA, Method: "voice", MessageType: "otp_verify"}
	tests := []struct {
		name string
		cfg  Config
		c    Consumer
		want Route
		gets bool
	}{
		{"legacy gateway", Config{Connections: []Connection{{Name: "sms", Options: gateway}}}, pwl, LegacyGateway, true},
		{"switched, no use_phone_provider: still the gateway", Config{Switched: true, Provider: twilioProvider,
			Connections: []Connection{{Name: "sms", Options: gateway}}}, pwl, LegacyGateway, true},
		{"switched, use_phone_provider, no provider", Config{Switched: true,
			Connections: []Connection{{Name: "sms", Options: map[string]any{"use_phone_provider": true}}}}, pwl, None, false},
		{"switched, no legacy settings: the provider", Config{Switched: true, Provider: twilioProvider,
			Connections: []Connection{{Name: "sms", Options: map[string]any{}}}}, pwl, ProviderTwilio, true},
		{"not switched, no legacy settings", Config{Connections: []Connection{{Name: "sms", Options: map[string]any{"use_phone_provider": true}}}}, pwl, None, false},
		{"voice-only provider", Config{Switched: true, Provider: &Provider{Name: "twilio", DeliveryMethods: []string{"voice"}},
			Connections: []Connection{{Name: "sms", Options: map[string]any{"use_phone_provider": "unified"}}}}, pwl, None, false},
		{"MFA voice, text-only provider", Config{Switched: true, Provider: twilioProvider,
			MFA: MFA{Enabled: true, MessageTypes: []string{"sms", "voice"}}}, mfaVoice, None, false},
		{"MFA voice, legacy Twilio", Config{MFA: MFA{Enabled: true, MessageTypes: []string{"voice"}, SelectedProvider: "twilio",
			Twilio: &Twilio{SID: "AC1", From: "+1555"}}}, mfaVoice, LegacyTwilio, true},
		{"MFA voice not enabled", Config{MFA: MFA{Enabled: true, MessageTypes: []string{"sms"}}}, mfaVoice, None, false},
		{"custom provider, nothing bound", Config{Switched: true, Provider: &Provider{Name: "custom", DeliveryMethods: []string{"text", "voice"}},
			Actions: []Action{{ID: "a1", Deployed: true}}, MFA: MFA{Enabled: true, MessageTypes: []string{"voice"}}}, mfaVoice, None, false},
		{"custom provider, bound but not deployed", Config{Switched: true, Provider: &Provider{Name: "custom", DeliveryMethods: []string{"text", "voice"}},
			Actions: []Action{{ID: "a1"}}, Bindings: []string{"a1"}, MFA: MFA{Enabled: true, MessageTypes: []string{"voice"}}}, mfaVoice, None, false},
		{"custom provider, foreign Action", Config{Switched: true, Provider: &Provider{Name: "custom", DeliveryMethods: []string{"text", "voice"}},
			Actions: []Action{{ID: "a1", Deployed: true, Code: "exports.onExecuteCustomPhoneProvider = async () => {}"}}, Bindings: []string{"a1"},
			MFA: MFA{Enabled: true, MessageTypes: []string{"voice"}}}, mfaVoice, ProviderCustom, true},
		{"disabled provider", Config{Switched: true, Provider: &Provider{Name: "twilio", Disabled: true, DeliveryMethods: []string{"text"}},
			Connections: []Connection{{Name: "sms", Options: map[string]any{"use_phone_provider": true}}}}, pwl, None, false},
		{"MFA hook, no Action bound", Config{MFA: MFA{Enabled: true, MessageTypes: []string{"voice"}, SelectedProvider: "phone-message-hook"}}, mfaVoice, LegacyHook, false},
		{"MFA hook, Action bound", Config{MFA: MFA{Enabled: true, MessageTypes: []string{"voice"}, SelectedProvider: "phone-message-hook",
			Hook: &Hook{ID: "h1", Name: "sms-hook"}}}, mfaVoice, LegacyHook, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := For(tt.cfg, tt.c)
			if d.Route != tt.want || d.Gets() != tt.gets {
				t.Errorf("For = %s gets=%v (%s; %s), want %s gets=%v", d.Route, d.Gets(), d.Reason, d.Drops, tt.want, tt.gets)
			}
			if d.Reason == "" {
				t.Error("no reason given")
			}
		})
	}
}

func TestWordsAndSender(t *testing.T) {
	cfg := Config{Switched: true, Provider: &Provider{Name: "twilio", DeliveryMethods: []string{"text"}, SID: "AC1", DefaultFrom: "+1000"},
		Connections: []Connection{{Name: "sms", Options: map[string]any{"use_phone_provider": true}}},
		Templates:   []Template{{Type: "otp_verify", Text: "{{ code | escape }} is your verification code for {{ friendly_name | escape }}"}}}
	c := Consumer{Product: ProductPasswordless, Connection: "sms", Method: "text", MessageType: "otp_verify"}
	d := For(cfg, c)
	if !d.Words.Default || d.Sender != "+1000" {
		t.Errorf("an id-less (default) template: words %+v sender %q, want Auth0's default from the provider's default_from", d.Words, d.Sender)
	}
	cfg.Templates = []Template{{Type: "otp_verify", Customized: true, Text: "Code {{ code }}", From: "ACME"}}
	d = For(cfg, c)
	want := Words{Source: "tenant template otp_verify", Syntax: "liquid", Text: "Code {{ code }}"}
	if diff := cmp.Diff(want, d.Words); diff != "" || d.Sender != "ACME" {
		t.Errorf("customised template (-want +got):\n%s\nsender %q", diff, d.Sender)
	}
	cfg.Templates[0].Disabled = true
	if d = For(cfg, c); !d.Words.Default {
		t.Errorf("a disabled template still gives the words: %+v", d.Words)
	}
}

// The copy of a send-phone-message Action (actiongen's hook target) sends
// what the original sent: the same Request, before and after the switch.
func TestHookRouteSameRequestAfterCopy(t *testing.T) {
	mfa := Consumer{Product: ProductMFA, Method: "text", MessageType: "otp_verify"}
	before := For(Config{MFA: MFA{Enabled: true, SelectedProvider: "phone-message-hook", Hook: &Hook{ID: "h1", Name: "sms-hook"}}}, mfa)
	code := "// github.com/unifiedphone/unifiedphone/actiongen\nconst CONFIG = {\"default\": {\"hook\": {\"name\": \"sms-hook\", \"secretNames\": []}}};\n"
	after := For(Config{Switched: true, MFA: MFA{Enabled: true}, Provider: &Provider{Name: "custom", DeliveryMethods: []string{"text"}},
		Actions: []Action{{ID: "a1", Name: "copy", Deployed: true, Code: code}}, Bindings: []string{"a1"}}, mfa)
	if before.Route != LegacyHook || after.Route != ProviderCustom || !before.Gets() || !after.Gets() {
		t.Fatalf("before %+v, after %+v", before, after)
	}
	if before.Request == nil || after.Request == nil || *before.Request != *after.Request {
		t.Errorf("requests differ: before %+v, after %+v", before.Request, after.Request)
	}
}
