package fleet_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/unifiedphone/unifiedphone/phonemigrate"
	"github.com/unifiedphone/unifiedphone/phonemigrate/fleet"
	"github.com/unifiedphone/unifiedphone/phonemigrate/phonemigratetest"
)

func ExampleParse() {
	cfg, err := fleet.Parse([]byte(`
concurrency: 5
tenants:
  - name: acme-eu
    domain: acme.eu.auth0.com
    client_id_env: ACME_EU_AUTH0_CLIENT_ID
    client_secret_env: ACME_EU_AUTH0_CLIENT_SECRET
    rate_limit: {per_second: 2, burst: 10}
    options: {test_to: ["+15551230001"]}
`), fleet.FormatYAML)
	if err != nil {
		fmt.Println(err)
		return
	}
	t := cfg.Tenants[0]
	fmt.Println(t.Name, t.Domain, t.ClientSecretEnv, t.Checkpoint, t.RateLimit.PerSecond, t.RateLimit.Burst)

	// A literal secret is refused, without repeating it.
	_, err = fleet.Parse([]byte(`[{name: x, domain: x.auth0.com, token: eyJhbGciOi-abc}]`), fleet.FormatYAML)
	fmt.Println(err)
	// Output:
	// acme-eu acme.eu.auth0.com ACME_EU_AUTH0_CLIENT_SECRET phonemigrate-acme-eu.checkpoint.json 2 10
	// fleet file: tenant x: token: would hold a secret in the file; secrets come only from environment variables: use token_env with the variable's name
}

func ExampleRunner_Run() {
	// Two fake tenants; in real use the fleet file names Auth0 domains.
	gw := phonemigratetest.NewServer(phonemigratetest.LegacyGateway, phonemigratetest.WithActionBuild(5*time.Millisecond, 1))
	defer gw.Close()
	empty := phonemigratetest.NewServer(phonemigratetest.Empty)
	defer empty.Close()
	dir, _ := os.MkdirTemp("", "fleet")
	defer os.RemoveAll(dir)
	os.WriteFile(filepath.Join(dir, "fleet.json"), fmt.Appendf(nil, `{"tenants": [
	  {"name": "gateway", "base_url": %q, "token_env": "GW_AUTH0_TOKEN", "options": {"skip_test": true}},
	  {"name": "empty", "base_url": %q, "token_env": "EMPTY_AUTH0_TOKEN", "options": {"skip_test": true}}]}`,
		gw.BaseURL, empty.BaseURL), 0o600)

	cfg, err := fleet.Load(filepath.Join(dir, "fleet.json"))
	if err != nil {
		fmt.Println(err)
		return
	}
	env := map[string]string{"GW_AUTH0_TOKEN": gw.Token, "EMPTY_AUTH0_TOKEN": empty.Token}
	r := &fleet.Runner{
		Getenv: func(k string) string { return env[k] },
		MigratorOptions: func(fleet.Tenant) []phonemigrate.Option {
			return []phonemigrate.Option{phonemigrate.WithPollInterval(5 * time.Millisecond)}
		},
	}
	rep, err := r.Run(context.Background(), cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, t := range rep.Tenants {
		fmt.Println(t.Name, t.Outcome, t.ExitCode)
	}
	fmt.Println("failed:", rep.Failed())
	// Output:
	// gateway completed 0
	// empty failed 3
	// failed: 1
}

// A fleet file names only credential variables containing AUTH0 (or
// TWILIO), and keeps its checkpoints in its directory unless
// AllowCheckpointsAnywhere.
func ExampleAllowCheckpointsAnywhere() {
	file := []byte(`[{name: acme, domain: acme.auth0.com, token_env: ACME_AUTH0_TOKEN, checkpoint: /var/lib/phonemigrate/acme.json, options: {skip_test: true}}]`)
	_, err := fleet.Parse(file, fleet.FormatYAML)
	fmt.Println(err)
	cfg, err := fleet.Parse(file, fleet.FormatYAML, fleet.AllowCheckpointsAnywhere())
	fmt.Println(cfg.Tenants[0].Checkpoint, err)
	_, err = fleet.Parse([]byte(`[{name: acme, domain: acme.auth0.com, token_env: AWS_SECRET_ACCESS_KEY, options: {skip_test: true}}]`), fleet.FormatYAML)
	fmt.Println(err)
	// Output:
	// fleet file: tenant acme: checkpoint: "/var/lib/phonemigrate/acme.json" leaves the fleet file's directory; use a path inside it, or allow this explicitly (apply --allow-any-checkpoint)
	// /var/lib/phonemigrate/acme.json <nil>
	// fleet file: tenant acme: token_env: names AWS_SECRET_ACCESS_KEY, which does not contain the word AUTH0; a fleet file may name only variables such as AUTH0_TOKEN or ACME_AUTH0_CLIENT_SECRET (so that it cannot send an unrelated secret to its base_url)
}
