package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/unifiedphone/unifiedphone/phonemigrate/phonemigratetest"
)

// badInputCase is one invocation that must be refused before anything is
// written to the tenant.
type badInputCase struct {
	name     string
	scenario phonemigratetest.Scenario // "" means legacy-gateway
	// setup may create files in dir and adjust env; it returns the args.
	args  func(dir string, srv *phonemigratetest.Server, env map[string]string) []string
	code  int    // 2 or 3
	match string // regexp the one sentence must match
}

// tenantEnv points the CLI at srv with its real token.
func tenantEnv(srv *phonemigratetest.Server) map[string]string {
	return map[string]string{envBaseURL: srv.BaseURL, envToken: srv.Token, envWatch: "0"}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestBadInput runs every kind of bad input through the CLI and checks
// that each exits 2 (usage/input) or 3 (not eligible / user action first)
// with exactly one clear sentence on stderr, prints nothing on stdout, and
// that the fake tenant received no mutating request.
func TestBadInput(t *testing.T) {
	t.Parallel()
	args := func(a ...string) func(string, *phonemigratetest.Server, map[string]string) []string {
		return func(string, *phonemigratetest.Server, map[string]string) []string { return a }
	}
	applyArgs := func(extra ...string) func(string, *phonemigratetest.Server, map[string]string) []string {
		return args(append([]string{"apply", "--yes", "--poll-interval", "5ms"}, extra...)...)
	}
	cases := []badInputCase{
		// Malformed options.
		{name: "unknown provider", args: applyArgs("--skip-test", "--provider", "messagebird"), code: 2, match: `--provider "messagebird" is not one of auto, twilio, custom`},
		{name: "unknown delivery word", args: applyArgs("--skip-test", "--delivery", "fax"), code: 2, match: `--delivery "fax" is not one of`},
		{name: "delivery with an unknown word", args: applyArgs("--skip-test", "--delivery", "sms,pigeon"), code: 2, match: `--delivery "sms,pigeon"`},
		{name: "bad E.164 dashes", args: applyArgs("--test-to", "555-123-4567"), code: 2, match: `--test-to "555-123-4567" is not a phone number in E\.164 form`},
		{name: "bad E.164 leading zero", args: applyArgs("--test-to", "+0155512345"), code: 2, match: `E\.164`},
		{name: "no test choice", args: applyArgs(), code: 2, match: `--test-to is required: give E.164 numbers .* or --skip-test`},
		{name: "test and skip-test", args: applyArgs("--skip-test", "--test-to", "+15551230001"), code: 2, match: `--skip-test cannot be used together with --test-to`},
		{name: "quiet and verbose", args: applyArgs("--skip-test", "--quiet", "--verbose"), code: 2, match: `--quiet and --verbose cannot be used together`},
		{name: "zero poll interval", args: args("apply", "--yes", "--skip-test", "--poll-interval", "0s"), code: 2, match: `--poll-interval must be positive`},
		{name: "unknown flag", args: applyArgs("--skip-test", "--frobnicate"), code: 2, match: `flag provided but not defined: -frobnicate`},
		{name: "positional argument", args: applyArgs("--skip-test", "acme"), code: 2, match: `unexpected argument "acme"`},
		{name: "no --yes without a terminal", args: args("apply", "--skip-test"), code: 2, match: `apply needs --yes when stdin is not a terminal`},
		// Non-https URLs.
		{name: "non-https twilio api", args: applyArgs("--skip-test", "--twilio-api-url", "http://api.twilio.example.com"), code: 2, match: `plain http is allowed only to loopback hosts`},
		{name: "non-https base url", args: applyArgs("--skip-test", "--base-url", "http://tenant.example.com/api/v2"), code: 2, match: `plain http is allowed only to loopback hosts, not "tenant\.example\.com"`},
		{name: "base url with credentials", args: applyArgs("--skip-test", "--base-url", "https://user:pw-sentinel@tenant.example.com/api/v2"), code: 2, match: `--base-url must not hold credentials`},
		{name: "domain given as a URL", args: func(_ string, _ *phonemigratetest.Server, env map[string]string) []string {
			delete(env, envBaseURL)
			env[envDomain] = "https://acme.eu.auth0.com"
			return []string{"apply", "--yes", "--skip-test"}
		}, code: 2, match: `AUTH0_DOMAIN must be a host name`},
		// Conflicting settings.
		{name: "base url and domain", args: func(_ string, _ *phonemigratetest.Server, env map[string]string) []string {
			env[envDomain] = "acme.eu.auth0.com"
			return []string{"apply", "--yes", "--skip-test"}
		}, code: 2, match: `both PHONEMIGRATE_BASE_URL and AUTH0_DOMAIN are set`},
		{name: "client id without secret", args: func(_ string, srv *phonemigratetest.Server, env map[string]string) []string {
			delete(env, envToken)
			env[envClientID] = srv.ClientID
			return []string{"apply", "--yes", "--skip-test"}
		}, code: 2, match: `AUTH0_CLIENT_ID and AUTH0_CLIENT_SECRET must be set together`},
		// Checkpoints.
		{name: "corrupt checkpoint", args: func(dir string, _ *phonemigratetest.Server, _ map[string]string) []string {
			writeFile(t, filepath.Join(dir, "cp.json"), "{not json")
			return []string{"apply", "--yes", "--skip-test", "--checkpoint", filepath.Join(dir, "cp.json")}
		}, code: 2, match: `not a valid checkpoint`},
		{name: "foreign checkpoint", args: func(dir string, _ *phonemigratetest.Server, _ map[string]string) []string {
			writeFile(t, filepath.Join(dir, "cp.json"), `{"version": 1, "tenant": "someone-else.auth0.com", "state": "planned", "created": {}, "originals": {}}`)
			return []string{"apply", "--yes", "--skip-test", "--checkpoint", filepath.Join(dir, "cp.json")}
		}, code: 2, match: `belongs to tenant "someone-else\.auth0\.com"`},
		{name: "checkpoint of a future version", args: func(dir string, _ *phonemigratetest.Server, _ map[string]string) []string {
			writeFile(t, filepath.Join(dir, "cp.json"), `{"version": 99, "state": "planned"}`)
			return []string{"apply", "--yes", "--skip-test", "--checkpoint", filepath.Join(dir, "cp.json")}
		}, code: 2, match: `unsupported version 99`},
		{name: "unreadable checkpoint", args: func(dir string, _ *phonemigratetest.Server, _ map[string]string) []string {
			// A directory cannot be read as a file, even by root.
			if err := os.Mkdir(filepath.Join(dir, "cp.json"), 0o700); err != nil {
				t.Fatal(err)
			}
			return []string{"apply", "--yes", "--skip-test", "--checkpoint", filepath.Join(dir, "cp.json")}
		}, code: 2, match: `checkpoint`},
		{name: "rollback without checkpoint", args: func(dir string, _ *phonemigratetest.Server, _ map[string]string) []string {
			return []string{"rollback", "--yes", "--checkpoint", filepath.Join(dir, "none.json")}
		}, code: 2, match: `there is no checkpoint at .*none\.json`},
		// Unreadable files.
		{name: "action options file missing", args: func(dir string, _ *phonemigratetest.Server, _ map[string]string) []string {
			return []string{"action", "--options", filepath.Join(dir, "missing.json")}
		}, code: 2, match: `missing\.json`},
		{name: "fleet file missing", args: func(dir string, _ *phonemigratetest.Server, _ map[string]string) []string {
			return []string{"apply", "--yes", "--fleet", filepath.Join(dir, "missing.yaml")}
		}, code: 2, match: `fleet file .*missing\.yaml: cannot be read: no such file`},
		// Fleet files.
		{name: "fleet file with a literal token", args: func(dir string, srv *phonemigratetest.Server, _ map[string]string) []string {
			writeFile(t, filepath.Join(dir, "f.yaml"), "- {name: a, base_url: \""+srv.BaseURL+"\", token: \""+srv.Token+"\", options: {skip_test: true}}\n")
			return []string{"apply", "--yes", "--fleet", filepath.Join(dir, "f.yaml")}
		}, code: 2, match: `tenant a: token: would hold a secret in the file; secrets come only from environment variables`},
		{name: "fleet file malformed", args: func(dir string, _ *phonemigratetest.Server, _ map[string]string) []string {
			writeFile(t, filepath.Join(dir, "f.yaml"), "tenants: [\n")
			return []string{"apply", "--yes", "--fleet", filepath.Join(dir, "f.yaml")}
		}, code: 2, match: `is not valid YAML`},
		{name: "fleet tenant over plain http", args: func(dir string, _ *phonemigratetest.Server, _ map[string]string) []string {
			writeFile(t, filepath.Join(dir, "f.json"), `[{"name": "a", "base_url": "http://tenant.example.com/api/v2", "token_env": "T", "options": {"skip_test": true}}]`)
			return []string{"apply", "--yes", "--fleet", filepath.Join(dir, "f.json")}
		}, code: 2, match: `base_url: plain http is allowed only to loopback hosts`},
		{name: "fleet naming an unrelated secret", args: func(dir string, srv *phonemigratetest.Server, env map[string]string) []string {
			env["AWS_SECRET_ACCESS_KEY"] = "aws-sentinel-5c1d"
			writeFile(t, filepath.Join(dir, "f.json"), `[{"name": "a", "base_url": "`+srv.BaseURL+`", "token_env": "AWS_SECRET_ACCESS_KEY", "options": {"skip_test": true}}]`)
			return []string{"apply", "--yes", "--fleet", filepath.Join(dir, "f.json")}
		}, code: 2, match: `token_env: names AWS_SECRET_ACCESS_KEY, which does not contain the word AUTH0`},
		{name: "fleet checkpoint outside its directory", args: func(dir string, srv *phonemigratetest.Server, _ map[string]string) []string {
			writeFile(t, filepath.Join(dir, "f.json"), `[{"name": "a", "base_url": "`+srv.BaseURL+`", "token_env": "AUTH0_TOKEN", "checkpoint": "../elsewhere.json", "options": {"skip_test": true}}]`)
			return []string{"apply", "--yes", "--fleet", filepath.Join(dir, "f.json")}
		}, code: 2, match: `checkpoint: "\.\./elsewhere\.json" leaves the fleet file's directory`},
		{name: "allow-any-checkpoint without fleet", args: args("apply", "--yes", "--skip-test", "--allow-any-checkpoint"), code: 2, match: `--allow-any-checkpoint applies only to --fleet`},
		{name: "zero request timeout", args: args("plan", "--skip-test", "--request-timeout", "0s"), code: 2, match: `--request-timeout and --header-timeout must be positive`},
		{name: "fleet with --base-url", args: func(dir string, srv *phonemigratetest.Server, _ map[string]string) []string {
			return []string{"apply", "--yes", "--fleet", filepath.Join(dir, "f.json"), "--base-url", srv.BaseURL}
		}, code: 2, match: `--fleet and --base-url cannot be used together`},
		{name: "fleet without --yes", args: func(dir string, _ *phonemigratetest.Server, _ map[string]string) []string {
			return []string{"apply", "--fleet", filepath.Join(dir, "f.json")}
		}, code: 2, match: `apply --fleet needs --yes`},
		// Wrong credentials.
		{name: "wrong token", args: func(_ string, _ *phonemigratetest.Server, env map[string]string) []string {
			env[envToken] = "wrong-token-sentinel-1f2e"
			return []string{"apply", "--yes", "--skip-test"}
		}, code: 2, match: `401: Invalid token`},
		{name: "wrong client secret", args: func(_ string, srv *phonemigratetest.Server, env map[string]string) []string {
			delete(env, envToken)
			env[envClientID], env[envClientSecret] = srv.ClientID, "wrong-secret-sentinel-9a8b"
			return []string{"apply", "--yes", "--skip-test"}
		}, code: 2, match: `cannot get a Management API token .*401 access_denied`},
		// Refused by the rules (exit 3).
		{name: "tenant not eligible", scenario: phonemigratetest.Empty, args: applyArgs("--skip-test"), code: 3, match: `not eligible`},
		{name: "gateway cannot use a Twilio provider", args: applyArgs("--skip-test", "--provider", "twilio"), code: 3, match: `custom phone provider is required`},
		{name: "delivery leaves Passwordless without text", args: applyArgs("--skip-test", "--delivery", "voice"), code: 3, match: `Passwordless SMS \(connection "sms"\) sends its codes as text messages, which delivery by Voice alone cannot carry; include text`},
		{name: "twilio token rejected by Twilio", scenario: phonemigratetest.LegacyTwilio, args: func(_ string, srv *phonemigratetest.Server, env map[string]string) []string {
			env[envTwilioToken] = "typo-sentinel-77c1"
			return []string{"apply", "--yes", "--quiet", "--test-to", "+15555550100", "--twilio-api-url", srv.Twilio().URL, "--checkpoint", "cp.json"}
		}, code: 3, match: `Twilio rejected the auth token for account ` + phonemigratetest.TwilioSID + ` \(HTTP 401, Twilio error 20003 Authenticate\)`},
		{name: "ask-twilio-token without a terminal", scenario: phonemigratetest.LegacyTwilio, args: applyArgs("--skip-test", "--ask-twilio-token"), code: 2, match: `--ask-twilio-token needs a terminal`},
		{name: "evidence timeout not positive", args: applyArgs("--test-to", "+15555550100", "--evidence-timeout", "0s"), code: 2, match: `--evidence-timeout must be positive`},
	}
	if len(cases) < 20 {
		t.Fatalf("only %d bad-input cases; the issue asks for at least 20", len(cases))
	}
	oneSentence := regexp.MustCompile(`^phonemigrate [a-z]+: [^\n]+[.?!]\n$`)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sc := tc.scenario
			if sc == "" {
				sc = phonemigratetest.LegacyGateway
			}
			srv := phonemigratetest.NewServer(sc, phonemigratetest.WithActionBuild(5*time.Millisecond, 1))
			defer srv.Close()
			dir := t.TempDir()
			env := tenantEnv(srv)
			argv := tc.args(dir, srv, env)
			// Run in dir so that default checkpoints land there.
			var stdout, stderr bytes.Buffer
			ctx, cancel := context.WithTimeout(t.Context(), cliTimeout)
			defer cancel()
			code := runCLIIn(ctx, t, dir, env, &stdout, &stderr, argv...)
			if code != tc.code {
				t.Errorf("exit %d, want %d; stderr: %s", code, tc.code, stderr.String())
			}
			if !oneSentence.MatchString(stderr.String()) {
				t.Errorf("stderr is not one sentence on one line: %q", stderr.String())
			}
			if !regexp.MustCompile(tc.match).MatchString(stderr.String()) {
				t.Errorf("stderr %q does not match %q", stderr.String(), tc.match)
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout not empty: %q", stdout.String())
			}
			for _, s := range []string{"sentinel", srv.Token, srv.ClientSecret} {
				if strings.Contains(stderr.String(), s) {
					t.Errorf("stderr repeats a secret: %q", stderr.String())
				}
			}
			for _, r := range srv.Requests() {
				if r.Method != "GET" && r.Path != "/oauth/token" {
					t.Errorf("mutating request sent: %s %s", r.Method, r.Path)
				}
			}
		})
	}
}
