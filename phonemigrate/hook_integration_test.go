package phonemigrate_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/unifiedphone/unifiedphone/phonemigrate"
	"github.com/unifiedphone/unifiedphone/phonemigrate/auth0api"
	"github.com/unifiedphone/unifiedphone/phonemigrate/iacexport"
	"github.com/unifiedphone/unifiedphone/phonemigrate/phonemigratetest"
	"github.com/unifiedphone/unifiedphone/phonemigrate/snapshot"
)

// smsService is the customer's own SMS service the send-phone-message
// Action posts to; it records every body.
type smsService struct {
	*httptest.Server
	mu     sync.Mutex
	bodies []string
}

func newSMSService(t *testing.T) *smsService {
	s := &smsService{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.bodies = append(s.bodies, r.Method+" "+r.URL.Path+" "+r.Header.Get("Content-Type")+" "+string(b))
		s.mu.Unlock()
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *smsService) take() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.bodies
	s.bodies = nil
	return out
}

// mgmt calls the fake's Management API as a person building a tenant would.
func mgmt(t *testing.T, srv *phonemigratetest.Server, method, path string, body any) map[string]any {
	t.Helper()
	var out any
	if err := srv.Call(t.Context(), method, path, body, &out); err != nil {
		t.Fatal(err)
	}
	m, _ := out.(map[string]any)
	return m
}

// hookAction is the Action: it POSTs {to, text, kind: action,
// type: message_type, key: GW_KEY} to the customer's service; it also
// serves post-login.
func hookAction(url string) string {
	return fmt.Sprintf(`const SERVICE = %q;
exports.onExecuteSendPhoneMessage = async (event, api) => {
  const o = event.message_options;
  const res = await fetch(SERVICE, { method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ to: o.recipient, text: o.text, kind: o.action, type: o.message_type, key: event.secrets.GW_KEY }) });
  if (!res.ok) throw new Error('SMS service answered ' + res.status);
};
exports.onExecutePostLogin = async (event, api) => { api.user.setAppMetadata('seen', true); };
`, url)
}

// buildHookTenant builds, through the Management API, an MFA tenant whose
// SMS and voice codes go through a send-phone-message Action bound to
// send-phone-message and post-login.
func buildHookTenant(t *testing.T, srv *phonemigratetest.Server, code string, deps []any) string {
	t.Helper()
	mgmt(t, srv, "PUT", "/guardian/factors/sms", map[string]any{"enabled": true})
	mgmt(t, srv, "PUT", "/guardian/factors/phone/message-types", map[string]any{"message_types": []any{"sms", "voice"}})
	mgmt(t, srv, "PUT", "/guardian/factors/phone/selected-provider", map[string]any{"provider": "phone-message-hook"})
	mgmt(t, srv, "PUT", "/guardian/factors/sms/templates", map[string]any{
		"enrollment_message": "{{code}} enrolls you with ACME", "verification_message": "{{code}} is your ACME code"})
	if deps == nil {
		deps = []any{}
	}
	a := mgmt(t, srv, "POST", "/actions/actions", map[string]any{
		"name": "sms-through-our-service", "code": code, "runtime": "node18", "dependencies": deps,
		"secrets":            []any{map[string]any{"name": "GW_KEY", "value": hookKey}},
		"supported_triggers": []any{map[string]any{"id": "send-phone-message"}, map[string]any{"id": "post-login"}},
	})
	id := a["id"].(string)
	for i := 0; mgmt(t, srv, "GET", "/actions/actions/"+id, nil)["status"] != "built"; i++ {
		if i > 100 {
			t.Fatal("never built")
		}
	}
	mgmt(t, srv, "POST", "/actions/actions/"+id+"/deploy", nil)
	for i := 0; mgmt(t, srv, "GET", "/actions/actions/"+id, nil)["deployed_version"] == nil; i++ {
		if i > 100 {
			t.Fatal("never deployed")
		}
	}
	for _, trig := range []string{"send-phone-message", "post-login"} {
		mgmt(t, srv, "PATCH", "/actions/triggers/"+trig+"/bindings", map[string]any{
			"bindings": []any{map[string]any{"ref": map[string]any{"type": "action_id", "value": id}, "display_name": "ours"}}})
	}
	return id
}

const hookKey = "gw-key-SENTINEL-7f3a"

var mfaRequests = []phonemigratetest.NotifyRequest{
	{Kind: "mfa", Recipient: recipient, MessageType: "otp_enroll"},
	{Kind: "mfa", Recipient: recipient, MessageType: "otp_verify"},
	{Kind: "mfa", Recipient: recipient, MessageType: "otp_enroll", DeliveryMethod: "voice"},
	{Kind: "mfa", Recipient: recipient, MessageType: "otp_verify", DeliveryMethod: "voice"},
}

func sendAll(t *testing.T, srv *phonemigratetest.Server, svc *smsService, wantRoute string) []string {
	t.Helper()
	for _, r := range mfaRequests {
		res, err := srv.Notify(t.Context(), r)
		if err != nil {
			t.Fatal(err)
		}
		if !res.Delivered || res.Route != wantRoute {
			t.Fatalf("%+v: %+v, want delivered through %s", r, res, wantRoute)
		}
	}
	return svc.take()
}

// bindingsOf lists the Action ids bound to trigger.
func bindingsOf(srv *phonemigratetest.Server, trigger string) []string {
	var out []string
	for _, b := range srv.State().TriggerBindings[trigger] {
		out = append(out, b.ActionID)
	}
	return out
}

func TestMFAHookMigration(t *testing.T) {
	t.Parallel()
	requireNode(t)
	svc := newSMSService(t)
	var logs bytes.Buffer
	srv, m := fakeTenant(t, phonemigratetest.Empty, phonemigrate.WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	id := buildHookTenant(t, srv, hookAction(svc.URL+"/sms"), nil)
	legacyCode := srv.State().Actions[0].Code
	before := sendAll(t, srv, svc, phonemigratetest.RouteLegacyHook)
	if len(before) != 4 || !strings.Contains(before[0], `"kind":"enrollment","type":"sms","key":"`+hookKey+`"`) {
		t.Fatalf("before the migration the service got %q", before)
	}

	o := phonemigrate.Options{SkipTest: true}
	plan, err := m.Plan(t.Context(), o)
	if err != nil {
		t.Fatalf("Plan: %v", err)
	}
	if plan.Provider != phonemigrate.ProviderKindCustom || !slices.Equal(plan.ActionSecrets, []string{"GW_KEY"}) {
		t.Errorf("plan provider %s, action secrets %v", plan.Provider, plan.ActionSecrets)
	}
	if p := plan.Proof; p == nil || !p.Ran || len(p.Differences) > 0 || len(p.Samples) != 4 {
		t.Fatalf("proof = %+v, want 4 identical samples", p)
	}
	text := plan.Text()
	for _, want := range []string{"Proof: the copy made the same requests", "blocked_account, change_password, password_breach", "Action secrets: GW_KEY", "never modified or unbound", "missing now: GW_KEY"} {
		if !strings.Contains(text, want) {
			t.Errorf("plan does not say %q:\n%s", want, text)
		}
	}

	// Without the secret value: exit 2 naming it, nothing written.
	stateBefore := srv.State()
	_, err = m.Apply(t.Context(), o)
	var se *phonemigrate.ActionSecretError
	if !errors.As(err, &se) || !slices.Equal(se.Missing, []string{"GW_KEY"}) || phonemigrate.ExitCode(err) != 2 ||
		!strings.Contains(err.Error(), "PHONEMIGRATE_ACTION_SECRET_GW_KEY") {
		t.Fatalf("Apply without the secret = %v, want an ActionSecretError naming GW_KEY (exit 2)", err)
	}
	if diff := cmp.Diff(stateBefore, srv.State(), ignoreGenerated); diff != "" {
		t.Errorf("Apply without the secret wrote (-before +after):\n%s", diff)
	}

	o.ActionSecret = func(name string) (phonemigrate.Secret, bool) {
		return map[string]phonemigrate.Secret{"GW_KEY": hookKey}[name], name == "GW_KEY"
	}
	res, err := m.Apply(t.Context(), o)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if res.State != phonemigrate.StateCompleted {
		t.Fatalf("state %s", res.State)
	}
	after := sendAll(t, srv, svc, phonemigratetest.RouteProviderCustom)
	if diff := cmp.Diff(before, after); diff != "" {
		t.Errorf("the service got other requests after the switch (-before +after):\n%s", diff)
	}

	// The legacy Action is untouched and still bound to both triggers;
	// the copy carries the secret name and the code unchanged.
	st := srv.State()
	var legacy, cp *phonemigratetest.Action
	for i, a := range st.Actions {
		if a.ID == id {
			legacy = &st.Actions[i]
		} else {
			cp = &st.Actions[i]
		}
	}
	if legacy == nil || legacy.Code != legacyCode || !slices.Contains(bindingsOf(srv, "post-login"), id) || !slices.Contains(bindingsOf(srv, "send-phone-message"), id) {
		t.Errorf("the legacy Action changed or was unbound: %+v", legacy)
	}
	if cp == nil || !strings.Contains(cp.Code, legacyCode) || len(cp.Secrets) != 1 || cp.Secrets[0].Name != "GW_KEY" {
		t.Fatalf("copy = %+v", cp)
	}

	// The secret value appears in no output, checkpoint, plan, snapshot or
	// export.
	cpJSON, _ := json.Marshal(res.Checkpoint)
	planJSON, _ := json.Marshal(res.Plan)
	snap, err := snapshot.Take(t.Context(), clientOf(t, srv), "")
	if err != nil {
		t.Fatal(err)
	}
	snapJSON, _ := snap.JSON()
	exported := string(snapJSON)
	cl, err := auth0api.New(t.Context(), auth0api.Config{BaseURL: srv.BaseURL, Token: phonemigrate.Secret(srv.Token)})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []iacexport.Format{iacexport.FormatTerraform, iacexport.FormatDeployCLI} {
		files, err := iacexport.Export(t.Context(), cl, iacexport.Options{Format: f})
		if err != nil {
			t.Fatalf("export %s: %v", f, err)
		}
		for _, file := range files {
			exported += string(file.Data)
		}
	}
	for what, s := range map[string]string{"checkpoint": string(cpJSON), "plan": string(planJSON) + plan.Text(), "logs": logs.String(), "snapshot and exports": exported} {
		if strings.Contains(s, hookKey) {
			t.Errorf("the %s holds the secret value", what)
		}
	}

	// Rollback deletes only the copy; the legacy Action keeps serving
	// both triggers, and MFA goes through it again.
	if _, err := m.Rollback(t.Context()); err != nil {
		t.Fatalf("Rollback: %v", err)
	}
	st = srv.State()
	if len(st.Actions) != 1 || st.Actions[0].ID != id || st.Actions[0].Code != legacyCode {
		t.Errorf("after rollback the Actions are %+v", st.Actions)
	}
	if !slices.Equal(bindingsOf(srv, "post-login"), []string{id}) || !slices.Equal(bindingsOf(srv, "send-phone-message"), []string{id}) {
		t.Errorf("after rollback bindings: post-login %v, send-phone-message %v", bindingsOf(srv, "post-login"), bindingsOf(srv, "send-phone-message"))
	}
	if diff := cmp.Diff(before, sendAll(t, srv, svc, phonemigratetest.RouteLegacyHook)); diff != "" {
		t.Errorf("after rollback (-before +after):\n%s", diff)
	}
}

// Requests that differ between the original and the copy (here a random
// nonce) are listed by the proof, and Apply refuses them until accepted.
func TestMFAHookProofDifference(t *testing.T) {
	t.Parallel()
	requireNode(t)
	svc := newSMSService(t)
	srv, m := fakeTenant(t, phonemigratetest.Empty)
	code := strings.Replace(hookAction(svc.URL), "key: event.secrets.GW_KEY", "key: event.secrets.GW_KEY, nonce: Math.random()", 1)
	buildHookTenant(t, srv, code, nil)
	o := phonemigrate.Options{SkipTest: true, ActionSecret: func(string) (phonemigrate.Secret, bool) { return hookKey, true }}
	plan, err := m.Plan(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	if p := plan.Proof; !p.Ran || len(p.Differences) != 4 || !strings.Contains(p.Differences[0], "bodies differ") {
		t.Fatalf("proof = %+v, want one difference per sample", p)
	}
	if diff := cmp.Diff([]string{"mfa/text/otp_enroll", "mfa/voice/otp_enroll", "mfa/text/otp_verify", "mfa/voice/otp_verify"}, plan.Proof.Consumers); diff != "" {
		t.Errorf("proof's consumers (-want +got):\n%s", diff)
	}
	if !strings.Contains(plan.Text(), "does NOT make the same requests") {
		t.Errorf("plan text:\n%s", plan.Text())
	}
	stateBefore := srv.State()
	_, err = m.Apply(t.Context(), o)
	var pe *phonemigrate.ProofError
	if !errors.As(err, &pe) || phonemigrate.ExitCode(err) != 3 {
		t.Fatalf("Apply = %v, want a ProofError (exit 3)", err)
	}
	if diff := cmp.Diff(stateBefore, srv.State(), ignoreGenerated); diff != "" {
		t.Errorf("refused Apply wrote (-before +after):\n%s", diff)
	}
	o.AcceptActionDifferences = true
	if res, err := m.Apply(t.Context(), o); err != nil || res.State != phonemigrate.StateCompleted {
		t.Fatalf("Apply accepting the differences = %v, %v", res, err)
	}
}

// An Action with an npm dependency is carried with it; the proof runs
// only when the package is installed locally, and says so otherwise.
func TestMFAHookDependency(t *testing.T) {
	t.Parallel()
	requireNode(t)
	svc := newSMSService(t)
	modules := filepath.Join(t.TempDir(), "node_modules")
	pkg := filepath.Join(modules, "shout")
	if err := os.MkdirAll(pkg, 0o755); err != nil {
		t.Fatal(err)
	}
	_ = os.WriteFile(filepath.Join(pkg, "package.json"), []byte(`{"name":"shout","version":"2.0.1","main":"index.js"}`), 0o644)
	_ = os.WriteFile(filepath.Join(pkg, "index.js"), []byte(`module.exports = (s) => String(s).toUpperCase();`), 0o644)
	srv := phonemigratetest.NewServer(phonemigratetest.Empty, phonemigratetest.WithActionBuild(5*time.Millisecond, 1), phonemigratetest.WithNodeModules(modules))
	t.Cleanup(srv.Close)
	_, m := fakeTenantOn(t, srv)
	code := "const shout = require('shout');\n" + strings.Replace(hookAction(svc.URL), "text: o.text", "text: shout(o.text)", 1)
	buildHookTenant(t, srv, code, []any{map[string]any{"name": "shout", "version": "2.0.1"}})
	before := sendAll(t, srv, svc, phonemigratetest.RouteLegacyHook)

	o := phonemigrate.Options{SkipTest: true, ActionSecret: func(string) (phonemigrate.Secret, bool) { return hookKey, true }}
	plan, err := m.Plan(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	if p := plan.Proof; p.Ran || !strings.Contains(p.NotRun, "shout@2.0.1") || !strings.Contains(plan.Text(), "carried unproven") {
		t.Errorf("without the package: proof = %+v", p)
	}
	o.NodeModules = []string{modules}
	if plan, err = m.Plan(t.Context(), o); err != nil {
		t.Fatal(err)
	}
	if p := plan.Proof; !p.Ran || len(p.Differences) != 0 {
		t.Errorf("with the package: proof = %+v", p)
	}
	if _, err := m.Apply(t.Context(), o); err != nil {
		t.Fatal(err)
	}
	var deps []phonemigratetest.Dependency
	for _, a := range srv.State().Actions {
		if slices.ContainsFunc(a.SupportedTriggers, func(tr phonemigratetest.Trigger) bool { return tr.ID == "custom-phone-provider" }) {
			deps = a.Dependencies
		}
	}
	if diff := cmp.Diff([]phonemigratetest.Dependency{{Name: "shout", Version: "2.0.1"}}, deps); diff != "" {
		t.Errorf("copy's dependencies (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(before, sendAll(t, srv, svc, phonemigratetest.RouteProviderCustom)); diff != "" {
		t.Errorf("after the switch (-before +after):\n%s", diff)
	}
}
