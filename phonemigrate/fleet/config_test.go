package fleet_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/unifiedphone/unifiedphone/phonemigrate/fleet"
)

func TestParseForms(t *testing.T) {
	t.Parallel()
	want := &fleet.Config{
		Concurrency: 3,
		Tenants: []fleet.Tenant{{
			Name:       "acme-eu",
			Domain:     "acme.eu.auth0.com",
			TokenEnv:   "ACME_AUTH0_TOKEN",
			Checkpoint: "phonemigrate-acme-eu.checkpoint.json",
			RateLimit:  fleet.RateLimit{PerSecond: 2, Burst: 10},
			Options:    fleet.TenantOptions{Provider: "custom", Delivery: "text,voice", TestTo: []string{"+15551230001"}},
		}, {
			Name:            "dev",
			BaseURL:         "http://127.0.0.1:8080/api/v2",
			ClientIDEnv:     "DEV_AUTH0_ID",
			ClientSecretEnv: "DEV_AUTH0_SECRET",
			Checkpoint:      "cp/dev.json",
			Options:         fleet.TenantOptions{SkipTest: true, TwilioTokenEnv: "DEV_TWILIO"},
		}},
	}
	tests := []struct {
		name string
		in   string
		f    fleet.Format
		want *fleet.Config
	}{
		{"yaml", `
concurrency: 3
tenants:
  - name: acme-eu
    domain: acme.eu.auth0.com
    token_env: ACME_AUTH0_TOKEN
    rate_limit: {per_second: 2, burst: 10}
    options: {provider: custom, delivery: "text,voice", test_to: ["+15551230001"]}
  - name: dev
    base_url: http://127.0.0.1:8080/api/v2
    client_id_env: DEV_AUTH0_ID
    client_secret_env: DEV_AUTH0_SECRET
    checkpoint: cp/dev.json
    options: {skip_test: true, twilio_token_env: DEV_TWILIO}
`, fleet.FormatYAML, want},
		{"json auto", `{"concurrency": 3, "tenants": [
 {"name": "acme-eu", "domain": "acme.eu.auth0.com", "token_env": "ACME_AUTH0_TOKEN",
  "rate_limit": {"per_second": 2, "burst": 10},
  "options": {"provider": "custom", "delivery": "text,voice", "test_to": ["+15551230001"]}},
 {"name": "dev", "base_url": "http://127.0.0.1:8080/api/v2", "client_id_env": "DEV_AUTH0_ID",
  "client_secret_env": "DEV_AUTH0_SECRET", "checkpoint": "cp/dev.json",
  "options": {"skip_test": true, "twilio_token_env": "DEV_TWILIO"}}]}`, fleet.FormatAuto, want},
		{"bare yaml list", `
- name: dev
  base_url: http://127.0.0.1:8080/api/v2
  client_id_env: DEV_AUTH0_ID
  client_secret_env: DEV_AUTH0_SECRET
  checkpoint: cp/dev.json
  options: {skip_test: true, twilio_token_env: DEV_TWILIO}
`, fleet.FormatAuto, &fleet.Config{Tenants: want.Tenants[1:]}},
		{"bare json list", `[{"name": "dev", "base_url": "http://127.0.0.1:8080/api/v2", "client_id_env": "DEV_AUTH0_ID",
  "client_secret_env": "DEV_AUTH0_SECRET", "checkpoint": "cp/dev.json",
  "options": {"skip_test": true, "twilio_token_env": "DEV_TWILIO"}}]`, fleet.FormatJSON, &fleet.Config{Tenants: want.Tenants[1:]}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := fleet.Parse([]byte(tt.in), tt.f)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Parse (-want +got):\n%s", diff)
			}
		})
	}
}

// sentinel is a value that looks like a credential; no error may repeat it.
const sentinel = "SENTINEL-eyJhbGciOiJSUzI1NiJ9-not-a-real-token"

func TestParseErrors(t *testing.T) {
	t.Parallel()
	const base = "name: t1\n    base_url: https://t1.example.com/api/v2\n    token_env: AUTH0_T1\n    options: {skip_test: true}\n"
	tenant := func(extra string) string { return "tenants:\n  - " + base + extra }
	tests := []struct {
		name, in   string
		field, has string
	}{
		{"empty", ``, "", "is empty"},
		{"no tenants", "tenants: []", "tenants", "at least one"},
		{"syntax", "tenants: [", "", "not valid YAML"},
		{"json syntax", `{"tenants": [}`, "", "not valid JSON"},
		{"unknown key", tenant("    colour: red\n"), "", "colour"},
		{"literal token", tenant("    token: " + sentinel + "\n"), "token", "environment variables"},
		{"literal client secret", "tenants:\n  - name: t1\n    domain: a.auth0.com\n    client_id_env: AUTH0_A\n    client_secret: " + sentinel + "\n", "client_secret", "client_secret_env"},
		{"literal twilio token", "tenants:\n  - name: t1\n    domain: a.auth0.com\n    token_env: AUTH0_A\n    options: {skip_test: true, twilio_auth_token: " + sentinel + "}\n", "options.twilio_auth_token", "twilio_token_env"},
		{"token in token_env", "tenants:\n  - name: t1\n    domain: a.auth0.com\n    token_env: " + sentinel + "\n    options: {skip_test: true}\n", "token_env", "name of an environment variable"},
		{"secret in client_secret_env", "tenants:\n  - name: t1\n    domain: a.auth0.com\n    client_id_env: AUTH0_A\n    client_secret_env: " + sentinel + "\n    options: {skip_test: true}\n", "client_secret_env", "not the secret itself"},
		{"no name", "tenants:\n  - domain: a.auth0.com\n    token_env: AUTH0_A\n    options: {skip_test: true}\n", "name", "required"},
		{"bad name", "tenants:\n  - name: a b\n    domain: a.auth0.com\n    token_env: AUTH0_A\n    options: {skip_test: true}\n", "name", "letters"},
		{"duplicate name", tenant("  - " + base), "name", "another tenant"},
		{"domain and base_url", tenant("    domain: a.auth0.com\n"), "domain", "not both"},
		{"no address", "tenants:\n  - name: t1\n    token_env: AUTH0_A\n    options: {skip_test: true}\n", "domain", "domain or base_url"},
		{"domain is url", "tenants:\n  - name: t1\n    domain: https://a.auth0.com\n    token_env: AUTH0_A\n    options: {skip_test: true}\n", "domain", "host name"},
		{"plain http", "tenants:\n  - name: t1\n    base_url: http://a.example.com/api/v2\n    token_env: AUTH0_A\n    options: {skip_test: true}\n", "base_url", "loopback"},
		{"user info", "tenants:\n  - name: t1\n    base_url: https://u:" + sentinel + "@a.example.com/api/v2\n    token_env: AUTH0_A\n    options: {skip_test: true}\n", "base_url", "credentials"},
		{"no credentials", "tenants:\n  - name: t1\n    domain: a.auth0.com\n    options: {skip_test: true}\n", "token_env", "set token_env"},
		{"both credentials", tenant("    client_id_env: AUTH0_A\n    client_secret_env: AUTH0_B\n"), "token_env", "not both"},
		{"half client credentials", "tenants:\n  - name: t1\n    domain: a.auth0.com\n    client_id_env: AUTH0_A\n    options: {skip_test: true}\n", "client_id_env", "together"},
		{"shared checkpoint", "tenants:\n  - " + base + "    checkpoint: x.json\n  - name: t2\n    domain: b.auth0.com\n    token_env: AUTH0_B\n    checkpoint: ./x.json\n    options: {skip_test: true}\n", "checkpoint", "its own"},
		{"negative rate", tenant("    rate_limit: {per_second: -1}\n"), "rate_limit.per_second", "between"},
		{"burst without rate", tenant("    rate_limit: {burst: 5}\n"), "rate_limit.burst", "without per_second"},
		{"bad provider", "tenants:\n  - name: t1\n    domain: a.auth0.com\n    token_env: AUTH0_A\n    options: {skip_test: true, provider: messagebird}\n", "options.provider", "auto, twilio, custom"},
		{"bad delivery", "tenants:\n  - name: t1\n    domain: a.auth0.com\n    token_env: AUTH0_A\n    options: {skip_test: true, delivery: fax}\n", "options.delivery", "text, voice"},
		{"bad e164", "tenants:\n  - name: t1\n    domain: a.auth0.com\n    token_env: AUTH0_A\n    options: {test_to: [\"555-1234\"]}\n", "options.test_to", "E.164"},
		{"no test choice", "tenants:\n  - name: t1\n    domain: a.auth0.com\n    token_env: AUTH0_A\n", "options.test_to", "skip_test"},
		{"test and skip", "tenants:\n  - name: t1\n    domain: a.auth0.com\n    token_env: AUTH0_A\n    options: {skip_test: true, test_to: [\"+15551230001\"]}\n", "options.skip_test", "together"},
		{"non-https twilio url", "tenants:\n  - name: t1\n    domain: a.auth0.com\n    token_env: AUTH0_A\n    options: {skip_test: true, twilio_api_url: \"http://twilio.example.com\"}\n", "options.twilio_api_url", "https"},
		{"bad evidence timeout", "tenants:\n  - name: t1\n    domain: a.auth0.com\n    token_env: AUTH0_A\n    options: {skip_test: true, evidence_timeout: soon}\n", "options.evidence_timeout", "positive duration"},
		{"zero evidence timeout", "tenants:\n  - name: t1\n    domain: a.auth0.com\n    token_env: AUTH0_A\n    options: {skip_test: true, evidence_timeout: 0s}\n", "options.evidence_timeout", "positive duration"},
		{"concurrency", "concurrency: -2\n" + tenant(""), "concurrency", "between"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := fleet.Parse([]byte(tt.in), fleet.FormatAuto)
			var ce *fleet.ConfigError
			if !errors.As(err, &ce) || !errors.Is(err, fleet.ErrInvalidConfig) {
				t.Fatalf("Parse = %v, want a *ConfigError", err)
			}
			if ce.Field != tt.field {
				t.Errorf("Field = %q, want %q (error %q)", ce.Field, tt.field, err)
			}
			if !strings.Contains(err.Error(), tt.has) {
				t.Errorf("error %q does not say %q", err, tt.has)
			}
			if strings.Contains(err.Error(), sentinel) || strings.Contains(err.Error(), "SENTINEL") {
				t.Errorf("error repeats the secret: %q", err)
			}
		})
	}
}

func TestLoad(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "fleet.yml")
	if err := os.WriteFile(path, []byte("- name: a\n  domain: a.auth0.com\n  token_env: AUTH0_A\n  options: {skip_test: true}\n- name: b\n  domain: b.auth0.com\n  token_env: AUTH0_B\n  checkpoint: /abs/b.json\n  options: {skip_test: true}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := fleet.Load(path); err == nil || !strings.Contains(err.Error(), `checkpoint: "/abs/b.json" leaves the fleet file's directory`) {
		t.Errorf("Load with an absolute checkpoint = %v, want it refused", err)
	}
	cfg, err := fleet.Load(path, fleet.AllowCheckpointsAnywhere())
	if err != nil {
		t.Fatal(err)
	}
	got := []string{cfg.Tenants[0].Checkpoint, cfg.Tenants[1].Checkpoint}
	want := []string{filepath.Join(dir, "phonemigrate-a.checkpoint.json"), "/abs/b.json"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("checkpoints (-want +got):\n%s", diff)
	}

	_, err = fleet.Load(filepath.Join(dir, "missing.yaml"))
	if !errors.Is(err, fleet.ErrInvalidConfig) || !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("Load(missing) = %v, want a ConfigError wrapping ErrNotExist", err)
	}
	// A .json file is parsed strictly as JSON even if YAML would accept it.
	jpath := filepath.Join(dir, "fleet.json")
	if err := os.WriteFile(jpath, []byte("tenants: []\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := fleet.Load(jpath); err == nil || !strings.Contains(err.Error(), "not valid JSON") {
		t.Errorf("Load(YAML in .json) = %v, want a JSON error", err)
	}
}

// TestUntrustedFile: a fleet file may name only credential variables of
// the documented shape, and its checkpoints stay in its directory unless
// AllowCheckpointsAnywhere.
func TestUntrustedFile(t *testing.T) {
	t.Parallel()
	tenant := func(extra string) string {
		return "tenants:\n  - name: t1\n    domain: a.auth0.com\n" + extra + "    options: {skip_test: true}\n"
	}
	for _, tc := range []struct {
		name     string
		in       string
		anywhere bool
		field    string // "" = accepted
	}{
		{name: "AUTH0_TOKEN", in: tenant("    token_env: AUTH0_TOKEN\n")},
		{name: "prefixed word", in: tenant("    token_env: ACME_EU_AUTH0_TOKEN\n")},
		{name: "client credentials", in: tenant("    client_id_env: ACME_AUTH0_CLIENT_ID\n    client_secret_env: ACME_AUTH0_CLIENT_SECRET\n")},
		{name: "cloud key as token", in: tenant("    token_env: AWS_SECRET_ACCESS_KEY\n"), field: "token_env"},
		{name: "CI token", in: tenant("    token_env: GITHUB_TOKEN\n"), field: "token_env"},
		{name: "AUTH0 only inside a word", in: tenant("    token_env: XAUTH0Y_TOKEN\n"), field: "token_env"},
		{name: "client id elsewhere", in: tenant("    client_id_env: CLIENT_ID\n    client_secret_env: AUTH0_CLIENT_SECRET\n"), field: "client_id_env"},
		{name: "client secret elsewhere", in: tenant("    client_id_env: AUTH0_CLIENT_ID\n    client_secret_env: DB_PASSWORD\n"), field: "client_secret_env"},
		{name: "twilio token elsewhere", in: "tenants:\n  - name: t1\n    domain: a.auth0.com\n    token_env: AUTH0_TOKEN\n    options: {skip_test: true, twilio_token_env: STRIPE_KEY}\n", field: "options.twilio_token_env"},
		{name: "twilio token", in: "tenants:\n  - name: t1\n    domain: a.auth0.com\n    token_env: AUTH0_TOKEN\n    options: {skip_test: true, twilio_token_env: ACME_TWILIO_TOKEN}\n"},
		{name: "checkpoint in a subdirectory", in: tenant("    token_env: AUTH0_TOKEN\n    checkpoint: cp/t1.json\n")},
		{name: "checkpoint up and back", in: tenant("    token_env: AUTH0_TOKEN\n    checkpoint: cp/../t1.json\n")},
		{name: "checkpoint outside", in: tenant("    token_env: AUTH0_TOKEN\n    checkpoint: ../t1.json\n"), field: "checkpoint"},
		{name: "checkpoint absolute", in: tenant("    token_env: AUTH0_TOKEN\n    checkpoint: /home/other/.ssh/cp.json\n"), field: "checkpoint"},
		{name: "checkpoint absolute allowed", in: tenant("    token_env: AUTH0_TOKEN\n    checkpoint: /var/lib/pm/cp.json\n"), anywhere: true},
		{name: "checkpoint outside allowed", in: tenant("    token_env: AUTH0_TOKEN\n    checkpoint: ../t1.json\n"), anywhere: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var opts []fleet.LoadOption
			if tc.anywhere {
				opts = append(opts, fleet.AllowCheckpointsAnywhere())
			}
			_, err := fleet.Parse([]byte(tc.in), fleet.FormatYAML, opts...)
			if tc.field == "" {
				if err != nil {
					t.Errorf("refused: %v", err)
				}
				return
			}
			var ce *fleet.ConfigError
			if !errors.As(err, &ce) || ce.Field != tc.field {
				t.Fatalf("error = %v, want a ConfigError on %s", err, tc.field)
			}
		})
	}
}
