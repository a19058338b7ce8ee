package fleet_test

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/unifiedphone/unifiedphone/phonemigrate"
	"github.com/unifiedphone/unifiedphone/phonemigrate/fleet"
)

var update = flag.Bool("update", false, "rewrite golden files")

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s (-want +got):\n%s", name, diff)
	}
}

func TestReportTable(t *testing.T) {
	t.Parallel()
	rep := &fleet.Report{
		Duration:    12*time.Second + 43*time.Millisecond,
		Concurrency: 2,
		Tenants: []fleet.TenantResult{
			{Name: "acme-eu", Outcome: fleet.OutcomeCompleted, State: phonemigrate.StateCompleted, Steps: 10, Duration: 2314 * time.Millisecond},
			{Name: "acme-us-with-a-long-name", Outcome: fleet.OutcomeFailed, State: phonemigrate.StateFailed, Steps: 3, Duration: 410 * time.Millisecond, ExitCode: 1,
				Error: "phonemigrate: tenant_switched: PATCH /tenants/settings: 500 Internal Server Error: Injected fault after 4 attempts, and this message goes on long enough to be shortened in the table"},
			{Name: "dev", Outcome: fleet.OutcomeAlreadyUnified, State: phonemigrate.StateAlreadyUnified, Steps: 2, Duration: 8 * time.Millisecond},
			{Name: "noenv", Outcome: fleet.OutcomeFailed, Error: "environment variable NOENV_TOKEN (token_env) is not set", ExitCode: 1},
		},
	}
	golden(t, "table.golden", rep.Table())
	if rep.Failed() != 2 {
		t.Errorf("Failed() = %d, want 2", rep.Failed())
	}
}

func TestOutcomeOK(t *testing.T) {
	t.Parallel()
	for o, want := range map[fleet.Outcome]bool{
		fleet.OutcomeCompleted: true, fleet.OutcomeAlreadyDone: true, fleet.OutcomeAlreadyUnified: true,
		fleet.OutcomeFailed: false, fleet.OutcomeCanceled: false,
	} {
		if o.OK() != want {
			t.Errorf("%s.OK() = %v", o, !want)
		}
	}
	var ee *fleet.EnvError
	if err := error(&fleet.EnvError{Field: "token_env", Var: "X"}); !errors.Is(err, fleet.ErrMissingCredentials) || !errors.As(err, &ee) {
		t.Errorf("EnvError does not match ErrMissingCredentials")
	}
}
