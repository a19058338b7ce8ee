package phonemigrate

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// golden compares got with testdata/name, rewriting the file under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden (run with -update to create): %v", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", path, diff)
	}
}

func TestDiagramGolden(t *testing.T) {
	golden(t, "diagram.mmd", []byte(Diagram()))
}

func TestMachineLegality(t *testing.T) {
	tests := []struct {
		from  State
		event string
		want  State // "" = illegal
	}{
		{StateNew, EventDiscover, StateDiscovered},
		{StateDiscovered, EventAlreadyUnified, StateAlreadyUnified},
		{StatePlanned, EventDeployAction, StateActionDeployed},
		{StatePlanned, EventConfigureProvider, StateProviderConfigured},
		{StateActionDeployed, EventConfigureProvider, StateProviderConfigured},
		{StateProviderConfigured, EventSwitchTenant, ""}, // the test cannot be skipped by the machine
		{StateProviderTested, EventSwitchTenant, StateTenantSwitched},
		{StateTenantSwitched, EventAlignMFA, ""}, // connections first
		{StateTemplatesMigrated, EventComplete, StateCompleted},
		{StateCompleted, EventFail, ""},
		{StateCompleted, EventRollback, StateRollingBack},
		{StateFailed, EventRollback, StateRollingBack},
		{StatePlanned, EventRollback, ""},
		{StateRollingBack, EventFail, StateFailed},
		{StateRollingBack, EventFinishRollback, StateRolledBack},
		{StateAlreadyUnified, EventRollback, ""},
	}
	for _, tt := range tests {
		m := newMachine(tt.from)
		err := m.Event(t.Context(), tt.event)
		if tt.want == "" {
			if err == nil {
				t.Errorf("%s --%s--> %s: want illegal", tt.from, tt.event, m.Current())
			}
			continue
		}
		if err != nil || State(m.Current()) != tt.want {
			t.Errorf("%s --%s--> %s (err %v), want %s", tt.from, tt.event, m.Current(), err, tt.want)
		}
	}
}
