package phonemigratetest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseScenario(t *testing.T) {
	t.Parallel()
	for _, sc := range Scenarios() {
		got, err := ParseScenario(" " + string(sc) + " ")
		if err != nil || got != sc {
			t.Errorf("ParseScenario(%q) = %q, %v", sc, got, err)
		}
	}
	if _, err := ParseScenario("LEGACY-GATEWAY"); err != nil {
		t.Errorf("case-insensitive parse failed: %v", err)
	}
	_, err := ParseScenario("staging")
	if !errors.Is(err, ErrUnknownScenario) {
		t.Errorf("ParseScenario(staging) = %v, want ErrUnknownScenario", err)
	}
}

func TestNewServerPanicsOnUnknownScenario(t *testing.T) {
	t.Parallel()
	defer func() {
		if recover() == nil {
			t.Error("NewServer(unknown) did not panic")
		}
	}()
	NewServer("nope").Close()
}

func TestScenarioContents(t *testing.T) {
	t.Parallel()
	type facts struct {
		upe           bool
		smsConns      int
		provider      string // legacy connection provider key, "" none
		smsFactor     bool
		messageTypes  []string
		selected      string
		guardianSID   string
		phoneProvider string
		templates     int
	}
	tests := []struct {
		sc   Scenario
		want facts
	}{
		{Empty, facts{selected: "auth0", messageTypes: []string{}}},
		{LegacyGateway, facts{smsConns: 1, provider: "sms_gateway", selected: "auth0", messageTypes: []string{}}},
		{LegacyTwilio, facts{smsConns: 1, provider: "", selected: "auth0", messageTypes: []string{}}},
		{MFATwilio, facts{smsFactor: true, messageTypes: []string{"sms", "voice"}, selected: "twilio", guardianSID: TwilioSID}},
		{Mixed, facts{smsConns: 1, provider: "sms_gateway", smsFactor: true, messageTypes: []string{"sms"}, selected: "twilio", guardianSID: TwilioSID}},
		{Unified, facts{upe: true, smsConns: 1, smsFactor: true, messageTypes: []string{"sms"}, selected: "auth0", phoneProvider: "twilio", templates: 2}},
	}
	for _, tt := range tests {
		t.Run(string(tt.sc), func(t *testing.T) {
			srv := newServer(t, tt.sc)
			st := srv.State()
			var got facts
			got.upe, _ = st.TenantSettings["phone_consolidated_experience"].(bool)
			for _, c := range st.Connections {
				if c.Strategy == "sms" {
					got.smsConns++
					got.provider, _ = c.Options["provider"].(string)
				}
			}
			for _, f := range st.Guardian.Factors {
				if f.Name == "sms" {
					got.smsFactor = f.Enabled
				}
			}
			got.messageTypes = st.Guardian.MessageTypes
			got.selected = st.Guardian.SelectedProvider
			got.guardianSID = st.Guardian.Twilio.SID
			if len(st.PhoneProviders) > 0 {
				got.phoneProvider = st.PhoneProviders[0].Name
			}
			got.templates = len(st.PhoneTemplates)
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(facts{})); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if !slices.ContainsFunc(st.Connections, func(c Connection) bool { return c.Strategy == "auth0" }) {
				t.Errorf("no database connection")
			}
		})
	}

	// The gateway scenario in detail: what a migration must carry over.
	srv := newServer(t, LegacyGateway)
	c := srv.State().Connections[1]
	wantOpts := map[string]any{
		"name": "sms", "provider": "sms_gateway", "gateway_url": srv.Gateway().URL + GatewayPath,
		"gateway_authentication": map[string]any{"method": "bearer", "subject": GatewaySubject, "audience": GatewayAudience, "secret": GatewaySecret, "secret_base64_encoded": false},
		"forward_req_info":       true, "from": SMSFrom, "syntax": "md_with_macros", "template": GatewayTemplate,
		"totp": map[string]any{"time_step": 300.0, "length": 6.0}, "brute_force_protection": true, "disable_signup": false,
		"custom_flag": "keep-me", "upstream_params": map[string]any{"screen_hint": map[string]any{"value": "sms"}},
	}
	if diff := cmp.Diff(wantOpts, c.Options); diff != "" {
		t.Errorf("legacy-gateway options (-want +got):\n%s", diff)
	}
	other := newServer(t, LegacyGateway, WithGatewayURL("https://sms.acme.example/send"))
	if got := other.State().Connections[1].Options["gateway_url"]; got != "https://sms.acme.example/send" {
		t.Errorf("WithGatewayURL: gateway_url = %v", got)
	}
}

func TestStateEndpoint(t *testing.T) {
	t.Parallel()
	srv := newServer(t, Unified)
	status, raw, _ := callRaw(t, srv, "GET", "/__fake/state", nil, "")
	if status != 200 {
		t.Fatalf("status %d", status)
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(raw, &keys); err != nil {
		t.Fatal(err)
	}
	var got []string
	for k := range keys {
		got = append(got, k)
	}
	slices.Sort(got)
	want := []string{"actions", "connections", "guardian", "phone_providers", "phone_templates", "tenant_settings", "trigger_bindings"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("state keys (-want +got):\n%s", diff)
	}
	var guardian map[string]json.RawMessage
	_ = json.Unmarshal(keys["guardian"], &guardian)
	for _, k := range []string{"factors", "message_types", "selected_provider", "twilio"} {
		if _, ok := guardian[k]; !ok {
			t.Errorf("guardian lacks %q", k)
		}
	}
	var fromHTTP State
	if err := json.Unmarshal(raw, &fromHTTP); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(srv.State(), fromHTTP); diff != "" {
		t.Errorf("GET /__fake/state vs State() (-want +got):\n%s", diff)
	}
	// The state shows credentials (it is a fake).
	if fromHTTP.PhoneProviders[0].Credentials.AuthToken != TwilioAuthToken {
		t.Errorf("state hides the provider credentials")
	}
	// State is a deep copy.
	st := srv.State()
	st.Connections[1].Options["name"] = "changed"
	st.TenantSettings["friendly_name"] = "changed"
	if again := srv.State(); again.Connections[1].Options["name"] != "sms" || again.TenantSettings["friendly_name"] != TenantFriendlyName {
		t.Errorf("State() is not a deep copy")
	}
	// The empty tenant serializes slices as [], not null.
	_, raw, _ = callRaw(t, newServer(t, Empty), "GET", "/__fake/state", nil, "")
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	for _, k := range []string{"phone_providers", "phone_templates", "actions"} {
		if arr, ok := m[k].([]any); !ok || len(arr) != 0 {
			t.Errorf("%s = %v, want []", k, m[k])
		}
	}
}

func TestRequestLog(t *testing.T) {
	t.Parallel()
	srv := newServer(t, Empty)
	call(t, srv, "GET", "/api/v2/connections?strategy=sms&take=50", nil)
	callTok(t, srv, "GET", "/api/v2/guardian/factors", nil, "")
	call(t, srv, "PATCH", "/api/v2/tenants/settings", map[string]any{"friendly_name": "x"})
	call(t, srv, "GET", "/__fake/state", nil) // control calls are not logged
	want := []Request{
		{Method: "GET", Path: "/api/v2/connections", Query: "strategy=sms&take=50", Status: 200},
		{Method: "GET", Path: "/api/v2/guardian/factors", Status: 401},
		{Method: "PATCH", Path: "/api/v2/tenants/settings", Status: 200},
	}
	if diff := cmp.Diff(want, srv.Requests()); diff != "" {
		t.Errorf("Requests() (-want +got):\n%s", diff)
	}
	_, v := call(t, srv, "GET", "/__fake/requests", nil)
	b, _ := json.Marshal(v)
	var fromHTTP []Request
	_ = json.Unmarshal(b, &fromHTTP)
	if diff := cmp.Diff(want, fromHTTP); diff != "" {
		t.Errorf("GET /__fake/requests (-want +got):\n%s", diff)
	}
	if status, _ := call(t, srv, "DELETE", "/__fake/requests", nil); status != 204 {
		t.Errorf("DELETE /__fake/requests: %d", status)
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("%d requests after reset", n)
	}
}

func TestFaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		fault   Fault
		request [2]string // method, path
		want    []int     // statuses of successive identical requests; 0 = dropped
	}{
		{"status once", Fault{Method: "GET", Path: "/api/v2/guardian/factors", Status: 503, Times: 1}, [2]string{"GET", "/api/v2/guardian/factors"}, []int{503, 200}},
		{"status twice", Fault{Path: "/guardian/factors", Status: 500, Times: 2}, [2]string{"GET", "/api/v2/guardian/factors"}, []int{500, 500, 200}},
		{"wildcard", Fault{Path: "/api/v2/branding/*", Status: 429, Times: 1}, [2]string{"GET", "/api/v2/branding/phone/providers"}, []int{429, 200}},
		{"other method untouched", Fault{Method: "PATCH", Path: "/api/v2/tenants/settings", Status: 500}, [2]string{"GET", "/api/v2/tenants/settings"}, []int{200, 200}},
		{"other path untouched", Fault{Path: "/api/v2/connections", Status: 500}, [2]string{"GET", "/api/v2/guardian/factors"}, []int{200}},
		{"until cleared", Fault{Path: "/api/v2/guardian/factors", Status: 502}, [2]string{"GET", "/api/v2/guardian/factors"}, []int{502, 502, 502}},
		{"drop once", Fault{Path: "/api/v2/guardian/factors", Drop: true, Times: 1}, [2]string{"GET", "/api/v2/guardian/factors"}, []int{0, 200}},
		{"oauth token", Fault{Path: "/oauth/token", Status: 500, Times: 1}, [2]string{"POST", "/oauth/token"}, []int{500, 403}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, Empty)
			srv.InjectFault(tt.fault)
			var got []int
			for range tt.want {
				req, _ := http.NewRequest(tt.request[0], srv.URL+tt.request[1], nil)
				req.Header.Set("Authorization", "Bearer "+srv.Token)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					got = append(got, 0)
					continue
				}
				resp.Body.Close()
				got = append(got, resp.StatusCode)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("statuses (-want +got):\n%s", diff)
			}
			if slices.Contains(tt.want, 0) {
				if r := srv.Requests()[0]; r.Status != 0 {
					t.Errorf("dropped request logged with status %d, want 0", r.Status)
				}
			}
		})
	}

	t.Run("error body", func(t *testing.T) {
		srv := newServer(t, Empty)
		srv.InjectFault(Fault{Path: "/api/v2/connections", Status: 503, Times: 1})
		wantError(t, srv, "GET", "/api/v2/connections", nil, 503, "Injected fault", "")
	})
	t.Run("delay", func(t *testing.T) {
		// The client gives up once the fake holds its request (the fault
		// is used up when the request arrives), not after a wall-clock
		// time a busy machine could spend before sending it.
		srv := newServer(t, Empty)
		srv.InjectFault(Fault{Path: "/api/v2/guardian/factors", DelayMS: int(time.Hour.Milliseconds()), Times: 1})
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go func() {
			for len(srv.Faults()) > 0 && ctx.Err() == nil {
				time.Sleep(time.Millisecond)
			}
			cancel()
		}()
		req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/api/v2/guardian/factors", nil)
		req.Header.Set("Authorization", "Bearer "+srv.Token)
		if _, err := http.DefaultClient.Do(req); !errors.Is(err, context.Canceled) {
			t.Errorf("delayed request: err %v, want the client's cancellation", err)
		}
		// The fault was used up: the next request answers at once.
		if f := srv.Faults(); len(f) != 0 {
			t.Fatalf("faults left after the delayed request: %+v", f)
		}
		status, _ := call(t, srv, "GET", "/api/v2/guardian/factors", nil)
		if status != 200 {
			t.Errorf("after the delay fault: %d", status)
		}
	})
	t.Run("delay then status", func(t *testing.T) {
		srv := newServer(t, Empty)
		srv.InjectFault(Fault{Path: "/api/v2/guardian/factors", DelayMS: 20, Status: 500, Times: 1})
		if status, _ := call(t, srv, "GET", "/api/v2/guardian/factors", nil); status != 500 {
			t.Errorf("status %d, want 500 after the delay", status)
		}
	})
	t.Run("control API", func(t *testing.T) {
		srv := newServer(t, Empty)
		if status, _ := call(t, srv, "POST", "/__fake/faults", map[string]any{"method": "GET", "path": "/api/v2/connections", "status": 500, "times": 1}); status != 201 {
			t.Fatalf("POST /__fake/faults: %d", status)
		}
		if status, _ := call(t, srv, "GET", "/api/v2/connections", nil); status != 500 {
			t.Errorf("fault from the control API not applied: %d", status)
		}
		call(t, srv, "POST", "/__fake/faults", map[string]any{"path": "/api/v2/connections", "status": 500})
		if status, _ := call(t, srv, "DELETE", "/__fake/faults", nil); status != 204 {
			t.Errorf("DELETE /__fake/faults: %d", status)
		}
		if status, _ := call(t, srv, "GET", "/api/v2/connections", nil); status != 200 {
			t.Errorf("after DELETE /__fake/faults: %d", status)
		}
		for _, bad := range []map[string]any{{"status": 500}, {"path": "/x", "status": 42}, {"path": "/x"}, {"path": "/x", "status": 500, "bogus": 1}} {
			if status, _ := call(t, srv, "POST", "/__fake/faults", bad); status != 400 {
				t.Errorf("POST /__fake/faults %v: %d, want 400", bad, status)
			}
		}
	})
}

// TestRateLimit: the bucket's answers and headers. The limit's clock
// stands still at a whole second, so no token refills between the
// requests however slow the machine, and the 429's reset is exactly the
// next second.
func TestRateLimit(t *testing.T) {
	t.Parallel()
	start := time.Unix(1_800_000_000, 0)
	srv := newServer(t, Empty, WithRateLimit(1, 3), WithRateClock(func() time.Time { return start }))
	type answer struct {
		status    int
		limit     string
		remaining string
	}
	var got []answer
	var resets []int64
	for range 4 {
		status, _, h := callRaw(t, srv, "GET", "/api/v2/guardian/factors", nil, srv.Token)
		got = append(got, answer{status, h.Get("X-RateLimit-Limit"), h.Get("X-RateLimit-Remaining")})
		r, err := strconv.ParseInt(h.Get("X-RateLimit-Reset"), 10, 64)
		if err != nil {
			t.Fatalf("X-RateLimit-Reset %q: %v", h.Get("X-RateLimit-Reset"), err)
		}
		resets = append(resets, r)
	}
	want := []answer{{200, "3", "2"}, {200, "3", "1"}, {200, "3", "0"}, {429, "3", "0"}}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(answer{})); diff != "" {
		t.Errorf("answers (-want +got):\n%s", diff)
	}
	// The 429's reset is when the next token arrives: 1 s at 1/s. The
	// answers before it announce when the bucket is full again: 1, 2, 3 s.
	if diff := cmp.Diff([]int64{1, 2, 3, 1}, []int64{resets[0] - start.Unix(), resets[1] - start.Unix(), resets[2] - start.Unix(), resets[3] - start.Unix()}); diff != "" {
		t.Errorf("X-RateLimit-Reset after start, in seconds (-want +got):\n%s", diff)
	}
	wantError(t, srv, "GET", "/api/v2/guardian/factors", nil, 429, "Global limit has been reached", "too_many_requests")

	// The control API changes the limit; per_second 0 removes it and the headers.
	if status, v := call(t, srv, "POST", "/__fake/ratelimit", map[string]any{"per_second": 0, "burst": 0}); status != 200 {
		t.Fatalf("POST /__fake/ratelimit: %d %v", status, v)
	}
	status, _, h := callRaw(t, srv, "GET", "/api/v2/guardian/factors", nil, srv.Token)
	if status != 200 || h.Get("X-RateLimit-Limit") != "" {
		t.Errorf("after removing the limit: %d, X-RateLimit-Limit %q", status, h.Get("X-RateLimit-Limit"))
	}
	call(t, srv, "POST", "/__fake/ratelimit", map[string]any{"per_second": 0.001, "burst": 1})
	codes := []int{}
	for range 2 {
		s, _ := call(t, srv, "GET", "/api/v2/guardian/factors", nil)
		codes = append(codes, s)
	}
	if diff := cmp.Diff([]int{200, 429}, codes); diff != "" {
		t.Errorf("burst 1 (-want +got):\n%s", diff)
	}
	// The control API itself is never limited.
	if s, _ := call(t, srv, "GET", "/__fake/state", nil); s != 200 {
		t.Errorf("control API limited: %d", s)
	}
}

func TestControlNotFound(t *testing.T) {
	t.Parallel()
	srv := newServer(t, Empty)
	if status, _ := call(t, srv, "GET", "/__fake/nope", nil); status != 404 {
		t.Errorf("unknown control endpoint: %d", status)
	}
}

func TestCloseEndsInjectedDelays(t *testing.T) {
	t.Parallel()
	srv := NewServer(Empty)
	srv.InjectFault(Fault{Path: "/api/v2/*", DelayMS: 60_000})
	done := make(chan error, 1)
	go func() {
		req, _ := http.NewRequest("GET", srv.URL+"/api/v2/guardian/factors", nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	for len(srv.Requests()) == 0 && !srv.faultInFlight() {
		time.Sleep(5 * time.Millisecond)
	}
	start := time.Now()
	srv.Close()
	// Waiting for the request would take the delay's 60 s.
	if d := time.Since(start); d >= 30*time.Second {
		t.Errorf("Close took %v with a request in an injected delay", d)
	}
	<-done
}

func TestLoggerLogsNoSecrets(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	srv := newServer(t, LegacyGateway, WithLogger(slog.New(slog.NewTextHandler(&buf, nil))))
	call(t, srv, "PUT", "/api/v2/guardian/factors/phone/providers/twilio", map[string]any{"sid": TwilioSID, "auth_token": "tok-very-secret-0001"})
	call(t, srv, "GET", "/api/v2/connections/con_Gw7tQ2mN8xLp4RvZ", nil)
	notify(t, srv, NotifyRequest{Kind: "passwordless", Recipient: recipient})
	out := buf.String()
	for _, want := range []string{"method=PUT path=/api/v2/guardian/factors/phone/providers/twilio status=200", "path=/api/v2/connections/con_Gw7tQ2mN8xLp4RvZ status=200", "route=legacy_gateway delivered=true"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	for _, secret := range []string{"tok-very-secret-0001", srv.Token, GatewaySecret, srv.ClientSecret} {
		if strings.Contains(out, secret) {
			t.Errorf("log contains a secret:\n%s", out)
		}
	}
}

// TestCloseCutsStalledClients: a client that sends half a request body and
// then neither finishes nor hangs up holds its handler in the body read;
// Close must not wait for it forever (before, a test cleanup calling Close
// hung until the test binary's timeout).
//
// Each client asks "Expect: 100-continue" and sends its half body only
// once the server answered "100 Continue", which net/http does at the
// handler's first read of the body: Close then surely meets three handlers
// blocked in that read, however slow the machine (a connection whose
// request was not read yet would be closed at once, proving nothing).
func TestCloseCutsStalledClients(t *testing.T) {
	defer func(d time.Duration) { closeGrace = d }(closeGrace)
	closeGrace = 100 * time.Millisecond
	srv := NewServer(Empty)
	twilioAuth := "Basic " + base64.StdEncoding.EncodeToString([]byte(TwilioSID+":"+TwilioAuthToken))
	const ctJSON, ctForm = "application/json", "application/x-www-form-urlencoded"
	for _, target := range []struct{ host, path, auth, ctype, half string }{
		{srv.URL, "/api/v2/connections", "Bearer " + srv.Token, ctJSON, `{"name":`},
		{srv.Gateway().URL, GatewayPath, "Bearer " + srv.Token, ctJSON, `{"name":`},
		{srv.Twilio().URL, "/2010-04-01/Accounts/" + TwilioSID + "/Messages.json", twilioAuth, ctForm, "To=%2B1555"},
	} {
		conn, err := net.Dial("tcp", strings.TrimPrefix(target.host, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nAuthorization: %s\r\nContent-Type: %s\r\nContent-Length: 100\r\nExpect: 100-continue\r\n\r\n", target.path, target.auth, target.ctype)
		// Guards only against a hang: the answer comes as soon as the
		// handler reads.
		conn.SetReadDeadline(time.Now().Add(time.Minute))
		status, err := bufio.NewReader(conn).ReadString('\n')
		if err != nil || !strings.HasPrefix(status, "HTTP/1.1 100 ") {
			t.Fatalf("%s%s: %q, %v; want 100 Continue (the handler reading the body)", target.host, target.path, status, err)
		}
		conn.SetReadDeadline(time.Time{})
		io.WriteString(conn, target.half)
	}
	start := time.Now()
	srv.Close()
	// Waiting for the stalled clients would take forever; the grace is
	// 100 ms.
	if d := time.Since(start); d >= time.Minute {
		t.Errorf("Close took %v with stalled clients", d)
	}
}
