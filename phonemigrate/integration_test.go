package phonemigrate_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/unifiedphone/unifiedphone/phonemigrate"
	"github.com/unifiedphone/unifiedphone/phonemigrate/auth0api"
	"github.com/unifiedphone/unifiedphone/phonemigrate/phonemigratetest"
)

// requireNode skips when node is absent, unless PHONEMIGRATE_REQUIRE_NODE
// is set (CI), where it fails.
func requireNode(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		if os.Getenv("PHONEMIGRATE_REQUIRE_NODE") != "" {
			t.Fatalf("node is required (PHONEMIGRATE_REQUIRE_NODE is set): %v", err)
		}
		t.Skip("node not found; the custom provider runs its Action in Node")
	}
}

// fakeTenant starts a fake tenant and a Migrator over the real go-auth0
// client talking to it.
func fakeTenant(t *testing.T, sc phonemigratetest.Scenario, opts ...phonemigrate.Option) (*phonemigratetest.Server, *phonemigrate.Migrator) {
	t.Helper()
	srv := phonemigratetest.NewServer(sc, phonemigratetest.WithActionBuild(5*time.Millisecond, 1))
	t.Cleanup(srv.Close)
	return fakeTenantOn(t, srv, opts...)
}

// fakeTenantOn builds another Migrator, over its own real go-auth0 client,
// for the fake tenant srv (a second run, or a colleague's).
func fakeTenantOn(t *testing.T, srv *phonemigratetest.Server, opts ...phonemigrate.Option) (*phonemigratetest.Server, *phonemigrate.Migrator) {
	t.Helper()
	cl, err := auth0api.New(t.Context(), auth0api.Config{BaseURL: srv.BaseURL, Token: phonemigrate.Secret(srv.Token)})
	if err != nil {
		t.Fatal(err)
	}
	m, err := newStubbed(cl, append([]phonemigrate.Option{phonemigrate.WithPollInterval(5 * time.Millisecond), phonemigrate.WithTenant(phonemigratetest.TenantName)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return srv, m
}

func fakeOptions(srv *phonemigratetest.Server) phonemigrate.Options {
	return phonemigrate.Options{
		TwilioAuthToken:  phonemigratetest.TwilioAuthToken,
		TestRecipients:   []string{"+15551230001"},
		TwilioAPIBaseURL: srv.Twilio().URL,
	}
}

// recipient is the user every integration message goes to.
const recipient = "+15557654321"

// deliverAll sends every request through the tenant as it is now and
// returns what the user receives (phonemigratetest's one before/after
// mechanism, shared with the CLI's demo and rehearse).
func deliverAll(t *testing.T, srv *phonemigratetest.Server, reqs []phonemigratetest.NotifyRequest) []phonemigratetest.Delivery {
	t.Helper()
	out, err := srv.Deliver(t.Context(), reqs)
	if err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	return out
}

// assertSame fails for every path whose message changed.
func assertSame(t *testing.T, when string, before, after []phonemigratetest.Delivery) {
	t.Helper()
	for _, c := range phonemigratetest.Compare(before, after) {
		if !c.Same {
			t.Errorf("%s: %s changed: %s", when, c.Path, strings.Join(c.Why, "; "))
		}
	}
}

// ignoreGenerated ignores what a migration and its rollback legitimately
// regenerate (the fake's own definition).
var ignoreGenerated = phonemigratetest.IgnoreGenerated

func TestIntegrationScenarios(t *testing.T) {
	t.Parallel()
	for _, sc := range phonemigratetest.Scenarios() {
		t.Run(string(sc), func(t *testing.T) {
			srv, m := fakeTenant(t, sc)
			before := srv.State()
			o := fakeOptions(srv)
			res, err := m.Apply(t.Context(), o)
			switch sc {
			case phonemigratetest.Empty:
				if !errors.Is(err, phonemigrate.ErrNotEligible) {
					t.Fatalf("Apply = %v, want ErrNotEligible", err)
				}
				if diff := cmp.Diff(before, srv.State()); diff != "" {
					t.Errorf("refused migration changed the tenant (-before +after):\n%s", diff)
				}
				return
			case phonemigratetest.Unified:
				if !errors.Is(err, phonemigrate.ErrAlreadyUnified) || res.State != phonemigrate.StateAlreadyUnified {
					t.Fatalf("Apply = %v, %v; want already_unified", res, err)
				}
				if diff := cmp.Diff(before, srv.State()); diff != "" {
					t.Errorf("unified tenant changed (-before +after):\n%s", diff)
				}
				return
			}
			if err != nil {
				t.Fatalf("Apply: %v", err)
			}
			if res.State != phonemigrate.StateCompleted {
				t.Fatalf("state %s", res.State)
			}
			// The plan names the steps the run took, in the machine's order.
			var planned, took []phonemigrate.State
			for _, st := range res.Plan.Steps {
				planned = append(planned, st.State)
			}
			for _, tr := range res.Steps {
				switch tr.To {
				case phonemigrate.StateDiscovered, phonemigrate.StatePlanned, phonemigrate.StateCompleted:
				default:
					took = append(took, tr.To)
				}
			}
			if diff := cmp.Diff(planned, took); diff != "" {
				t.Errorf("plan steps vs steps taken (-plan +took):\n%s", diff)
			}
			after := srv.State()

			// The tenant changed exactly as planned: the switch, one key per
			// SMS connection, nothing else in settings or connections.
			want := before
			want.TenantSettings = cloneMap(before.TenantSettings)
			want.TenantSettings["phone_consolidated_experience"] = true
			want.Connections = slices.Clone(before.Connections)
			for i, c := range want.Connections {
				if c.Strategy == "sms" {
					c.Options = cloneMap(c.Options)
					c.Options[phonemigrate.UsePhoneProviderKey] = true
					want.Connections[i] = c
				}
			}
			if diff := cmp.Diff(want.TenantSettings, after.TenantSettings, ignoreGenerated); diff != "" {
				t.Errorf("tenant settings (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(want.Connections, after.Connections, ignoreGenerated); diff != "" {
				t.Errorf("connections (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(before.Guardian, after.Guardian); diff != "" {
				t.Errorf("guardian (-before +after):\n%s", diff)
			}
			if len(after.PhoneProviders) != 1 {
				t.Fatalf("providers: %+v", after.PhoneProviders)
			}

			// What was created: provider, Action and binding, templates.
			type created struct {
				Provider  string
				Delivery  []string
				SID, From string
				Bound     bool
				Templates map[string]string
			}
			wantCreated := map[phonemigratetest.Scenario]created{
				phonemigratetest.LegacyGateway: {Provider: "custom", Delivery: []string{"text"}, Bound: true,
					Templates: map[string]string{"otp_verify": "Your ACME verification code is: {{ code }}"}},
				phonemigratetest.LegacyTwilio: {Provider: "twilio", Delivery: []string{"text"}, SID: phonemigratetest.TwilioSID, From: phonemigratetest.SMSFrom,
					Templates: map[string]string{"otp_verify": phonemigratetest.TwilioTemplate}},
				phonemigratetest.MFATwilio: {Provider: "twilio", Delivery: []string{"text", "voice"}, SID: phonemigratetest.TwilioSID, From: phonemigratetest.TwilioFrom,
					Templates: map[string]string{"otp_verify": phonemigratetest.MFAVerificationMessage, "otp_enroll": phonemigratetest.MFAEnrollmentMessage}},
				phonemigratetest.Mixed: {Provider: "custom", Delivery: []string{"text"}, Bound: true,
					Templates: map[string]string{"otp_verify": "Your ACME verification code is: {{ code }}", "otp_enroll": phonemigratetest.MFAEnrollmentMessage}},
			}[sc]
			p := after.PhoneProviders[0]
			got := created{Provider: p.Name, Delivery: p.Configuration.DeliveryMethods, SID: p.Configuration.SID, From: p.Configuration.DefaultFrom,
				Templates: map[string]string{}}
			for _, b := range after.TriggerBindings[phonemigrate.TriggerCustomPhoneProvider] {
				for _, a := range after.Actions {
					got.Bound = got.Bound || (a.ID == b.ActionID && a.Deployed)
				}
			}
			for _, tp := range after.PhoneTemplates {
				got.Templates[tp.Type] = tp.Content.Body.Text
			}
			if diff := cmp.Diff(wantCreated, got); diff != "" {
				t.Errorf("created (-want +got):\n%s", diff)
			}
			if p.Name == "twilio" && p.Credentials.AuthToken != phonemigratetest.TwilioAuthToken {
				t.Errorf("provider credentials not sent")
			}
			cp, err := m.Status(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			assertNoSecrets(t, cp, phonemigratetest.GatewaySecret, phonemigratetest.GatewaySecretBase64, phonemigratetest.TwilioAuthToken, srv.Gateway().URL)
		})
	}
}

// TestIntegrationSameMessages sends every message the scenario's users get
// before the migration, migrates, sends them again through the new path,
// rolls back and sends them a third time through the legacy path: the same
// user gets the same text each time, and the tenant after rollback equals
// the original.
func TestIntegrationSameMessages(t *testing.T) {
	t.Parallel()
	for _, sc := range []phonemigratetest.Scenario{phonemigratetest.LegacyGateway, phonemigratetest.LegacyTwilio, phonemigratetest.MFATwilio, phonemigratetest.Mixed} {
		t.Run(string(sc), func(t *testing.T) {
			srv, m := fakeTenant(t, sc)
			custom := sc == phonemigratetest.LegacyGateway || sc == phonemigratetest.Mixed
			if custom {
				requireNode(t)
			}
			original := srv.State()
			reqs := original.Messages(recipient)
			old := deliverAll(t, srv, reqs)
			for _, d := range old {
				if !d.Delivered || d.Text == "" || d.Recipient != recipient {
					t.Fatalf("legacy message %s not delivered: %+v", d.Path, d)
				}
			}
			gwBefore := len(srv.Gateway().Messages())

			if _, err := m.Apply(t.Context(), fakeOptions(srv)); err != nil {
				t.Fatalf("Apply: %v", err)
			}
			srv.Gateway().Reset()
			migrated := deliverAll(t, srv, reqs)
			for _, d := range migrated {
				if d.Route != phonemigratetest.RouteProviderCustom && d.Route != phonemigratetest.RouteProviderTwilio {
					t.Errorf("%s went %s after the migration: %s", d.Path, d.Route, d.Detail)
				}
			}
			// The same text (as it arrives: in mixed, the routing Action
			// sends MFA's legacy text), recipient, sender and gateway claims.
			assertSame(t, "after the migration", old, migrated)
			if gwBefore > 0 {
				// The gateway receives the legacy body with the forwarded
				// request info, with a JWT it verifies, from the Action
				// running in Node.
				gm := srv.Gateway().Messages()
				if len(gm) != 1 {
					t.Fatalf("gateway got %d messages after the migration, want 1", len(gm))
				}
				if !gm[0].Verified || gm[0].Sender != phonemigratetest.SMSFrom || gm[0].Req == nil {
					t.Errorf("gateway message = %+v", gm[0])
				}
				if gm[0].Claims["aud"] != phonemigratetest.GatewayAudience || gm[0].Claims["sub"] != phonemigratetest.GatewaySubject {
					t.Errorf("jwt claims = %v", gm[0].Claims)
				}
			}

			res, err := m.Rollback(t.Context())
			if err != nil || res.State != phonemigrate.StateRolledBack {
				t.Fatalf("Rollback = %v, %v", res, err)
			}
			if diff := cmp.Diff(original, srv.State(), ignoreGenerated); diff != "" {
				t.Errorf("tenant after rollback (-original +got):\n%s", diff)
			}
			back := deliverAll(t, srv, reqs)
			assertSame(t, "after the rollback", old, back)
			for i, d := range back {
				if d.Route != old[i].Route {
					t.Errorf("%s after rollback went %s, want %s", d.Path, d.Route, old[i].Route)
				}
			}
		})
	}
}

// TestIntegrationFaultAndResume makes the connection write fail once with a
// status the client does not retry, then resumes.
func TestIntegrationFaultAndResume(t *testing.T) {
	t.Parallel()
	srv, m := fakeTenant(t, phonemigratetest.LegacyTwilio)
	srv.InjectFault(phonemigratetest.Fault{Method: "PATCH", Path: "/connections/*", Status: 400, Times: 1})
	_, err := m.Apply(t.Context(), fakeOptions(srv))
	if !errors.Is(err, phonemigrate.ErrBadRequest) {
		t.Fatalf("Apply = %v, want the injected 400", err)
	}
	cp, _ := m.Status(t.Context())
	if cp.State != phonemigrate.StateFailed || cp.LastGood != phonemigrate.StateTenantSwitched {
		t.Fatalf("checkpoint %s/%s", cp.State, cp.LastGood)
	}
	res, err := m.Apply(t.Context(), fakeOptions(srv))
	if err != nil || res.State != phonemigrate.StateCompleted {
		t.Fatalf("resume = %v, %v", res, err)
	}
	for _, c := range srv.State().Connections {
		if c.Strategy == "sms" && c.Options[phonemigrate.UsePhoneProviderKey] != true {
			t.Errorf("connection %s not switched", c.Name)
		}
	}
}

// TestIntegrationPlanNeverWritesIDLessPath: Auth0 lists its default phone
// templates without an id next to customised ones (recorded). A plan
// customises a type that only has its default with POST, PATCHes only
// templates that have an id, and never writes to a path with an empty id.
func TestIntegrationPlanNeverWritesIDLessPath(t *testing.T) {
	t.Parallel()
	for _, sc := range []phonemigratetest.Scenario{phonemigratetest.LegacyGateway, phonemigratetest.LegacyTwilio, phonemigratetest.MFATwilio, phonemigratetest.Mixed} {
		t.Run(string(sc), func(t *testing.T) {
			srv, m := fakeTenant(t, sc)
			// One customised template next to the defaults, as recorded.
			enrollID := ""
			if sc == phonemigratetest.MFATwilio {
				tpl := createTemplate(t, srv, "otp_enroll", "{{ code }} enrolls you", "+15550001111")
				enrollID = tpl
			}
			p, err := m.Plan(t.Context(), fakeOptions(srv))
			if err != nil {
				t.Fatalf("Plan: %v", err)
			}
			var templateWrites []string
			for _, s := range p.Steps {
				for _, w := range s.Writes {
					if strings.HasSuffix(w.Path, "/") || strings.Contains(w.Path, "//") {
						t.Errorf("step %s writes %s %q: an empty id", s.State, w.Method, w.Path)
					}
					if strings.HasPrefix(w.Path, "/branding/phone/templates") {
						templateWrites = append(templateWrites, w.Method+" "+w.Path)
					}
				}
			}
			if sc != phonemigratetest.MFATwilio {
				return
			}
			want := []string{"POST /branding/phone/templates", "PATCH /branding/phone/templates/" + enrollID}
			if diff := cmp.Diff(want, templateWrites); diff != "" {
				t.Errorf("template writes (-want +got):\n%s", diff)
			}
			// Apply and roll back: the customised template keeps its own
			// sender (Guardian's legacy texts have none), the default-only
			// type is customised and then deleted again.
			before := srv.State()
			if _, err := m.Apply(t.Context(), fakeOptions(srv)); err != nil {
				t.Fatalf("Apply: %v", err)
			}
			for _, tpl := range srv.State().PhoneTemplates {
				if tpl.ID == enrollID && (tpl.Content.From != "+15550001111" || tpl.Content.Body.Text != phonemigratetest.MFAEnrollmentMessage) {
					t.Errorf("migrated otp_enroll = %+v", tpl.Content)
				}
			}
			if _, err := m.Rollback(t.Context()); err != nil {
				t.Fatalf("Rollback: %v", err)
			}
			if diff := cmp.Diff(before, srv.State(), ignoreGenerated); diff != "" {
				t.Errorf("tenant after rollback (-before +after):\n%s", diff)
			}
		})
	}
}

// createTemplate customises a phone template type through the Management
// API and returns its id.
func createTemplate(t *testing.T, srv *phonemigratetest.Server, typ, text, from string) string {
	t.Helper()
	body := fmt.Sprintf(`{"type":%q,"content":{"syntax":"liquid","from":%q,"body":{"text":%q}}}`, typ, from, text)
	req, _ := http.NewRequestWithContext(t.Context(), "POST", srv.BaseURL+"/branding/phone/templates", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+srv.Token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v struct {
		ID string `json:"id"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil || resp.StatusCode != 201 || v.ID == "" {
		t.Fatalf("create template: %d %v", resp.StatusCode, err)
	}
	return v.ID
}
