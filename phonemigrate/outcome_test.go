package phonemigrate_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/osteele/liquid"

	"github.com/unifiedphone/unifiedphone/phonemigrate/outcome"
	"github.com/unifiedphone/unifiedphone/phonemigrate/phonemigratetest"
)

// renderWords renders the model's words the way a user reads them, for
// comparison with what the fake delivered: @@password@@ for
// md_with_macros; Liquid with the variables every scenario's texts use.
func renderWords(t *testing.T, w outcome.Words, code, friendly, connection string) string {
	t.Helper()
	if w.Syntax != "liquid" {
		return strings.ReplaceAll(w.Text, "@@password@@", code)
	}
	out, err := liquid.NewEngine().ParseAndRenderString(w.Text, map[string]any{
		"code": code, "password": code, "friendly_name": friendly, "pause": "", "locale": "en", "connection": connection,
		"tenant":      map[string]any{"friendly_name": friendly, "name": phonemigratetest.TenantName},
		"application": map[string]any{"name": "ACME Web"},
	})
	if err != nil {
		t.Fatalf("render %q: %v", w.Text, err)
	}
	return out
}

// modelStates are the starting states the model is held against the fake
// on: every scenario, as it is and after each change Server.Make offers,
// and every scenario migrated by Apply, as it is and after each change.
func modelStates() []struct {
	sc       phonemigratetest.Scenario
	migrated bool
	change   phonemigratetest.Change
} {
	var out []struct {
		sc       phonemigratetest.Scenario
		migrated bool
		change   phonemigratetest.Change
	}
	for _, sc := range phonemigratetest.Scenarios() {
		for _, migrated := range []bool{false, true} {
			if migrated && (sc == phonemigratetest.Empty || sc == phonemigratetest.Unified) {
				continue // Apply changes nothing there
			}
			for _, c := range append([]phonemigratetest.Change{""}, phonemigratetest.Changes()...) {
				out = append(out, struct {
					sc       phonemigratetest.Scenario
					migrated bool
					change   phonemigratetest.Change
				}{sc, migrated, c})
			}
		}
	}
	return out
}

// TestOutcomeMatchesFake holds the delivery model (package outcome, over
// what Discover reads) against the fake tenant's own implementation
// (/__fake/notify) on every scenario and every Server.Make change, before
// and after a migration: the same consumers, the same route, whether a
// code arrives, the same text and the same sender.
func TestOutcomeMatchesFake(t *testing.T) {
	requireNode(t)
	t.Parallel()
	for _, st := range modelStates() {
		name := string(st.sc)
		if st.migrated {
			name += "/migrated"
		}
		if st.change != "" {
			name += "/" + string(st.change)
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv, m := fakeTenant(t, st.sc)
			if st.migrated {
				if _, err := m.Apply(t.Context(), fakeOptions(srv)); err != nil && st.sc != phonemigratetest.Empty && st.sc != phonemigratetest.Unified {
					t.Fatalf("Apply: %v", err)
				}
			}
			if st.change != "" {
				if err := srv.Make(t.Context(), st.change); err != nil {
					t.Skipf("change does not apply here: %v", err)
				}
			}
			d, err := m.Discover(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			got := outcome.Of(d.Config())
			fs := srv.State()
			reqs := fs.Messages(recipient)
			if len(got) != len(reqs) {
				t.Fatalf("model has %d consumers, fake %d:\nmodel %v\nfake %v", len(got), len(reqs), got, reqs)
			}
			friendly, _ := fs.TenantSettings["friendly_name"].(string)
			for i, md := range got {
				r := reqs[i]
				r.Recipient = fmt.Sprintf("+1555000%04d", i) // a number each: the fake's phone limit
				want := md.Consumer.ID()
				if gotPath := pathID(r); gotPath != want {
					t.Fatalf("consumer %d: model %s, fake %s", i, want, gotPath)
				}
				res, err := srv.Notify(t.Context(), r)
				if err != nil {
					t.Fatal(err)
				}
				dl, err := srv.Deliver(t.Context(), []phonemigratetest.NotifyRequest{r})
				if err != nil {
					t.Fatal(err)
				}
				if md.Route == outcome.None && (res.Route == string(outcome.None) || res.Route == string(outcome.ProviderCustom)) {
					// The fake takes the custom provider's route and finds
					// nothing to run; the model calls that none. Both: no code.
					if res.Delivered {
						t.Errorf("%s: model none (%s), fake delivered (%s)", want, md.Reason, res.Detail)
					}
					continue
				}
				if string(md.Route) != res.Route {
					t.Errorf("%s: model route %s (%s), fake %s (%s)", want, md.Route, md.Reason, res.Route, res.Detail)
					continue
				}
				if md.Gets() != res.Delivered && md.Request != nil {
					t.Errorf("%s: model gets=%v (%s %s), fake delivered=%v (%s)", want, md.Gets(), md.Reason, md.Drops, res.Delivered, res.Detail)
				}
				if !res.Delivered || md.Route == outcome.None {
					continue
				}
				// What arrived (an Action may send its own text).
				if text := renderWords(t, md.Words, res.Code, friendly, r.Connection); text != dl[0].Text {
					t.Errorf("%s: model words (%s) %q, fake %q", want, md.Words.Source, text, dl[0].Text)
				}
				if md.Route != outcome.LegacyAuth0 && md.Sender != dl[0].Sender {
					t.Errorf("%s: model sender %q, fake %q", want, md.Sender, dl[0].Sender)
				}
			}
		})
	}
}

// pathID is the model's Consumer.ID of a fake notify request.
func pathID(r phonemigratetest.NotifyRequest) string {
	method, typ := r.DeliveryMethod, r.MessageType
	if method == "" {
		method = "text"
	}
	if typ == "" {
		typ = "otp_verify"
	}
	if r.Kind == "passwordless" {
		return fmt.Sprintf("passwordless/%s/%s/%s", r.Connection, method, typ)
	}
	return fmt.Sprintf("mfa/%s/%s", method, typ)
}
