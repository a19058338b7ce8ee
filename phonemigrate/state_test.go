package phonemigrate

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestMachineLegality(t *testing.T) {
	tests := []struct {
		from  State
		event Event
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
		err := m.Event(t.Context(), string(tt.event))
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

// TestForwardPathRowsRun checks that every row of the step table has its
// work, and no work exists for an event off the table.
func TestForwardPathRowsRun(t *testing.T) {
	fns := (&run{}).stepFuncs()
	var want, got []Event
	for _, row := range forwardPath {
		want = append(want, row.event)
		if fns[row.event] != nil {
			got = append(got, row.event)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rows with work (-want +got):\n%s", diff)
	}
	if len(fns) != len(forwardPath) {
		t.Errorf("stepFuncs has %d entries, forwardPath %d rows", len(fns), len(forwardPath))
	}
}

func TestNextStep(t *testing.T) {
	custom := &Intent{Provider: ProviderKindCustom}
	tests := []struct {
		from State
		in   *Intent
		want Event // "" = none
	}{
		{StateNew, nil, EventDiscover},
		{StateDiscovered, nil, EventPlan},
		{StatePlanned, custom, EventDeployAction},
		{StatePlanned, &Intent{Provider: ProviderKindCustom, Keep: true}, EventConfigureProvider}, // converging keeps the Action
		{StatePlanned, &Intent{Provider: ProviderKindTwilio}, EventConfigureProvider},
		{StatePlanned, nil, EventConfigureProvider},
		{StateActionDeployed, custom, EventConfigureProvider},
		{StateProviderTested, custom, EventSwitchTenant},
		{StateTemplatesMigrated, custom, EventComplete},
		{StateCompleted, custom, ""},
		{StateAlreadyUnified, nil, ""},
		{StateFailed, custom, ""},
		{StateRolledBack, custom, ""},
	}
	for _, tt := range tests {
		row, ok := nextStep(tt.from, tt.in)
		if ok != (tt.want != "") || row.event != tt.want {
			t.Errorf("nextStep(%s, %+v) = %q, %v; want %q", tt.from, tt.in, row.event, ok, tt.want)
		}
		// Every step the table takes is legal in the machine.
		if ok {
			if err := newMachine(tt.from).Event(t.Context(), string(row.event)); err != nil {
				t.Errorf("%s --%s-->: %v", tt.from, row.event, err)
			}
		}
	}
}

func TestStepName(t *testing.T) {
	tests := map[State]string{
		StateNew:               "discover",
		StatePlanned:           "deploy action or configure provider",
		StateProviderTested:    "switch tenant",
		StateTemplatesMigrated: "watch delivery",
		StateRollingBack:       "rollback",
		StateCompleted:         "completed",
	}
	for s, want := range tests {
		if got := stepName(s); got != want {
			t.Errorf("stepName(%s) = %q, want %q", s, got, want)
		}
	}
}
