package phonemigrate_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"go.uber.org/mock/gomock"

	"github.com/unifiedphone/unifiedphone/phonemigrate"
	"github.com/unifiedphone/unifiedphone/phonemigrate/mock_phonemigrate"
	"github.com/unifiedphone/unifiedphone/phonemigrate/phonemigratetest"
)

// TestApplyKeepsAColleaguesConnectionEdit: a colleague edits the
// Passwordless connection while apply runs (here: while apply waits for the
// test message's confirmation, which answers at once so the run keeps its
// discovery snapshot). The connection write must carry the colleague's
// edit, not the options apply read at discovery.
func TestApplyKeepsAColleaguesConnectionEdit(t *testing.T) {
	t.Parallel()
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

// TestRollbackOfTheLoserKeepsTheWinner: two applies with different
// checkpoints race on one tenant. Both discover it without a provider;
// one creates it, the other's create gets 409. The loser rolls back: it
// must not adopt the winner's provider and templates as its own and
// delete them, and the winner's migration stays complete.
func TestRollbackOfTheLoserKeepsTheWinner(t *testing.T) {
	t.Parallel()
	srv, _ := fakeTenant(t, phonemigratetest.LegacyTwilio)
	newM := func() *phonemigrate.Migrator {
		_, m := fakeTenantOn(t, srv, phonemigrate.WithStore(phonemigrate.NewMemoryStore()))
		return m
	}
	a, b := newM(), newM()
	// Both discoveries end together, so both see no provider.
	srv.InjectFault(phonemigratetest.Fault{Method: "GET", Path: "/api/v2/branding/phone/templates", DelayMS: 300, Times: 2})
	type outcome struct {
		m   *phonemigrate.Migrator
		err error
	}
	done := make(chan outcome, 2)
	for _, m := range []*phonemigrate.Migrator{a, b} {
		go func() {
			_, err := m.Apply(t.Context(), fakeOptions(srv))
			done <- outcome{m, err}
		}()
	}
	var winner, loser *outcome
	for range 2 {
		o := <-done
		if o.err == nil {
			winner = &o
		} else {
			loser = &o
		}
	}
	if winner == nil || loser == nil {
		t.Fatalf("want one apply to win and one to lose, got winner %v loser %v", winner, loser)
	}
	if !errors.Is(loser.err, phonemigrate.ErrConflict) {
		t.Logf("loser's error: %v", loser.err)
	}
	after := srv.State()
	if _, err := loser.m.Rollback(t.Context()); err != nil {
		t.Logf("loser's rollback: %v", err)
	}
	if diff := cmp.Diff(after, srv.State(), phonemigratetest.IgnoreGenerated); diff != "" {
		t.Errorf("the loser's rollback changed the winner's tenant (-after winner +after rollback):\n%s", diff)
	}
}

// TestRollbackRefusesDriftSinceTheMigration: after a migration, a
// colleague creates a connection that uses the provider, or edits a
// template the migration wrote. Rollback would leave that connection's
// users without codes, or delete the edit: it refuses before any write,
// naming each change (*DriftError, exit 3), unless forced.
func TestRollbackRefusesDriftSinceTheMigration(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		drift func(t *testing.T, srv *phonemigratetest.Server)
		want  string
		sc    phonemigratetest.Scenario // LegacyTwilio when empty
	}{
		{"connection created later using the provider", func(t *testing.T, srv *phonemigratetest.Server) {
			api(t, srv, "POST", "/connections", map[string]any{"name": "sms-new", "strategy": "sms",
				"options": map[string]any{phonemigrate.UsePhoneProviderKey: true, "template": "{{ code }}", "syntax": "liquid"}})
		}, `connection "sms-new"`, ""},
		{"template edited later", func(t *testing.T, srv *phonemigratetest.Server) {
			var id string
			for _, tpl := range srv.State().PhoneTemplates {
				if tpl.Type == "otp_verify" {
					id = tpl.ID
				}
			}
			api(t, srv, "PATCH", "/branding/phone/templates/"+id, map[string]any{"content": map[string]any{"body": map[string]any{"text": "Edited: {{ code }}"}}})
		}, "otp_verify template", ""},
		{"action edited later", func(t *testing.T, srv *phonemigratetest.Server) {
			id := srv.State().Actions[0].ID
			api(t, srv, "PATCH", "/actions/actions/"+id, map[string]any{"code": "exports.onExecuteCustomPhoneProvider = async () => {}; // edited"})
		}, "was edited after the migration: rolling back would delete it", phonemigratetest.LegacyGateway},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc := tt.sc
			if sc == "" {
				sc = phonemigratetest.LegacyTwilio
			}
			srv, m := fakeTenant(t, sc, phonemigrate.WithStore(phonemigrate.NewMemoryStore()))
			if _, err := m.Apply(t.Context(), fakeOptions(srv)); err != nil {
				t.Fatalf("Apply: %v", err)
			}
			tt.drift(t, srv)
			before := srv.State()
			srv.ResetRequests()
			_, err := m.Rollback(t.Context())
			var de *phonemigrate.DriftError
			if !errors.As(err, &de) || phonemigrate.ExitCode(err) != 3 || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Rollback err = %v (exit %d), want *DriftError naming %s, exit 3", err, phonemigrate.ExitCode(err), tt.want)
			}
			for _, r := range srv.Requests() {
				if r.Method != "GET" {
					t.Errorf("refused rollback wrote: %s %s", r.Method, r.Path)
				}
			}
			// A read moves an edited Action's build along in the fake (as in
			// Auth0): that is not a write.
			buildStatus := cmpopts.IgnoreFields(phonemigratetest.Action{}, "Status")
			if diff := cmp.Diff(before, srv.State(), phonemigratetest.IgnoreGenerated, buildStatus); diff != "" {
				t.Errorf("refused rollback changed the tenant:\n%s", diff)
			}
			st, _ := m.Status(t.Context())
			if st == nil || st.State != phonemigrate.StateCompleted {
				t.Errorf("checkpoint after a refused rollback: %+v, want still completed", st)
			}
			if res, err := m.Rollback(t.Context(), phonemigrate.RollbackOptions{Force: true}); err != nil || res.State != phonemigrate.StateRolledBack {
				t.Errorf("forced Rollback = %v, %v", res, err)
			}
		})
	}
}

// TestApplyKeepsAColleaguesTemplateEdit: the template step PATCHes only the
// fields it owns; a colleague's edit of the voice text made while apply
// runs is not written over from the discovery snapshot.
func TestApplyKeepsAColleaguesTemplateEdit(t *testing.T) {
	t.Parallel()
	srv, m := fakeTenant(t, phonemigratetest.LegacyTwilio)
	id := createTemplate(t, srv, "otp_verify", "Old {{ code }}", "+15550001111")
	api(t, srv, "PATCH", "/branding/phone/templates/"+id, map[string]any{"content": map[string]any{"body": map[string]any{"voice": "Old voice {{ code }}"}}})
	o := fakeOptions(srv)
	o.Confirm = func(ctx context.Context, _ phonemigrate.TestMessage) (bool, error) {
		api(t, srv, "PATCH", "/branding/phone/templates/"+id, map[string]any{"content": map[string]any{"body": map[string]any{"voice": "Colleague's voice {{ code }}"}}})
		return true, nil
	}
	if _, err := m.Apply(t.Context(), o); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	for _, tpl := range srv.State().PhoneTemplates {
		if tpl.ID == id && tpl.Content.Body.Voice != "Colleague's voice {{ code }}" {
			t.Errorf("the colleague's voice text was written over: %q", tpl.Content.Body.Voice)
		}
	}
}

// TestResumeKeepsAnEditOfATemplateItCreated: the templates step fails
// after creating the first template; a colleague then edits that
// template. The resumed run does not write over the edit: it stops with
// ErrConcurrentChange (exit 1), the checkpoint kept in failed.
func TestResumeKeepsAnEditOfATemplateItCreated(t *testing.T) {
	t.Parallel()
	mt := scenario("mfa-twilio")
	c := mockOver(t, mt, false, func(mc *mock_phonemigrate.MockClient) {
		e := mc.EXPECT()
		first := e.CreatePhoneTemplate(gomock.Any(), gomock.Any()).DoAndReturn(mt.CreatePhoneTemplate).Times(1)
		e.CreatePhoneTemplate(gomock.Any(), gomock.Any()).Return(phonemigrate.PhoneTemplate{},
			&phonemigrate.APIError{Method: "POST", Path: "/branding/phone/templates", StatusCode: 400, Message: "refused"}).Times(1).After(first)
	})
	m, store := newMigrator(t, c)
	if _, err := m.Apply(t.Context(), baseOptions()); err == nil {
		t.Fatal("Apply succeeded, want the second template's creation to fail")
	}
	cp, err := store.Load(t.Context())
	if err != nil || len(cp.Created.TemplateIDs) != 1 {
		t.Fatalf("checkpoint after the failure: %+v, %v; want one created template", cp, err)
	}
	id := cp.Created.TemplateIDs[0]
	for i := range mt.Templates {
		if mt.Templates[i].ID == id {
			mt.Templates[i].Content.Text = "Colleague: {{ code }}"
		}
	}
	m2, _ := newStubbed(mt, phonemigrate.WithStore(store), phonemigrate.WithPollInterval(time.Millisecond), phonemigrate.WithTenant("acme-legacy"))
	_, err = m2.Apply(t.Context(), baseOptions())
	if !errors.Is(err, phonemigrate.ErrConcurrentChange) || phonemigrate.ExitCode(err) != 1 {
		t.Fatalf("resumed Apply err = %v (exit %d), want ErrConcurrentChange, exit 1", err, phonemigrate.ExitCode(err))
	}
	for _, tpl := range mt.Templates {
		if tpl.ID == id && tpl.Content.Text != "Colleague: {{ code }}" {
			t.Errorf("the colleague's edit was written over: %q", tpl.Content.Text)
		}
	}
	if cp, _ := store.Load(t.Context()); cp.State != phonemigrate.StateFailed {
		t.Errorf("checkpoint state = %s, want failed", cp.State)
	}
}

// TestRollbackOfAHalfMigratedConnection: the connection was set to use
// the provider by hand before the migration (the tenant not switched), so
// the migration did not write it. Rolling back switches the tenant back,
// after which the connection sends through its legacy settings as before:
// that is no drift, and the rollback goes ahead without force, leaving the
// connection as it found it.
func TestRollbackOfAHalfMigratedConnection(t *testing.T) {
	t.Parallel()
	srv, m := fakeTenant(t, phonemigratetest.LegacyTwilio, phonemigrate.WithStore(phonemigrate.NewMemoryStore()))
	const id = "con_Tw3hJ6cV9mQs1KeY"
	var opts map[string]any
	for _, c := range srv.State().Connections {
		if c.ID == id {
			opts = c.Options
		}
	}
	opts[phonemigrate.UsePhoneProviderKey] = true
	api(t, srv, "PATCH", "/connections/"+id, map[string]any{"options": opts})
	if _, err := m.Apply(t.Context(), fakeOptions(srv)); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if _, err := m.Rollback(t.Context()); err != nil {
		t.Fatalf("Rollback: %v (want no drift: the connection has legacy settings and the tenant is switched back)", err)
	}
	st := srv.State()
	if st.TenantSettings["phone_consolidated_experience"] == true {
		t.Errorf("tenant still switched after rollback")
	}
	for _, c := range st.Connections {
		if c.ID == id && c.Options[phonemigrate.UsePhoneProviderKey] != true {
			t.Errorf("rollback changed the option it did not write: %v", c.Options[phonemigrate.UsePhoneProviderKey])
		}
	}
}

// TestRollbackRefusesToDeleteAProviderSomeoneSwitchedTo: the migration
// created the provider and stopped before switching (the test message was
// not confirmed); someone then switched the tenant by hand. Deleting the
// provider now would leave MFA users without codes: Rollback refuses,
// writing nothing.
func TestRollbackRefusesToDeleteAProviderSomeoneSwitchedTo(t *testing.T) {
	t.Parallel()
	srv, m := fakeTenant(t, phonemigratetest.MFATwilio, phonemigrate.WithStore(phonemigrate.NewMemoryStore()))
	o := fakeOptions(srv)
	o.Confirm = func(context.Context, phonemigrate.TestMessage) (bool, error) { return false, nil }
	if _, err := m.Apply(t.Context(), o); !errors.Is(err, phonemigrate.ErrTestNotConfirmed) {
		t.Fatalf("Apply = %v, want ErrTestNotConfirmed", err)
	}
	if err := srv.Make(t.Context(), phonemigratetest.SwitchOn); err != nil {
		t.Fatal(err)
	}
	srv.ResetRequests()
	_, err := m.Rollback(t.Context())
	var de *phonemigrate.DriftError
	if !errors.As(err, &de) || !strings.Contains(err.Error(), "not by this migration") {
		t.Fatalf("Rollback = %v, want a *DriftError saying the tenant was switched by someone else", err)
	}
	for _, r := range srv.Requests() {
		if r.Method != "GET" {
			t.Errorf("refused rollback wrote: %s %s", r.Method, r.Path)
		}
	}
	if n := len(srv.State().PhoneProviders); n != 1 {
		t.Errorf("%d phone providers after the refused rollback, want the one MFA relies on", n)
	}
}
