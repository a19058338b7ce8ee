package phonemigrate

import "testing"

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
