package actiongen

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// docsOptions is the gateway connection options example from Auth0's docs
// (use-sms-gateway-passwordless), with gateway_authentication added, decoded
// the way a Management API client decodes them.
const docsOptions = `{"strategy":"sms","provider":"sms_gateway","gateway_url":"https://sms.example.com/send","from":"+1 234 567",
 "template":"Your verification code is: @@password@@","brute_force_protection":true,"forward_req_info":"true",
 "disable_signup":false,"name":"sms","syntax":"md_with_macros","totp":{"time_step":300,"length":6},
 "gateway_authentication":{"method":"bearer","subject":"urn:Auth0","audience":"urn:MySmsGateway","secret":"MySecretToSignTheToken","secret_base64_encoded":false}}`

func decodeOptions(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// withOptions returns the docs options with edits applied: a nil value
// deletes the key; keys with a dot edit gateway_authentication.
func withOptions(t *testing.T, edits map[string]any) map[string]any {
	t.Helper()
	m := decodeOptions(t, docsOptions)
	for k, v := range edits {
		target := m
		if sub, ok := strings.CutPrefix(k, "gateway_authentication."); ok {
			target = m["gateway_authentication"].(map[string]any)
			k = sub
		}
		if v == nil {
			delete(target, k)
		} else {
			target[k] = v
		}
	}
	return m
}

func TestGatewayFromOptions(t *testing.T) {
	t.Parallel()
	docsAuth := &GatewayAuth{Method: "bearer", Subject: "urn:Auth0", Audience: "urn:MySmsGateway", Secret: "MySecretToSignTheToken"}
	tests := []struct {
		name  string
		edits map[string]any
		raw   string // when set, used instead of docs options + edits
		want  *Gateway
	}{{
		name: "Auth0 docs example",
		want: &Gateway{URL: "https://sms.example.com/send", From: "+1 234 567", ForwardRequestInfo: true, Auth: docsAuth},
	}, {
		name:  "forward_req_info as bool false",
		edits: map[string]any{"forward_req_info": false},
		want:  &Gateway{URL: "https://sms.example.com/send", From: "+1 234 567", Auth: docsAuth},
	}, {
		name:  "forward_req_info as string false",
		edits: map[string]any{"forward_req_info": "false"},
		want:  &Gateway{URL: "https://sms.example.com/send", From: "+1 234 567", Auth: docsAuth},
	}, {
		name:  "forward_req_info as bool true",
		edits: map[string]any{"forward_req_info": true},
		want:  &Gateway{URL: "https://sms.example.com/send", From: "+1 234 567", ForwardRequestInfo: true, Auth: docsAuth},
	}, {
		name: "minimal, no authentication, null from",
		raw:  `{"provider":"sms_gateway","gateway_url":"https://gw.example","from":null,"gateway_authentication":null}`,
		want: &Gateway{URL: "https://gw.example"},
	}, {
		name: "http on loopback",
		raw:  `{"provider":"sms_gateway","gateway_url":"http://127.0.0.1:8080/sms"}`,
		want: &Gateway{URL: "http://127.0.0.1:8080/sms"},
	}, {
		name: "http on ::1 and localhost",
		raw:  `{"provider":"sms_gateway","gateway_url":"http://[::1]:9999/x"}`,
		want: &Gateway{URL: "http://[::1]:9999/x"},
	}, {
		name: "http on localhost",
		raw:  `{"provider":"sms_gateway","gateway_url":"http://LocalHost/x"}`,
		want: &Gateway{URL: "http://LocalHost/x"},
	}, {
		name:  "method in upper case, no subject, base64 secret",
		edits: map[string]any{"gateway_authentication.method": "Bearer", "gateway_authentication.subject": nil, "gateway_authentication.secret": "c2VjcmV0", "gateway_authentication.secret_base64_encoded": true},
		want:  &Gateway{URL: "https://sms.example.com/send", From: "+1 234 567", ForwardRequestInfo: true, Auth: &GatewayAuth{Method: "bearer", Audience: "urn:MySmsGateway", Secret: "c2VjcmV0", SecretBase64Encoded: true}},
	}, {
		name:  "top-level secret_base64_encoded (older docs)",
		edits: map[string]any{"gateway_authentication.secret_base64_encoded": nil, "gateway_authentication.secret": "c2VjcmV0-_", "secret_base64_encoded": "true"},
		want:  &Gateway{URL: "https://sms.example.com/send", From: "+1 234 567", ForwardRequestInfo: true, Auth: &GatewayAuth{Method: "bearer", Subject: "urn:Auth0", Audience: "urn:MySmsGateway", Secret: "c2VjcmV0-_", SecretBase64Encoded: true}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := withOptions(t, tt.edits)
			if tt.raw != "" {
				opts = decodeOptions(t, tt.raw)
			}
			got, err := GatewayFromOptions(opts)
			if err != nil {
				t.Fatalf("GatewayFromOptions: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("GatewayFromOptions mismatch (-want +got):\n%s", diff)
			}
			// What GatewayFromOptions accepts, Generate accepts.
			if _, err := Generate(Spec{Default: Target{Gateway: got}}); err != nil {
				t.Errorf("Generate rejects the gateway GatewayFromOptions returned: %v", err)
			}
		})
	}
}

func TestGatewayFromOptionsRejects(t *testing.T) {
	t.Parallel()
	const secretText = "MySecretToSignTheToken"
	tests := []struct {
		name      string
		edits     map[string]any
		raw       string
		wantErr   error
		wantField string
		wantText  string // substring of Problem
	}{
		{name: "twilio provider", edits: map[string]any{"provider": "twilio"}, wantErr: ErrNotGateway, wantField: "provider", wantText: `"twilio"`},
		{name: "no provider", edits: map[string]any{"provider": nil}, wantErr: ErrNotGateway, wantField: "provider", wantText: "not set"},
		{name: "provider not a string", edits: map[string]any{"provider": 3.0}, wantErr: ErrInvalidGateway, wantField: "provider", wantText: "number"},
		{name: "missing URL", edits: map[string]any{"gateway_url": nil}, wantErr: ErrInvalidGateway, wantField: "gateway_url", wantText: "required"},
		{name: "empty URL", edits: map[string]any{"gateway_url": ""}, wantErr: ErrInvalidGateway, wantField: "gateway_url", wantText: "required"},
		{name: "http to a public host", edits: map[string]any{"gateway_url": "http://sms.example.com/send?token=abc"}, wantErr: ErrInvalidGateway, wantField: "gateway_url", wantText: "only https"},
		{name: "http to a private address", edits: map[string]any{"gateway_url": "http://10.0.0.1/"}, wantErr: ErrInvalidGateway, wantField: "gateway_url", wantText: "only https"},
		{name: "ftp", edits: map[string]any{"gateway_url": "ftp://sms.example.com/"}, wantErr: ErrInvalidGateway, wantField: "gateway_url", wantText: `"ftp"`},
		{name: "relative URL", edits: map[string]any{"gateway_url": "/send"}, wantErr: ErrInvalidGateway, wantField: "gateway_url", wantText: "absolute"},
		{name: "unparseable URL", edits: map[string]any{"gateway_url": "https://a b/"}, wantErr: ErrInvalidGateway, wantField: "gateway_url", wantText: "not a valid URL"},
		{name: "from not a string", edits: map[string]any{"from": true}, wantErr: ErrInvalidGateway, wantField: "from", wantText: "boolean"},
		{name: "forward_req_info odd string", edits: map[string]any{"forward_req_info": "yes"}, wantErr: ErrInvalidGateway, wantField: "forward_req_info", wantText: `"yes"`},
		{name: "forward_req_info number", edits: map[string]any{"forward_req_info": 1.0}, wantErr: ErrInvalidGateway, wantField: "forward_req_info", wantText: "number"},
		{name: "authentication not an object", edits: map[string]any{"gateway_authentication": "bearer"}, wantErr: ErrInvalidGateway, wantField: "gateway_authentication", wantText: "string"},
		{name: "no audience", edits: map[string]any{"gateway_authentication.audience": nil}, wantErr: ErrInvalidGateway, wantField: "gateway_authentication.audience", wantText: "required"},
		{name: "no secret", edits: map[string]any{"gateway_authentication.secret": ""}, wantErr: ErrInvalidGateway, wantField: "gateway_authentication.secret", wantText: "required"},
		{name: "no method", edits: map[string]any{"gateway_authentication.method": nil}, wantErr: ErrInvalidGateway, wantField: "gateway_authentication.method", wantText: "required"},
		{name: "basic method", edits: map[string]any{"gateway_authentication.method": "basic"}, wantErr: ErrInvalidGateway, wantField: "gateway_authentication.method", wantText: `"basic"`},
		{name: "secret not base64", edits: map[string]any{"gateway_authentication.secret_base64_encoded": true, "gateway_authentication.secret": "MySecret*ToSign"}, wantErr: ErrInvalidGateway, wantField: "gateway_authentication.secret", wantText: "not valid base64"},
		{name: "secret_base64_encoded not a bool", edits: map[string]any{"gateway_authentication.secret_base64_encoded": map[string]any{}}, wantErr: ErrInvalidGateway, wantField: "gateway_authentication.secret_base64_encoded", wantText: "object"},
		{name: "URL credentials with JWT authentication", edits: map[string]any{"gateway_url": "https://gw-user:gw-pass-token=abc@sms.example.com/send"}, wantErr: ErrInvalidGateway, wantField: "gateway_url",
			wantText: "Remove the credentials from the URL (the gateway then checks the JWT only), or remove gateway_authentication"},
		{name: "fetch-blocked port", edits: map[string]any{"gateway_url": "https://sms.example.com:25/send?token=abc"}, wantErr: ErrInvalidGateway, wantField: "gateway_url", wantText: "port 25"},
		{name: "port out of range", edits: map[string]any{"gateway_url": "https://sms.example.com:70000/send?token=abc"}, wantErr: ErrInvalidGateway, wantField: "gateway_url", wantText: "1 to 65535"},
		{name: "secret longer than an Action secret", edits: map[string]any{"gateway_authentication.secret": strings.Repeat("k", 4097)}, wantErr: ErrInvalidGateway, wantField: "gateway_authentication.secret", wantText: "4096"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := withOptions(t, tt.edits)
			if tt.raw != "" {
				opts = decodeOptions(t, tt.raw)
			}
			got, err := GatewayFromOptions(opts)
			if err == nil {
				t.Fatalf("GatewayFromOptions = %+v, want an error", got)
			}
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("error %v is not %v", err, tt.wantErr)
			}
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("error %T is not a *ValidationError", err)
			}
			if ve.Field != tt.wantField {
				t.Errorf("Field = %q, want %q", ve.Field, tt.wantField)
			}
			if !strings.Contains(ve.Problem, tt.wantText) {
				t.Errorf("Problem = %q, want it to contain %q", ve.Problem, tt.wantText)
			}
			if strings.Contains(err.Error(), secretText) || strings.Contains(err.Error(), "MySecret*") || strings.Contains(err.Error(), "token=abc") || strings.Contains(err.Error(), "gw-pass") || strings.Contains(err.Error(), "kkkk") {
				t.Errorf("error leaks a secret or the URL: %v", err)
			}
		})
	}
}
