package phonemigrate_test

import (
	"strings"
	"testing"
	"time"

	"github.com/unifiedphone/unifiedphone/phonemigrate"
	"github.com/unifiedphone/unifiedphone/phonemigrate/phonemigratetest"
)

// TestCheckNamesAnEditedAction: after a migration of a tenant with one
// gateway connection, someone edits the generated Action's sender and
// deploys it. check reports the other sender, and its fix speaks of the
// edited Action — not of "two connections' different gateway settings",
// which this tenant does not have.
func TestCheckNamesAnEditedAction(t *testing.T) {
	t.Parallel()
	srv, m := fakeTenant(t, phonemigratetest.LegacyGateway, phonemigrate.WithStore(phonemigrate.NewMemoryStore()))
	if _, err := m.Apply(t.Context(), fakeOptions(srv)); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	a := srv.State().Actions[0]
	code := strings.Replace(a.Code, `"from": "`+phonemigratetest.SMSFrom+`"`, `"from": "+15550000000"`, 1)
	if code == a.Code {
		t.Fatalf("the generated Action has no from %s to edit", phonemigratetest.SMSFrom)
	}
	api(t, srv, "PATCH", "/actions/actions/"+a.ID, map[string]any{"code": code})
	// The fake builds it after 200 ms or two reads; the deadlines below
	// only guard against a hang.
	for deadline := time.Now().Add(2 * time.Minute); srv.State().Actions[0].Status != "built"; {
		if time.Now().After(deadline) {
			t.Fatal("the edited Action was not built within two minutes")
		}
		time.Sleep(10 * time.Millisecond)
	}
	api(t, srv, "POST", "/actions/actions/"+a.ID+"/deploy", nil)
	var h *phonemigrate.Health
	for deadline := time.Now().Add(2 * time.Minute); ; {
		var err error
		if h, err = m.Check(t.Context()); err != nil {
			t.Fatal(err)
		}
		if !h.Healthy() || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if h.Healthy() {
		t.Fatal("Check after the Action's sender was edited: healthy")
	}
	for _, f := range h.Findings {
		if f.Invariant != phonemigrate.InvariantSameRequest {
			continue
		}
		if strings.Contains(f.Fix, "two connections") || !strings.Contains(f.Fix, "Action") {
			t.Errorf("fix = %q; want it to name the edited Action, not two connections", f.Fix)
		}
	}
}
