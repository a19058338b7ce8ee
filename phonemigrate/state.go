package phonemigrate

import (
	"fmt"

	"github.com/looplab/fsm"
)

// State is a state of a migration, as held by a [Checkpoint]. The forward
// path is
//
//	new → discovered → planned → [action_deployed] → provider_configured
//	    → provider_tested → tenant_switched → connections_switched
//	    → mfa_aligned → templates_migrated → completed
//
// where action_deployed is visited only on the custom provider path. Any
// forward state (and rolling_back) can move to failed; a failed migration
// resumes from [Checkpoint.LastGood] when Apply runs again. A completed or
// failed migration can be rolled back (rolling_back → rolled_back). A tenant
// already on the Unified Phone Experience moves from discovered to
// already_unified and nothing is written. [Diagram] draws the whole machine.
type State string

// The states of a migration. Their string values are stable: they are
// written into checkpoints.
const (
	StateNew                 State = "new"
	StateDiscovered          State = "discovered"
	StatePlanned             State = "planned"
	StateActionDeployed      State = "action_deployed"
	StateProviderConfigured  State = "provider_configured"
	StateProviderTested      State = "provider_tested"
	StateTenantSwitched      State = "tenant_switched"
	StateConnectionsSwitched State = "connections_switched"
	StateMFAAligned          State = "mfa_aligned"
	StateTemplatesMigrated   State = "templates_migrated"
	StateCompleted           State = "completed"
	StateFailed              State = "failed"
	StateRollingBack         State = "rolling_back"
	StateRolledBack          State = "rolled_back"
	StateAlreadyUnified      State = "already_unified"
)

// Event is the name of a transition of the migration state machine. Events
// label the arrows of [Diagram] and are reported in [Transition.Event]; their
// string values are stable.
type Event string

// The events of the state machine.
const (
	EventDiscover          Event = "discover"
	EventAlreadyUnified    Event = "already_unified"
	EventPlan              Event = "plan"
	EventDeployAction      Event = "deploy_action"
	EventConfigureProvider Event = "configure_provider"
	EventTestProvider      Event = "test_provider"
	EventSwitchTenant      Event = "switch_tenant"
	EventSwitchConnections Event = "switch_connections"
	EventAlignMFA          Event = "align_mfa"
	EventMigrateTemplates  Event = "migrate_templates"
	EventComplete          Event = "complete"
	EventFail              Event = "fail"
	EventRollback          Event = "rollback"
	EventFinishRollback    Event = "finish_rollback"
)

// forwardStates are the states the forward path can fail from, in order.
var forwardStates = []State{
	StateNew, StateDiscovered, StatePlanned, StateActionDeployed,
	StateProviderConfigured, StateProviderTested, StateTenantSwitched,
	StateConnectionsSwitched, StateMFAAligned, StateTemplatesMigrated,
}

// stateOrder returns the position of s on the forward path (completed is
// last), or -1 for states off that path.
func stateOrder(s State) int {
	for i, f := range forwardStates {
		if f == s {
			return i
		}
	}
	if s == StateCompleted {
		return len(forwardStates)
	}
	return -1
}

func strs(states ...State) []string {
	out := make([]string, len(states))
	for i, s := range states {
		out[i] = string(s)
	}
	return out
}

// events is the legality table of the migration.
func events() fsm.Events {
	failFrom := append(append([]State(nil), forwardStates...), StateRollingBack)
	return fsm.Events{
		{Name: string(EventDiscover), Src: strs(StateNew), Dst: string(StateDiscovered)},
		{Name: string(EventAlreadyUnified), Src: strs(StateDiscovered), Dst: string(StateAlreadyUnified)},
		{Name: string(EventPlan), Src: strs(StateDiscovered), Dst: string(StatePlanned)},
		{Name: string(EventDeployAction), Src: strs(StatePlanned), Dst: string(StateActionDeployed)},
		{Name: string(EventConfigureProvider), Src: strs(StatePlanned, StateActionDeployed), Dst: string(StateProviderConfigured)},
		{Name: string(EventTestProvider), Src: strs(StateProviderConfigured), Dst: string(StateProviderTested)},
		{Name: string(EventSwitchTenant), Src: strs(StateProviderTested), Dst: string(StateTenantSwitched)},
		{Name: string(EventSwitchConnections), Src: strs(StateTenantSwitched), Dst: string(StateConnectionsSwitched)},
		{Name: string(EventAlignMFA), Src: strs(StateConnectionsSwitched), Dst: string(StateMFAAligned)},
		{Name: string(EventMigrateTemplates), Src: strs(StateMFAAligned), Dst: string(StateTemplatesMigrated)},
		{Name: string(EventComplete), Src: strs(StateTemplatesMigrated), Dst: string(StateCompleted)},
		{Name: string(EventFail), Src: strs(failFrom...), Dst: string(StateFailed)},
		{Name: string(EventRollback), Src: strs(StateCompleted, StateFailed), Dst: string(StateRollingBack)},
		{Name: string(EventFinishRollback), Src: strs(StateRollingBack), Dst: string(StateRolledBack)},
	}
}

// newMachine returns the state machine positioned at s. It has no
// callbacks: the migrator runs each step itself (Auth0 calls never happen
// inside fsm callbacks) and uses the machine only as the table of legal
// transitions and for the diagram.
func newMachine(s State) *fsm.FSM {
	return fsm.NewFSM(string(s), events(), nil)
}

// Diagram returns the migration state machine as a Mermaid state diagram
// (stateDiagram-v2), generated by looplab/fsm from the same table the
// migrator uses, so the picture cannot drift from the code. The output is
// sorted and deterministic; it starts at [StateNew].
func Diagram() string {
	out, err := fsm.VisualizeWithType(newMachine(StateNew), fsm.MermaidStateDiagram)
	if err != nil {
		// Only an unknown diagram type fails, and the type is a constant.
		panic(fmt.Sprintf("phonemigrate: fsm diagram: %v", err))
	}
	return out
}
