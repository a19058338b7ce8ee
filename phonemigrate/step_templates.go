package phonemigrate

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/unifiedphone/unifiedphone/delivery"
)

// The templates step: the legacy texts as tenant phone templates.

// The states this step reaches and the events that lead there (see
// [State] and [event]).
const (
	stateTemplatesMigrated State = "templates_migrated"
	eventMigrateTemplates  event = "migrate_templates"
)

func init() { register(templatesStep()) }

func templatesStep() *step {
	return &step{order: 90, event: eventMigrateTemplates, to: stateTemplatesMigrated, does: "migrate templates",
		doc:   templatesDoc,
		plan:  planTemplatesStep,
		apply: (*run).migrateTemplates,
		undo: &undo{title: "Restore the phone templates the migration updated and delete the ones it created",
			adopt: (*run).adoptTemplates, owned: (*run).ownedTemplates, drift: (*run).templatesDrift, restore: (*run).restoreTemplates},
	}
}

// needsTemplateWrite is the templates step's rule, for plan and apply: it
// returns the tenant's customised template of ti's type (nil when the type
// has only Auth0's id-less default, so it is created by POST) and whether
// a write is needed: always without one, else unless it holds ti.
func needsTemplateWrite(ts []PhoneTemplate, ti templateIntent) (*PhoneTemplate, bool) {
	ex := findTemplate(ts, ti.Type)
	return ex, ex == nil || !holdsTemplate(*ex, ti)
}

func planTemplatesStep(pc *planContext) Step {
	in := pc.in
	st := Step{Title: "Migrate the legacy message templates to tenant phone templates"}
	switch {
	case in.Keep && len(in.Templates) > 0:
		st.Title = "Write the Passwordless connection's legacy text to the tenant phone template (the other templates are left as they are)"
	case in.Keep:
		st.Title = "Phone templates left as they are (the legacy texts cannot be read once the tenant is switched)"
	case len(in.Templates) == 0:
		st.Title = "No legacy templates to migrate"
	}
	for _, ti := range in.Templates {
		existing, write := needsTemplateWrite(pc.d.Templates, ti)
		if !write {
			continue
		}
		after := map[string]any{"text": ti.Text}
		if ti.From != "" {
			after["from"] = ti.From
		}
		note := "from the " + ti.Source + "; " + previewNote(ti)
		if existing == nil {
			st.Writes = append(st.Writes, plannedWrite{Method: "POST", Path: "/branding/phone/templates",
				After: map[string]any{"type": ti.Type, "content": after}, Note: note})
			continue
		}
		st.Writes = append(st.Writes, plannedWrite{Method: "PATCH", Path: "/branding/phone/templates/" + existing.ID,
			Before: map[string]any{"content": map[string]any{"from": existing.Content.From, "text": existing.Content.Text}, "disabled": existing.Disabled},
			After:  map[string]any{"content": after, "disabled": false}, Note: note})
	}
	return st
}

func (r *run) migrateTemplates(ctx context.Context) (event, error) {
	in, c := r.cp.Intent, r.m.c
	if len(in.Templates) == 0 {
		return eventMigrateTemplates, nil
	}
	var ts []PhoneTemplate
	if r.fresh() && !templatesToUpdate(r.d.Templates, in.Templates) {
		// Only creations: the discovery snapshot is enough (a POST of a
		// type someone customised meanwhile gets 409, it overwrites
		// nothing).
		ts = r.d.Templates
	} else {
		// A PATCH sends the template's content whole, so it starts from
		// the latest read, never the snapshot: a colleague's edit made
		// since discovery is kept.
		var err error
		if ts, err = c.ListPhoneTemplates(ctx); err != nil {
			return "", fmt.Errorf("list phone templates: %w", err)
		}
	}
	for _, ti := range in.Templates {
		ex, write := needsTemplateWrite(ts, ti)
		if ex == nil {
			content := PhoneTemplateContent{Syntax: "liquid", From: ti.From, Text: ti.Text}
			if in.Delivery.Has(delivery.Voice) {
				content.Voice = ti.Text
			}
			typ := ti.Type
			done, err := r.creating(ctx, func(u *unconfirmedCreates) { u.TemplateTypes = appendOnce(u.TemplateTypes, typ) },
				func(u *unconfirmedCreates) { u.TemplateTypes = removeString(u.TemplateTypes, typ) })
			if err != nil {
				return "", err
			}
			t, err := c.CreatePhoneTemplate(ctx, PhoneTemplate{Type: ti.Type, Content: content})
			if serr := done(err); serr != nil {
				return "", serr
			}
			if err != nil {
				return "", fmt.Errorf("create %s template: %w", ti.Type, err)
			}
			if t.ID != "" {
				r.cp.Created.TemplateIDs = append(r.cp.Created.TemplateIDs, t.ID)
				if err := r.save(ctx); err != nil {
					return "", err
				}
			}
			if err := verifyTemplate(t, ti); err != nil {
				return "", err
			}
			continue
		}
		if !ti.Existed && !write && !slices.Contains(r.cp.Created.TemplateIDs, ex.ID) && slices.Contains(r.cp.Created.Unconfirmed.TemplateTypes, ti.Type) && r.cp.Created.Unconfirmed.Adoptable(ex.CreatedAt) {
			// The plan saw no template of this type and a create went
			// without an answer: this one, holding what was sent, was
			// created by it. Adopt it.
			r.cp.Created.TemplateIDs = append(r.cp.Created.TemplateIDs, ex.ID)
			r.cp.Created.Unconfirmed.TemplateTypes = removeString(r.cp.Created.Unconfirmed.TemplateTypes, ti.Type)
			if err := r.save(ctx); err != nil {
				return "", err
			}
		}
		if !write {
			continue
		}
		if err := r.templateChangedSince(*ex); err != nil {
			return "", err
		}
		if !slices.Contains(r.cp.Created.TemplateIDs, ex.ID) && findOriginalTemplate(r.cp.Originals.Templates, ex.ID) == nil {
			r.cp.Originals.Templates = append(r.cp.Originals.Templates, originalTemplate{ID: ex.ID, Type: ex.Type, Disabled: ex.Disabled,
				Syntax: ex.Content.Syntax, From: ex.Content.From, Text: ex.Content.Text, Voice: ex.Content.Voice})
			if err := r.save(ctx); err != nil {
				return "", err
			}
		}
		// The template as read right before (see above), with only the
		// fields this step owns changed.
		content := ex.Content
		content.Text = ti.Text
		if in.Delivery.Has(delivery.Voice) && content.Voice != "" {
			// Its own voice text would replace the legacy words of
			// voice users; rollback restores it (a voice text never
			// set stays unset: Auth0 cannot unset it again).
			content.Voice = ti.Text
		}
		if ti.From != "" {
			content.From = ti.From
		}
		t, err := c.UpdatePhoneTemplate(ctx, ex.ID, content, false)
		if err != nil {
			return "", fmt.Errorf("update %s template %s: %w", ti.Type, ex.ID, err)
		}
		if err := verifyTemplate(t, ti); err != nil {
			return "", err
		}
	}
	return eventMigrateTemplates, nil
}

// refreshTemplateTexts takes the texts of the templates the plan writes
// again from where the plan found them — each Passwordless connection's
// template option, the legacy Guardian messages —, read now: after a wait
// (the provider test) an edit someone made to them meanwhile is migrated,
// not reverted to the text read before. The legacy Guardian messages can be
// read only before the tenant switch, so this runs at the end of the
// provider test, the step before it. A source that is gone or no longer
// readable keeps the planned text.
func (r *run) refreshTemplateTexts(ctx context.Context) error {
	in := r.cp.Intent
	if in == nil || in.Keep || len(in.Templates) == 0 {
		return nil
	}
	var fromConns, fromGuardian bool
	for _, ti := range in.Templates {
		fromConns = fromConns || strings.HasPrefix(ti.Source, "connection ")
		fromGuardian = fromGuardian || strings.HasPrefix(ti.Source, "guardian ")
	}
	d := &Discovery{MFAEnabled: in.MFAEnabled}
	if fromConns {
		conns, err := r.m.c.ListSMSConnections(ctx)
		if err != nil {
			return fmt.Errorf("read connections for their templates: %w", err)
		}
		sort.SliceStable(conns, func(i, j int) bool { return conns[i].Name < conns[j].Name })
		d.SMSConnections = conns
	}
	if fromGuardian {
		tpl, err := r.m.c.LegacyPhoneTemplates(ctx)
		switch {
		case err == nil:
			d.LegacyTemplates = &tpl
		case errors.Is(err, ErrForbidden) || errors.Is(err, ErrNotFound):
		default:
			return fmt.Errorf("read legacy phone templates: %w", err)
		}
	}
	now, _, _ := planTemplates(d, len(in.Connections) > 0)
	changed := false
	for i := range in.Templates {
		ti := &in.Templates[i]
		for _, n := range now {
			if n.Type != ti.Type || n.Source != ti.Source {
				continue
			}
			from := ti.From
			if from != "" { // a sender the plan left out stays out
				from = n.From
			}
			if n.Text != ti.Text || from != ti.From {
				r.m.log.InfoContext(ctx, "template source edited since the plan; migrating the edit", "tenant", r.cp.Tenant, "type", ti.Type, "source", ti.Source)
				ti.Text, ti.From, changed = n.Text, from, true
			}
		}
	}
	if !changed {
		return nil
	}
	return r.save(ctx)
}

// templateChangedSince returns [ErrConcurrentChange] for template t, which
// does not hold what the plan writes, when this migration already wrote it:
// one it created, or one whose original it recorded that no longer is
// that original (were it still, the earlier write did not land, and it is
// written now). Writing it would throw away someone else's edit.
func (r *run) templateChangedSince(t PhoneTemplate) error {
	if r.remigrating {
		return nil // reset since the first run: written again on purpose
	}
	o := findOriginalTemplate(r.cp.Originals.Templates, t.ID)
	created := slices.Contains(r.cp.Created.TemplateIDs, t.ID)
	if !created && (o == nil || o.is(t)) {
		return nil
	}
	return fmt.Errorf("the %s template %s was edited since this migration wrote it: %w; the migration stops rather than write over the edit: check it, then run again (or roll back)", t.Type, t.ID, ErrConcurrentChange)
}

// is reports whether t still holds the recorded original's text, sender
// and disabled flag (what the templates step writes and restores).
func (o *originalTemplate) is(t PhoneTemplate) bool {
	return t.Content.Text == o.Text && t.Content.From == o.From && t.Disabled == o.Disabled && (o.Voice == "" || t.Content.Voice == o.Voice)
}

// templatesToUpdate reports whether any template of ts (customised) must be
// PATCHed to hold what tis describe.
func templatesToUpdate(ts []PhoneTemplate, tis []templateIntent) bool {
	for _, ti := range tis {
		if ex, write := needsTemplateWrite(ts, ti); ex != nil && write {
			return true
		}
	}
	return false
}

// holdsTemplate reports whether t already is the template ti describes.
// A legacy text without a sender (Guardian's) leaves the template's own
// sender as it is: Auth0 keeps a from that a PATCH leaves out.
func holdsTemplate(t PhoneTemplate, ti templateIntent) bool {
	return t.Type == ti.Type && t.Content.Text == ti.Text && (ti.From == "" || t.Content.From == ti.From) && !t.Disabled
}

// verifyTemplate checks Auth0's answer to a template write.
func verifyTemplate(t PhoneTemplate, ti templateIntent) error {
	if t.ID == "" || !holdsTemplate(t, ti) {
		return fmt.Errorf("verify phone templates: Auth0's answer shows %s does not hold the migrated text", ti.Type)
	}
	return nil
}

func findOriginalTemplate(ts []originalTemplate, id string) *originalTemplate {
	for i := range ts {
		if ts[i].ID == id {
			return &ts[i]
		}
	}
	return nil
}

func (r *run) restoreTemplates(ctx context.Context) error {
	c := r.m.c
	if len(r.cp.Originals.Templates) == 0 && len(r.cp.Created.TemplateIDs) == 0 {
		return nil
	}
	ts, err := c.ListPhoneTemplates(ctx)
	if err != nil {
		return fmt.Errorf("list phone templates: %w", err)
	}
	for _, ot := range r.cp.Originals.Templates {
		var cur *PhoneTemplate
		for i := range ts {
			if ts[i].ID == ot.ID {
				cur = &ts[i]
			}
		}
		if cur == nil {
			return fmt.Errorf("restore %s template: template %s no longer exists", ot.Type, ot.ID)
		}
		if ot.is(*cur) {
			continue
		}
		content := cur.Content
		content.From, content.Text = ot.From, ot.Text
		if ot.Voice != "" {
			content.Voice = ot.Voice
		}
		if _, err := c.UpdatePhoneTemplate(ctx, ot.ID, content, ot.Disabled); err != nil {
			return fmt.Errorf("restore %s template: %w", ot.Type, err)
		}
	}
	for _, id := range r.cp.Created.TemplateIDs {
		if err := c.DeletePhoneTemplate(ctx, id); err != nil && !errors.Is(err, ErrNotFound) {
			return fmt.Errorf("delete created template %s: %w", id, err)
		}
	}
	return nil
}

// createdTemplate checks that t is of a type the plan created (one the
// tenant did not have).
func (r *run) createdTemplate(t PhoneTemplate) error {
	if in := r.cp.Intent; in != nil {
		for _, ti := range in.Templates {
			if ti.Type == t.Type && !ti.Existed {
				return nil
			}
		}
	}
	return &NotCreatedError{Kind: "phone template", ID: t.ID, Problem: fmt.Sprintf("the plan created no %q template", t.Type)}
}

// previewNote says what users will read from the template ti writes.
func previewNote(ti templateIntent) string {
	conn, _ := strings.CutPrefix(ti.Source, "connection ")
	text, err := previewTemplate(ti.Text, conn)
	if err != nil {
		return err.Error()
	}
	return fmt.Sprintf("users will read (sample values): %q", text)
}

// findTemplate returns the tenant's customised template of type typ, or
// nil. Auth0 lists its built-in default of every type the tenant has not
// customised next to the customised ones, without an id (recorded): such
// an entry is not a template that can be PATCHed or deleted, and a type
// that only has it is customised by POST.
func findTemplate(ts []PhoneTemplate, typ string) *PhoneTemplate {
	for i := range ts {
		if ts[i].Type == typ && ts[i].Customized() {
			return &ts[i]
		}
	}
	return nil
}

// adoptTemplates records the templates creates whose answers were lost
// made: a customised template of a type the plan saw none of, holding what
// was sent and appeared after the attempt ([unconfirmedCreates.Adoptable]), when
// this run sent that creation without a definite answer.
func (r *run) adoptTemplates(ctx context.Context) (bool, error) {
	var missing []templateIntent
	for _, ti := range r.cp.Intent.Templates {
		if !ti.Existed && slices.Contains(r.cp.Created.Unconfirmed.TemplateTypes, ti.Type) {
			missing = append(missing, ti)
		}
	}
	if len(missing) == 0 {
		return false, nil
	}
	ts, err := r.m.c.ListPhoneTemplates(ctx)
	if err != nil {
		return false, fmt.Errorf("list phone templates: %w", err)
	}
	adopted := false
	for _, t := range ts {
		sent := slices.ContainsFunc(missing, func(ti templateIntent) bool { return holdsTemplate(t, ti) })
		if t.Customized() && sent && r.cp.Created.Unconfirmed.Adoptable(t.CreatedAt) && !slices.Contains(r.cp.Created.TemplateIDs, t.ID) {
			r.cp.Created.TemplateIDs, adopted = append(r.cp.Created.TemplateIDs, t.ID), true
		}
	}
	return adopted, nil
}

// ownedTemplates checks the templates the checkpoint records as created.
func (r *run) ownedTemplates(ctx context.Context) error {
	ids := r.cp.Created.TemplateIDs
	if len(ids) == 0 {
		return nil
	}
	ts, err := r.m.c.ListPhoneTemplates(ctx)
	if err != nil {
		return fmt.Errorf("list phone templates: %w", err)
	}
	for _, t := range ts {
		if slices.Contains(ids, t.ID) {
			if err := r.createdTemplate(t); err != nil {
				return err
			}
		}
	}
	return nil
}

// templatesDrift reports the templates this migration wrote that were
// edited since: restoring or deleting them would throw the edit away.
func (r *run) templatesDrift(ctx context.Context) ([]string, error) {
	owned := map[string]bool{}
	for _, id := range r.cp.Created.TemplateIDs {
		owned[id] = true
	}
	for _, ot := range r.cp.Originals.Templates {
		owned[ot.ID] = true
	}
	if len(owned) == 0 {
		return nil, nil
	}
	ts, err := r.m.c.ListPhoneTemplates(ctx)
	if err != nil {
		return nil, fmt.Errorf("list phone templates: %w", err)
	}
	var changes []string
	for _, t := range ts {
		if !owned[t.ID] {
			continue
		}
		for _, ti := range r.cp.Intent.Templates {
			if ti.Type == t.Type && !holdsTemplate(t, ti) {
				changes = append(changes, fmt.Sprintf("the %s template %s was edited after the migration: rolling back would throw the edit away", t.Type, t.ID))
			}
		}
	}
	return changes, nil
}

// templatesDoc is the step as docs/how-it-works.md lists it (Markdown;
// TestStepProse -update writes it there).
const templatesDoc = "**Templates**: the legacy texts (connection `template` with `@@password@@`, or " +
	"Liquid; Guardian enrollment/verification messages) become tenant phone " +
	"templates (`otp_verify`, `otp_enroll`, `{{ code }}`) via `POST`/`PATCH " +
	"/branding/phone/templates`, so users keep receiving the same words. A `PATCH` " +
	"starts from the template as read right before it and changes only the text " +
	"(and sender)."
