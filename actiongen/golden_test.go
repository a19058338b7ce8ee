package actiongen

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dop251/goja"
	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// Secret values used by the representative specs. The golden tests assert
// that none of them appears in generated code.
const (
	testGatewayURL    = "https://sms-gateway.example.com/send?key=url-secret-part"
	testGatewaySecret = "MySecretToSignTheToken"
	testTwilioSID     = "AC0123456789abcdef0123456789abcdef"
	testTwilioToken   = "twilio-auth-token-0123456789abcdef"
)

// goldenSpecs are representative specs; each has testdata/<name>.js (the
// code) and testdata/<name>.action.json (everything else, secret values
// replaced by their length).
var goldenSpecs = []struct {
	name string
	spec Spec
}{{
	name: "gateway-minimal",
	spec: Spec{Default: Target{Gateway: &Gateway{URL: testGatewayURL}}},
}, {
	name: "gateway-auth-forward",
	spec: Spec{
		Name: "legacy-sms-gateway",
		Default: Target{Gateway: &Gateway{
			URL:                testGatewayURL,
			From:               "+1 234 567",
			ForwardRequestInfo: true,
			Auth:               &GatewayAuth{Method: "bearer", Subject: "urn:Auth0", Audience: "urn:MySmsGateway", Secret: testGatewaySecret},
		}},
		RequestTimeout: 5 * time.Second,
	},
}, {
	name: "gateway-voice-base64",
	spec: Spec{Default: Target{Gateway: &Gateway{
		URL:   testGatewayURL,
		Voice: true,
		Auth:  &GatewayAuth{Audience: "urn:gw", Secret: "c2VjcmV0LWJ5dGVz", SecretBase64Encoded: true},
	}}},
}, {
	name: "twilio-from",
	spec: Spec{Default: Target{Twilio: &Twilio{AccountSID: testTwilioSID, AuthToken: testTwilioToken, From: "+15550001111"}}},
}, {
	name: "twilio-messaging-service",
	spec: Spec{Default: Target{Twilio: &Twilio{AccountSID: testTwilioSID, AuthToken: testTwilioToken,
		MessagingServiceSID: "MG0123456789abcdef0123456789abcdef", APIBaseURL: "http://127.0.0.1:8080/"}}},
}, {
	name: "routing-gateway-passwordless-twilio-mfa",
	spec: Spec{
		Default: Target{Twilio: &Twilio{AccountSID: testTwilioSID, AuthToken: testTwilioToken, From: "+15550001111"}},
		Passwordless: &Target{Gateway: &Gateway{
			URL:  testGatewayURL,
			From: "Acme </script> \"quoted\" \u2028 ${x} `tick`",
			Auth: &GatewayAuth{Subject: "urn:Auth0", Audience: "urn:MySmsGateway", Secret: testGatewaySecret},
		}},
	},
}, {
	// MFA (Twilio) keeps its legacy Guardian texts; Passwordless uses the
	// tenant's phone templates.
	name: "routing-gateway-passwordless-twilio-mfa-text",
	spec: Spec{
		Default: Target{
			Twilio: &Twilio{AccountSID: testTwilioSID, AuthToken: testTwilioToken, From: "+15550001111"},
			Text: &MessageText{
				Verify:      "{{code}} is your verification code for {{tenant.friendly_name}}",
				Enroll:      "{{ code }} is your verification code for {{ tenant.friendly_name }}. Please enter this code to verify your enrollment.",
				EnrollVoice: "Your {{ friendly_name }} enrollment code is {{ password }} </Say> \"${x}\" \u2028",
			},
		},
		Passwordless: &Target{Gateway: &Gateway{URL: testGatewayURL, From: "Acme"}},
	},
}, {
	// gateway_url with user:password@ and no JWT: HTTP Basic from a secret.
	name: "gateway-url-credentials",
	spec: Spec{Default: Target{Gateway: &Gateway{URL: "https://gw-user:" + testGatewaySecret + "@sms-gateway.example.com/send"}}},
}, {
	// The legacy-exact policy (never retry), an issuer and a lifetime.
	name: "gateway-never-retry-jwt-options",
	spec: Spec{
		Retry: RetryNever,
		Default: Target{Gateway: &Gateway{URL: testGatewayURL, Auth: &GatewayAuth{
			Subject: "urn:Auth0", Audience: "urn:MySmsGateway", Secret: testGatewaySecret,
			Issuer: "https://acme.eu.auth0.com/", Lifetime: time.Minute,
		}}},
	},
}, {
	// MFA through a send-phone-message Action, carried unchanged.
	name: "hook-mfa",
	spec: Spec{Name: "mfa-hook-copy", Default: Target{Hook: &Hook{Name: "sms-hook", Code: testHookCode,
		Secrets:      []Secret{{Name: "GW_KEY", Value: testHookKey}},
		Dependencies: []Dependency{{Name: "left-pad", Version: "1.3.0"}}}}},
}, {
	// Passwordless through a gateway, MFA through the hook: one routing Action.
	name: "routing-gateway-passwordless-hook-mfa",
	spec: Spec{
		Default:      Target{Hook: &Hook{Name: "sms-hook", Code: testHookCode, Secrets: []Secret{{Name: "GW_KEY", Value: testHookKey}}}},
		Passwordless: &Target{Gateway: &Gateway{URL: testGatewayURL, Auth: &GatewayAuth{Audience: "urn:gw", Secret: testGatewaySecret}}},
	},
}}

// testHookCode is a send-phone-message Action as a customer writes it.
const testHookCode = `/**
 * Handler that will be called during the execution of a SendPhoneMessage flow.
 */
const KIND = { enrollment: 'enroll', 'second-factor-authentication': 'verify' };
exports.onExecuteSendPhoneMessage = async (event, api) => {
  const o = event.message_options;
  await fetch('https://sms.example.com/v1/send', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-Key': event.secrets.GW_KEY },
    body: JSON.stringify({ to: o.recipient, text: o.text, kind: KIND[o.action], type: o.message_type }),
  });
};
exports.onExecutePostLogin = async (event, api) => {}; // also serves post-login`

const testHookKey = "hook-key-0123456789"

// actionSummary is the golden form of an Action minus its code, with secret
// values replaced by their length.
type actionSummary struct {
	Name         string       `json:"name"`
	Runtime      string       `json:"runtime"`
	CodeBytes    int          `json:"code_bytes"`
	Secrets      []string     `json:"secrets"`
	Dependencies []Dependency `json:"dependencies"`
}

func summarize(a *Action) actionSummary {
	s := actionSummary{Name: a.Name, Runtime: a.Runtime, CodeBytes: len(a.Code), Secrets: []string{}, Dependencies: a.Dependencies}
	for _, sec := range a.Secrets {
		s.Secrets = append(s.Secrets, sec.Name)
	}
	return s
}

func TestGenerateGolden(t *testing.T) {
	t.Parallel()
	for _, tt := range goldenSpecs {
		t.Run(tt.name, func(t *testing.T) {
			a, err := Generate(tt.spec)
			if err != nil {
				t.Fatalf("Generate: %v", err)
			}
			sum, err := json.MarshalIndent(summarize(a), "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, tt.name+".js", a.Code)
			checkGolden(t, tt.name+".action.json", string(sum)+"\n")

			mustParse(t, tt.name, a.Code)
			for _, sec := range a.Secrets {
				if strings.Contains(a.Code, sec.Value) {
					t.Errorf("code contains the value of secret %s", sec.Name)
				}
			}
			// Auth0 refuses Actions above 100 kB; stay far below.
			if len(a.Code) > 20_000 {
				t.Errorf("code is %d bytes, want under 20 kB (Auth0 limit 100 kB)", len(a.Code))
			}
			if a.Runtime != "node22" {
				t.Errorf("Runtime = %q, want node22", a.Runtime)
			}
			if tt.spec.Default.Hook == nil && (a.Dependencies == nil || len(a.Dependencies) != 0) {
				t.Errorf("Dependencies = %#v, want empty, non-nil", a.Dependencies)
			}
			if h := tt.spec.Default.Hook; h != nil {
				if got, ok := EmbeddedHookCode(a.Code); !ok || got != h.Code {
					t.Errorf("EmbeddedHookCode = %q, %v; want the hook's code unchanged", got, ok)
				}
				if diff := cmp.Diff(append([]Dependency{}, h.Dependencies...), a.Dependencies); diff != "" {
					t.Errorf("Dependencies (-want +got):\n%s", diff)
				}
			}
			again, err := Generate(tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(a, again); diff != "" {
				t.Errorf("Generate is not deterministic (-first +second):\n%s", diff)
			}
		})
	}
}

// TestGoldenFilesParse parses every golden JavaScript file, including any
// left from specs no longer in the table.
func TestGoldenFilesParse(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join("testdata", "*.js"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < len(goldenSpecs) {
		t.Fatalf("found %d golden .js files, want at least %d", len(files), len(goldenSpecs))
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := goja.Compile(f, string(b), false); err != nil {
			t.Errorf("%s does not parse: %v", f, err)
		}
	}
}

func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", path, diff)
	}
}

// mustParse compiles code with goja (pure Go) and fails the test if it does
// not parse.
func mustParse(t testing.TB, name, code string) {
	t.Helper()
	if _, err := goja.Compile(name, code, false); err != nil {
		t.Fatalf("%s does not parse: %v", name, err)
	}
}

// evalConfig runs code in goja with a stub require and returns CONFIG
// decoded from JSON, and whether the module exported
// onExecuteCustomPhoneProvider as a function.
func evalConfig(t testing.TB, code string) (config, bool) {
	t.Helper()
	vm := goja.New()
	if err := vm.Set("require", func(string) map[string]any { return map[string]any{} }); err != nil {
		t.Fatal(err)
	}
	if _, err := vm.RunString("var module = {exports: {}}; var exports = module.exports;"); err != nil {
		t.Fatal(err)
	}
	if _, err := vm.RunString(code); err != nil {
		t.Fatalf("run code in goja: %v", err)
	}
	v, err := vm.RunString(`JSON.stringify({config: CONFIG, handler: typeof exports.onExecuteCustomPhoneProvider})`)
	if err != nil {
		t.Fatalf("read CONFIG: %v", err)
	}
	var out struct {
		Config  config `json:"config"`
		Handler string `json:"handler"`
	}
	if err := json.Unmarshal([]byte(v.String()), &out); err != nil {
		t.Fatalf("decode CONFIG: %v", err)
	}
	return out.Config, out.Handler == "function"
}
