package phonemigrate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
)

// The connections step: options.use_phone_provider on each Passwordless SMS
// connection, written whole from a fresh read and verified from Auth0's answer.

// The states this step reaches and the events that lead there (see
// [State] and [event]).
const (
	stateConnectionsSwitched State = "connections_switched"
	eventSwitchConnections   event = "switch_connections"
)

func init() { register(connectionsStep()) }

func connectionsStep() *step {
	return &step{order: 70, event: eventSwitchConnections, to: stateConnectionsSwitched, does: "switch connections",
		doc:         connectionsDoc,
		establishes: []*invariant{connectionsUseProvider},
		plan:        planConnectionsStep,
		apply:       (*run).switchConnections,
		undo: &undo{routes: true, title: "Switch each Passwordless SMS connection back to its original use_phone_provider",
			drift: (*run).connectionsDrift, restore: (*run).restoreConnections},
	}
}

// connectionsUseProvider is the invariant the connections step
// establishes: on a switched tenant every Passwordless SMS connection has
// options.use_phone_provider.
var connectionsUseProvider = &invariant{name: InvariantConnectionsUseProvider, findings: func(t *checkedTenant) []Finding {
	if !t.d.UPE {
		return nil
	}
	var out []Finding
	for _, c := range t.legacy {
		out = append(out, Finding{Invariant: InvariantConnectionsUseProvider,
			Problem:     fmt.Sprintf("connection %q does not have options.%s", c.Name, UsePhoneProviderKey),
			Consequence: fmt.Sprintf("Passwordless users of connection %q get their codes from its legacy settings, not the tenant-level provider", c.Name),
			Fix:         connectionFix(t.d),
			LikelyCause: causeConnectionRewritten})
	}
	return out
}}

func planConnectionsStep(pc *planContext) Step {
	in := pc.in
	st := Step{Title: "Switch each Passwordless SMS connection to the tenant-level provider (whole options re-sent, verified from Auth0's answer)"}
	if len(in.Connections) == 0 {
		st.Title = "No Passwordless SMS connection to switch"
	}
	for _, ref := range in.Connections {
		c := findConnection(pc.d.SMSConnections, ref.ID)
		if !needsProviderSwitch(*c, in.UsePhoneProvider) {
			continue
		}
		before := map[string]any{}
		note := fmt.Sprintf("connection %q: options.%s is absent before; every other option is re-sent unchanged", ref.Name, UsePhoneProviderKey)
		if v, ok := c.Options[UsePhoneProviderKey]; ok {
			before[UsePhoneProviderKey] = v
			note = fmt.Sprintf("connection %q: every other option is re-sent unchanged", ref.Name)
		}
		st.Writes = append(st.Writes, plannedWrite{Method: "PATCH", Path: "/connections/" + ref.ID,
			Before: map[string]any{"options": before},
			After:  map[string]any{"options": map[string]any{UsePhoneProviderKey: in.UsePhoneProvider}},
			Note:   note})
	}
	return st
}

// normalize round-trips v through JSON so values read from Auth0 and
// values built in Go compare equal.
func normalize(v any) any {
	data, err := json.Marshal(v)
	if err != nil {
		return v
	}
	var out any
	if err := json.Unmarshal(data, &out); err != nil {
		return v
	}
	return out
}

func sameValue(a, b any) bool { return reflect.DeepEqual(normalize(a), normalize(b)) }

// needsProviderSwitch reports whether connection c must be written so
// that options.use_phone_provider holds value: the one rule the plan and
// the connections step use.
func needsProviderSwitch(c Connection, value any) bool {
	cur, present := c.Options[UsePhoneProviderKey]
	return !present || !sameValue(cur, value)
}

// setOption writes connection c's options with key set to value (or
// removed), c being the connection as read right before: Auth0's PATCH
// replaces options whole and has no conditional write, so the caller reads
// it immediately before to keep the window for a concurrent edit as short
// as possible. The write is verified from Auth0's answer to it, which is
// the connection's options as written (a read after the write could not
// catch a lost update either: the PATCH already replaced them): key must
// hold value and every other key must equal c's; any other difference is
// Auth0's (or someone else's) doing, and the step stops rather than write
// the connection again. Errors name keys, never values (options hold
// secrets).
func (m *Migrator) setOption(ctx context.Context, c Connection, key string, present bool, value any) error {
	opts := make(map[string]any, len(c.Options)+1)
	for k, v := range c.Options {
		opts[k] = v
	}
	if present {
		opts[key] = value
	} else {
		delete(opts, key)
	}
	after, err := m.c.ReplaceConnectionOptions(ctx, c.ID, opts)
	if err != nil {
		return fmt.Errorf("write options of connection %q: %w", c.Name, err)
	}
	got, ok := after.Options[key]
	if ok != present || (present && !sameValue(got, value)) {
		return fmt.Errorf("verify options of connection %q: %s did not take the written value", c.Name, key)
	}
	var changed []string
	keys := map[string]bool{}
	for k := range c.Options {
		keys[k] = true
	}
	for k := range after.Options {
		keys[k] = true
	}
	for k := range keys {
		if k == key {
			continue
		}
		bv, bok := c.Options[k]
		av, aok := after.Options[k]
		if bok != aok || !sameValue(bv, av) {
			changed = append(changed, k)
		}
	}
	if len(changed) > 0 {
		sort.Strings(changed)
		return fmt.Errorf("verify options of connection %q: Auth0 answered options %s other than were read just before writing %s (someone else edited the connection meanwhile, or Auth0 altered them): %w; the migration stops rather than write the connection again: check it, then run again", c.Name, strings.Join(changed, ", "), key, ErrConcurrentChange)
	}
	return nil
}

func (r *run) switchConnections(ctx context.Context) (event, error) {
	if err := r.switchConnectionsOf(ctx, r.cp.Intent.Connections, r.cp.Intent.UsePhoneProvider); err != nil {
		return "", err
	}
	return eventSwitchConnections, nil
}

// switchConnectionsOf sets use_phone_provider to value on each connection
// of refs that does not hold it, recording the original first.
func (r *run) switchConnectionsOf(ctx context.Context, refs []connectionRef, value any) error {
	for _, ref := range refs {
		// Always the latest options, never the discovery snapshot: the
		// PATCH replaces options whole, so writing an older read would
		// revert whatever someone changed since (a lost update).
		c, err := r.m.c.GetConnection(ctx, ref.ID)
		if err != nil {
			return fmt.Errorf("read connection %q: %w", ref.Name, err)
		}
		if !needsProviderSwitch(c, value) {
			continue
		}
		cur, present := c.Options[UsePhoneProviderKey]
		if findOriginalOption(r.cp.Originals.ConnectionOptions, ref.ID, UsePhoneProviderKey) == nil {
			oo := originalOption{ConnectionID: ref.ID, Connection: ref.Name, Key: UsePhoneProviderKey, Present: present}
			if present {
				oo.Value = normalize(cur)
			}
			r.cp.Originals.ConnectionOptions = append(r.cp.Originals.ConnectionOptions, oo)
			if err := r.save(ctx); err != nil {
				return err
			}
		}
		if err := r.m.setOption(ctx, c, UsePhoneProviderKey, true, value); err != nil {
			return err
		}
	}
	return nil
}

func findOriginalOption(os []originalOption, id, key string) *originalOption {
	for i := range os {
		if os[i].ConnectionID == id && os[i].Key == key {
			return &os[i]
		}
	}
	return nil
}

func (r *run) restoreConnections(ctx context.Context) error {
	for _, oo := range r.cp.Originals.ConnectionOptions {
		c, err := r.m.c.GetConnection(ctx, oo.ConnectionID)
		if errors.Is(err, ErrNotFound) {
			r.m.log.WarnContext(ctx, "rollback: connection no longer exists", "connection", oo.Connection)
			continue
		}
		if err != nil {
			return fmt.Errorf("read connection %q: %w", oo.Connection, err)
		}
		cur, present := c.Options[oo.Key]
		if present == oo.Present && (!present || sameValue(cur, oo.Value)) {
			continue
		}
		if err := r.m.setOption(ctx, c, oo.Key, oo.Present, oo.Value); err != nil {
			return err
		}
		r.m.log.InfoContext(ctx, "rollback: connection restored", "connection", oo.Connection, "key", oo.Key)
	}
	return nil
}

func findConnection(cs []Connection, id string) *Connection {
	for i := range cs {
		if cs[i].ID == id {
			return &cs[i]
		}
	}
	return &Connection{ID: id}
}

// connectionsDrift reports Passwordless connections that rely on the
// tenant-level provider but were not switched by this migration (created
// or switched before or since), and that the rollback would leave routing
// to nothing: with the tenant switched back, one without legacy settings
// of its own; with the tenant left switched, any, once the provider this
// migration created is deleted. One with legacy settings on a tenant
// switched back sends through them again, as it did before.
func (r *run) connectionsDrift(ctx context.Context) ([]string, error) {
	conns, err := r.m.c.ListSMSConnections(ctx)
	if err != nil {
		return nil, fmt.Errorf("list connections: %w", err)
	}
	var changes []string
	var switchedAfter *bool // the tenant switch once rolled back; read when needed
	for _, conn := range conns {
		if !usesProvider(conn) || findOriginalOption(r.cp.Originals.ConnectionOptions, conn.ID, UsePhoneProviderKey) != nil {
			continue
		}
		if switchedAfter == nil {
			on, err := r.switchedAfterRollback(ctx)
			if err != nil {
				return nil, err
			}
			switchedAfter = &on
		}
		noLegacy := connectionPath(&conn) == nil
		switch {
		case !*switchedAfter && noLegacy:
			changes = append(changes, fmt.Sprintf("connection %q uses the tenant-level provider, was not switched by this migration and has no legacy settings: once the tenant is switched back its users would be left without codes", conn.Name))
		case *switchedAfter && r.cp.Created.ProviderID != "":
			changes = append(changes, fmt.Sprintf("connection %q uses the tenant-level provider but was not switched by this migration: deleting the provider the migration created would leave its users without codes", conn.Name))
		}
	}
	return changes, nil
}

// switchedAfterRollback reports whether the tenant is switched to the
// Unified Phone Experience once rolled back: its recorded original when
// this migration switched it, else as it is now.
func (r *run) switchedAfterRollback(ctx context.Context) (bool, error) {
	if o := r.cp.Originals.PhoneConsolidatedExperience; o != nil {
		return flagOn(o.Value), nil
	}
	ts, err := r.m.c.TenantSettings(ctx)
	if err != nil {
		return false, fmt.Errorf("read tenant settings: %w", err)
	}
	return flagOn(ts.PhoneConsolidatedExperience), nil
}

// connectionsDoc is the step as docs/how-it-works.md lists it (Markdown;
// TestStepProse -update writes it there).
const connectionsDoc = "**Connections**: for each Passwordless SMS connection, the connection is read " +
	"right before the write (never from the discovery snapshot, so a colleague's " +
	"edit made while `apply` runs is kept), its whole raw `options` map is written " +
	"back with `use_phone_provider: true` (`PATCH /connections/{id}`, which " +
	"replaces `options` wholesale); Auth0's answer (the options as written) must " +
	"show the switch and every other key unchanged; a difference stops the step " +
	"rather than write again. Auth0 has no conditional write, so an edit landing in " +
	"the moment between that read and the write can still be lost; the window is " +
	"one round trip."
