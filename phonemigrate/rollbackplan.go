package phonemigrate

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/unifiedphone/unifiedphone/phonemigrate/watch"

	"github.com/unifiedphone/unifiedphone/delivery"
)

// RollbackPlan says what [Migrator.Rollback] would write now, writing
// nothing (GET requests only). It runs the very same restore steps as
// Rollback against a Client that reads from the tenant but records the
// writes instead of sending them (and answers later reads as if they had
// been made), so the plan cannot disagree with what Rollback decides. Drift
// that would stop Rollback (a [*DriftError]) is returned in the plan's
// Warnings instead. It needs a checkpoint ([ErrNoCheckpoint] otherwise);
// the checkpoint is neither locked nor changed.
func (m *Migrator) RollbackPlan(ctx context.Context) (*Plan, error) {
	cp, err := m.load(ctx)
	if err != nil {
		return nil, err
	}
	p := &Plan{Title: rollbackTitle, Tenant: cp.Tenant, Steps: []Step{}}
	if cp.Intent != nil {
		p.Provider, p.Delivery = cp.Intent.Provider, cp.Intent.Delivery
	}
	switch cp.State {
	case StateRolledBack, StateNew:
		p.Warnings = []string{"nothing to roll back: the checkpoint is " + string(cp.State)}
		return p, nil
	case StateAlreadyUnified:
		p.Warnings = []string{"nothing to roll back: the tenant was already on the Unified Phone Experience"}
		return p, nil
	}
	dry := &dryClient{clientReads: m.c, conns: map[string]map[string]any{}}
	copyM := *m
	copyM.c = dry
	copyM.store = newMemoryStore() // the real checkpoint is never written
	scratch := *cp
	r := &run{m: &copyM, cp: &scratch, machine: copyM.steps.newMachine(cp.State), o: &Options{}}
	if err = r.checkDrift(ctx); err != nil {
		var de *DriftError
		if !errors.As(err, &de) {
			return nil, err
		}
		p.Warnings = append(p.Warnings, "Rollback refuses until forced: "+de.Error())
	}
	// One plan step per step undone, in the rollback's order, with the
	// writes its restore made (steps with nothing to restore are left out).
	seen := 0
	err = r.restore(ctx, func(s *step) {
		if len(dry.writes) > seen {
			p.Steps = append(p.Steps, Step{Title: s.undo.title, Writes: nonNilWrites(dry.writes[seen:])})
		}
		seen = len(dry.writes)
	})
	if err != nil {
		return nil, fmt.Errorf("phonemigrate: rollback plan: %w", err)
	}
	if len(p.Steps) == 0 {
		p.Warnings = append(p.Warnings, "nothing to restore: nothing the migration changed differs from what it recorded as the original")
	}
	return p, nil
}

// rollbackTitle heads the text form of a rollback plan ([Plan.Title]);
// its steps, one per step of the migration undone, have no state.
const rollbackTitle = "Rollback plan"

func nonNilWrites(ws []plannedWrite) []plannedWrite {
	if ws == nil {
		return []plannedWrite{}
	}
	return ws
}

// clientReads are the read methods of [Client]: all a dryClient passes
// through to the real client. A method added to Client is not in here, so
// dryClient does not compile until it says what to do with it: a "read-only"
// rollback plan can never send a write it forgot.
type clientReads interface {
	TenantSettings(ctx context.Context) (TenantSettings, error)
	ListSMSConnections(ctx context.Context) ([]Connection, error)
	GetConnection(ctx context.Context, id string) (Connection, error)
	GuardianFactors(ctx context.Context) ([]GuardianFactor, error)
	PhoneMessageTypes(ctx context.Context) (delivery.Set, error)
	SelectedPhoneProvider(ctx context.Context) (string, error)
	LegacyTwilio(ctx context.Context) (LegacyTwilio, error)
	LegacyPhoneTemplates(ctx context.Context) (LegacyPhoneTemplates, error)
	ListPhoneProviders(ctx context.Context) ([]PhoneProvider, error)
	ListPhoneTemplates(ctx context.Context) ([]PhoneTemplate, error)
	GetAction(ctx context.Context, id string) (Action, error)
	ListActionsByTrigger(ctx context.Context, trigger string) ([]Action, error)
	TriggerBindings(ctx context.Context, trigger string) ([]Binding, error)
	Logs(ctx context.Context, q watch.LogQuery) ([]watch.LogEvent, error)
	ClientGrants(ctx context.Context) ([]ClientGrant, error)
	ClientName(ctx context.Context, clientID string) (string, error)
}

// dryClient reads through the real Client and records writes. Reads of
// what it "wrote" answer the written value, so the restore steps' own
// verification reads see their writes. It embeds only the real client's
// reads (clientReads); every write is a method of its own that records the
// write or refuses it.
type dryClient struct {
	clientReads
	writes []plannedWrite
	conns  map[string]map[string]any // connection id -> options written
	flag   *bool
	types  *delivery.Set
}

var _ Client = (*dryClient)(nil)

func (d *dryClient) record(w plannedWrite) { d.writes = append(d.writes, w) }

func (d *dryClient) TenantSettings(ctx context.Context) (TenantSettings, error) {
	if d.flag != nil {
		v := *d.flag
		return TenantSettings{PhoneConsolidatedExperience: &v}, nil
	}
	return d.clientReads.TenantSettings(ctx)
}

func (d *dryClient) SetPhoneConsolidatedExperience(_ context.Context, enabled bool) (TenantSettings, error) {
	d.record(plannedWrite{Method: "PATCH", Path: "/tenants/settings", After: map[string]any{"phone_consolidated_experience": enabled}})
	d.flag = &enabled
	return TenantSettings{PhoneConsolidatedExperience: &enabled}, nil
}

func (d *dryClient) GetConnection(ctx context.Context, id string) (Connection, error) {
	c, err := d.clientReads.GetConnection(ctx, id)
	if err == nil {
		if o, ok := d.conns[id]; ok {
			c.Options = maps.Clone(o)
		}
	}
	return c, err
}

func (d *dryClient) ReplaceConnectionOptions(ctx context.Context, id string, options map[string]any) (Connection, error) {
	after := map[string]any{}
	if v, ok := options[UsePhoneProviderKey]; ok {
		after[UsePhoneProviderKey] = v
	}
	note := "every other option is re-sent unchanged"
	if _, ok := options[UsePhoneProviderKey]; !ok {
		note = "options." + UsePhoneProviderKey + " removed; " + note
	}
	d.record(plannedWrite{Method: "PATCH", Path: "/connections/" + id, After: map[string]any{"options": after}, Note: note})
	d.conns[id] = maps.Clone(options)
	return Connection{ID: id, Options: maps.Clone(options)}, nil
}

func (d *dryClient) PhoneMessageTypes(ctx context.Context) (delivery.Set, error) {
	if d.types != nil {
		return *d.types, nil
	}
	return d.clientReads.PhoneMessageTypes(ctx)
}

func (d *dryClient) SetPhoneMessageTypes(_ context.Context, types delivery.Set) error {
	d.record(plannedWrite{Method: "PUT", Path: "/guardian/factors/phone/message-types", After: map[string]any{"message_types": nonNil(types.MessageTypes())}})
	d.types = &types
	return nil
}

func (d *dryClient) CreatePhoneProvider(context.Context, PhoneProviderRequest) (PhoneProvider, error) {
	return PhoneProvider{}, errors.New("rollback plan: a rollback never creates a provider")
}

func (d *dryClient) UpdatePhoneProvider(_ context.Context, id string, req PhoneProviderRequest) (PhoneProvider, error) {
	d.record(plannedWrite{Method: "PATCH", Path: "/branding/phone/providers/" + id, After: providerView(req)})
	return PhoneProvider{ID: id, Name: req.Name, Disabled: req.Disabled, Configuration: req.Configuration}, nil
}

func (d *dryClient) DeletePhoneProvider(_ context.Context, id string) error {
	d.record(plannedWrite{Method: "DELETE", Path: "/branding/phone/providers/" + id, Note: "created by the migration"})
	return nil
}

func (d *dryClient) TestPhoneProvider(context.Context, string, string, delivery.Method) error {
	return errors.New("rollback plan: a rollback never sends a test message")
}

func (d *dryClient) CreatePhoneTemplate(context.Context, PhoneTemplate) (PhoneTemplate, error) {
	return PhoneTemplate{}, errors.New("rollback plan: a rollback never creates a template")
}

func (d *dryClient) UpdatePhoneTemplate(_ context.Context, id string, content PhoneTemplateContent, disabled bool) (PhoneTemplate, error) {
	d.record(plannedWrite{Method: "PATCH", Path: "/branding/phone/templates/" + id,
		After: map[string]any{"content": map[string]any{"from": content.From, "text": content.Text}, "disabled": disabled}, Note: "its text before the migration"})
	return PhoneTemplate{ID: id, Disabled: disabled, Content: content}, nil
}

func (d *dryClient) DeletePhoneTemplate(_ context.Context, id string) error {
	d.record(plannedWrite{Method: "DELETE", Path: "/branding/phone/templates/" + id, Note: "created by the migration"})
	return nil
}

func (d *dryClient) CreateAction(context.Context, ActionRequest) (Action, error) {
	return Action{}, errors.New("rollback plan: a rollback never creates an Action")
}

func (d *dryClient) DeployAction(context.Context, string) error {
	return errors.New("rollback plan: a rollback never deploys an Action")
}

func (d *dryClient) DeleteAction(_ context.Context, id string, force bool) error {
	d.record(plannedWrite{Method: "DELETE", Path: "/actions/actions/" + id, Note: "created by the migration"})
	return nil
}

func (d *dryClient) SetTriggerBindings(_ context.Context, trigger string, refs []BindingRef) ([]Binding, error) {
	after := make([]map[string]any, 0, len(refs))
	out := make([]Binding, 0, len(refs))
	for _, b := range refs {
		after = append(after, map[string]any{"ref": map[string]string{"type": "action_id", "value": b.ActionID}, "display_name": b.DisplayName})
		out = append(out, Binding{ActionID: b.ActionID, DisplayName: b.DisplayName})
	}
	d.record(plannedWrite{Method: "PATCH", Path: "/actions/triggers/" + trigger + "/bindings", After: after})
	return slices.Clip(out), nil
}
