package auth0api

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/unifiedphone/unifiedphone/delivery"
	"github.com/unifiedphone/unifiedphone/phonemigrate"
)

const testToken = "tok-SECRET-abc123"

// setup starts an httptest server with a mux under /api/v2 and a Client
// talking to it with tiny backoffs, go-github style. Requests that match no
// handler fail the test.
func setup(t *testing.T, opts ...func(*Config)) (*Client, *http.ServeMux, *httptest.Server) {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("unexpected request %s %s", r.Method, r.URL)
		http.Error(w, "unexpected", http.StatusTeapot)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	cfg := Config{
		BaseURL:     srv.URL + "/api/v2",
		Token:       testToken,
		MaxAttempts: 3,
		MinBackoff:  time.Millisecond,
		MaxBackoff:  2 * time.Millisecond,
	}
	for _, o := range opts {
		o(&cfg)
	}
	c, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c, mux, srv
}

// wire is one request as it arrived.
type wire struct {
	Method string
	Path   string
	Query  url.Values
	Body   any // decoded JSON, nil when empty
}

// recorder records requests and checks the bearer token.
type recorder struct {
	t    *testing.T
	mu   sync.Mutex
	reqs []wire
}

func (rec *recorder) record(r *http.Request) wire {
	rec.t.Helper()
	if got, want := r.Header.Get("Authorization"), "Bearer "+testToken; got != want && !strings.HasPrefix(got, "Bearer cc-") {
		rec.t.Errorf("%s %s: Authorization = %q, want %q", r.Method, r.URL.Path, got, want)
	}
	raw, _ := io.ReadAll(r.Body)
	w := wire{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query()}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &w.Body); err != nil {
			rec.t.Errorf("%s %s: body is not JSON: %v", r.Method, r.URL.Path, err)
		}
	}
	if len(w.Query) == 0 {
		w.Query = nil
	}
	rec.mu.Lock()
	rec.reqs = append(rec.reqs, w)
	rec.mu.Unlock()
	return w
}

func (rec *recorder) requests() []wire {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]wire(nil), rec.reqs...)
}

// reply is a canned answer, chosen by the request's query (key "" matches
// any request).
type reply struct {
	status int
	body   string
}

func jsonv(t *testing.T, s string) any {
	t.Helper()
	if s == "" {
		return nil
	}
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("bad JSON literal %s: %v", s, err)
	}
	return v
}

func ptr[T any](v T) *T { return &v }

// endpoint is one Client method, called with fixed valid arguments.
type endpoint struct {
	name    string
	method  string
	path    string // below /api/v2
	replay  bool   // safe to replay: retried after 5xx and dropped connections
	call    func(ctx context.Context, c *Client) (any, error)
	replies map[string]reply // by raw query after removing nothing; "" = default
	want    []wire           // the requests on the wire, bodies as JSON literals in wantBody
	result  any
}

// The SMS options of a legacy gateway connection, with keys go-auth0's typed
// structs do not know or refuse as extra properties.
const gatewayOptions = `{
	"name":"sms","provider":"sms_gateway","gateway_url":"https://gw.example/sms",
	"gateway_authentication":{"method":"bearer","subject":"urn:auth0:sms","audience":"urn:gw","secret":"gw-secret","secret_base64_encoded":false},
	"from":"+15550001","syntax":"md_with_macros","template":"Code: @@password@@",
	"totp":{"time_step":300,"length":6},"forward_req_info":true,"brute_force_protection":true,
	"non_persistent_attrs":[],"upstream_params":{},"disable_signup":false,
	"x_unknown":{"nested":[1,"two",null]},"use_phone_provider":true,"twilio_sid":null}`

func endpoints(t *testing.T) []endpoint {
	opts := jsonv(t, gatewayOptions).(map[string]any)
	return []endpoint{
		{
			name: "TenantSettings", method: "GET", path: "/tenants/settings", replay: true,
			call:    func(ctx context.Context, c *Client) (any, error) { return c.TenantSettings(ctx) },
			replies: map[string]reply{"": {200, `{"friendly_name":"Acme","phone_consolidated_experience":true,"flags":{"x":true}}`}},
			want:    []wire{{Method: "GET", Path: "/api/v2/tenants/settings"}},
			result:  phonemigrate.TenantSettings{PhoneConsolidatedExperience: ptr(true), FriendlyName: "Acme"},
		},
		{
			name: "SetPhoneConsolidatedExperience", method: "PATCH", path: "/tenants/settings", replay: true,
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.SetPhoneConsolidatedExperience(ctx, false)
			},
			replies: map[string]reply{"": {200, ``}}, // empty 2xx body: no flag
			want:    []wire{{Method: "PATCH", Path: "/api/v2/tenants/settings", Body: jsonv(t, `{"phone_consolidated_experience":false}`)}},
			result:  phonemigrate.TenantSettings{},
		},
		{
			name: "ListSMSConnections", method: "GET", path: "/connections", replay: true,
			call: func(ctx context.Context, c *Client) (any, error) { return c.ListSMSConnections(ctx) },
			replies: map[string]reply{
				"":           {200, `{"connections":[{"id":"con_1","name":"sms","strategy":"sms","options":` + gatewayOptions + `}],"next":"cur_2"}`},
				"from=cur_2": {200, `{"connections":[{"id":"con_2","name":"sms-2","strategy":"sms","options":{"provider":"twilio"}}]}`},
			},
			want: []wire{
				{Method: "GET", Path: "/api/v2/connections", Query: url.Values{"strategy": {"sms"}, "take": {"50"}}},
				{Method: "GET", Path: "/api/v2/connections", Query: url.Values{"strategy": {"sms"}, "take": {"50"}, "from": {"cur_2"}}},
			},
			result: []phonemigrate.Connection{
				{ID: "con_1", Name: "sms", Strategy: "sms", Options: opts},
				{ID: "con_2", Name: "sms-2", Strategy: "sms", Options: map[string]any{"provider": "twilio"}},
			},
		},
		{
			name: "GetConnection", method: "GET", path: "/connections/con_1", replay: true,
			call:    func(ctx context.Context, c *Client) (any, error) { return c.GetConnection(ctx, "con_1") },
			replies: map[string]reply{"": {200, `{"id":"con_1","name":"sms","strategy":"sms","enabled_clients":["a"],"options":` + gatewayOptions + `}`}},
			want:    []wire{{Method: "GET", Path: "/api/v2/connections/con_1"}},
			result:  phonemigrate.Connection{ID: "con_1", Name: "sms", Strategy: "sms", Options: opts},
		},
		{
			name: "ReplaceConnectionOptions", method: "PATCH", path: "/connections/con_1", replay: true,
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.ReplaceConnectionOptions(ctx, "con_1", jsonv(t, gatewayOptions).(map[string]any))
			},
			replies: map[string]reply{"": {200, `{"id":"con_1","name":"sms","strategy":"sms","options":` + gatewayOptions + `}`}},
			want:    []wire{{Method: "PATCH", Path: "/api/v2/connections/con_1", Body: map[string]any{"options": opts}}},
			result:  phonemigrate.Connection{ID: "con_1", Name: "sms", Strategy: "sms", Options: opts},
		},
		{
			name: "GuardianFactors", method: "GET", path: "/guardian/factors", replay: true,
			call:    func(ctx context.Context, c *Client) (any, error) { return c.GuardianFactors(ctx) },
			replies: map[string]reply{"": {200, `[{"name":"sms","enabled":true,"trial_expired":false},{"name":"otp","enabled":false}]`}},
			want:    []wire{{Method: "GET", Path: "/api/v2/guardian/factors"}},
			result:  []phonemigrate.GuardianFactor{{Name: "sms", Enabled: true}, {Name: "otp"}},
		},
		{
			name: "PhoneMessageTypes", method: "GET", path: "/guardian/factors/phone/message-types", replay: true,
			call:    func(ctx context.Context, c *Client) (any, error) { return c.PhoneMessageTypes(ctx) },
			replies: map[string]reply{"": {200, `{"message_types":["voice","sms"]}`}},
			want:    []wire{{Method: "GET", Path: "/api/v2/guardian/factors/phone/message-types"}},
			result:  delivery.Of(delivery.Text, delivery.Voice),
		},
		{
			name: "SetPhoneMessageTypes", method: "PUT", path: "/guardian/factors/phone/message-types", replay: true,
			call: func(ctx context.Context, c *Client) (any, error) {
				return nil, c.SetPhoneMessageTypes(ctx, delivery.Of(delivery.Voice))
			},
			replies: map[string]reply{"": {200, `{"message_types":["voice"]}`}},
			want:    []wire{{Method: "PUT", Path: "/api/v2/guardian/factors/phone/message-types", Body: jsonv(t, `{"message_types":["voice"]}`)}},
		},
		{
			name: "SelectedPhoneProvider", method: "GET", path: "/guardian/factors/phone/selected-provider", replay: true,
			call:    func(ctx context.Context, c *Client) (any, error) { return c.SelectedPhoneProvider(ctx) },
			replies: map[string]reply{"": {200, `{"provider":"phone-message-hook"}`}},
			want:    []wire{{Method: "GET", Path: "/api/v2/guardian/factors/phone/selected-provider"}},
			result:  "phone-message-hook",
		},
		{
			name: "LegacyTwilio", method: "GET", path: "/guardian/factors/phone/providers/twilio", replay: true,
			call:    func(ctx context.Context, c *Client) (any, error) { return c.LegacyTwilio(ctx) },
			replies: map[string]reply{"": {200, `{"sid":"AC1","from":"+15550002","messaging_service_sid":"MG1","auth_token":"twilio-SECRET"}`}},
			want:    []wire{{Method: "GET", Path: "/api/v2/guardian/factors/phone/providers/twilio"}},
			result:  phonemigrate.LegacyTwilio{SID: "AC1", From: "+15550002", MessagingServiceSID: "MG1", AuthToken: "twilio-SECRET"},
		},
		{
			name: "LegacyPhoneTemplates", method: "GET", path: "/guardian/factors/phone/templates", replay: true,
			call:    func(ctx context.Context, c *Client) (any, error) { return c.LegacyPhoneTemplates(ctx) },
			replies: map[string]reply{"": {200, `{"enrollment_message":"{{code}} enrol","verification_message":"{{code}} verify"}`}},
			want:    []wire{{Method: "GET", Path: "/api/v2/guardian/factors/phone/templates"}},
			result:  phonemigrate.LegacyPhoneTemplates{EnrollmentMessage: "{{code}} enrol", VerificationMessage: "{{code}} verify"},
		},
		{
			name: "ListPhoneProviders", method: "GET", path: "/branding/phone/providers", replay: true,
			call: func(ctx context.Context, c *Client) (any, error) { return c.ListPhoneProviders(ctx) },
			replies: map[string]reply{"": {200, `{"providers":[
				{"id":"pro_1","tenant":"t","name":"custom","channel":"phone","disabled":false,"configuration":{"delivery_methods":["text"]},"created_at":"2025-07-10T06:25:58.824Z"},
				{"id":"pro_2","name":"twilio","channel":"phone","disabled":true,"configuration":{"sid":"AC9","default_from":"+15550003","mssid":"MG9","delivery_methods":["text","voice"]}}]}`}},
			want: []wire{{Method: "GET", Path: "/api/v2/branding/phone/providers"}},
			result: []phonemigrate.PhoneProvider{
				{ID: "pro_1", Name: "custom", Configuration: phonemigrate.ProviderConfiguration{DeliveryMethods: delivery.Of(delivery.Text)}, CreatedAt: time.Date(2025, 7, 10, 6, 25, 58, 824e6, time.UTC)},
				{ID: "pro_2", Name: "twilio", Disabled: true, Configuration: phonemigrate.ProviderConfiguration{SID: "AC9", DefaultFrom: "+15550003", MSSID: "MG9", DeliveryMethods: delivery.Of(delivery.Text, delivery.Voice)}},
			},
		},
		{
			name: "CreatePhoneProvider/twilio", method: "POST", path: "/branding/phone/providers",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.CreatePhoneProvider(ctx, phonemigrate.PhoneProviderRequest{
					Name:          "twilio",
					Configuration: phonemigrate.ProviderConfiguration{SID: "AC1", DefaultFrom: "+15550004", DeliveryMethods: delivery.Of(delivery.Voice, delivery.Text)},
					AuthToken:     "twilio-SECRET",
				})
			},
			replies: map[string]reply{"": {201, `{"id":"pro_3","name":"twilio","channel":"phone","disabled":false,"configuration":{"sid":"AC1","default_from":"+15550004","delivery_methods":["text","voice"]}}`}},
			want: []wire{{Method: "POST", Path: "/api/v2/branding/phone/providers", Body: jsonv(t,
				`{"name":"twilio","disabled":false,"configuration":{"sid":"AC1","default_from":"+15550004","delivery_methods":["text","voice"]},"credentials":{"auth_token":"twilio-SECRET"}}`)}},
			result: phonemigrate.PhoneProvider{ID: "pro_3", Name: "twilio", Configuration: phonemigrate.ProviderConfiguration{SID: "AC1", DefaultFrom: "+15550004", DeliveryMethods: delivery.Of(delivery.Text, delivery.Voice)}},
		},
		{
			name: "CreatePhoneProvider/custom", method: "POST", path: "/branding/phone/providers",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.CreatePhoneProvider(ctx, phonemigrate.PhoneProviderRequest{
					Name: "custom", Disabled: true,
					Configuration: phonemigrate.ProviderConfiguration{DeliveryMethods: delivery.Of(delivery.Text)},
				})
			},
			replies: map[string]reply{"": {201, `{"id":"pro_4","name":"custom","channel":"phone","disabled":true,"configuration":{"delivery_methods":["text"]}}`}},
			want: []wire{{Method: "POST", Path: "/api/v2/branding/phone/providers", Body: jsonv(t,
				`{"name":"custom","disabled":true,"configuration":{"delivery_methods":["text"]},"credentials":{}}`)}},
			result: phonemigrate.PhoneProvider{ID: "pro_4", Name: "custom", Disabled: true, Configuration: phonemigrate.ProviderConfiguration{DeliveryMethods: delivery.Of(delivery.Text)}},
		},
		{
			name: "UpdatePhoneProvider/twilio-keep-token", method: "PATCH", path: "/branding/phone/providers/pro_3", replay: true,
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.UpdatePhoneProvider(ctx, "pro_3", phonemigrate.PhoneProviderRequest{
					Name:          "twilio",
					Configuration: phonemigrate.ProviderConfiguration{SID: "AC1", MSSID: "MG1", DeliveryMethods: delivery.Of(delivery.Text)},
				})
			},
			replies: map[string]reply{"": {200, `{"id":"pro_3","name":"twilio","disabled":false,"configuration":{"sid":"AC1","mssid":"MG1","delivery_methods":["text"]}}`}},
			want: []wire{{Method: "PATCH", Path: "/api/v2/branding/phone/providers/pro_3", Body: jsonv(t,
				`{"name":"twilio","disabled":false,"configuration":{"sid":"AC1","mssid":"MG1","delivery_methods":["text"]}}`)}},
			result: phonemigrate.PhoneProvider{ID: "pro_3", Name: "twilio", Configuration: phonemigrate.ProviderConfiguration{SID: "AC1", MSSID: "MG1", DeliveryMethods: delivery.Of(delivery.Text)}},
		},
		{
			name: "UpdatePhoneProvider/custom", method: "PATCH", path: "/branding/phone/providers/pro_4", replay: true,
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.UpdatePhoneProvider(ctx, "pro_4", phonemigrate.PhoneProviderRequest{
					Name:          "custom",
					Configuration: phonemigrate.ProviderConfiguration{DeliveryMethods: delivery.Of(delivery.Text, delivery.Voice)},
				})
			},
			replies: map[string]reply{"": {200, `{"id":"pro_4","name":"custom","disabled":false,"configuration":{"delivery_methods":["text","voice"]}}`}},
			want: []wire{{Method: "PATCH", Path: "/api/v2/branding/phone/providers/pro_4", Body: jsonv(t,
				`{"name":"custom","disabled":false,"configuration":{"delivery_methods":["text","voice"]},"credentials":{}}`)}},
			result: phonemigrate.PhoneProvider{ID: "pro_4", Name: "custom", Configuration: phonemigrate.ProviderConfiguration{DeliveryMethods: delivery.Of(delivery.Text, delivery.Voice)}},
		},
		{
			name: "DeletePhoneProvider", method: "DELETE", path: "/branding/phone/providers/pro_4", replay: true,
			call:    func(ctx context.Context, c *Client) (any, error) { return nil, c.DeletePhoneProvider(ctx, "pro_4") },
			replies: map[string]reply{"": {204, ``}},
			want:    []wire{{Method: "DELETE", Path: "/api/v2/branding/phone/providers/pro_4"}},
		},
		{
			name: "TestPhoneProvider", method: "POST", path: "/branding/phone/providers/pro_4/try",
			call: func(ctx context.Context, c *Client) (any, error) {
				return nil, c.TestPhoneProvider(ctx, "pro_4", "+15550005", delivery.Voice)
			},
			replies: map[string]reply{"": {202, `{"code":0,"message":"queued"}`}},
			want:    []wire{{Method: "POST", Path: "/api/v2/branding/phone/providers/pro_4/try", Body: jsonv(t, `{"to":"+15550005","delivery_method":"voice"}`)}},
		},
		{
			name: "ListPhoneTemplates", method: "GET", path: "/branding/phone/templates", replay: true,
			call: func(ctx context.Context, c *Client) (any, error) { return c.ListPhoneTemplates(ctx) },
			replies: map[string]reply{"": {200, `{"templates":[{"id":"tem_1","channel":"phone","customizable":true,"tenant":"t","type":"otp_verify","disabled":false,
				"content":{"syntax":"liquid","from":"+15550006","body":{"text":"Code {{ code }}","voice":"Your code is {{ code }}"}},
				"created_at":"2025-08-01T10:00:00.123Z","updated_at":"2025-08-02T10:00:00.000Z"}]}`}},
			want: []wire{{Method: "GET", Path: "/api/v2/branding/phone/templates"}},
			result: []phonemigrate.PhoneTemplate{{ID: "tem_1", Type: "otp_verify",
				Content:   phonemigrate.PhoneTemplateContent{Syntax: "liquid", From: "+15550006", Text: "Code {{ code }}", Voice: "Your code is {{ code }}"},
				CreatedAt: time.Date(2025, 8, 1, 10, 0, 0, 123e6, time.UTC)}},
		},
		{
			name: "CreatePhoneTemplate", method: "POST", path: "/branding/phone/templates",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.CreatePhoneTemplate(ctx, phonemigrate.PhoneTemplate{Type: "otp_enroll",
					Content: phonemigrate.PhoneTemplateContent{Syntax: "liquid", Text: "Enrol {{ code }} <&>"}})
			},
			replies: map[string]reply{"": {201, `{"id":"tem_2","type":"otp_enroll","disabled":false,"content":{"syntax":"liquid","body":{"text":"Enrol {{ code }} <&>"}}}`}},
			want: []wire{{Method: "POST", Path: "/api/v2/branding/phone/templates", Body: jsonv(t,
				`{"type":"otp_enroll","disabled":false,"content":{"syntax":"liquid","body":{"text":"Enrol {{ code }} <&>"}}}`)}},
			result: phonemigrate.PhoneTemplate{ID: "tem_2", Type: "otp_enroll", Content: phonemigrate.PhoneTemplateContent{Syntax: "liquid", Text: "Enrol {{ code }} <&>"}},
		},
		{
			name: "UpdatePhoneTemplate", method: "PATCH", path: "/branding/phone/templates/tem_1", replay: true,
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.UpdatePhoneTemplate(ctx, "tem_1", phonemigrate.PhoneTemplateContent{Syntax: "liquid", From: "+15550007", Text: "T {{ code }}", Voice: "V {{ code }}"}, true)
			},
			replies: map[string]reply{"": {200, `{"id":"tem_1","type":"otp_verify","disabled":true,"content":{"syntax":"liquid","from":"+15550007","body":{"text":"T {{ code }}","voice":"V {{ code }}"}}}`}},
			want: []wire{{Method: "PATCH", Path: "/api/v2/branding/phone/templates/tem_1", Body: jsonv(t,
				`{"content":{"from":"+15550007","body":{"text":"T {{ code }}","voice":"V {{ code }}"}},"disabled":true}`)}},
			result: phonemigrate.PhoneTemplate{ID: "tem_1", Type: "otp_verify", Disabled: true, Content: phonemigrate.PhoneTemplateContent{Syntax: "liquid", From: "+15550007", Text: "T {{ code }}", Voice: "V {{ code }}"}},
		},
		{
			name: "DeletePhoneTemplate", method: "DELETE", path: "/branding/phone/templates/tem_1", replay: true,
			call:    func(ctx context.Context, c *Client) (any, error) { return nil, c.DeletePhoneTemplate(ctx, "tem_1") },
			replies: map[string]reply{"": {204, ``}},
			want:    []wire{{Method: "DELETE", Path: "/api/v2/branding/phone/templates/tem_1"}},
		},
		{
			name: "CreateAction", method: "POST", path: "/actions/actions",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.CreateAction(ctx, phonemigrate.ActionRequest{
					Name: "custom-phone", Runtime: "node22", Code: "exports.onExecuteCustomPhoneProvider = async () => {};",
					Secrets:      []phonemigrate.ActionSecret{{Name: "GATEWAY_SECRET", Value: "gw-SECRET"}},
					Dependencies: []phonemigrate.ActionDependency{{Name: "jsonwebtoken", Version: "9.0.2"}},
				})
			},
			replies: map[string]reply{"": {201, `{"id":"act_1","name":"custom-phone","runtime":"node22","code":"exports.onExecuteCustomPhoneProvider = async () => {};",
				"status":"building","supported_triggers":[{"id":"custom-phone-provider","version":"v1"}],"secrets":[{"name":"GATEWAY_SECRET","updated_at":"2025-01-01T00:00:00Z"}],"all_changes_deployed":false}`}},
			want: []wire{{Method: "POST", Path: "/api/v2/actions/actions", Body: jsonv(t, `{"name":"custom-phone",
				"supported_triggers":[{"id":"custom-phone-provider","version":"v1"}],"code":"exports.onExecuteCustomPhoneProvider = async () => {};",
				"runtime":"node22","dependencies":[{"name":"jsonwebtoken","version":"9.0.2"}],"secrets":[{"name":"GATEWAY_SECRET","value":"gw-SECRET"}]}`)}},
			result: phonemigrate.Action{ID: "act_1", Name: "custom-phone", Runtime: "node22", Code: "exports.onExecuteCustomPhoneProvider = async () => {};",
				Status: "building", SupportedTriggers: []string{"custom-phone-provider"}, SecretNames: []string{"GATEWAY_SECRET"}},
		},
		{
			name: "GetAction", method: "GET", path: "/actions/actions/act_1", replay: true,
			call: func(ctx context.Context, c *Client) (any, error) { return c.GetAction(ctx, "act_1") },
			replies: map[string]reply{"": {200, `{"id":"act_1","name":"custom-phone","runtime":"node22","code":"x","status":"built",
				"supported_triggers":[{"id":"custom-phone-provider","version":"v1"}],"deployed_version":{"id":"ver_1","deployed":true,"number":1}}`}},
			want: []wire{{Method: "GET", Path: "/api/v2/actions/actions/act_1"}},
			result: phonemigrate.Action{ID: "act_1", Name: "custom-phone", Runtime: "node22", Code: "x", Status: "built", Deployed: true,
				SupportedTriggers: []string{"custom-phone-provider"}},
		},
		{
			name: "DeployAction", method: "POST", path: "/actions/actions/act_1/deploy",
			call:    func(ctx context.Context, c *Client) (any, error) { return nil, c.DeployAction(ctx, "act_1") },
			replies: map[string]reply{"": {200, `{"id":"ver_1","action_id":"act_1","deployed":true,"number":1,"status":"built"}`}},
			want:    []wire{{Method: "POST", Path: "/api/v2/actions/actions/act_1/deploy"}},
		},
		{
			name: "ListActionsByTrigger", method: "GET", path: "/actions/actions", replay: true,
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.ListActionsByTrigger(ctx, phonemigrate.TriggerCustomPhoneProvider)
			},
			replies: map[string]reply{
				"page=0": {200, `{"total":2,"page":0,"per_page":1,"actions":[{"id":"act_1","name":"a","status":"built","created_at":"2025-08-01T10:00:00Z"}]}`},
				"page=1": {200, `{"total":2,"page":1,"per_page":1,"actions":[{"id":"act_2","name":"b","status":"pending"}]}`},
				"page=2": {200, `{"total":2,"page":2,"per_page":1,"actions":[]}`},
				"":       {200, `{"actions":[]}`},
			},
			want: []wire{
				{Method: "GET", Path: "/api/v2/actions/actions", Query: url.Values{"triggerId": {"custom-phone-provider"}, "page": {"0"}, "per_page": {"100"}}},
				{Method: "GET", Path: "/api/v2/actions/actions", Query: url.Values{"triggerId": {"custom-phone-provider"}, "page": {"1"}, "per_page": {"100"}}},
			},
			result: []phonemigrate.Action{{ID: "act_1", Name: "a", Status: "built", CreatedAt: time.Date(2025, 8, 1, 10, 0, 0, 0, time.UTC)}, {ID: "act_2", Name: "b", Status: "pending"}},
		},
		{
			// No total: a page shorter than the page size asked is the last.
			name: "ListActionsByTrigger/short page", method: "GET", path: "/actions/actions", replay: true,
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.ListActionsByTrigger(ctx, phonemigrate.TriggerCustomPhoneProvider)
			},
			replies: map[string]reply{
				"page=0": {200, `{"actions":[{"id":"act_1","name":"a","status":"built"}]}`},
				"":       {200, `{"actions":[{"id":"act_9","name":"never read"}]}`},
			},
			want: []wire{
				{Method: "GET", Path: "/api/v2/actions/actions", Query: url.Values{"triggerId": {"custom-phone-provider"}, "page": {"0"}, "per_page": {"100"}}},
			},
			result: []phonemigrate.Action{{ID: "act_1", Name: "a", Status: "built"}},
		},
		{
			// A full page without a total: the next one is read, and its
			// emptiness ends the listing.
			name: "ListActionsByTrigger/full page", method: "GET", path: "/actions/actions", replay: true,
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.ListActionsByTrigger(ctx, phonemigrate.TriggerCustomPhoneProvider)
			},
			replies: map[string]reply{
				"page=0": {200, `{"per_page":1,"actions":[{"id":"act_1","name":"a","status":"built"}]}`},
				"page=1": {200, `{"per_page":1,"actions":[]}`},
			},
			want: []wire{
				{Method: "GET", Path: "/api/v2/actions/actions", Query: url.Values{"triggerId": {"custom-phone-provider"}, "page": {"0"}, "per_page": {"100"}}},
				{Method: "GET", Path: "/api/v2/actions/actions", Query: url.Values{"triggerId": {"custom-phone-provider"}, "page": {"1"}, "per_page": {"100"}}},
			},
			result: []phonemigrate.Action{{ID: "act_1", Name: "a", Status: "built"}},
		},
		{
			name: "DeleteAction", method: "DELETE", path: "/actions/actions/act_1", replay: true,
			call:    func(ctx context.Context, c *Client) (any, error) { return nil, c.DeleteAction(ctx, "act_1", true) },
			replies: map[string]reply{"": {204, ``}},
			want:    []wire{{Method: "DELETE", Path: "/api/v2/actions/actions/act_1", Query: url.Values{"force": {"true"}}}},
		},
		{
			name: "TriggerBindings", method: "GET", path: "/actions/triggers/custom-phone-provider/bindings", replay: true,
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.TriggerBindings(ctx, phonemigrate.TriggerCustomPhoneProvider)
			},
			replies: map[string]reply{
				"page=0": {200, `{"total":1,"page":0,"per_page":50,"bindings":[{"id":"bnd_1","trigger_id":"custom-phone-provider","display_name":"cp","action":{"id":"act_1","name":"custom-phone"}}]}`},
				"":       {200, `{"bindings":[]}`},
			},
			want: []wire{
				{Method: "GET", Path: "/api/v2/actions/triggers/custom-phone-provider/bindings", Query: url.Values{"page": {"0"}, "per_page": {"50"}}},
			},
			result: []phonemigrate.Binding{{ID: "bnd_1", ActionID: "act_1", ActionName: "custom-phone", DisplayName: "cp"}},
		},
		{
			name: "SetTriggerBindings", method: "PATCH", path: "/actions/triggers/custom-phone-provider/bindings", replay: true,
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.SetTriggerBindings(ctx, phonemigrate.TriggerCustomPhoneProvider, []phonemigrate.BindingRef{{ActionID: "act_1", DisplayName: "cp"}})
			},
			replies: map[string]reply{"": {200, `{"bindings":[{"id":"bnd_2","trigger_id":"custom-phone-provider","display_name":"cp","action":{"id":"act_1","name":"custom-phone"}}]}`}},
			want: []wire{{Method: "PATCH", Path: "/api/v2/actions/triggers/custom-phone-provider/bindings", Body: jsonv(t,
				`{"bindings":[{"ref":{"type":"action_id","value":"act_1"},"display_name":"cp"}]}`)}},
			result: []phonemigrate.Binding{{ID: "bnd_2", ActionID: "act_1", ActionName: "custom-phone", DisplayName: "cp"}},
		},
		{
			name: "SetTriggerBindings/none", method: "PATCH", path: "/actions/triggers/custom-phone-provider/bindings", replay: true,
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.SetTriggerBindings(ctx, phonemigrate.TriggerCustomPhoneProvider, nil)
			},
			replies: map[string]reply{"": {200, `{"bindings":[]}`}},
			want:    []wire{{Method: "PATCH", Path: "/api/v2/actions/triggers/custom-phone-provider/bindings", Body: jsonv(t, `{"bindings":[]}`)}},
			result:  []phonemigrate.Binding{},
		},
	}
}

// pick chooses the reply for a request: the first key (other than "")
// whose query pairs all appear in the request, else "".
func pick(replies map[string]reply, q url.Values) reply {
	for k, r := range replies {
		if k == "" {
			continue
		}
		want, _ := url.ParseQuery(k)
		ok := true
		for name := range want {
			if q.Get(name) != want.Get(name) {
				ok = false
			}
		}
		if ok {
			return r
		}
	}
	return replies[""]
}

// TestClientMethods calls every Client method against canned answers and
// checks the requests on the wire and the decoded results.
func TestClientMethods(t *testing.T) {
	t.Parallel()
	for _, ep := range endpoints(t) {
		t.Run(ep.name, func(t *testing.T) {
			c, mux, _ := setup(t)
			rec := &recorder{t: t}
			mux.HandleFunc(ep.method+" /api/v2"+ep.path, func(w http.ResponseWriter, r *http.Request) {
				rec.record(r)
				rp := pick(ep.replies, r.URL.Query())
				if rp.body != "" {
					w.Header().Set("Content-Type", "application/json")
				}
				w.WriteHeader(rp.status)
				io.WriteString(w, rp.body)
			})
			got, err := ep.call(context.Background(), c)
			if err != nil {
				t.Fatalf("%s: %v", ep.name, err)
			}
			if diff := cmp.Diff(ep.want, rec.requests()); diff != "" {
				t.Errorf("requests on the wire (-want +got):\n%s", diff)
			}
			if ep.result != nil || got != nil {
				if diff := cmp.Diff(ep.result, got); diff != "" {
					t.Errorf("result (-want +got):\n%s", diff)
				}
			}
		})
	}
}
