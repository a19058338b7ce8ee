package reliability

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/unifiedphone/unifiedphone/phonemigrate"
	"github.com/unifiedphone/unifiedphone/phonemigrate/auth0api"
	"github.com/unifiedphone/unifiedphone/phonemigrate/filestore"
	"github.com/unifiedphone/unifiedphone/phonemigrate/fleet"
	"github.com/unifiedphone/unifiedphone/phonemigrate/phonemigratetest"
)

// sentinels are distinctive values for every secret; none may ever appear
// in what the library shows.
var sentinels = phonemigratetest.Secrets{
	ManagementToken: "SENTINEL-MGMT-TOKEN-7c1e9a",
	ClientSecret:    "SENTINEL-CLIENT-SECRET-52be0d",
	TwilioAuthToken: "SENTINEL-TWILIO-TOKEN-e4a8f1",
	GatewaySecret:   "SENTINEL-GATEWAY-SECRET-9d03b7",
}

// secretForms are the strings to search for: every sentinel, the encoded
// forms a secret is stored or sent in (base64url gateway key, Twilio basic
// auth), and a distinctive prefix to catch truncated echoes.
func secretForms() []string { return append(sentinels.Forms(), "SENTINEL") }

// sentinelFake starts a fake tenant seeded with the sentinels.
func sentinelFake(sc phonemigratetest.Scenario) *phonemigratetest.Server {
	srv := phonemigratetest.NewUnstartedServer(sc, phonemigratetest.WithActionBuild(5*time.Millisecond, 1))
	srv.UseSecrets(sentinels)
	srv.Start()
	return srv
}

// leakScan collects everything the library shows and reports which
// secret forms it holds.
type leakScan struct {
	parts map[string]*bytes.Buffer
}

func (l *leakScan) add(where string, v any) {
	if l.parts == nil {
		l.parts = map[string]*bytes.Buffer{}
	}
	b := l.parts[where]
	if b == nil {
		b = new(bytes.Buffer)
		l.parts[where] = b
	}
	switch x := v.(type) {
	case nil:
	case string:
		b.WriteString(x + "\n")
	case []byte:
		b.Write(append(x, '\n'))
	case error:
		fmt.Fprintf(b, "%v\n%+v\n%#v\n", x, x, x)
	default:
		j, _ := json.Marshal(x)
		fmt.Fprintf(b, "%s\n%+v\n", j, x)
	}
}

func (l *leakScan) leaks() []string {
	var out []string
	for where, b := range l.parts {
		for _, f := range secretForms() {
			if bytes.Contains(b.Bytes(), []byte(f)) {
				out = append(out, fmt.Sprintf("%s holds %q", where, f))
			}
		}
	}
	return out
}

// TestNoSecretLeaksLibrary runs every scenario through the library — plan,
// a failing apply, status, resume, rollback, wrong credentials, a fleet —
// with sentinel secrets and debug logging, and searches logs, errors,
// plans, results, checkpoint files and fleet reports for them. Messages
// are sent after the migration to prove the sentinels were in use.
func TestNoSecretLeaksLibrary(t *testing.T) {
	t.Parallel()
	requireNode(t)
	// The scan itself finds a planted secret, encoded or not.
	for _, planted := range []any{sentinels.GatewaySecret, fmt.Errorf("x: %s", sentinels.TwilioAuthToken), map[string]string{"k": base64.RawURLEncoding.EncodeToString([]byte(sentinels.GatewaySecret))}} {
		var probe leakScan
		probe.add("probe", planted)
		if len(probe.leaks()) == 0 {
			t.Fatalf("the scan misses a planted secret in %v", planted)
		}
	}
	for _, sc := range phonemigratetest.Scenarios() {
		t.Run(string(sc), func(t *testing.T) {
			t.Parallel()
			srv := sentinelFake(sc)
			defer srv.Close()
			var scan leakScan
			var logs bytes.Buffer
			logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			dir := t.TempDir()
			cpPath := filepath.Join(dir, "cp.json")
			ctx := t.Context()

			cfg := auth0api.Config{BaseURL: srv.BaseURL, ClientID: srv.ClientID, ClientSecret: phonemigrate.Secret(sentinels.ClientSecret),
				MinBackoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond, Logger: logger}
			scan.add("auth0api.Config", fmt.Sprintf("%v %+v %#v", cfg, cfg, cfg))
			cl, err := auth0api.New(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			scan.add("client", fmt.Sprintf("%v %+v", cl, cl))
			m, err := phonemigrate.New(cl, phonemigrate.WithStore(filestore.New(cpPath)), phonemigrate.WithLogger(logger),
				phonemigrate.WithPollInterval(5*time.Millisecond), phonemigrate.WithTenant(phonemigratetest.TenantName))
			if err != nil {
				t.Fatal(err)
			}
			o := phonemigrate.Options{TwilioAuthToken: phonemigrate.Secret(sentinels.TwilioAuthToken), TestRecipients: []string{"+15551230001"}, TwilioAPIBaseURL: srv.Twilio().URL}
			scan.add("options", fmt.Sprintf("%v %+v %#v", o, o, o))

			plan, err := m.Plan(ctx, o)
			scan.add("plan error", err)
			if plan != nil {
				scan.add("plan", plan)
				scan.add("plan text", plan.Text())
			}
			// A failing apply, then its checkpoint and status.
			srv.InjectFault(phonemigratetest.Fault{Method: "PATCH", Path: "/tenants/settings", Status: 500})
			res, err := m.Apply(ctx, o)
			scan.add("apply error", err)
			scan.add("apply result", res)
			scan.add("checkpoint after failure", readIfExists(cpPath))
			cp, err := m.Status(ctx)
			scan.add("status", cp)
			scan.add("status error", err)
			srv.ClearFaults()
			res, err = m.Apply(ctx, o)
			scan.add("resume error", err)
			scan.add("resume result", res)
			scan.add("checkpoint after resume", readIfExists(cpPath))
			if res != nil && res.State == phonemigrate.StateCompleted {
				for _, msg := range srv.State().Messages(recipient) {
					r, err := srv.Notify(ctx, msg)
					if err != nil || !r.Delivered {
						t.Errorf("after the migration, %s/%s not delivered (%v): %s", msg.Kind, msg.DeliveryMethod, err, r.Detail)
					}
				}
			}
			rb, err := m.Rollback(ctx)
			scan.add("rollback error", err)
			scan.add("rollback result", rb)
			scan.add("checkpoint after rollback", readIfExists(cpPath))

			// Wrong credentials.
			_, err = auth0api.New(ctx, auth0api.Config{BaseURL: srv.BaseURL, ClientID: srv.ClientID, ClientSecret: "SENTINEL-WRONG-SECRET", Logger: logger})
			scan.add("wrong client secret", err)
			bad, err := auth0api.New(ctx, auth0api.Config{BaseURL: srv.BaseURL, Token: "SENTINEL-WRONG-TOKEN", Logger: logger, MaxAttempts: 1})
			if err == nil {
				_, err = bad.TenantSettings(ctx)
			}
			scan.add("wrong token", err)
			_, err = auth0api.New(ctx, auth0api.Config{BaseURL: "https://user:SENTINEL-IN-URL@example.com/api/v2", Token: "x"})
			scan.add("url with credentials", err)

			// A fleet of this tenant (fresh checkpoint), credentials from env.
			env := map[string]string{"ID": srv.ClientID, "SECRET": sentinels.ClientSecret, "TW": sentinels.TwilioAuthToken}
			fc := &fleet.Config{Tenants: []fleet.Tenant{{Name: "t", BaseURL: srv.BaseURL, ClientIDEnv: "ID", ClientSecretEnv: "SECRET",
				Checkpoint: filepath.Join(dir, "fleet-cp.json"), Options: fleet.TenantOptions{SkipTest: true, TwilioTokenEnv: "TW", TwilioAPIURL: srv.Twilio().URL}}}}
			rep, err := (&fleet.Runner{Getenv: func(k string) string { return env[k] }, Logger: logger}).Run(ctx, fc)
			scan.add("fleet error", err)
			if rep != nil {
				scan.add("fleet report", rep)
				scan.add("fleet table", rep.Table())
			}
			scan.add("fleet checkpoint", readIfExists(filepath.Join(dir, "fleet-cp.json")))

			// Every file the runs left behind.
			entries, _ := os.ReadDir(dir)
			for _, e := range entries {
				scan.add("file "+e.Name(), readIfExists(filepath.Join(dir, e.Name())))
			}
			scan.add("debug log", logs.Bytes())
			if logs.Len() == 0 {
				t.Error("no debug log was written; the scan would prove nothing")
			}
			for _, l := range scan.leaks() {
				t.Error(l)
			}
		})
	}
}

func readIfExists(path string) []byte {
	b, _ := os.ReadFile(path)
	return b
}
