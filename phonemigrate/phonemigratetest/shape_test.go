package phonemigratetest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

// wiremockExample is one stub of go-auth0's wiremock-mappings.json.
type wiremockExample struct {
	status int
	body   any // decoded JSON; nil for an empty body ("" in the file)
}

// loadWiremock reads go-auth0 v3's wiremock/wiremock-mappings.json (the
// module directory comes from `go list -m`) and indexes the stubs by
// "METHOD /path/template".
func loadWiremock(t *testing.T) map[string]wiremockExample {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/auth0/go-auth0/v3").Output()
	if err != nil {
		t.Fatalf("locating go-auth0 v3: %v", err)
	}
	dir := strings.TrimSpace(string(out))
	raw, err := os.ReadFile(filepath.Join(dir, "wiremock", "wiremock-mappings.json"))
	if err != nil {
		t.Fatalf("reading go-auth0's wiremock mappings: %v", err)
	}
	var file struct {
		Mappings []struct {
			Request struct {
				Method          string `json:"method"`
				URLPathTemplate string `json:"urlPathTemplate"`
			} `json:"request"`
			Response struct {
				Status int    `json:"status"`
				Body   string `json:"body"`
			} `json:"response"`
		} `json:"mappings"`
	}
	if err := json.Unmarshal(raw, &file); err != nil {
		t.Fatal(err)
	}
	idx := map[string]wiremockExample{}
	for _, m := range file.Mappings {
		ex := wiremockExample{status: m.Response.Status}
		if b := strings.TrimSpace(m.Response.Body); b != "" && b != `""` {
			if err := json.Unmarshal([]byte(b), &ex.body); err != nil {
				continue // a streaming (SSE) example, not an endpoint the fake serves
			}
		}
		idx[m.Request.Method+" "+m.Request.URLPathTemplate] = ex
	}
	return idx
}

// shapeDiffs compares the JSON shape of got (the fake's answer) with want
// (Auth0's example): object keys and value types, recursively; array
// elements by their first element. An empty object, or {"key": ...}, in the
// example is a free-form map (options, metadata, ...): only its type is
// compared.
// null matches any type. It returns "missing P", "extra P" and "type P"
// entries, P being a path like "connections[].options".
func shapeDiffs(path string, got, want any) []string {
	if got == nil || want == nil {
		return nil
	}
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return []string{fmt.Sprintf("type %s: fake %s, example object", path, jsonType(got))}
		}
		if _, generic := w["key"]; len(w) == 0 || (len(w) == 1 && generic) {
			return nil // free-form (Fern writes map examples as {"key": "value"})
		}
		var out []string
		for k, wv := range w {
			gv, ok := g[k]
			if !ok {
				out = append(out, "missing "+path+"."+k)
				continue
			}
			out = append(out, shapeDiffs(path+"."+k, gv, wv)...)
		}
		for k := range g {
			if _, ok := w[k]; !ok {
				out = append(out, "extra "+path+"."+k)
			}
		}
		return out
	case []any:
		g, ok := got.([]any)
		if !ok {
			return []string{fmt.Sprintf("type %s: fake %s, example array", path, jsonType(got))}
		}
		if len(w) == 0 {
			return nil
		}
		if len(g) == 0 {
			return []string{"missing " + path + "[]"}
		}
		return shapeDiffs(path+"[]", g[0], w[0])
	default:
		if jsonType(got) != jsonType(want) {
			return []string{fmt.Sprintf("type %s: fake %s, example %s", path, jsonType(got), jsonType(want))}
		}
		return nil
	}
}

// shapeCase is one endpoint call. allow lists the differences from Auth0's
// example that are expected, each for a stated reason; an allowed
// difference that does not occur fails the test too, so the list stays
// true. A "missing P.*" entry allows any key of P to be missing.
type shapeCase struct {
	method, template, path string
	body                   any
	status                 int // the fake's status, when it differs from the example's
	bodyNotInExample       bool
	allow                  []string
	// onlyMissing accepts any "missing" difference and no other: an
	// empty tenant's answer leaves out what it does not have.
	onlyMissing bool
}

// Reasons, used in the allow lists below.
var (
	// Parts of Auth0 the fake does not model: integrations, modules,
	// connected accounts, trigger metadata on Action responses.
	actionUnmodelled = []string{
		"missing .installed_integration_id", "missing .integration", "missing .deploy", "missing .modules",
		"missing .supported_triggers[].status", "missing .supported_triggers[].runtimes", "missing .supported_triggers[].default_runtime",
		"missing .supported_triggers[].compatible_triggers", "missing .supported_triggers[].binding_policy",
		"missing .deployed_version.modules",
		// Real Auth0 returns the trigger version everywhere; the example omits it in nested copies.
		"extra .deployed_version.supported_triggers[].version", "extra .deployed_version.action.supported_triggers[].version",
		// No build errors in the fake.
		"missing .deployed_version.errors[]",
		// registry_url is only set for private npm registries.
		"missing .dependencies[].registry_url",
	}
	connUnmodelled = []string{"missing .authentication", "missing .connected_accounts", "missing .cross_app_access_requesting_app"}
	// Where go-auth0's (generated) examples and real recorded answers
	// (testdata/recordings, replay_test.go) disagree, the recordings win:
	// templates carry created_at/updated_at and no customizable.
	templateRecorded = []string{"extra .created_at", "extra .updated_at", "missing .customizable"}
	// A client has the keys go-auth0's recorded POST /clients answered
	// (TestClientGrantManager_List), not every optional feature.
	clientUnmodelled = []string{"missing .*", "extra .cross_origin_auth", "missing .jwt_configuration.*", "missing .refresh_token.*"}
	// Log entries have the envelope Auth0 answered (testdata/logs), plus
	// the log-stream fields its schemas require.
	// the log-stream fields its schemas require; recorded entries have no
	// scope or security_context.
	logRecorded = []string{"extra .tenant_name", "extra .environment_name", "extra .$event_schema", "extra ._id", "extra .organization_id", "extra .organization_name",
		"missing .scope", "missing .security_context"}
)

func prefixed(prefix string, entries []string) []string {
	out := make([]string, len(entries))
	for i, e := range entries {
		verb, p, _ := strings.Cut(e, " ")
		out[i] = verb + " " + prefix + p
	}
	return out
}

func TestResponseShapesMatchGoAuth0Examples(t *testing.T) {
	t.Parallel()
	examples := loadWiremock(t)
	srv := newServer(t, MFATwilio, WithActionBuild(0, 0))

	// Objects created along the way; later cases use their ids.
	ids := map[string]string{}
	conn := map[string]any{"name": "shape-sms", "strategy": "sms", "display_name": "Shape SMS", "show_as_button": false,
		"metadata": map[string]any{"team": "id"}, "options": map[string]any{"from": "+15550000000"}, "enabled_clients": []any{AppClientID}}
	action := map[string]any{"name": "shape-phone", "code": noopAction, "runtime": "node22",
		"supported_triggers": []any{map[string]any{"id": "custom-phone-provider", "version": "v1"}},
		"dependencies":       []any{map[string]any{"name": "undici", "version": "6.0.0"}},
		"secrets":            []any{map[string]any{"name": "API_KEY", "value": "k"}}}
	twilioProvider := map[string]any{"name": "twilio", "disabled": false,
		"configuration": map[string]any{"sid": TwilioSID, "default_from": TwilioFrom, "mssid": "MG0123456789abcdef0123456789abcdef", "delivery_methods": []any{"text"}},
		"credentials":   map[string]any{"auth_token": TwilioAuthToken}}
	template := map[string]any{"type": "otp_verify", "content": map[string]any{"syntax": "liquid", "from": "+15550000000", "body": map[string]any{"text": "{{ code }}", "voice": "{{ code }}"}}}

	cases := []shapeCase{
		// The fake seeds ~12 of Auth0's ~40 tenant settings.
		{method: "GET", template: "/tenants/settings", path: "/tenants/settings", allow: []string{"missing .*", "missing .flags.*"}},
		{method: "PATCH", template: "/tenants/settings", path: "/tenants/settings", body: map[string]any{"friendly_name": "ACME"}, allow: []string{"missing .*", "missing .flags.*"}},

		{method: "POST", template: "/connections", path: "/connections", body: conn, allow: connUnmodelled},
		// The first page holds the database connection, which has no display_name
		// or show_as_button: like Auth0, the fake omits unset optional fields.
		{method: "GET", template: "/connections", path: "/connections?take=1",
			allow: append(prefixed(".connections[]", connUnmodelled), "missing .connections[].display_name", "missing .connections[].show_as_button")},
		{method: "GET", template: "/connections/{id}", path: "/connections/{conn}", allow: connUnmodelled},
		{method: "PATCH", template: "/connections/{id}", path: "/connections/{conn}", body: map[string]any{"options": map[string]any{"from": "+15550000001"}}, allow: connUnmodelled},
		// Recorded: 202 {"deleted_at": …}; the example has no body.
		{method: "DELETE", template: "/connections/{id}", path: "/connections/{conn}", status: 202, bodyNotInExample: true},

		{method: "GET", template: "/guardian/factors", path: "/guardian/factors"},
		{method: "PUT", template: "/guardian/factors/{name}", path: "/guardian/factors/sms", body: map[string]any{"enabled": true}},
		{method: "GET", template: "/guardian/factors/phone/message-types", path: "/guardian/factors/phone/message-types"},
		{method: "PUT", template: "/guardian/factors/phone/message-types", path: "/guardian/factors/phone/message-types", body: map[string]any{"message_types": []any{"sms"}}},
	}
	for _, f := range []string{"phone", "sms"} {
		p := "/guardian/factors/" + f
		cases = append(cases,
			shapeCase{method: "GET", template: p + "/selected-provider", path: p + "/selected-provider"},
			shapeCase{method: "PUT", template: p + "/selected-provider", path: p + "/selected-provider", body: map[string]any{"provider": "twilio"}},
			shapeCase{method: "GET", template: p + "/providers/twilio", path: p + "/providers/twilio"},
			shapeCase{method: "PUT", template: p + "/providers/twilio", path: p + "/providers/twilio", body: map[string]any{"sid": TwilioSID, "from": TwilioFrom, "messaging_service_sid": "MG0123", "auth_token": TwilioAuthToken}},
			shapeCase{method: "GET", template: p + "/templates", path: p + "/templates"},
			shapeCase{method: "PUT", template: p + "/templates", path: p + "/templates", body: map[string]any{"enrollment_message": "{{code}}", "verification_message": "{{code}}"}},
		)
	}
	cases = append(cases,
		shapeCase{method: "POST", template: "/actions/actions", path: "/actions/actions", body: action,
			// Not deployed yet: no deployed_version, no built_at.
			allow: append(slices.Clone(actionUnmodelled[:9]), "missing .deployed_version", "missing .built_at", "missing .dependencies[].registry_url")},
		shapeCase{method: "GET", template: "/actions/actions/{id}", path: "/actions/actions/{action}",
			// Recorded: no top-level built_at.
			allow: append(slices.Clone(actionUnmodelled[:9]), "missing .deployed_version", "missing .dependencies[].registry_url", "missing .built_at")},
		// Deploy answers the version (200 with deployed false, recorded); its
		// supported_triggers carry only id and version, and, as recorded, it
		// has no action_id, errors or built_at.
		shapeCase{method: "POST", template: "/actions/actions/{id}/deploy", path: "/actions/actions/{action}/deploy", status: 200,
			allow: []string{"missing .modules", "missing .errors", "missing .action_id", "missing .built_at", "missing .dependencies[].registry_url", "missing .supported_triggers[].status", "missing .supported_triggers[].runtimes",
				"missing .supported_triggers[].default_runtime", "missing .supported_triggers[].compatible_triggers", "missing .supported_triggers[].binding_policy",
				"extra .action.supported_triggers[].version"}},
		shapeCase{method: "PATCH", template: "/actions/actions/{id}", path: "/actions/actions/{action}", body: map[string]any{"code": "// v2\n" + noopAction},
			// Recorded: current_version; the deployment is still under way
			// (deploy answers deployed false), so no deployed_version yet.
			allow: append(slices.Clone(actionUnmodelled[:9]), "missing .built_at", "extra .current_version", "missing .deployed_version", "missing .dependencies[].registry_url")},
		// Recorded: deployed_version has no action, action_id or errors, and
		// current_version is there.
		shapeCase{method: "GET", template: "/actions/actions/{id}", path: "/actions/actions/{action}",
			allow: append(slices.Clone(actionUnmodelled[:9]), "missing .built_at", "extra .current_version", "missing .deployed_version.action",
				"missing .deployed_version.action_id", "missing .deployed_version.errors", "missing .deployed_version.modules", "extra .deployed_version.supported_triggers[].version",
				"missing .dependencies[].registry_url")},
		shapeCase{method: "GET", template: "/actions/actions", path: "/actions/actions?page=0&per_page=10&triggerId=custom-phone-provider",
			// The list items are full Actions, as go-auth0's Action type says (deployed_version, trigger versions).
			// List wrappers leave out page 0 (recorded).
			allow: []string{"missing .actions[].installed_integration_id", "missing .actions[].deploy", "missing .actions[].modules",
				"extra .actions[].deployed_version", "extra .actions[].supported_triggers[].version", "extra .actions[].current_version", "missing .actions[].built_at", "missing .page"}},
		// No trigger in the fake has compatible triggers.
		shapeCase{method: "GET", template: "/actions/triggers", path: "/actions/triggers", allow: []string{"missing .triggers[].compatible_triggers[]"}},
		// Bindings carry the bound Action (go-auth0's ActionBinding.Action); the example omits it.
		shapeCase{method: "PATCH", template: "/actions/triggers/{triggerId}/bindings", path: "/actions/triggers/custom-phone-provider/bindings",
			body:  map[string]any{"bindings": []any{map[string]any{"ref": map[string]any{"type": "action_id", "value": "{action}"}, "display_name": "phone"}}},
			allow: []string{"extra .bindings[].action"}},
		shapeCase{method: "GET", template: "/actions/triggers/{triggerId}/bindings", path: "/actions/triggers/custom-phone-provider/bindings?page=0&per_page=20",
			allow: []string{"extra .bindings[].action", "missing .page"}},

		shapeCase{method: "POST", template: "/branding/phone/providers", path: "/branding/phone/providers", body: twilioProvider},
		// The example's list item has no default_from/mssid; a Twilio provider has one of them.
		shapeCase{method: "GET", template: "/branding/phone/providers", path: "/branding/phone/providers",
			// List items carry "credentials": null (recorded).
			allow: []string{"extra .providers[].configuration.default_from", "extra .providers[].configuration.mssid", "extra .providers[].credentials"}},
		shapeCase{method: "GET", template: "/branding/phone/providers/{id}", path: "/branding/phone/providers/{provider}"},
		shapeCase{method: "PATCH", template: "/branding/phone/providers/{id}", path: "/branding/phone/providers/{provider}", body: map[string]any{"disabled": false}},
		shapeCase{method: "POST", template: "/branding/phone/providers/{id}/try", path: "/branding/phone/providers/{provider}/try", body: map[string]any{"to": "+15551112222"}},
		shapeCase{method: "DELETE", template: "/branding/phone/providers/{id}", path: "/branding/phone/providers/{provider}", status: 204},

		shapeCase{method: "POST", template: "/branding/phone/templates", path: "/branding/phone/templates", body: template, allow: templateRecorded},
		// The first entry of the list is an id-less default (recorded).
		shapeCase{method: "GET", template: "/branding/phone/templates", path: "/branding/phone/templates", allow: append(prefixed(".templates[]", templateRecorded), "missing .templates[].id")},
		shapeCase{method: "GET", template: "/branding/phone/templates/{id}", path: "/branding/phone/templates/{template}", allow: templateRecorded},
		shapeCase{method: "PATCH", template: "/branding/phone/templates/{id}", path: "/branding/phone/templates/{template}", body: map[string]any{"disabled": true}, allow: templateRecorded},
		// Reset restores Auth0's default text and keeps from (recorded).
		shapeCase{method: "PATCH", template: "/branding/phone/templates/{id}/reset", path: "/branding/phone/templates/{template}/reset", body: map[string]any{}, allow: templateRecorded},
		shapeCase{method: "POST", template: "/branding/phone/templates/{id}/try", path: "/branding/phone/templates/{template}/try", body: map[string]any{"to": "+15551112222"}},
		shapeCase{method: "DELETE", template: "/branding/phone/templates/{id}", path: "/branding/phone/templates/{template}", status: 204},

		// The versions of the deployed Action (only the deployed one, or the
		// one being deployed: the fake keeps no older versions).
		shapeCase{method: "GET", template: "/actions/actions/{actionId}/versions", path: "/actions/actions/{action}/versions", onlyMissing: true,
			allow: []string{"extra .versions[].supported_triggers[].version"}},
		shapeCase{method: "DELETE", template: "/actions/actions/{id}", path: "/actions/actions/{action}?force=true", status: 204},

		// Applications, APIs and grants (clients.go) carry what go-auth0's
		// recordings show, which is far less than the generated examples
		// (every optional feature); deletes answer 204 (recorded).
		shapeCase{method: "POST", template: "/clients", path: "/clients", body: map[string]any{"name": "shape-app", "app_type": "non_interactive"}, allow: clientUnmodelled},
		// The list example leaves out jwt_configuration and most of refresh_token.
		shapeCase{method: "GET", template: "/clients", path: "/clients?include_totals=true&per_page=1", allow: append(prefixed(".clients[]", clientUnmodelled[:2]),
			"extra .clients[].jwt_configuration", "extra .clients[].refresh_token.idle_token_lifetime", "extra .clients[].refresh_token.infinite_idle_token_lifetime",
			"extra .clients[].refresh_token.infinite_token_lifetime", "extra .clients[].refresh_token.leeway", "extra .clients[].refresh_token.token_lifetime")},
		shapeCase{method: "GET", template: "/clients/{id}", path: "/clients/{client}", allow: clientUnmodelled},
		shapeCase{method: "PATCH", template: "/clients/{id}", path: "/clients/{client}", body: map[string]any{"description": "d"}, allow: clientUnmodelled},
		shapeCase{method: "POST", template: "/resource-servers", path: "/resource-servers", body: map[string]any{"identifier": "https://shape.example/", "name": "Shape", "scopes": []any{map[string]any{"value": "read:x", "description": "x"}}}, allow: []string{"missing .*"}},
		// The list example's scopes have no description; Auth0 keeps what was sent (recorded).
		shapeCase{method: "GET", template: "/resource-servers", path: "/resource-servers?include_totals=true", allow: []string{"missing .resource_servers[].*", "extra .resource_servers[].scopes[].description"}},
		shapeCase{method: "GET", template: "/resource-servers/{id}", path: "/resource-servers/{rs}", allow: []string{"missing .*"}},
		// The example says 201; Auth0 answers an update 200.
		shapeCase{method: "PATCH", template: "/resource-servers/{id}", path: "/resource-servers/{rs}", body: map[string]any{"name": "Shape 2"}, status: 200, allow: []string{"missing .*"}},
		shapeCase{method: "POST", template: "/client-grants", path: "/client-grants", body: map[string]any{"client_id": "{client}", "audience": "https://shape.example/", "scope": []any{"read:x"}}, allow: []string{"missing .*"}},
		shapeCase{method: "GET", template: "/client-grants", path: "/client-grants?take=1", allow: []string{"missing .client_grants[].*"}},
		shapeCase{method: "GET", template: "/client-grants/{id}", path: "/client-grants/{grant}", allow: []string{"missing .*"}},
		shapeCase{method: "PATCH", template: "/client-grants/{id}", path: "/client-grants/{grant}", body: map[string]any{"scope": []any{}}, allow: []string{"missing .*"}},
		shapeCase{method: "DELETE", template: "/client-grants/{id}", path: "/client-grants/{grant}", status: 204},
		shapeCase{method: "DELETE", template: "/resource-servers/{id}", path: "/resource-servers/{rs}", status: 204},
		shapeCase{method: "DELETE", template: "/clients/{id}", path: "/clients/{client}", status: 204},
		shapeCase{method: "GET", template: "/logs/{id}", path: "/logs/{log}", allow: logRecorded},

		// The newest event is the sapi entry of the last write above, with
		// the envelope Auth0 answers (testdata/logs).
		shapeCase{method: "GET", template: "/logs", path: "/logs?per_page=1&include_totals=true",
			// The list example, unlike the single one, has no location_info and no security_context.
			allow: append(prefixed(".logs[]", logRecorded[:len(logRecorded)-1]), "extra .logs[].location_info")},
	)
	if _, err := srv.Notify(t.Context(), NotifyRequest{Kind: "mfa", Recipient: "+15551112222"}); err != nil {
		t.Fatal(err)
	}

	ids["log"] = srv.Logs()[0]["log_id"].(string)
	ids["conn0"] = srv.State().Connections[0].ID // a seeded one, never deleted here
	cases = append(cases, emptyTenantCases(examples)...)

	covered := map[string]bool{}
	for _, tc := range cases {
		name := tc.method + " " + tc.path
		t.Run(strings.ReplaceAll(name, "/", "_"), func(t *testing.T) {
			ex, ok := examples[tc.method+" "+tc.template]
			if !ok {
				t.Fatalf("no go-auth0 example for %s %s", tc.method, tc.template)
			}
			covered[tc.method+" "+tc.template] = true
			path := tc.path
			for k, v := range ids {
				path = strings.ReplaceAll(path, "{"+k+"}", v)
			}
			body := tc.body
			if b, err := json.Marshal(body); err == nil && body != nil {
				s := string(b)
				for k, v := range ids {
					s = strings.ReplaceAll(s, "{"+k+"}", v)
				}
				_ = json.Unmarshal([]byte(s), &body)
			}
			if strings.HasSuffix(tc.template, "/deploy") || (tc.method == "PATCH" && strings.Contains(tc.template, "bindings")) {
				time.Sleep(time.Millisecond) // WithActionBuild(0, 0): built on the next look
			}
			status, got := call(t, srv, tc.method, "/api/v2"+path, body)
			wantStatus := ex.status
			if tc.status != 0 {
				wantStatus = tc.status
			}
			if status != wantStatus {
				t.Fatalf("status %d, want %d (%v)", status, wantStatus, got)
			}
			if m, ok := got.(map[string]any); ok && tc.method != "DELETE" {
				if id, ok := m["client_id"].(string); ok && tc.template == "/clients" {
					ids["client"] = id
				}
				if id, ok := m["id"].(string); ok {
					switch {
					case tc.template == "/resource-servers":
						ids["rs"] = id
					case tc.template == "/client-grants":
						ids["grant"] = id
					case strings.HasPrefix(tc.template, "/connections"):
						ids["conn"] = id
					case tc.template == "/actions/actions":
						ids["action"] = id
					case strings.HasPrefix(tc.template, "/branding/phone/providers"):
						ids["provider"] = id
					case strings.HasPrefix(tc.template, "/branding/phone/templates"):
						ids["template"] = id
					}
				}
			}
			if tc.bodyNotInExample {
				return
			}
			if (ex.body == nil) != (got == nil) {
				t.Fatalf("body %v, example body %v", got, ex.body)
			}
			diffs := shapeDiffs("", got, ex.body)
			var unexpected []string
			for _, d := range diffs {
				if tc.onlyMissing && strings.HasPrefix(d, "missing ") {
					continue
				}
				if !allowed(tc.allow, d) {
					unexpected = append(unexpected, d)
				}
			}
			sort.Strings(unexpected)
			if len(unexpected) > 0 {
				t.Errorf("shape differs from go-auth0's example:\n  %s", strings.Join(unexpected, "\n  "))
			}
			for _, a := range tc.allow {
				if !slices.ContainsFunc(diffs, func(d string) bool { return allowed([]string{a}, d) }) {
					t.Errorf("allowed difference %q does not occur: remove it", a)
				}
			}
		})
	}

	// Every endpoint the fake serves under /api/v2 is covered, but those
	// go-auth0 v3 has no example of (node-auth0's types give their shape).
	for _, ep := range servedEndpoints() {
		if !covered[ep] && !slices.Contains(noGoAuth0Example, ep) {
			t.Errorf("no shape case for %s", ep)
		}
	}
}

func allowed(allow []string, d string) bool {
	for _, a := range allow {
		if a == d {
			return true
		}
		if p, ok := strings.CutSuffix(a, ".*"); ok {
			if rest, ok := strings.CutPrefix(d, p+"."); ok && !strings.Contains(rest, ".") && strings.HasPrefix(a, "missing ") {
				return true
			}
		}
	}
	return false
}

// servedEndpoints lists "METHOD /template" for every Management API route
// of registerAPI (kept in sync by TestServedEndpointsAreRouted).
func servedEndpoints() []string {
	eps := []string{
		"GET /tenants/settings", "PATCH /tenants/settings",
		"GET /connections", "POST /connections", "GET /connections/{id}", "PATCH /connections/{id}", "DELETE /connections/{id}",
		"GET /guardian/factors", "PUT /guardian/factors/{name}",
		"GET /guardian/factors/phone/message-types", "PUT /guardian/factors/phone/message-types",
		"GET /branding/phone/providers", "POST /branding/phone/providers", "GET /branding/phone/providers/{id}",
		"PATCH /branding/phone/providers/{id}", "DELETE /branding/phone/providers/{id}", "POST /branding/phone/providers/{id}/try",
		"GET /branding/phone/templates", "POST /branding/phone/templates", "GET /branding/phone/templates/{id}",
		"PATCH /branding/phone/templates/{id}", "DELETE /branding/phone/templates/{id}", "PATCH /branding/phone/templates/{id}/reset",
		"POST /branding/phone/templates/{id}/try",
		"GET /actions/actions", "POST /actions/actions", "GET /actions/actions/{id}", "PATCH /actions/actions/{id}",
		"DELETE /actions/actions/{id}", "POST /actions/actions/{id}/deploy", "GET /actions/triggers",
		"GET /actions/triggers/{triggerId}/bindings", "PATCH /actions/triggers/{triggerId}/bindings",
		"GET /logs", "GET /logs/{id}",
		"GET /clients", "POST /clients", "GET /clients/{id}", "PATCH /clients/{id}", "DELETE /clients/{id}",
		"GET /resource-servers", "POST /resource-servers", "GET /resource-servers/{id}", "PATCH /resource-servers/{id}", "DELETE /resource-servers/{id}",
		"GET /client-grants", "POST /client-grants", "GET /client-grants/{id}", "PATCH /client-grants/{id}", "DELETE /client-grants/{id}",
	}
	eps = append(eps, "GET /connections/{id}/clients", "PATCH /connections/{id}/clients", "GET /actions/actions/{actionId}/versions")
	for _, l := range emptyLists {
		eps = append(eps, "GET "+l.path)
	}
	for _, st := range emptySettings {
		eps = append(eps, "GET "+st.path)
		for _, m := range st.writes {
			eps = append(eps, m+" "+st.path)
		}
	}
	for _, a := range emptyAbsents {
		eps = append(eps, "GET "+a.path)
		for _, m := range a.writes {
			eps = append(eps, m+" "+a.path)
		}
	}
	for _, f := range []string{"phone", "sms"} {
		for _, p := range []string{"selected-provider", "providers/twilio", "templates"} {
			eps = append(eps, "GET /guardian/factors/"+f+"/"+p, "PUT /guardian/factors/"+f+"/"+p)
		}
	}
	return eps
}

// TestServedEndpointsAreRouted checks servedEndpoints against the router:
// every listed endpoint is routed, and unlisted methods on those paths are
// not (so a new route without a shape case shows up as a missing one here).
func TestServedEndpointsAreRouted(t *testing.T) {
	t.Parallel()
	srv := newServer(t, Empty)
	eps := servedEndpoints()
	if got, want := len(eps), countRoutes(); got != want {
		t.Errorf("servedEndpoints lists %d endpoints, the router has %d", got, want)
	}
	for _, ep := range eps {
		method, tpl, _ := strings.Cut(ep, " ")
		path := strings.NewReplacer("{id}", "x", "{name}", "sms", "{triggerId}", "post-login", "{prompt}", "login", "{language}", "en", "{templateName}", "welcome_email").Replace(tpl)
		status, v := call(t, srv, method, "/api/v2"+path, map[string]any{})
		if status == 405 || (status == 404 && obj(t, v)["message"] == "Not Found") {
			t.Errorf("%s is not routed (%d)", ep, status)
		}
	}
}

// countRoutes counts the patterns registerAPI registers.
func countRoutes() int {
	n := 0
	mux := &countingMux{count: &n}
	(&Server{}).registerAPIOn(mux)
	return n - 1 // the catch-all "/"
}

type countingMux struct{ count *int }

func (m *countingMux) Handle(string, http.Handler) { *m.count++ }

// emptyTenantCases are the shape cases of what the fake answers as an
// empty tenant (empty.go) and of /connections/{id}/clients: lists in the
// wrapper the example has (asked for with its paging), settings with
// Auth0's defaults, 404 for what an empty tenant lacks. Only missing keys
// are accepted (what an empty tenant does not have).
func emptyTenantCases(examples map[string]wiremockExample) []shapeCase {
	concrete := strings.NewReplacer("{prompt}", "login", "{language}", "en", "{templateName}", "welcome_email", "{id}", "{conn}")
	query := func(tpl string) string {
		ex, _ := examples["GET "+tpl].body.(map[string]any)
		switch {
		case ex == nil:
			return ""
		case ex["next"] != nil:
			return "?take=10"
		case ex["start"] != nil:
			return "?include_totals=true&per_page=10"
		case ex["per_page"] != nil:
			return "?per_page=10"
		}
		return ""
	}
	out := []shapeCase{
		{method: "GET", template: "/connections/{id}/clients", path: "/connections/{conn0}/clients?take=10", onlyMissing: true},
		{method: "PATCH", template: "/connections/{id}/clients", path: "/connections/{conn0}/clients", body: []any{map[string]any{"client_id": AppClientID, "status": true}}},
	}
	for _, l := range emptyLists {
		out = append(out, shapeCase{method: "GET", template: l.path, path: l.path + query(l.path), onlyMissing: true})
	}
	for _, st := range emptySettings {
		if slices.Contains(noGoAuth0Example, "GET "+st.path) {
			continue
		}
		p := concrete.Replace(st.path)
		out = append(out, shapeCase{method: "GET", template: st.path, path: p, onlyMissing: true})
		for _, m := range st.writes {
			body := any(map[string]any{})
			if st.path == "/guardian/policies" {
				body = []any{"all-applications"}
			}
			c := shapeCase{method: m, template: st.path, path: p, body: body, onlyMissing: true}
			if ex := examples[m+" "+st.path]; ex.body == nil {
				c.bodyNotInExample = true
			}
			out = append(out, c)
		}
	}
	for _, a := range emptyAbsents {
		p := concrete.Replace(a.path)
		out = append(out, shapeCase{method: "GET", template: a.path, path: p, status: 404, bodyNotInExample: true})
		for _, m := range a.writes {
			out = append(out, shapeCase{method: m, template: a.path, path: p, body: map[string]any{"enabled": true}, onlyMissing: true})
		}
	}
	return out
}

// noGoAuth0Example are endpoints node-auth0 calls that go-auth0 v3's
// examples lack; node-auth0 7.1.0's types give their shape
// (GetPhoneFactorSettingsResponseContent: otp_length, otp_expiration_time),
// and TestNodeAuth0PhoneAreas calls them.
var noGoAuth0Example = []string{"GET /guardian/factors/phone/settings", "PUT /guardian/factors/phone/settings"}
