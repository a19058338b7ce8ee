package phonemigrate

import (
	"context"
	"slices"
	"strings"
	"sync"

	"github.com/unifiedphone/unifiedphone/actiongen"
)

// step is one step of the migration, and everything about it in one value:
// where it sits on the forward path, the invariants of a healthy tenant it
// establishes, how a plan shows it, the work Apply does, and its part of a
// rollback. Each step keeps one needs-write rule (Action:
// needsActionWrites, provider: providerWrite, tenant: needsTenantSwitch,
// connections: needsProviderSwitch, MFA: needsMFAWrite, templates:
// needsTemplateWrite) that both
// its plan and its apply call, so the plan cannot promise a write that
// apply skips, or the reverse.
//
// The ordered table [steps] holds them all, each registered by its own
// step_*.go file and placed by its order; from it derive the state
// machine's events ([events]), the forward states and their order
// ([stateOrder]), the step a run takes from a state ([nextStep]), the name
// in its errors ([stepName]), the steps of a plan (buildPlan), the
// rollback's adoption, ownership and drift checks and its order
// ([undoOrder]). Adding a step is adding its file (its state, event and
// value) and its test.
type step struct {
	// order places the step on the forward path: steps run by increasing
	// order (numbers leave room for steps in between).
	order int
	// event is fired when the step's work is done; to is the state it
	// reaches.
	event event
	to    State
	// from are the states the step leaves from, set by [steps]: the state
	// the step before reaches, and when that step can be skipped, the
	// states that one leaves from too.
	from []State
	// does says what the step does ("switch tenant"); errors of a failed
	// step are prefixed with it.
	does string
	// doc is the step in the numbered list of docs/how-it-works.md, "What
	// is written to the tenant" (Markdown; "" for a step that writes
	// nothing). The list, the forward path in [State]'s doc and the
	// rollback order in [Migrator.Rollback]'s are written from the table
	// by TestStepProse -update, so no prose lists the steps by hand.
	doc string
	// skip reports whether the step does not apply to a migration with
	// this intent; the next step from the same state is taken instead.
	skip func(in *migrationIntent) bool
	// establishes are the invariants of a healthy tenant ([Invariant])
	// that hold once the step ran, each with how it is evaluated:
	// [Migrator.Check] evaluates those of the table's steps (then what the
	// delivery model says), each once, in the order of the steps.
	establishes []*invariant
	// plan shows the step in a [Plan]: its title and the writes it would
	// make (nil: the step writes nothing a plan shows, like discovering).
	plan func(pc *planContext) Step
	// apply does the step's work: the writes its needs-write rule asks
	// for, each verified; it returns the event to fire.
	apply func(r *run, ctx context.Context) (event, error)
	// undo is the step's part of a rollback (nil: it changes nothing a
	// rollback restores).
	undo *undo
}

// undo is one step's part of [Migrator.Rollback].
type undo struct {
	// routes is set for a step that decides where codes go (the
	// connections' use_phone_provider, the tenant switch): undoing it
	// sends codes the legacy way again, so it is undone before anything
	// that codes might still be routed to (see undoOrder).
	routes bool
	// title names the undo in a rollback plan.
	title string
	// adopt records creations of the step whose answer was lost (see
	// [unconfirmedCreates]) and reports whether it recorded any; it runs before
	// anything is checked or restored.
	adopt func(r *run, ctx context.Context) (bool, error)
	// owned checks that what the checkpoint records as created by the
	// step is what it created ([*NotCreatedError] otherwise).
	owned func(r *run, ctx context.Context) error
	// drift lists, reading only, what changed since the migration that
	// undoing the step would undo or break (see [DriftError]).
	drift func(r *run, ctx context.Context) ([]string, error)
	// restore writes back what the step changed, only where it differs.
	restore func(r *run, ctx context.Context) error
}

// builtin are the migration's steps, as each step_*.go file registers its
// own (register, from an init function). It is written only while the
// package initializes; a Migrator works from a [stepTable] value (by
// default [steps]), so a test adds a step to its own table, not to this.
var builtin []*step

// register adds s to the built-in steps; its order places it.
func register(s *step) { builtin = append(builtin, s) }

// stepTable is the ordered table of the forward steps (see step), as
// newStepTable makes it.
type stepTable []*step

// newStepTable orders ss (copies of them) into a table: by order, each
// leaving from the state the step before reaches — and, when that step may
// be skipped (step.skip), from the states it leaves from as well. So
// adding a step is adding its file: its order places it.
func newStepTable(ss ...*step) stepTable {
	t := make(stepTable, 0, len(ss))
	for _, s := range ss {
		c := *s
		t = append(t, &c)
	}
	slices.SortStableFunc(t, func(a, b *step) int { return a.order - b.order })
	from := []State{StateNew}
	for _, s := range t {
		s.from = from
		if s.skip != nil {
			from = append([]State{s.to}, from...)
		} else {
			from = []State{s.to}
		}
	}
	return t
}

// defaultSteps is the table of the built-in steps, made once.
var defaultSteps = sync.OnceValue(func() stepTable { return newStepTable(builtin...) })

// steps is the table of the built-in steps: what every Migrator runs
// (see withSteps), and what knows the states of a checkpoint file and
// draws [Diagram].
func steps() stepTable { return defaultSteps() }

// forwardStates are the states the forward path can fail from, in order:
// the states the steps leave from.
func (t stepTable) forwardStates() []State {
	var out []State
	for _, s := range t {
		for _, f := range s.from {
			if !slices.Contains(out, f) {
				out = append(out, f)
			}
		}
	}
	return out
}

// stateOrder returns the position of s on the forward path (completed is
// last), or -1 for states off that path.
func (t stepTable) stateOrder(s State) int {
	fs := t.forwardStates()
	if i := slices.Index(fs, s); i >= 0 {
		return i
	}
	if s == StateCompleted {
		return len(fs)
	}
	return -1
}

// nextStep returns the step a migration with intent in takes from s, or
// nil when s has none (completed, already unified, failed, ...).
func (t stepTable) nextStep(s State, in *migrationIntent) *step {
	for _, st := range t {
		if slices.Contains(st.from, s) && (st.skip == nil || !st.skip(in)) {
			return st
		}
	}
	return nil
}

// stepName names the step out of s for error messages: what the steps
// leaving s do ("deploy action or configure provider" when the intent
// decides), "rollback" while rolling back, else the state itself.
func (t stepTable) stepName(s State) string {
	if s == stateRollingBack {
		return "rollback"
	}
	var does []string
	for _, st := range t {
		if slices.Contains(st.from, s) {
			does = append(does, st.does)
		}
	}
	if len(does) == 0 {
		return string(s)
	}
	return strings.Join(does, " or ")
}

// undoOrder is the order a rollback restores the steps in, derived from
// the table so that no Passwordless connection or MFA factor is routed to
// something already taken away: first the steps that route codes, latest
// first (each connection back to its legacy settings, then the tenant
// switch, after which MFA goes through the legacy Guardian settings); then
// every other step, latest first (templates, MFA message types, the
// provider, the Action), which no code is routed to any more.
func undoOrder(ss stepTable) []*step {
	var routes, rest []*step
	for i := len(ss) - 1; i >= 0; i-- {
		switch u := ss[i].undo; {
		case u == nil || u.restore == nil:
		case u.routes:
			routes = append(routes, ss[i])
		default:
			rest = append(rest, ss[i])
		}
	}
	return append(routes, rest...)
}

// planContext is what a step's plan is rendered from.
type planContext struct {
	d  *Discovery
	in *migrationIntent
	o  *Options
	// act is the generated Action of a custom provider this run sets up.
	act *actiongen.Action
}

// providerID is the id the plan's writes name the provider by: the kept
// or replaced provider's, else a placeholder for the one to be created.
func (pc *planContext) providerID() string {
	switch {
	case pc.in.Keep:
		return pc.in.ProviderID
	case pc.in.ReplaceProviderID != "":
		return pc.in.ReplaceProviderID
	}
	return newProviderID
}

// planSteps renders the plan's steps: each step of the table that applies
// to the intent and shows in a plan, in order.
func (t stepTable) planSteps(pc *planContext) []Step {
	var out []Step
	for _, s := range t {
		if s.plan == nil || (s.skip != nil && s.skip(pc.in)) {
			continue
		}
		st := s.plan(pc)
		st.State = s.to
		if st.Writes == nil {
			st.Writes = []plannedWrite{}
		}
		out = append(out, st)
	}
	return out
}

// restore is the work of a rollback: it records lost creations, checks
// that what the checkpoint says this migration created is its own, then
// restores each step in [undoOrder]. With each restore it calls done (when
// not nil) with the step, so a rollback plan can group the writes.
func (r *run) restore(ctx context.Context, done func(*step)) error {
	ss := r.m.steps
	adopted := false
	if r.cp.Intent != nil {
		for _, s := range ss {
			if s.undo == nil || s.undo.adopt == nil {
				continue
			}
			a, err := s.undo.adopt(r, ctx)
			if err != nil {
				return err
			}
			adopted = adopted || a
		}
		if adopted {
			if err := r.save(ctx); err != nil {
				return err
			}
		}
	}
	if adopted || !r.ownedChecked {
		if err := r.checkOwned(ctx); err != nil {
			return err
		}
	}
	for _, s := range undoOrder(ss) {
		if err := s.undo.restore(r, ctx); err != nil {
			return err
		}
		if done != nil {
			done(s)
		}
	}
	return nil
}

// checkOwned checks, reading only, that every object the checkpoint
// records as created is the one this migration created (each step's
// owned); one that no longer exists is fine.
func (r *run) checkOwned(ctx context.Context) error {
	for _, s := range r.m.steps {
		if s.undo != nil && s.undo.owned != nil {
			if err := s.undo.owned(r, ctx); err != nil {
				return err
			}
		}
	}
	r.ownedChecked = true
	return nil
}

// checkDrift compares the tenant with what the migration recorded and
// wrote, reading only: each step lists what changed since that undoing it
// would undo or break, and any change is a [*DriftError].
func (r *run) checkDrift(ctx context.Context) error {
	if r.cp.Intent == nil {
		return nil
	}
	var changes []string
	for _, s := range r.m.steps {
		if s.undo == nil || s.undo.drift == nil {
			continue
		}
		c, err := s.undo.drift(r, ctx)
		if err != nil {
			return err
		}
		changes = append(changes, c...)
	}
	if len(changes) > 0 {
		return &DriftError{Changes: changes}
	}
	return nil
}
