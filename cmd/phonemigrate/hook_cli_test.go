package main

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/unifiedphone/unifiedphone/phonemigrate/phonemigratetest"
)

// mgmtCall calls the fake's Management API as a person building a tenant.
func mgmtCall(t *testing.T, srv *phonemigratetest.Server, method, path string, body any) map[string]any {
	t.Helper()
	var out any
	if err := srv.Call(t.Context(), method, path, body, &out); err != nil {
		t.Fatal(err)
	}
	m, _ := out.(map[string]any)
	return m
}

// hookTenant builds, through the Management API, the tenant: MFA
// SMS through a send-phone-message Action ("our-sms", secret GW_KEY = key)
// that POSTs {to, text, kind, type, key} to a local service. take returns
// (and forgets) the bodies the service received.
func hookTenant(t *testing.T, key string) (srv *phonemigratetest.Server, take func() []string) {
	return hookTenantSending(t, key, "")
}

// hookTenantSending is hookTenant whose Action adds extra (JavaScript
// object members) to the body it sends.
func hookTenantSending(t *testing.T, key, extra string) (srv *phonemigratetest.Server, take func() []string) {
	t.Helper()
	var mu sync.Mutex
	var bodies []string
	svc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, string(b))
		mu.Unlock()
	}))
	t.Cleanup(svc.Close)
	take = func() []string {
		mu.Lock()
		defer mu.Unlock()
		out := bodies
		bodies = nil
		return out
	}
	srv = phonemigratetest.NewServer(phonemigratetest.Empty, phonemigratetest.WithActionBuild(0, 1))
	t.Cleanup(srv.Close)
	mgmtCall(t, srv, "PUT", "/guardian/factors/sms", map[string]any{"enabled": true})
	mgmtCall(t, srv, "PUT", "/guardian/factors/phone/message-types", map[string]any{"message_types": []any{"sms"}})
	mgmtCall(t, srv, "PUT", "/guardian/factors/phone/selected-provider", map[string]any{"provider": "phone-message-hook"})
	mgmtCall(t, srv, "PUT", "/guardian/factors/sms/templates", map[string]any{"enrollment_message": "{{code}} enrolls you", "verification_message": "{{code}} is your code"})
	code := fmt.Sprintf(`exports.onExecuteSendPhoneMessage = async (event) => {
  const o = event.message_options;
  await fetch(%q, { method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ to: o.recipient, text: o.text, kind: o.action, type: o.message_type, key: event.secrets.GW_KEY%s }) });
};`, svc.URL, extra)
	a := mgmtCall(t, srv, "POST", "/actions/actions", map[string]any{"name": "our-sms", "code": code, "runtime": "node18",
		"secrets": []any{map[string]any{"name": "GW_KEY", "value": key}}, "supported_triggers": []any{map[string]any{"id": "send-phone-message"}}})
	id := a["id"].(string)
	for i := 0; mgmtCall(t, srv, "GET", "/actions/actions/"+id, nil)["status"] != "built"; i++ {
		if i > 100 {
			t.Fatal("never built")
		}
	}
	mgmtCall(t, srv, "POST", "/actions/actions/"+id+"/deploy", nil)
	for i := 0; mgmtCall(t, srv, "GET", "/actions/actions/"+id, nil)["deployed_version"] == nil; i++ {
		if i > 100 {
			t.Fatal("never deployed")
		}
	}
	mgmtCall(t, srv, "PATCH", "/actions/triggers/send-phone-message/bindings", map[string]any{
		"bindings": []any{map[string]any{"ref": map[string]any{"type": "action_id", "value": id}}}})
	return srv, take
}

// The tenant, end to end through the CLI: MFA SMS through a
// send-phone-message Action that POSTs {to, text, kind, type, key} to a
// local service. apply without PHONEMIGRATE_ACTION_SECRET_GW_KEY exits 2
// naming it and writes nothing; with it, the tenant migrates, the service
// gets the same requests for enrolment and verification as before, and the
// value is in no output or checkpoint.
func TestApplyMFAHookThroughTheCLI(t *testing.T) {
	t.Parallel()
	requireNode(t)
	const key = "gw-key-CLI-SENTINEL-91c2"
	srv, take := hookTenant(t, key)

	reqs := []phonemigratetest.NotifyRequest{
		{Kind: "mfa", Recipient: "+15557654321", MessageType: "otp_enroll"},
		{Kind: "mfa", Recipient: "+15557654321", MessageType: "otp_verify"},
	}
	send := func(route string) []string {
		for _, r := range reqs {
			res, err := srv.Notify(t.Context(), r)
			if err != nil || !res.Delivered || res.Route != route {
				t.Fatalf("%+v: %+v %v, want delivered through %s", r, res, err, route)
			}
		}
		return take()
	}
	before := send(phonemigratetest.RouteLegacyHook)

	cp := filepath.Join(t.TempDir(), "cp.json")
	env := map[string]string{envBaseURL: srv.BaseURL, envToken: srv.Token, envWatch: "0"}
	apply := func() (int, string) {
		var out bytes.Buffer
		code := run(t.Context(), []string{"apply", "--yes", "--skip-test", "--checkpoint", cp}, strings.NewReader(""), &out, &out,
			func(k string) string { return env[k] })
		return code, out.String()
	}
	stateBefore, _ := json.Marshal(srv.State())
	if code, out := apply(); code != exitUsage || !strings.Contains(out, "PHONEMIGRATE_ACTION_SECRET_GW_KEY") {
		t.Fatalf("apply without the secret: exit %d, want 2 naming PHONEMIGRATE_ACTION_SECRET_GW_KEY:\n%s", code, out)
	}
	if after, _ := json.Marshal(srv.State()); !bytes.Equal(stateBefore, after) {
		t.Error("apply without the secret changed the tenant")
	}
	env["PHONEMIGRATE_ACTION_SECRET_GW_KEY"] = key
	code2, out := apply()
	if code2 != exitOK {
		t.Fatalf("apply: exit %d:\n%s", code2, out)
	}
	for _, want := range []string{"Proof: the copy made the same requests", "Action secrets: GW_KEY", `Not rehearsed (MFA goes through the send-phone-message Action "our-sms"`} {
		if !strings.Contains(out, want) {
			t.Errorf("apply output does not say %q:\n%s", want, out)
		}
	}
	after := send(phonemigratetest.RouteProviderCustom)
	if strings.Join(before, "\n") != strings.Join(after, "\n") || len(after) != 2 || !strings.Contains(after[0], `"key":"`+key+`"`) {
		t.Errorf("the service got\n%q\nbefore and\n%q\nafter", before, after)
	}
	cpData, _ := os.ReadFile(cp)
	if strings.Contains(out, key) || strings.Contains(string(cpData), key) {
		t.Error("the secret value is in the output or the checkpoint")
	}
}

// An Action secret given as PHONEMIGRATE_ACTION_SECRET_<NAME> travels to
// Auth0 in the copied Action's body; a Management API that echoes each
// request back in its error message (as schema validation does) puts it in
// no output, status, checkpoint or file — through apply, its resumes and
// the rollback. The value is checked in the forms redaction knows (as
// written, upper case, base64, hex).
func TestEchoingServerLeaksNoActionSecret(t *testing.T) {
	requireNode(t)
	t.Parallel()
	const key = "gw-key-ECHO-SENTINEL-7f3a"
	srv, _ := hookTenant(t, key)
	proxy := newEchoProxyQuoting(t, srv.URL, "secrets")
	dir := t.TempDir()
	env := map[string]string{envBaseURL: proxy.URL + "/api/v2", envToken: srv.Token, envWatch: "0",
		"PHONEMIGRATE_ACTION_SECRET_GW_KEY": key}
	var all bytes.Buffer
	cli := recordCLI(t, dir, env, &all, false)
	until := func(args ...string) {
		for range 25 {
			code := cli(args...)
			cli("status", "--checkpoint", "cp.json", "--json")
			if code == 0 {
				return
			}
		}
		t.Fatalf("phonemigrate %s never succeeded:\n%s", args[0], all.String())
	}
	until("apply", "--yes", "--json", "--verbose", "--skip-test", "--poll-interval", "5ms", "--checkpoint", "cp.json")
	until("rollback", "--yes", "--json", "--checkpoint", "cp.json")
	appendFiles(&all, dir)
	proxy.mu.Lock()
	echoedCreate := proxy.echoed["POST /api/v2/actions/actions"]
	proxy.mu.Unlock()
	if !echoedCreate {
		t.Fatalf("the Action's creation (which carries the secret) was never echoed; the scan proves nothing:\n%s", all.String())
	}
	if !strings.Contains(all.String(), `secrets: [{\"name\":\"GW_KEY\",\"value\":\"[redacted]\"}`) {
		t.Errorf("the echoed secrets did not reach the output redacted; the scan proves nothing:\n%s", all.String())
	}
	assertNoLeak(t, all.String(), key, strings.ToUpper(key), base64.StdEncoding.EncodeToString([]byte(key)), hex.EncodeToString([]byte(key)))
}

// TestAcceptDifferenceAcceptsProof: the proof's differences between a
// send-phone-message Action and its copy are accepted like the
// rehearsal's, by consumer ID (--accept-difference), each of them.
func TestAcceptDifferenceAcceptsProof(t *testing.T) {
	t.Parallel()
	requireNode(t)
	const key = "gw-key-PROOF-DIFF-5a1e"
	srv, _ := hookTenantSending(t, key, ", nonce: Math.random()")
	env := map[string]string{envBaseURL: srv.BaseURL, envToken: srv.Token, envWatch: "0", "PHONEMIGRATE_ACTION_SECRET_GW_KEY": key}
	cp := filepath.Join(t.TempDir(), "cp.json")
	apply := func(extra ...string) (int, string) {
		var out bytes.Buffer
		args := append([]string{"apply", "--yes", "--skip-test", "--checkpoint", cp}, extra...)
		code := run(t.Context(), args, strings.NewReader(""), &out, &out, func(k string) string { return env[k] })
		return code, out.String()
	}
	stateBefore, _ := json.Marshal(srv.State())
	code, out := apply()
	if code != exitUserWork || !strings.Contains(out, "--accept-difference ID, for each of mfa/text/otp_enroll, mfa/text/otp_verify") {
		t.Fatalf("apply: exit %d, want %d naming the consumers to accept:\n%s", code, exitUserWork, out)
	}
	// One of the two accepted is not enough.
	if code, out := apply("--accept-difference", "mfa/text/otp_enroll"); code != exitUserWork {
		t.Fatalf("apply accepting one of two: exit %d, want %d:\n%s", code, exitUserWork, out)
	}
	if after, _ := json.Marshal(srv.State()); !bytes.Equal(stateBefore, after) {
		t.Fatal("a refused apply changed the tenant")
	}
	if code, out := apply("--accept-difference", "mfa/text/otp_enroll", "--accept-difference", "mfa/text/otp_verify"); code != exitOK || !strings.Contains(out, "completed") {
		t.Fatalf("apply accepting both: exit %d, want 0:\n%s", code, out)
	}
}
