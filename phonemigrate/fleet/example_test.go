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
