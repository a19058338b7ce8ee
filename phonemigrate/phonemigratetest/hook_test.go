package phonemigratetest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// hookCode is the send-phone-message Action: it POSTs {to, text,
// kind, type, key} to the service whose URL is the secret GW_URL.
const hookCode = `exports.onExecuteSendPhoneMessage = async (event, api) => {
  const o = event.message_options;
  const res = await fetch(event.secrets.GW_URL, {method: 'POST', headers: {'Content-Type': 'application/json'},
    body: JSON.stringify({to: o.recipient, text: o.text, kind: o.action, type: o.message_type, key: event.secrets.GW_KEY,
      lang: o.language, client: event.client.client_metadata, tenant: event.tenant.id, user: event.user.user_id})});
  if (res.status !== 200) throw new Error('service answered ' + res.status);
};`

// hookService records the bodies the hook posts and answers status.
type hookService struct {
	*httptest.Server
	mu     sync.Mutex
	bodies []map[string]any
	status int
}

func newHookService(t testing.TB) *hookService {
	h := &hookService{status: 200}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		h.mu.Lock()
		h.bodies = append(h.bodies, m)
		st := h.status
		h.mu.Unlock()
		w.WriteHeader(st)
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *hookService) got() []map[string]any {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]map[string]any(nil), h.bodies...)
}

// deployAction creates, builds and deploys an Action for triggers through
// the Management API, and binds it to bindTo (if not empty).
func deployAction(t testing.TB, srv *Server, name, code string, triggers []string, secrets map[string]string, deps map[string]string, bindTo string) string {
	t.Helper()
	sec, dep, trg := []any{}, []any{}, []any{}
	for k, v := range secrets {
		sec = append(sec, map[string]any{"name": k, "value": v})
	}
	for k, v := range deps {
		dep = append(dep, map[string]any{"name": k, "version": v})
	}
	for _, tr := range triggers {
		trg = append(trg, map[string]any{"id": tr})
	}
	a := obj(t, wantStatus(t, srv, "POST", "/api/v2/actions/actions", map[string]any{
		"name": name, "code": code, "runtime": "node18", "secrets": sec, "dependencies": dep, "supported_triggers": trg,
	}, 201))
	id := a["id"].(string)
	for i := 0; obj(t, wantStatus(t, srv, "GET", "/api/v2/actions/actions/"+id, nil, 200))["status"] != "built"; i++ {
		if i > 50 {
			t.Fatal("action never built")
		}
	}
	wantStatus(t, srv, "POST", "/api/v2/actions/actions/"+id+"/deploy", nil, 200)
	waitDeployed(t, srv, id)
	if bindTo != "" {
		wantStatus(t, srv, "PATCH", "/api/v2/actions/triggers/"+bindTo+"/bindings", map[string]any{
			"bindings": []any{map[string]any{"ref": map[string]any{"type": "action_id", "value": id}, "display_name": name}},
		}, 200)
	}
	return id
}

// hookTenant turns the MFA Twilio scenario into an MFA tenant whose phone
// messages go through a send-phone-message Action, with SMS and voice.
func hookTenant(t testing.TB, svc *hookService) (*Server, string) {
	srv := newServer(t, MFATwilio)
	id := deployAction(t, srv, "sms-hook", hookCode, []string{"send-phone-message", "post-login"},
		map[string]string{"GW_URL": svc.URL, "GW_KEY": "hook-key-SENTINEL"}, nil, "send-phone-message")
	wantStatus(t, srv, "PUT", "/api/v2/guardian/factors/phone/selected-provider", map[string]any{"provider": "phone-message-hook"}, 200)
	wantStatus(t, srv, "PUT", "/api/v2/guardian/factors/phone/message-types", map[string]any{"message_types": []any{"sms", "voice"}}, 200)
	return srv, id
}

func TestNotifyRunsSendPhoneMessageAction(t *testing.T) {
	t.Parallel()
	requireNode(t)
	svc := newHookService(t)
	srv, id := hookTenant(t, svc)

	tests := []struct {
		req        NotifyRequest
		kind, typ  string
		wantPrefix string
	}{
		{NotifyRequest{Kind: "mfa", Recipient: recipient}, "second-factor-authentication", "sms", " is your ACME verification code."},
		{NotifyRequest{Kind: "mfa", Recipient: recipient, MessageType: "otp_enroll"}, "enrollment", "sms", " is your ACME enrollment code."},
		{NotifyRequest{Kind: "mfa", Recipient: recipient, DeliveryMethod: "voice"}, "second-factor-authentication", "voice", " is your ACME verification code."},
	}
	for i, tt := range tests {
		res := notify(t, srv, tt.req)
		if res.Route != RouteLegacyHook || !res.Delivered {
			t.Fatalf("%+v: got %+v, want delivered through legacy_hook", tt.req, res)
		}
		bodies := svc.got()
		if len(bodies) != i+1 {
			t.Fatalf("service got %d requests, want %d", len(bodies), i+1)
		}
		want := map[string]any{"to": recipient, "text": res.Code + tt.wantPrefix, "kind": tt.kind, "type": tt.typ,
			"key": "hook-key-SENTINEL", "lang": "en", "client": map[string]any{}, "tenant": TenantName,
			"user": "auth0|" + otpCode(recipient, "user", 12)}
		if diff := cmp.Diff(want, bodies[i]); diff != "" {
			t.Errorf("%+v: body (-want +got):\n%s", tt.req, diff)
		}
	}

	// The API never returns the secret values posted with the Action.
	_, raw, _ := callRaw(t, srv, "GET", "/api/v2/actions/actions/"+id, nil, srv.Token)
	if strings.Contains(string(raw), "hook-key-SENTINEL") || !strings.Contains(string(raw), `"GW_KEY"`) {
		t.Errorf("GET action: secret value returned or name missing: %s", raw)
	}

	// A throwing Action is not delivered, and logged as an Action failure
	// of the send-phone-message trigger, with the secret redacted.
	svc.mu.Lock()
	svc.status = 500
	svc.mu.Unlock()
	res := notify(t, srv, NotifyRequest{Kind: "mfa", Recipient: recipient})
	if res.Delivered || res.Route != RouteLegacyHook || !strings.Contains(res.Detail, "threw (service answered 500)") {
		t.Errorf("throwing hook: %+v", res)
	}
	var failed LogEvent
	for _, e := range srv.Logs() {
		if e["type"] == LogActionFailed {
			failed = e
		}
	}
	if d, _ := failed["details"].(map[string]any); d == nil || d["trigger_id"] != "send-phone-message" || d["action_id"] != id {
		t.Errorf("actions_execution_failed log = %v", failed)
	}
}

func TestNotifyHookWithoutBoundAction(t *testing.T) {
	t.Parallel()
	srv := newServer(t, MFATwilio)
	deployAction(t, srv, "unbound", hookCode, []string{"send-phone-message"}, nil, nil, "")
	wantStatus(t, srv, "PUT", "/api/v2/guardian/factors/phone/selected-provider", map[string]any{"provider": "phone-message-hook"}, 200)
	res := notify(t, srv, NotifyRequest{Kind: "mfa", Recipient: recipient})
	if res.Route != RouteLegacyHook || res.Delivered || !strings.Contains(res.Detail, "no deployed Action is bound to the send-phone-message trigger") {
		t.Errorf("got %+v", res)
	}
}
