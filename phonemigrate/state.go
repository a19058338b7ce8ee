package phonemigrate

import (
	"fmt"
	"slices"
	"strings"

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

// transitionRow is one row of the migration's transition table: the event,
// the states it leaves from and the state it reaches.
type transitionRow struct {
	event Event
	from  []State
	to    State
	// does says what the step out of from does ("switch tenant"); errors
	// of a failed step are prefixed with it.
	does string
	// skip reports whether the row does not apply to a migration with this
	// intent; the next row from the same state is taken instead.
	skip func(in *Intent) bool
}

// forwardPath is the ordered table of the forward steps, the one place a
// step is added: the legality table ([events]), the forward states and
// their order ([stateOrder]), the step a run takes from a state
// ([nextStep]) and the name in its errors ([stepName]) all derive from it.
// Each row's work is in its own step_*.go file (see run.stepFuncs).
var forwardPath = []transitionRow{
	{event: EventDiscover, from: []State{StateNew}, to: StateDiscovered, does: "discover"},
	{event: EventPlan, from: []State{StateDiscovered}, to: StatePlanned, does: "plan"},
	{event: EventDeployAction, from: []State{StatePlanned}, to: StateActionDeployed, does: "deploy action",
		// Only a custom provider that this run sets up needs an Action.
		skip: func(in *Intent) bool { return in == nil || in.Provider != ProviderKindCustom || in.Keep }},
	{event: EventConfigureProvider, from: []State{StatePlanned, StateActionDeployed}, to: StateProviderConfigured, does: "configure provider"},
	{event: EventTestProvider, from: []State{StateProviderConfigured}, to: StateProviderTested, does: "test provider"},
	{event: EventSwitchTenant, from: []State{StateProviderTested}, to: StateTenantSwitched, does: "switch tenant"},
	{event: EventSwitchConnections, from: []State{StateTenantSwitched}, to: StateConnectionsSwitched, does: "switch connections"},
	{event: EventAlignMFA, from: []State{StateConnectionsSwitched}, to: StateMFAAligned, does: "align MFA message types"},
	{event: EventMigrateTemplates, from: []State{StateMFAAligned}, to: StateTemplatesMigrated, does: "migrate templates"},
	{event: EventComplete, from: []State{StateTemplatesMigrated}, to: StateCompleted, does: "watch delivery"},
}

// forwardStates are the states the forward path can fail from, in order:
// the states forwardPath leaves from.
var forwardStates = func() []State {
	var out []State
	seen := map[State]bool{}
	for _, row := range forwardPath {
		for _, s := range row.from {
			if !seen[s] {
				seen[s] = true
				out = append(out, s)
			}
		}
	}
	return out
}()

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

// nextStep returns the forward row a migration with intent in takes from
// s, or false when s has none (completed, already unified, failed, ...).
func nextStep(s State, in *Intent) (transitionRow, bool) {
	for _, row := range forwardPath {
		if slices.Contains(row.from, s) && (row.skip == nil || !row.skip(in)) {
			return row, true
		}
	}
	return transitionRow{}, false
}

// stepName names the step out of s for error messages: what the forward
// rows leaving s do ("deploy action or configure provider" when the intent
// decides), "rollback" while rolling back, else the state itself.
func stepName(s State) string {
	if s == StateRollingBack {
		return "rollback"
	}
	var does []string
	for _, row := range forwardPath {
		if slices.Contains(row.from, s) {
			does = append(does, row.does)
		}
	}
	if len(does) == 0 {
		return string(s)
	}
	return strings.Join(does, " or ")
}

func strs(states ...State) []string {
	out := make([]string, len(states))
	for i, s := range states {
		out[i] = string(s)
	}
	return out
}

// events is the legality table of the migration: the forward path, then
// the rows off it.
func events() fsm.Events {
	var evs fsm.Events
	for _, row := range forwardPath {
		evs = append(evs, fsm.EventDesc{Name: string(row.event), Src: strs(row.from...), Dst: string(row.to)})
	}
	failFrom := append(append([]State(nil), forwardStates...), StateRollingBack)
	return append(evs,
		fsm.EventDesc{Name: string(EventAlreadyUnified), Src: strs(StateDiscovered), Dst: string(StateAlreadyUnified)},
		fsm.EventDesc{Name: string(EventFail), Src: strs(failFrom...), Dst: string(StateFailed)},
		fsm.EventDesc{Name: string(EventRollback), Src: strs(StateCompleted, StateFailed), Dst: string(StateRollingBack)},
		fsm.EventDesc{Name: string(EventFinishRollback), Src: strs(StateRollingBack), Dst: string(StateRolledBack)},
	)
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
