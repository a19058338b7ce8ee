package phonemigratetest

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// errBody is an Auth0 error answer.
func errBody(status int, msg, code string) map[string]any {
	m := map[string]any{"statusCode": float64(status), "error": http.StatusText(status), "message": msg}
	if code != "" {
		m["errorCode"] = code
	}
	return m
}

// wantError asserts an Auth0-shaped error answer.
func wantError(t testing.TB, srv *Server, method, path string, body any, status int, msg, code string) {
	t.Helper()
	got, v := call(t, srv, method, path, body)
	if got != status {
		t.Fatalf("%s %s: status %d, want %d (%v)", method, path, got, status, v)
	}
	if diff := cmp.Diff(errBody(status, msg, code), v); diff != "" {
		t.Errorf("%s %s error body (-want +got):\n%s", method, path, diff)
	}
}

func wantStatus(t testing.TB, srv *Server, method, path string, body any, status int) any {
	t.Helper()
	got, v := call(t, srv, method, path, body)
	if got != status {
		t.Fatalf("%s %s: status %d, want %d (%v)", method, path, got, status, v)
	}
	return v
}

func TestAuth(t *testing.T) {
	t.Parallel()
	srv := newServer(t, Empty)
	tests := []struct {
		name, token string
		status      int
		msg         string
	}{
		{"no token", "", 401, "Missing authentication"},
		{"wrong token", "nope", 401, "Invalid token"},
		{"right token", srv.Token, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, v := callTok(t, srv, "GET", "/api/v2/tenants/settings", nil, tt.token)
			if status != tt.status {
				t.Fatalf("status %d, want %d", status, tt.status)
			}
			if tt.msg != "" {
				if diff := cmp.Diff(errBody(tt.status, tt.msg, ""), v); diff != "" {
					t.Errorf("(-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestOAuthToken(t *testing.T) {
	t.Parallel()
	srv := newServer(t, Empty)
	post := func(contentType, body string) (int, map[string]any) {
		t.Helper()
		resp, err := srv.Client().Post(srv.URL+"/oauth/token", contentType, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		_ = jsonDecode(resp.Body, &m)
		return resp.StatusCode, m
	}
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {srv.ClientID}, "client_secret": {srv.ClientSecret}, "audience": {srv.URL + "/api/v2/"}}
	bad := url.Values{"grant_type": {"client_credentials"}, "client_id": {srv.ClientID}, "client_secret": {"wrong"}}
	tests := []struct {
		name, ct, body string
		status         int
		token          bool
	}{
		{"form", "application/x-www-form-urlencoded", form.Encode(), 200, true},
		{"json", "application/json", fmt.Sprintf(`{"grant_type":"client_credentials","client_id":%q,"client_secret":%q}`, srv.ClientID, srv.ClientSecret), 200, true},
		{"wrong secret", "application/x-www-form-urlencoded", bad.Encode(), 401, false},
		{"wrong grant", "application/json", `{"grant_type":"password"}`, 403, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, m := post(tt.ct, tt.body)
			if status != tt.status {
				t.Fatalf("status %d, want %d (%v)", status, tt.status, m)
			}
			if tt.token {
				if m["access_token"] != srv.Token || m["token_type"] != "Bearer" {
					t.Errorf("answer %v, want access_token = the server token", m)
				}
				if st, _ := callTok(t, srv, "GET", "/api/v2/guardian/factors", nil, m["access_token"].(string)); st != 200 {
					t.Errorf("issued token refused: %d", st)
				}
			} else if m["access_token"] != nil || m["error"] == nil {
				t.Errorf("answer %v, want an OAuth error", m)
			}
		})
	}
}

func TestTenantSettings(t *testing.T) {
	t.Parallel()
	srv := newServer(t, LegacyGateway)
	v := obj(t, wantStatus(t, srv, "PATCH", "/api/v2/tenants/settings", map[string]any{"phone_consolidated_experience": true, "flags": map[string]any{"new_flag": true}}, 200))
	if v["phone_consolidated_experience"] != true || v["friendly_name"] != TenantFriendlyName {
		t.Errorf("PATCH answer %v: want the merged settings", v)
	}
	flags := obj(t, v["flags"])
	if flags["new_flag"] != true || flags["enable_client_connections"] != false {
		t.Errorf("flags %v: want old and new flags merged", flags)
	}
	if got := srv.State().TenantSettings["phone_consolidated_experience"]; got != true {
		t.Errorf("state phone_consolidated_experience = %v", got)
	}
	wantError(t, srv, "PATCH", "/api/v2/tenants/settings", map[string]any{"phone_consolidated_experience": "yes"}, 400,
		"Payload validation error: 'Expected type boolean but found type string' on property phone_consolidated_experience", "")
}

func TestConnectionsListAndPaging(t *testing.T) {
	t.Parallel()
	srv := newServer(t, Empty)
	for i := range 5 {
		wantStatus(t, srv, "POST", "/api/v2/connections", map[string]any{"name": fmt.Sprintf("sms-%d", i), "strategy": "sms", "options": map[string]any{"i": i}}, 201)
	}
	// Follow next with take=2: 5 SMS connections -> pages of 2, 2, 1, and the
	// last page has no "next" at all (go-auth0's pager stops only then).
	var names []string
	from := ""
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("paging does not end")
		}
		path := "/api/v2/connections?strategy=sms&take=2"
		if from != "" {
			path += "&from=" + from
		}
		v := obj(t, wantStatus(t, srv, "GET", path, nil, 200))
		for _, c := range v["connections"].([]any) {
			cm := obj(t, c)
			names = append(names, cm["name"].(string))
			if _, ok := cm["enabled_clients"]; ok {
				t.Errorf("list item has enabled_clients; Auth0's list items do not")
			}
		}
		next, ok := v["next"]
		if !ok {
			break
		}
		from = next.(string)
	}
	if diff := cmp.Diff([]string{"sms-0", "sms-1", "sms-2", "sms-3", "sms-4"}, names); diff != "" {
		t.Errorf("paged names (-want +got):\n%s", diff)
	}

	tests := []struct {
		query string
		want  int
	}{
		{"", 6},                // plain array, all connections
		{"?strategy=auth0", 1}, // the database connection
		{"?strategy=sms&strategy=auth0", 6},
		{"?name=sms-3", 1},
	}
	for _, tt := range tests {
		v := wantStatus(t, srv, "GET", "/api/v2/connections"+tt.query, nil, 200)
		arr, ok := v.([]any)
		if !ok || len(arr) != tt.want {
			t.Errorf("GET /connections%s: %d items (%T), want %d", tt.query, len(arr), v, tt.want)
		}
	}
	wantError(t, srv, "GET", "/api/v2/connections?take=2&from=con_nope", nil, 400, "Query validation error: 'Invalid value for from' on property from", "")
}

func TestConnectionPatchReplacesOptions(t *testing.T) {
	t.Parallel()
	srv := newServer(t, LegacyGateway)
	const path = "/api/v2/connections/con_Gw7tQ2mN8xLp4RvZ"
	before := obj(t, wantStatus(t, srv, "GET", path, nil, 200))
	opts := obj(t, before["options"])
	if opts["custom_flag"] != "keep-me" {
		t.Fatalf("seeded options lack custom_flag: %v", opts)
	}
	// A partial options object replaces the whole options: unknown keys go.
	after := obj(t, wantStatus(t, srv, "PATCH", path, map[string]any{"options": map[string]any{"provider": "sms_gateway", "use_phone_provider": true}}, 200))
	if diff := cmp.Diff(map[string]any{"provider": "sms_gateway", "use_phone_provider": true}, after["options"]); diff != "" {
		t.Errorf("options after partial PATCH (-want +got):\n%s", diff)
	}
	// Writing the whole map back restores it exactly.
	opts["use_phone_provider"] = true
	wantStatus(t, srv, "PATCH", path, map[string]any{"options": opts}, 200)
	got := obj(t, wantStatus(t, srv, "GET", path, nil, 200))
	if diff := cmp.Diff(opts, got["options"]); diff != "" {
		t.Errorf("options after full PATCH (-want +got):\n%s", diff)
	}
	if got["name"] != "sms" || got["strategy"] != "sms" {
		t.Errorf("PATCH changed name/strategy: %v", got)
	}

	tests := []struct {
		name   string
		body   any
		status int
		msg    string
	}{
		{"strategy is immutable", map[string]any{"strategy": "auth0"}, 400, "Payload validation error: 'Additional properties not allowed: strategy'"},
		{"options must be an object", map[string]any{"options": nil}, 400, "Payload validation error: 'Expected type object but found type null' on property options"},
		{"unknown property", map[string]any{"foo": 1}, 400, "Payload validation error: 'Additional properties not allowed: foo'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { wantError(t, srv, "PATCH", path, tt.body, tt.status, tt.msg, "") })
	}
	wantError(t, srv, "GET", "/api/v2/connections/con_nope", nil, 404, msgConnectionNotFound, "inexistent_connection")
	wantError(t, srv, "POST", "/api/v2/connections", map[string]any{"name": "sms", "strategy": "sms"}, 409, "A connection with the same name already exists", "connection_conflict")
	wantError(t, srv, "POST", "/api/v2/connections", map[string]any{"strategy": "sms"}, 400, "Payload validation error: 'Missing required property: name'", "")
	wantStatus(t, srv, "DELETE", path, nil, 202)
	wantStatus(t, srv, "GET", path, nil, 404)
}

func TestGuardianLegacyEndpoints(t *testing.T) {
	t.Parallel()
	srv := newServer(t, MFATwilio)
	type ep struct {
		method, path string
		body         any
		want         any
	}
	var eps []ep
	for _, f := range []string{"phone", "sms"} {
		p := "/api/v2/guardian/factors/" + f
		eps = append(eps,
			ep{"GET", p + "/selected-provider", nil, map[string]any{"provider": "twilio"}},
			ep{"PUT", p + "/selected-provider", map[string]any{"provider": "twilio"}, map[string]any{"provider": "twilio"}},
			ep{"GET", p + "/providers/twilio", nil, map[string]any{"sid": TwilioSID, "from": TwilioFrom, "messaging_service_sid": nil, "auth_token": TwilioAuthToken}},
			ep{"PUT", p + "/providers/twilio", map[string]any{"sid": TwilioSID, "from": TwilioFrom, "auth_token": TwilioAuthToken}, map[string]any{"sid": TwilioSID, "from": TwilioFrom, "messaging_service_sid": nil, "auth_token": TwilioAuthToken}},
			ep{"GET", p + "/templates", nil, map[string]any{"enrollment_message": MFAEnrollmentMessage, "verification_message": MFAVerificationMessage}},
			ep{"PUT", p + "/templates", map[string]any{"enrollment_message": MFAEnrollmentMessage, "verification_message": MFAVerificationMessage}, map[string]any{"enrollment_message": MFAEnrollmentMessage, "verification_message": MFAVerificationMessage}},
		)
	}
	for _, e := range eps {
		t.Run("legacy "+e.method+" "+e.path, func(t *testing.T) {
			v := wantStatus(t, srv, e.method, e.path, e.body, 200)
			if diff := cmp.Diff(e.want, v); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	wantError(t, srv, "PUT", "/api/v2/guardian/factors/phone/selected-provider", map[string]any{"provider": "sns"}, 400, "Payload validation error: 'No enum match for: \"sns\"' on property provider", "")
	wantStatus(t, srv, "PATCH", "/api/v2/tenants/settings", map[string]any{"phone_consolidated_experience": true}, 200)
	for _, e := range eps {
		t.Run("UPE "+e.method+" "+e.path, func(t *testing.T) {
			wantError(t, srv, e.method, e.path, e.body, 403, msgDeprecatedFeature, "")
		})
	}
	// Message types still answer under UPE.
	wantStatus(t, srv, "GET", "/api/v2/guardian/factors/phone/message-types", nil, 200)
}

func TestMessageTypes(t *testing.T) {
	t.Parallel()
	twilioProvider := func(methods ...string) map[string]any {
		ms := []any{}
		for _, m := range methods {
			ms = append(ms, m)
		}
		return map[string]any{"name": "twilio", "configuration": map[string]any{"sid": TwilioSID, "default_from": TwilioFrom, "delivery_methods": ms}, "credentials": map[string]any{"auth_token": TwilioAuthToken}}
	}
	tests := []struct {
		name     string
		sc       Scenario
		upe      bool
		provider map[string]any
		types    []any
		status   int
		msg      string
	}{
		{"legacy: anything goes", MFATwilio, false, nil, []any{"sms", "voice"}, 200, ""},
		{"factor disabled", LegacyGateway, false, nil, []any{"sms"}, 404, msgPhoneFactorMissing},
		{"bad enum", MFATwilio, false, nil, []any{"email"}, 400, "Payload validation error: 'No enum match for: \"email\"' on property message_types"},
		{"UPE subset", MFATwilio, true, twilioProvider("text"), []any{"sms"}, 200, ""},
		{"UPE voice not delivered", MFATwilio, true, twilioProvider("text"), []any{"sms", "voice"}, 409, msgMessageTypeNotSupp},
		{"UPE sms not delivered", MFATwilio, true, twilioProvider("voice"), []any{"sms"}, 409, msgMessageTypeNotSupp},
		{"UPE both", MFATwilio, true, twilioProvider("voice", "text"), []any{"voice", "sms"}, 200, ""},
		{"UPE no provider", MFATwilio, true, nil, []any{"sms"}, 409, msgMessageTypeNotSupp},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, tt.sc)
			if tt.provider != nil {
				wantStatus(t, srv, "POST", "/api/v2/branding/phone/providers", tt.provider, 201)
			}
			if tt.upe {
				wantStatus(t, srv, "PATCH", "/api/v2/tenants/settings", map[string]any{"phone_consolidated_experience": true}, 200)
			}
			before := srv.State().Guardian.MessageTypes
			path := "/api/v2/guardian/factors/phone/message-types"
			if tt.status != 200 {
				wantError(t, srv, "PUT", path, map[string]any{"message_types": tt.types}, tt.status, tt.msg, "")
				if diff := cmp.Diff(before, srv.State().Guardian.MessageTypes); diff != "" {
					t.Errorf("refused PUT changed message types (-want +got):\n%s", diff)
				}
				return
			}
			v := wantStatus(t, srv, "PUT", path, map[string]any{"message_types": tt.types}, 200)
			if diff := cmp.Diff(map[string]any{"message_types": tt.types}, v); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestFactors(t *testing.T) {
	t.Parallel()
	srv := newServer(t, LegacyGateway)
	v := wantStatus(t, srv, "PUT", "/api/v2/guardian/factors/sms", map[string]any{"enabled": true}, 200)
	if diff := cmp.Diff(map[string]any{"enabled": true}, v); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	list := wantStatus(t, srv, "GET", "/api/v2/guardian/factors", nil, 200).([]any)
	found := false
	for _, f := range list {
		if m := obj(t, f); m["name"] == "sms" {
			found = m["enabled"] == true
		}
	}
	if !found {
		t.Errorf("sms factor not enabled after PUT: %v", list)
	}
	wantError(t, srv, "PUT", "/api/v2/guardian/factors/sms", map[string]any{}, 400, "Payload validation error: 'Missing required property: enabled'", "")
	wantStatus(t, srv, "PUT", "/api/v2/guardian/factors/phone", map[string]any{"enabled": true}, 400)
}

// deployCustomAction creates, builds, deploys and (when bind) binds a
// custom-phone-provider Action with code, and returns its id.
func deployCustomAction(t testing.TB, srv *Server, name, code string, secrets map[string]string, bind bool) string {
	t.Helper()
	sec := []any{}
	for k, v := range secrets {
		sec = append(sec, map[string]any{"name": k, "value": v})
	}
	a := obj(t, wantStatus(t, srv, "POST", "/api/v2/actions/actions", map[string]any{
		"name": name, "code": code, "runtime": "node22", "secrets": sec,
		"supported_triggers": []any{map[string]any{"id": "custom-phone-provider", "version": "v1"}},
	}, 201))
	id := a["id"].(string)
	for i := 0; ; i++ {
		if i > 50 {
			t.Fatal("action never built")
		}
		if obj(t, wantStatus(t, srv, "GET", "/api/v2/actions/actions/"+id, nil, 200))["status"] == "built" {
			break
		}
	}
	wantStatus(t, srv, "POST", "/api/v2/actions/actions/"+id+"/deploy", nil, 200)
	waitDeployed(t, srv, id)
	if bind {
		wantStatus(t, srv, "PATCH", "/api/v2/actions/triggers/custom-phone-provider/bindings", map[string]any{
			"bindings": []any{map[string]any{"ref": map[string]any{"type": "action_id", "value": id}, "display_name": name}},
		}, 200)
	}
	return id
}

// waitDeployed reads the Action until its deployment (accepted with
// deployed false) has finished.
func waitDeployed(t testing.TB, srv *Server, id string) {
	t.Helper()
	for i := 0; ; i++ {
		if i > 50 {
			t.Fatal("action never deployed")
		}
		a := obj(t, wantStatus(t, srv, "GET", "/api/v2/actions/actions/"+id, nil, 200))
		if dv, ok := a["deployed_version"].(map[string]any); ok && dv["deployed"] == true {
			return
		}
	}
}

const noopAction = "exports.onExecuteCustomPhoneProvider = async (event, api) => {};"

func TestPhoneProviderRules(t *testing.T) {
	t.Parallel()
	twilioCfg := map[string]any{"sid": TwilioSID, "default_from": TwilioFrom, "delivery_methods": []any{"text", "voice"}}
	creds := map[string]any{"auth_token": TwilioAuthToken}
	customCfg := map[string]any{"delivery_methods": []any{"text"}}
	tests := []struct {
		name   string
		action string // "", "deployed", "bound"
		body   map[string]any
		status int
		msg    string
		code   string
	}{
		{"twilio ok", "", map[string]any{"name": "twilio", "disabled": false, "configuration": twilioCfg, "credentials": creds}, 201, "", ""},
		{"twilio mssid ok", "", map[string]any{"name": "twilio", "configuration": map[string]any{"sid": TwilioSID, "mssid": "MG0123", "delivery_methods": []any{"text"}}, "credentials": creds}, 201, "", ""},
		{"twilio without from or mssid", "", map[string]any{"name": "twilio", "configuration": map[string]any{"sid": "sid1", "delivery_methods": []any{"text", "voice"}}, "credentials": creds}, 400, msgBadNotification, ""},
		{"twilio without sid", "", map[string]any{"name": "twilio", "configuration": map[string]any{"default_from": TwilioFrom, "delivery_methods": []any{"text"}}, "credentials": creds}, 400, "Payload validation error: 'Missing required property: sid' on property configuration", ""},
		{"twilio without token", "", map[string]any{"name": "twilio", "configuration": twilioCfg, "credentials": map[string]any{}}, 400, "Payload validation error: 'Missing required property: auth_token' on property credentials", ""},
		{"no credentials", "", map[string]any{"name": "twilio", "configuration": twilioCfg}, 400, msgMissingCredentials, ""},
		{"null credentials", "bound", map[string]any{"name": "custom", "configuration": customCfg, "credentials": nil}, 400, msgMissingCredentials, ""},
		{"custom without credentials", "bound", map[string]any{"name": "custom", "configuration": customCfg}, 400, msgMissingCredentials, ""},
		// Recorded: Auth0 creates a custom provider with no Action at all.
		{"custom without action", "", map[string]any{"name": "custom", "configuration": customCfg, "credentials": map[string]any{}}, 201, "", ""},
		{"custom with deployed unbound action", "deployed", map[string]any{"name": "custom", "configuration": customCfg, "credentials": map[string]any{}}, 201, "", ""},
		{"custom ok", "bound", map[string]any{"name": "custom", "configuration": customCfg, "credentials": map[string]any{}}, 201, "", ""},
		{"custom with sid", "bound", map[string]any{"name": "custom", "configuration": map[string]any{"sid": "", "delivery_methods": []any{"text"}}, "credentials": map[string]any{}}, 201, "", ""},
		{"no delivery methods", "", map[string]any{"name": "twilio", "configuration": map[string]any{"sid": TwilioSID, "default_from": TwilioFrom, "delivery_methods": []any{}}, "credentials": creds}, 400, "Payload validation error: 'Array is too short (0), minimum 1' on property configuration.delivery_methods", ""},
		{"bad delivery method", "", map[string]any{"name": "twilio", "configuration": map[string]any{"sid": TwilioSID, "default_from": TwilioFrom, "delivery_methods": []any{"sms"}}, "credentials": creds}, 400, "Payload validation error: 'No enum match for: \"sms\"' on property configuration.delivery_methods", ""},
		{"bad name", "", map[string]any{"name": "vonage", "configuration": twilioCfg, "credentials": creds}, 400, "Payload validation error: 'No enum match for: \"vonage\"' on property name", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, Empty, WithActionBuild(time.Hour, 1))
			if tt.action != "" {
				deployCustomAction(t, srv, "sms-provider", noopAction, nil, tt.action == "bound")
			}
			const path = "/api/v2/branding/phone/providers"
			if tt.status != 201 {
				wantError(t, srv, "POST", path, tt.body, tt.status, tt.msg, tt.code)
				if n := len(srv.State().PhoneProviders); n != 0 {
					t.Errorf("refused POST stored %d providers", n)
				}
				return
			}
			status, raw, _ := callRaw(t, srv, "POST", path, tt.body, srv.Token)
			if status != 201 {
				t.Fatalf("status %d: %s", status, raw)
			}
			if strings.Contains(string(raw), "credentials") || strings.Contains(string(raw), TwilioAuthToken) {
				t.Errorf("create answer returns credentials: %s", raw)
			}
			// One provider per tenant.
			wantError(t, srv, "POST", path, tt.body, 409, msgProviderConflict, "")
			st := srv.State()
			if len(st.PhoneProviders) != 1 {
				t.Fatalf("state has %d providers", len(st.PhoneProviders))
			}
			if c, _ := tt.body["credentials"].(map[string]any); c["auth_token"] != nil && st.PhoneProviders[0].Credentials.AuthToken != TwilioAuthToken {
				t.Errorf("state lost the auth token")
			}
			_, raw, _ = callRaw(t, srv, "GET", path, nil, srv.Token)
			if strings.Contains(string(raw), TwilioAuthToken) {
				t.Errorf("list returns the auth token")
			}
		})
	}
}

func TestPhoneProviderLifecycle(t *testing.T) {
	t.Parallel()
	srv := newServer(t, Unified)
	const id = "pro_8mQ3vR6tY1uI4oPa"
	p := "/api/v2/branding/phone/providers/" + id
	got := obj(t, wantStatus(t, srv, "GET", p, nil, 200))
	want := map[string]any{"id": id, "tenant": TenantName, "name": "twilio", "channel": "phone", "disabled": false,
		"configuration": map[string]any{"sid": TwilioSID, "default_from": TwilioFrom, "delivery_methods": []any{"text", "voice"}},
		"created_at":    seedTime, "updated_at": seedTime}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("GET provider (-want +got):\n%s", diff)
	}
	v := obj(t, wantStatus(t, srv, "PATCH", p, map[string]any{"disabled": true}, 200))
	if v["disabled"] != true || obj(t, v["configuration"])["sid"] != TwilioSID {
		t.Errorf("PATCH disabled: %v", v)
	}
	if srv.State().PhoneProviders[0].Credentials.AuthToken != TwilioAuthToken {
		t.Errorf("PATCH without credentials dropped the stored token")
	}
	wantError(t, srv, "PATCH", p, map[string]any{}, 400, "Payload validation error: 'Too few properties defined (0), minimum 1'", "")
	try := obj(t, wantStatus(t, srv, "POST", p+"/try", map[string]any{"to": "+15551230000", "delivery_method": "text"}, 202))
	if diff := cmp.Diff(map[string]any{"code": 202.0, "message": "Test notification successfully sent for processing"}, try); diff != "" {
		t.Errorf("try (-want +got):\n%s", diff)
	}
	wantError(t, srv, "POST", p+"/try", map[string]any{}, 400, "Payload validation error: 'Missing required property: to'", "")
	wantStatus(t, srv, "DELETE", p, nil, 204)
	wantError(t, srv, "GET", p, nil, 404, msgProviderNotConfig, "")
	wantError(t, srv, "DELETE", p, nil, 404, msgProviderNotConfig, "")
	v = obj(t, wantStatus(t, srv, "GET", "/api/v2/branding/phone/providers", nil, 200))
	if diff := cmp.Diff(map[string]any{"providers": []any{}}, v); diff != "" {
		t.Errorf("list after delete (-want +got):\n%s", diff)
	}
}

func TestPhoneTemplates(t *testing.T) {
	t.Parallel()
	srv := newServer(t, Empty)
	const path = "/api/v2/branding/phone/templates"
	created := obj(t, wantStatus(t, srv, "POST", path, map[string]any{
		"type": "otp_verify", "disabled": false,
		"content": map[string]any{"syntax": "liquid", "from": "+15550001111", "body": map[string]any{"text": "Code {{ code }}", "voice": "Your code is {{ code }}"}},
	}, 201))
	id := created["id"].(string)
	want := map[string]any{"id": id, "channel": "phone", "tenant": TenantName, "type": "otp_verify", "disabled": false,
		"content":    map[string]any{"syntax": "liquid", "from": "+15550001111", "body": map[string]any{"text": "Code {{ code }}", "voice": "Your code is {{ code }}"}},
		"created_at": created["created_at"], "updated_at": created["updated_at"]}
	if created["created_at"] == nil || created["updated_at"] == nil {
		t.Errorf("create answer without created_at/updated_at: %v", created)
	}
	if diff := cmp.Diff(want, created); diff != "" {
		t.Errorf("create (-want +got):\n%s", diff)
	}
	wantError(t, srv, "POST", path, map[string]any{"type": "otp_verify"}, 409, msgTemplateConflict, "")
	wantError(t, srv, "POST", path, map[string]any{"type": "welcome"}, 400, "Payload validation error: 'No enum match for: \"welcome\"' on property type", "")
	tests := []struct {
		name   string
		body   map[string]any
		status int
		msg    string
	}{
		{"type is not patchable", map[string]any{"type": "otp_enroll"}, 400, "Payload validation error: 'Additional properties not allowed: type'"},
		{"syntax is not patchable", map[string]any{"content": map[string]any{"syntax": "md"}}, 400, "Payload validation error: 'Additional properties not allowed: syntax' on property content"},
		{"body and disabled", map[string]any{"disabled": true, "content": map[string]any{"body": map[string]any{"text": "New {{ code }}"}}}, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.status != 200 {
				wantError(t, srv, "PATCH", path+"/"+id, tt.body, tt.status, tt.msg, "")
				return
			}
			v := obj(t, wantStatus(t, srv, "PATCH", path+"/"+id, tt.body, 200))
			c := obj(t, v["content"])
			if v["disabled"] != true || obj(t, c["body"])["text"] != "New {{ code }}" || obj(t, c["body"])["voice"] != "Your code is {{ code }}" || c["from"] != "+15550001111" {
				t.Errorf("PATCH merged content wrongly: %v", v)
			}
		})
	}
	// The disabled customised otp_verify is left out; the id-less defaults
	// of the other types are listed.
	list := obj(t, wantStatus(t, srv, "GET", path+"?disabled=false", nil, 200))
	if got, want := templateTypesOf(t, list), []string{"blocked_account", "change_password", "otp_enroll"}; !slices.Equal(got, want) {
		t.Errorf("disabled=false lists %v, want %v", got, want)
	}
	wantStatus(t, srv, "POST", path+"/"+id+"/try", map[string]any{"to": "+15550001111"}, 202)
	// Reset restores the default texts and keeps from (recorded).
	reset := obj(t, wantStatus(t, srv, "PATCH", path+"/"+id+"/reset", map[string]any{}, 200))
	wantContent := map[string]any{"syntax": "liquid", "from": "+15550001111", "body": map[string]any{"text": DefaultVerifyText, "voice": DefaultVerifyVoice}}
	if diff := cmp.Diff(wantContent, reset["content"]); diff != "" || reset["id"] != id {
		t.Errorf("reset content (-want +got):\n%s", diff)
	}
	wantStatus(t, srv, "DELETE", path+"/"+id, nil, 204)
	wantError(t, srv, "GET", path+"/"+id, nil, 404, "Phone template not found", "")
	// Deleted: otp_verify is back to its id-less default.
	all := obj(t, wantStatus(t, srv, "GET", path, nil, 200))["templates"].([]any)
	for _, x := range all {
		if m := obj(t, x); m["type"] == "otp_verify" {
			if _, hasID := m["id"]; hasID || obj(t, m["content"])["from"] != "" {
				t.Errorf("otp_verify after delete: %v, want the id-less default with from \"\"", m)
			}
		}
	}
}

func TestPhoneTemplatesListDefaults(t *testing.T) {
	t.Parallel()
	srv := newServer(t, Empty)
	const path = "/api/v2/branding/phone/templates"
	list := obj(t, wantStatus(t, srv, "GET", path, nil, 200))
	if got, want := templateTypesOf(t, list), []string{"blocked_account", "change_password", "otp_enroll", "otp_verify"}; !slices.Equal(got, want) {
		t.Fatalf("types %v, want %v", got, want)
	}
	for _, x := range list["templates"].([]any) {
		m := obj(t, x)
		if _, ok := m["id"]; ok {
			t.Errorf("default %v has an id", m["type"])
		}
		d, _ := DefaultPhoneTemplate(m["type"].(string))
		want := map[string]any{"syntax": "liquid", "from": "", "body": map[string]any{"text": d.Content.Body.Text, "voice": d.Content.Body.Voice}}
		if diff := cmp.Diff(want, m["content"]); diff != "" {
			t.Errorf("%v content (-want +got):\n%s", m["type"], diff)
		}
	}
	// Customising a type that only has its default is a POST.
	wantStatus(t, srv, "POST", path, map[string]any{"type": "otp_enroll", "content": map[string]any{"body": map[string]any{"text": "{{ code }}"}}}, 201)
	list = obj(t, wantStatus(t, srv, "GET", path, nil, 200))
	n := 0
	for _, x := range list["templates"].([]any) {
		if m := obj(t, x); m["type"] == "otp_enroll" {
			n++
			if _, ok := m["id"]; !ok {
				t.Errorf("customised otp_enroll listed without id")
			}
		}
	}
	if n != 1 {
		t.Errorf("otp_enroll listed %d times, want once", n)
	}
}

func templateTypesOf(t *testing.T, list map[string]any) []string {
	t.Helper()
	var out []string
	for _, x := range list["templates"].([]any) {
		out = append(out, obj(t, x)["type"].(string))
	}
	return out
}

func TestActionsBuildDeployBind(t *testing.T) {
	t.Parallel()
	srv := newServer(t, Empty, WithActionBuild(time.Hour, 3))
	create := map[string]any{
		"name": "sms-provider", "code": noopAction, "runtime": "node22",
		"supported_triggers": []any{map[string]any{"id": "custom-phone-provider", "version": "v1"}},
		"secrets":            []any{map[string]any{"name": "GATEWAY_SECRET", "value": "s3cr3t-value"}},
		"dependencies":       []any{map[string]any{"name": "undici", "version": "6.0.0"}},
	}
	status, raw, _ := callRaw(t, srv, "POST", "/api/v2/actions/actions", create, srv.Token)
	if status != 201 {
		t.Fatalf("create: %d %s", status, raw)
	}
	if strings.Contains(string(raw), "s3cr3t-value") {
		t.Errorf("create answer returns a secret value")
	}
	a := obj(t, jsonValue(t, raw))
	id := a["id"].(string)
	if a["status"] != "pending" {
		t.Errorf("status after create = %v, want pending", a["status"])
	}
	wantError(t, srv, "POST", "/api/v2/actions/actions/"+id+"/deploy", nil, 400, msgDraftNotBuilt, "")
	wantError(t, srv, "PATCH", "/api/v2/actions/triggers/custom-phone-provider/bindings",
		map[string]any{"bindings": []any{map[string]any{"ref": map[string]any{"type": "action_id", "value": id}}}}, 400,
		"Invalid binding: action "+id+" must be deployed before it is bound.", "")
	var statuses []string
	for range 3 {
		statuses = append(statuses, obj(t, wantStatus(t, srv, "GET", "/api/v2/actions/actions/"+id, nil, 200))["status"].(string))
	}
	if diff := cmp.Diff([]string{"building", "building", "built"}, statuses); diff != "" {
		t.Errorf("statuses over 3 GETs (-want +got):\n%s", diff)
	}
	// Recorded: 200 with the new version, not deployed yet.
	dep := obj(t, wantStatus(t, srv, "POST", "/api/v2/actions/actions/"+id+"/deploy", nil, 200))
	if dep["deployed"] != false || obj(t, dep["action"])["id"] != id || dep["number"] != 1.0 {
		t.Errorf("deploy answer: %v", dep)
	}
	wantError(t, srv, "PATCH", "/api/v2/actions/triggers/custom-phone-provider/bindings",
		map[string]any{"bindings": []any{map[string]any{"ref": map[string]any{"type": "action_id", "value": id}}}}, 400,
		"Invalid binding: action "+id+" must be deployed before it is bound.", "")
	if cur := obj(t, wantStatus(t, srv, "GET", "/api/v2/actions/actions/"+id, nil, 200))["current_version"]; obj(t, cur)["id"] != dep["id"] {
		t.Errorf("current_version %v, want the deployed version %v", cur, dep["id"])
	}
	waitDeployed(t, srv, id)
	// One Action per custom-phone-provider trigger.
	second := map[string]any{"name": "other", "supported_triggers": create["supported_triggers"]}
	wantError(t, srv, "POST", "/api/v2/actions/actions", second, 403, msgCardinalityPhone, codeCardinalityPhone)
	wantError(t, srv, "POST", "/api/v2/actions/actions", map[string]any{"name": "x", "runtime": "node12", "supported_triggers": create["supported_triggers"]}, 400, "Runtime node12 is not supported by trigger custom-phone-provider", "")

	b := obj(t, wantStatus(t, srv, "PATCH", "/api/v2/actions/triggers/custom-phone-provider/bindings",
		map[string]any{"bindings": []any{map[string]any{"ref": map[string]any{"type": "action_name", "value": "sms-provider"}, "display_name": "SMS"}}}, 200))
	bs := b["bindings"].([]any)
	if len(bs) != 1 || obj(t, obj(t, bs[0])["action"])["id"] != id || obj(t, bs[0])["display_name"] != "SMS" {
		t.Errorf("bindings answer: %v", b)
	}
	st := srv.State()
	wantAction := Action{ID: id, Name: "sms-provider", Code: noopAction, Runtime: "node22", Dependencies: []Dependency{{"undici", "6.0.0"}},
		Secrets: []ActionSecret{{Name: "GATEWAY_SECRET", Value: "s3cr3t-value"}}, Status: "built", Deployed: true, AllChangesDeployed: true, DeployedVersion: 1,
		SupportedTriggers: []Trigger{{"custom-phone-provider", "v1"}}}
	if diff := cmp.Diff([]Action{wantAction}, st.Actions, cmpIgnoreTimes); diff != "" {
		t.Errorf("state actions (-want +got):\n%s", diff)
	}
	if len(st.TriggerBindings["custom-phone-provider"]) != 1 || st.TriggerBindings["custom-phone-provider"][0].ActionID != id {
		t.Errorf("state bindings: %v", st.TriggerBindings)
	}
	// PATCH rebuilds and leaves the deployed version in place.
	v := obj(t, wantStatus(t, srv, "PATCH", "/api/v2/actions/actions/"+id, map[string]any{"code": "// v2\n" + noopAction}, 200))
	if v["status"] != "pending" || v["all_changes_deployed"] != false || obj(t, v["deployed_version"])["code"] != noopAction {
		t.Errorf("PATCH answer: status %v all_changes_deployed %v", v["status"], v["all_changes_deployed"])
	}
	wantError(t, srv, "DELETE", "/api/v2/actions/actions/"+id, nil, 409, "This action is bound to a trigger. Remove the binding first, or delete with force=true.", "")
	wantStatus(t, srv, "DELETE", "/api/v2/actions/actions/"+id+"?force=true", nil, 204)
	if st := srv.State(); len(st.Actions) != 0 || len(st.TriggerBindings["custom-phone-provider"]) != 0 {
		t.Errorf("force delete left %v / %v", st.Actions, st.TriggerBindings)
	}
	wantError(t, srv, "GET", "/api/v2/actions/actions/"+id, nil, 404, "That action does not exist.", "")
}

func TestActionsListPaging(t *testing.T) {
	t.Parallel()
	srv := newServer(t, Empty)
	for i := range 5 {
		wantStatus(t, srv, "POST", "/api/v2/actions/actions", map[string]any{"name": fmt.Sprintf("login-%d", i),
			"supported_triggers": []any{map[string]any{"id": "post-login"}}}, 201)
	}
	wantStatus(t, srv, "POST", "/api/v2/actions/actions", map[string]any{"name": "phone",
		"supported_triggers": []any{map[string]any{"id": "custom-phone-provider", "version": "v1"}}}, 201)
	tests := []struct {
		query string
		names []string
		total float64
	}{
		{"?page=0&per_page=2&triggerId=post-login", []string{"login-0", "login-1"}, 5},
		{"?page=1&per_page=2&triggerId=post-login", []string{"login-2", "login-3"}, 5},
		{"?page=2&per_page=2&triggerId=post-login", []string{"login-4"}, 5},
		{"?page=3&per_page=2&triggerId=post-login", []string{}, 0}, // the offset pager stops on an empty page; no total (recorded)
		{"?triggerId=custom-phone-provider", []string{"phone"}, 1},
		{"?actionName=login-3", []string{"login-3"}, 1},
		{"?page=1", []string{}, 0}, // go-auth0's List(ctx, nil) asks for page=1
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			v := obj(t, wantStatus(t, srv, "GET", "/api/v2/actions/actions"+tt.query, nil, 200))
			names := []string{}
			for _, a := range v["actions"].([]any) {
				names = append(names, obj(t, a)["name"].(string))
			}
			if diff := cmp.Diff(tt.names, names); diff != "" {
				t.Errorf("names (-want +got):\n%s", diff)
			}
			if total, _ := v["total"].(float64); total != tt.total {
				t.Errorf("total %v, want %v", v["total"], tt.total)
			}
		})
	}
	wantStatus(t, srv, "GET", "/api/v2/actions/actions?per_page=0", nil, 400)
}

func TestBindingsPaging(t *testing.T) {
	t.Parallel()
	srv := newServer(t, Empty, WithActionBuild(0, 0))
	var refs []any
	for i := range 3 {
		a := obj(t, wantStatus(t, srv, "POST", "/api/v2/actions/actions", map[string]any{"name": fmt.Sprintf("a%d", i),
			"supported_triggers": []any{map[string]any{"id": "post-login"}}}, 201))
		id := a["id"].(string)
		wantStatus(t, srv, "POST", "/api/v2/actions/actions/"+id+"/deploy", nil, 200)
		waitDeployed(t, srv, id)
		refs = append(refs, map[string]any{"ref": map[string]any{"type": "action_id", "value": id}})
	}
	wantStatus(t, srv, "PATCH", "/api/v2/actions/triggers/post-login/bindings", map[string]any{"bindings": refs}, 200)
	var counts []int
	for page := range 3 {
		v := obj(t, wantStatus(t, srv, "GET", fmt.Sprintf("/api/v2/actions/triggers/post-login/bindings?page=%d&per_page=2", page), nil, 200))
		counts = append(counts, len(v["bindings"].([]any)))
	}
	if diff := cmp.Diff([]int{2, 1, 0}, counts); diff != "" {
		t.Errorf("bindings per page (-want +got):\n%s", diff)
	}
	wantStatus(t, srv, "GET", "/api/v2/actions/triggers/nope/bindings", nil, 404)
	// A custom-phone-provider Action cannot bind to post-login.
	wantStatus(t, srv, "PATCH", "/api/v2/actions/triggers/custom-phone-provider/bindings", map[string]any{"bindings": refs[:1]}, 400)
}

func TestNotFoundAndBadJSON(t *testing.T) {
	t.Parallel()
	srv := newServer(t, Empty)
	wantError(t, srv, "GET", "/api/v2/nope", nil, 404, "Not Found", "")
	status, raw, _ := callRaw(t, srv, "POST", "/api/v2/connections", nil, srv.Token)
	_ = raw
	if status != 400 {
		t.Errorf("empty create body: %d, want 400", status)
	}
	req, _ := http.NewRequest("PATCH", srv.URL+"/api/v2/tenants/settings", strings.NewReader("{not json"))
	req.Header.Set("Authorization", "Bearer "+srv.Token)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	_ = jsonDecode(resp.Body, &m)
	resp.Body.Close()
	if diff := cmp.Diff(errBody(400, msgInvalidJSON, ""), m); diff != "" {
		t.Errorf("bad JSON (-want +got):\n%s", diff)
	}
}
