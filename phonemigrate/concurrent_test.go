package phonemigrate_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/unifiedphone/unifiedphone/phonemigrate"
	"github.com/unifiedphone/unifiedphone/phonemigrate/phonemigratetest"
)

// TestApplyKeepsAColleaguesConnectionEdit: a colleague edits the
// Passwordless connection while apply runs (here: while apply waits for the
// test message's confirmation, which answers at once so the run keeps its
// discovery snapshot). The connection write must carry the colleague's
// edit, not the options apply read at discovery.
func TestApplyKeepsAColleaguesConnectionEdit(t *testing.T) {
	srv, m := fakeTenant(t, phonemigratetest.LegacyTwilio)
	const conn = "con_Tw3hJ6cV9mQs1KeY"
	o := fakeOptions(srv)
	o.Confirm = func(ctx context.Context, _ phonemigrate.TestMessage) (bool, error) {
		opts := srv.State().Connections[1].Options
		opts["disable_signup"] = false
		opts["colleague_note"] = "edited during apply"
		b, _ := json.Marshal(map[string]any{"options": opts})
		req, _ := http.NewRequestWithContext(ctx, "PATCH", srv.BaseURL+"/connections/"+conn, strings.NewReader(string(b)))
		req.Header.Set("Authorization", "Bearer "+srv.Token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false, err
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("colleague's edit: %d", resp.StatusCode)
		}
		return true, nil
	}
	if _, err := m.Apply(t.Context(), o); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	got := srv.State().Connections[1].Options
	if got["colleague_note"] != "edited during apply" || got["disable_signup"] != false {
		t.Errorf("the colleague's edit was reverted: %v", got)
	}
	if got[phonemigrate.UsePhoneProviderKey] != true {
		t.Errorf("use_phone_provider = %v, want true", got[phonemigrate.UsePhoneProviderKey])
	}
}
