package phonemigrate

import (
	"context"
	"fmt"
	"slices"

	"github.com/unifiedphone/unifiedphone/delivery"
)

// The templates step: the legacy texts as tenant phone templates.

func (r *run) migrateTemplates(ctx context.Context) (Event, error) {
	in, c := r.cp.Intent, r.m.c
	if len(in.Templates) == 0 {
		return EventMigrateTemplates, nil
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
		ex := findTemplate(ts, ti.Type)
		if ex == nil {
			content := PhoneTemplateContent{Syntax: "liquid", From: ti.From, Text: ti.Text}
			if in.Delivery.Has(delivery.Voice) {
				content.Voice = ti.Text
			}
			typ := ti.Type
			done, err := r.creating(ctx, func(u *Unconfirmed) { u.TemplateTypes = appendOnce(u.TemplateTypes, typ) },
				func(u *Unconfirmed) { u.TemplateTypes = removeString(u.TemplateTypes, typ) })
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
		if !ti.Existed && !slices.Contains(r.cp.Created.TemplateIDs, ex.ID) && slices.Contains(r.cp.Created.Unconfirmed.TemplateTypes, ti.Type) && holdsTemplate(*ex, ti) {
			// The plan saw no template of this type and a create went
			// without an answer: this one, holding what was sent, was
			// created by it. Adopt it.
			r.cp.Created.TemplateIDs = append(r.cp.Created.TemplateIDs, ex.ID)
			r.cp.Created.Unconfirmed.TemplateTypes = removeString(r.cp.Created.Unconfirmed.TemplateTypes, ti.Type)
			if err := r.save(ctx); err != nil {
				return "", err
			}
		}
		if holdsTemplate(*ex, ti) {
			continue
		}
		if !slices.Contains(r.cp.Created.TemplateIDs, ex.ID) && findOriginalTemplate(r.cp.Originals.Templates, ex.ID) == nil {
			r.cp.Originals.Templates = append(r.cp.Originals.Templates, OriginalTemplate{ID: ex.ID, Type: ex.Type, Disabled: ex.Disabled,
				Syntax: ex.Content.Syntax, From: ex.Content.From, Text: ex.Content.Text, Voice: ex.Content.Voice})
			if err := r.save(ctx); err != nil {
				return "", err
			}
		}
		// The template as read right before (see above), with only the
		// fields this step owns changed.
		content := ex.Content
		content.Text = ti.Text
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
	return EventMigrateTemplates, nil
}

// templatesToUpdate reports whether any template of ts (customised) must be
// PATCHed to hold what tis describe.
func templatesToUpdate(ts []PhoneTemplate, tis []TemplateIntent) bool {
	for _, ti := range tis {
		if ex := findTemplate(ts, ti.Type); ex != nil && !holdsTemplate(*ex, ti) {
			return true
		}
	}
	return false
}

// holdsTemplate reports whether t already is the template ti describes.
// A legacy text without a sender (Guardian's) leaves the template's own
// sender as it is: Auth0 keeps a from that a PATCH leaves out.
func holdsTemplate(t PhoneTemplate, ti TemplateIntent) bool {
	return t.Type == ti.Type && t.Content.Text == ti.Text && (ti.From == "" || t.Content.From == ti.From) && !t.Disabled
}

// verifyTemplate checks Auth0's answer to a template write.
func verifyTemplate(t PhoneTemplate, ti TemplateIntent) error {
	if t.ID == "" || !holdsTemplate(t, ti) {
		return fmt.Errorf("verify phone templates: Auth0's answer shows %s does not hold the migrated text", ti.Type)
	}
	return nil
}

func findOriginalTemplate(ts []OriginalTemplate, id string) *OriginalTemplate {
	for i := range ts {
		if ts[i].ID == id {
			return &ts[i]
		}
	}
	return nil
}
