package phonemigrate

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/unifiedphone/unifiedphone/actiongen"
	"github.com/unifiedphone/unifiedphone/delivery"
)

func TestMachineLegality(t *testing.T) {
	t.Parallel()
	tests := []struct {
		from  State
		event event
		want  State // "" = illegal
	}{
		{StateNew, eventDiscover, stateDiscovered},
		{stateDiscovered, eventAlreadyUnified, StateAlreadyUnified},
		{statePlanned, eventDeployAction, stateActionDeployed},
		{statePlanned, eventConfigureProvider, stateProviderConfigured},
		{stateActionDeployed, eventConfigureProvider, stateProviderConfigured},
		{stateProviderConfigured, eventSwitchTenant, ""}, // the test cannot be skipped by the machine
		{stateProviderTested, eventSwitchTenant, stateTenantSwitched},
		{stateTenantSwitched, eventAlignMFA, ""}, // connections first
		{stateTemplatesMigrated, eventComplete, StateCompleted},
		{StateCompleted, eventFail, ""},
		{StateCompleted, eventRollback, stateRollingBack},
		{StateFailed, eventRollback, stateRollingBack},
		{statePlanned, eventRollback, ""},
		{stateRollingBack, eventFail, StateFailed},
		{stateRollingBack, eventFinishRollback, StateRolledBack},
		{StateAlreadyUnified, eventRollback, ""},
	}
	for _, tt := range tests {
		m := steps().newMachine(tt.from)
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

// TestStepTable checks the step table's own rules: every step has its
// work and a name, events and states are its own, every invariant of a
// healthy tenant is established by a step, and the rollback undoes the
// routing steps first.
func TestStepTable(t *testing.T) {
	t.Parallel()
	seenEvent, seenTo := map[event]bool{}, map[State]bool{}
	established := map[Invariant]bool{}
	for _, s := range steps() {
		if s.apply == nil || s.does == "" || len(s.from) == 0 || s.to == "" {
			t.Errorf("step %s: apply, does, from and to are all needed", s.event)
		}
		if seenEvent[s.event] || seenTo[s.to] {
			t.Errorf("step %s: event or state %s used twice", s.event, s.to)
		}
		seenEvent[s.event], seenTo[s.to] = true, true
		for _, inv := range s.establishes {
			if inv.name == "" || inv.findings == nil {
				t.Errorf("step %s: an invariant needs its name and its evaluation", s.event)
			}
			established[inv.name] = true
		}
		if u := s.undo; u != nil && (u.restore == nil || u.title == "") {
			t.Errorf("step %s: an undo needs its restore and a title", s.event)
		}
	}
	for _, inv := range []Invariant{InvariantProviderPresent, InvariantProviderEnabled, InvariantProviderCoversFactors,
		InvariantCustomActionBound, InvariantConnectionsUseProvider, InvariantTenantSwitched} {
		if !established[inv] {
			t.Errorf("no step establishes invariant %s", inv)
		}
	}
	var order []event
	for _, s := range undoOrder(steps()) {
		order = append(order, s.event)
	}
	want := []event{eventSwitchConnections, eventSwitchTenant, eventMigrateTemplates, eventAlignMFA, eventConfigureProvider, eventDeployAction}
	if diff := cmp.Diff(want, order); diff != "" {
		t.Errorf("rollback order (-want +got):\n%s", diff)
	}
}

// TestCheckEvaluatesWhatStepsEstablish: Check evaluates the invariants of
// the table's steps — a step's own invariant is evaluated with nothing
// else to edit, and an invariant no step establishes is not evaluated.
func TestCheckEvaluatesWhatStepsEstablish(t *testing.T) {
	t.Parallel()
	// A switched tenant without a provider, whose connection uses it.
	on := true
	d := &Discovery{UPE: true, PhoneConsolidatedExperience: &on, SMSConnections: []Connection{
		{ID: "con_1", Name: "sms", Options: map[string]any{UsePhoneProviderKey: true, "provider": "twilio", "twilio_sid": "AC1", "from": "+15550001111"}}}}
	const audited = Invariant("audited")
	audit := &step{order: 85, event: "audit", to: "audited", does: "audit",
		apply: func(*run, context.Context) (event, error) { return "audit", nil },
		establishes: []*invariant{{name: audited, findings: func(*checkedTenant) []Finding {
			return []Finding{{Invariant: audited, Problem: "not audited"}}
		}}}}
	withoutProvider := slices.DeleteFunc(slices.Clone(builtin), func(s *step) bool { return s.event == eventConfigureProvider })
	tests := []struct {
		name string
		tbl  stepTable
		want []Invariant
	}{
		{"built-in", steps(), []Invariant{InvariantProviderPresent}},
		{"with a step of its own", newStepTable(append(slices.Clone(builtin), audit)...), []Invariant{InvariantProviderPresent, audited}},
		{"without the provider step", newStepTable(withoutProvider...), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []Invariant
			for _, f := range tt.tbl.check(d).Findings {
				if f.Invariant != InvariantConsumersGetCodes { // the delivery model's, not a step's
					got = append(got, f.Invariant)
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("invariants found (-want +got):\n%s", diff)
			}
		})
	}
}

// TestPlanStepsFollowTable: a plan shows the steps of the table that apply
// to its intent (a plan of its own), in the table's order: the Action
// step only when this run sets up a custom provider.
func TestPlanStepsFollowTable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		in         *migrationIntent
		wantAction bool
	}{
		{"custom", &migrationIntent{Provider: ProviderKindCustom}, true},
		{"twilio", &migrationIntent{Provider: ProviderKindTwilio, Twilio: &twilioSettings{SID: "AC1"}}, false},
		{"converge", &migrationIntent{Provider: ProviderKindCustom, Keep: true, ProviderID: "pro_1"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pc := &planContext{d: &Discovery{}, in: tt.in, o: &Options{}}
			if tt.in.Provider == ProviderKindCustom {
				pc.act = &actiongen.Action{Name: "a"}
			}
			var want []State
			for _, s := range steps() {
				if s.plan != nil && (s.skip == nil || !s.skip(tt.in)) {
					want = append(want, s.to)
				}
			}
			if got := slices.Contains(want, stateActionDeployed); got != tt.wantAction {
				t.Fatalf("the Action step applies: %v, want %v", got, tt.wantAction)
			}
			var got []State
			for _, st := range steps().planSteps(pc) {
				got = append(got, st.State)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("plan steps (-want +got):\n%s", diff)
			}
			for i := 1; i < len(got); i++ {
				if steps().stateOrder(got[i-1]) >= steps().stateOrder(got[i]) {
					t.Errorf("plan steps %v are not in the forward order", got)
				}
			}
		})
	}
}

func TestNextStep(t *testing.T) {
	t.Parallel()
	custom := &migrationIntent{Provider: ProviderKindCustom}
	tests := []struct {
		from State
		in   *migrationIntent
		want event // "" = none
	}{
		{StateNew, nil, eventDiscover},
		{stateDiscovered, nil, eventPlan},
		{statePlanned, custom, eventDeployAction},
		{statePlanned, &migrationIntent{Provider: ProviderKindCustom, Keep: true}, eventConfigureProvider}, // converging keeps the Action
		{statePlanned, &migrationIntent{Provider: ProviderKindTwilio}, eventConfigureProvider},
		{statePlanned, nil, eventConfigureProvider},
		{stateActionDeployed, custom, eventConfigureProvider},
		{stateProviderTested, custom, eventSwitchTenant},
		{stateTemplatesMigrated, custom, eventComplete},
		{StateCompleted, custom, ""},
		{StateAlreadyUnified, nil, ""},
		{StateFailed, custom, ""},
		{StateRolledBack, custom, ""},
	}
	for _, tt := range tests {
		var got event
		if s := steps().nextStep(tt.from, tt.in); s != nil {
			got = s.event
		}
		if got != tt.want {
			t.Errorf("steps().nextStep(%s, %+v) = %q; want %q", tt.from, tt.in, got, tt.want)
		}
		// Every step the table takes is legal in the machine.
		if got != "" {
			if err := steps().newMachine(tt.from).Event(t.Context(), string(got)); err != nil {
				t.Errorf("%s --%s-->: %v", tt.from, got, err)
			}
		}
	}
}

func TestStepName(t *testing.T) {
	t.Parallel()
	tests := map[State]string{
		StateNew:               "discover",
		statePlanned:           "deploy action or configure provider",
		stateProviderTested:    "switch tenant",
		stateTemplatesMigrated: "watch delivery",
		stateRollingBack:       "rollback",
		StateCompleted:         "completed",
	}
	for s, want := range tests {
		if got := steps().stepName(s); got != want {
			t.Errorf("steps().stepName(%s) = %q, want %q", s, got, want)
		}
	}
}

// TestAddingAStep: a step registered with an order between two others is
// all it takes — the machine, the path, the plan and the rollback order
// take it in its place, and the step after it leaves from its state.
func TestAddingAStep(t *testing.T) {
	t.Parallel()
	const stateAudited, eventAudit = State("hypothetically_audited"), event("hypothetical_audit")
	const order = 85
	// A table of its own: the built-in one, which other tests use at the
	// same time, is left alone.
	audit := &step{order: order, event: eventAudit, to: stateAudited, does: "audit",
		doc:   "**Audit**: reads what was written.",
		plan:  func(*planContext) Step { return Step{Title: "Audit"} },
		apply: func(*run, context.Context) (event, error) { return eventAudit, nil },
		undo:  &undo{title: "Un-audit", restore: func(*run, context.Context) error { return nil }},
	}
	tbl := newStepTable(append(slices.Clone(builtin), audit)...)
	// Its neighbours in the built-in table, whatever they are.
	var prev, next *step
	for _, s := range steps() {
		if s.order <= order { // a step of the same order comes first
			prev = s
		} else if next == nil {
			next = s
		}
	}
	in := &migrationIntent{Provider: ProviderKindTwilio, Twilio: &twilioSettings{SID: "AC1"}}
	if s := steps().nextStep(prev.to, in); s == nil || s.event != next.event {
		t.Fatalf("the built-in table's step after %s is %v, want %s (untouched)", prev.to, s, next.event)
	}
	if s := tbl.nextStep(prev.to, in); s == nil || s.event != eventAudit {
		t.Fatalf("the step after %s is %v, want the new one", prev.to, s)
	}
	if s := tbl.nextStep(stateAudited, in); s == nil || s.event != next.event {
		t.Fatalf("the step after the new one is %v, want %s", s, next.event)
	}
	for _, hop := range []struct {
		from State
		ev   event
	}{{prev.to, eventAudit}, {stateAudited, next.event}} {
		if err := tbl.newMachine(hop.from).Event(t.Context(), string(hop.ev)); err != nil {
			t.Errorf("machine: %s --%s-->: %v", hop.from, hop.ev, err)
		}
	}
	if got, want := tbl.stateOrder(stateAudited), tbl.stateOrder(prev.to)+1; got != want {
		t.Errorf("stateOrder(audited) = %d, want %d", got, want)
	}
	var planned []State
	for _, st := range tbl.planSteps(&planContext{d: &Discovery{}, in: in, o: &Options{}}) {
		planned = append(planned, st.State)
	}
	if i := slices.Index(planned, stateAudited); i < 1 || planned[i-1] != prev.to || i+1 >= len(planned) || planned[i+1] != next.to {
		t.Errorf("plan steps %v: want audited between %s and %s", planned, prev.to, next.to)
	}
	// The prose that lists the steps takes it too (TestStepProse writes it).
	l := docList(tbl)
	head := func(s *step) string { return strings.Fields(s.doc)[0] } // "**MFA**": the doc is wrapped
	if at := strings.LastIndex(l, ". **Audit**: reads what was written.\n"); at < 0 || strings.Index(l, head(prev)) > at || at > strings.Index(l, head(next)) {
		t.Errorf("docs list, want the new step between its neighbours:\n%s", l)
	}
	if p := forwardPath(tbl); !strings.Contains(p, string(prev.to)+" → "+string(stateAudited)+" → "+string(next.to)) {
		t.Errorf("forward path:\n%s", p)
	}
	if o := rollbackOrder(tbl); !strings.Contains(o, "Un-audit\n") {
		t.Errorf("rollback order:\n%s", o)
	}
	// A rollback undoes it after every step routing codes, and after the
	// later steps, before the earlier ones.
	undone := undoOrder(tbl)
	i := slices.IndexFunc(undone, func(s *step) bool { return s.event == eventAudit })
	for j, s := range undone {
		if before := s.undo.routes || s.order > order || s.order == order && s != undone[i]; before != (j < i) {
			t.Errorf("rollback undoes %s %s the new step", s.event, map[bool]string{true: "before", false: "after"}[j < i])
		}
	}
}

// TestProviderWriteRule pins the provider step's one rule (plan and apply).
func TestProviderWriteRule(t *testing.T) {
	t.Parallel()
	req := PhoneProviderRequest{Name: ProviderTwilio, Configuration: ProviderConfiguration{SID: "AC1", DefaultFrom: "+1", DeliveryMethods: delivery.Of(delivery.Text)}}
	written := PhoneProvider{ID: "pro_1", Name: ProviderTwilio, Configuration: req.Configuration}
	original := PhoneProvider{ID: "pro_1", Name: ProviderTwilio, Configuration: ProviderConfiguration{SID: "AC0", DeliveryMethods: delivery.Of(delivery.Text)}}
	orig := &originalProvider{ID: "pro_1", Name: ProviderTwilio, SID: "AC0", DeliveryMethods: delivery.Of(delivery.Text)}
	edited := written
	edited.Configuration.DeliveryMethods = delivery.Of(delivery.Text, delivery.Voice)
	tests := []struct {
		name      string
		p         *PhoneProvider
		ours      bool
		orig      *originalProvider
		wantWrite bool
		wantErr   bool
	}{
		{"none: create", nil, false, nil, true, false},
		{"ours, as written", &written, true, nil, false, false},
		{"ours, edited since", &edited, true, nil, false, true},
		{"someone's, first time: replace", &original, false, nil, true, false},
		{"someone's matching, first time: replace (credentials unknown)", &written, false, nil, true, false},
		{"replaced, earlier write not landed", &original, false, orig, true, false},
		{"replaced, as written", &written, false, orig, false, false},
		{"replaced, edited since", &edited, false, orig, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			write, err := providerWrite(tt.p, req, tt.ours, tt.orig)
			if write != tt.wantWrite || (err != nil) != tt.wantErr || (err != nil && !errors.Is(err, ErrConcurrentChange)) {
				t.Errorf("providerWrite = %v, %v; want write %v, error %v", write, err, tt.wantWrite, tt.wantErr)
			}
		})
	}
}
