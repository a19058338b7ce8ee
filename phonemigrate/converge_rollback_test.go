package phonemigrate_test

import (
	"testing"

	"github.com/unifiedphone/unifiedphone/phonemigrate"
	"github.com/unifiedphone/unifiedphone/phonemigrate/phonemigratetest"
)

// TestRollbackAfterApplyRewroteTheTemplate: a colleague edits the
// Passwordless connection's template after the migration; apply writes the
// new text to the tenant template (check asked for it). The template then
// holds what this tool wrote, so rollback goes ahead without --force (it
// used to refuse, calling the tool's own write "edited after the
// migration"), and restores the tenant.
func TestRollbackAfterApplyRewroteTheTemplate(t *testing.T) {
	t.Parallel()
	srv, m := fakeTenant(t, phonemigratetest.LegacyGateway, phonemigrate.WithStore(phonemigrate.NewMemoryStore()))
	if _, err := m.Apply(t.Context(), fakeOptions(srv)); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	c := srv.State().Connections[1]
	opts := c.Options
	opts["template"] = "NEW: @@password@@"
	api(t, srv, "PATCH", "/connections/"+c.ID, map[string]any{"options": opts})
	if h, err := m.Check(t.Context()); err != nil || h.Healthy() {
		t.Fatalf("Check after the connection's template changed = %+v, %v; want a words finding", h, err)
	}
	if _, err := m.Apply(t.Context(), fakeOptions(srv)); err != nil {
		t.Fatalf("Apply (converge): %v", err)
	}
	if h, err := m.Check(t.Context()); err != nil || !h.Healthy() {
		t.Fatalf("Check after apply = %+v, %v; want healthy", h, err)
	}
	if _, err := m.Rollback(t.Context()); err != nil {
		t.Fatalf("Rollback after apply rewrote the template: %v", err)
	}
	st := srv.State()
	if got := st.Connections[1].Options["template"]; got != "NEW: @@password@@" {
		t.Errorf("connection template after rollback = %v, want the colleague's edit", got)
	}
	if st.TenantSettings["phone_consolidated_experience"] == true || len(st.PhoneProviders) != 0 {
		t.Errorf("tenant after rollback still switched or with a provider: %+v", st)
	}
}
