package phonemigratetest

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/unifiedphone/unifiedphone/internal/actionrun"
)

const recipient = "+15551234567"

// independentGateway is a legacy SMS gateway written in the test, sharing no
// code with the package: it verifies the bearer JWT with golang-jwt itself.
type independentGateway struct {
	mu     sync.Mutex
	key    []byte
	bodies []map[string]any
	claims []jwt.MapClaims
	errs   []error
}

func (g *independentGateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	var body map[string]any
	_ = json.Unmarshal(raw, &body)
	claims := jwt.MapClaims{}
	_, err := jwt.ParseWithClaims(strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "), claims,
		func(tok *jwt.Token) (any, error) { return g.key, nil },
		jwt.WithValidMethods([]string{"HS256"}), jwt.WithAudience("urn:MySmsGateway"), jwt.WithSubject("urn:Auth0"),
		jwt.WithIssuedAt(), jwt.WithExpirationRequired())
	g.mu.Lock()
	g.bodies, g.claims, g.errs = append(g.bodies, body), append(g.claims, claims), append(g.errs, err)
	g.mu.Unlock()
	if err != nil {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func notify(t testing.TB, srv *Server, req NotifyRequest) NotifyResult {
	t.Helper()
	res, err := srv.Notify(context.Background(), req)
	if err != nil {
		t.Fatalf("Notify(%+v): %v", req, err)
	}
	return res
}

// TestGatewayScenario is the gateway scenario test: /__fake/notify on a
// legacy-gateway tenant makes a real HTTP POST to a local gateway that
// verifies the HS256 JWT on its own.
func TestGatewayScenario(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		sc   Scenario
		key  []byte
	}{
		{"plain secret", LegacyGateway, []byte(GatewaySecret)},
		{"base64url secret", Mixed, GatewaySecretBase64Key()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gw := &independentGateway{key: tt.key}
			hs := httptest.NewServer(gw)
			defer hs.Close()
			srv := newServer(t, tt.sc, WithGatewayURL(hs.URL+"/sms"))
			before := time.Now().Unix()

			// Through the control API, as a non-Go test would.
			status, v := call(t, srv, "POST", "/__fake/notify", map[string]any{
				"kind": "passwordless", "connection": "sms", "recipient": recipient, "ip": "198.51.100.4", "user_agent": "Mozilla/5.0 (test)",
			})
			if status != 200 {
				t.Fatalf("POST /__fake/notify: %d %v", status, v)
			}
			var res NotifyResult
			b, _ := json.Marshal(v)
			_ = json.Unmarshal(b, &res)
			code := otpCode(recipient, "otp_verify", 6)
			want := NotifyResult{Route: RouteLegacyGateway, Text: "Your ACME verification code is: " + code, Code: code, Delivered: true, Detail: "gateway answered 200"}
			if diff := cmp.Diff(want, res); diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}
			if len(gw.bodies) != 1 {
				t.Fatalf("gateway received %d requests", len(gw.bodies))
			}
			if gw.errs[0] != nil {
				t.Fatalf("gateway rejected the token: %v", gw.errs[0])
			}
			wantBody := map[string]any{"recipient": recipient, "body": want.Text, "sender": SMSFrom,
				"req": map[string]any{"ip": "198.51.100.4", "user-agent": "Mozilla/5.0 (test)"}}
			if diff := cmp.Diff(wantBody, gw.bodies[0]); diff != "" {
				t.Errorf("gateway body (-want +got):\n%s", diff)
			}
			c := gw.claims[0]
			iat, _ := c["iat"].(float64)
			exp, _ := c["exp"].(float64)
			if c["sub"] != GatewaySubject || c["aud"] != GatewayAudience || int64(iat) < before-1 || exp <= iat {
				t.Errorf("claims %v", c)
			}
		})
	}

	t.Run("wrong key is refused", func(t *testing.T) {
		gw := &independentGateway{key: []byte("not-the-secret")}
		hs := httptest.NewServer(gw)
		defer hs.Close()
		srv := newServer(t, LegacyGateway, WithGatewayURL(hs.URL))
		res := notify(t, srv, NotifyRequest{Kind: "passwordless", Recipient: recipient})
		if res.Route != RouteLegacyGateway || res.Delivered || !strings.Contains(res.Detail, "401") {
			t.Errorf("result %+v: want an undelivered legacy_gateway message with the 401", res)
		}
		if !errors.Is(gw.errs[0], jwt.ErrTokenSignatureInvalid) {
			t.Errorf("gateway error %v, want an invalid signature", gw.errs[0])
		}
	})

	t.Run("built-in gateway", func(t *testing.T) {
		srv := newServer(t, LegacyGateway)
		res := notify(t, srv, NotifyRequest{Kind: "passwordless", Recipient: recipient})
		msgs := srv.Gateway().Messages()
		if !res.Delivered || len(msgs) != 1 || !msgs[0].Verified || msgs[0].Path != GatewayPath || msgs[0].Body != res.Text || msgs[0].Claims["aud"] != GatewayAudience {
			t.Errorf("result %+v, gateway saw %+v", res, msgs)
		}
		if msgs[0].UserAgent != "Auth0" {
			t.Errorf("gateway User-Agent %q", msgs[0].UserAgent)
		}
		// Without forward_req_info there is no "req"; with a forced status the delivery fails.
		opts := srv.State().Connections[1].Options
		opts["forward_req_info"] = false
		wantStatus(t, srv, "PATCH", "/api/v2/connections/con_Gw7tQ2mN8xLp4RvZ", map[string]any{"options": opts}, 200)
		srv.Gateway().SetStatus(500)
		res = notify(t, srv, NotifyRequest{Kind: "passwordless", Recipient: recipient})
		msgs = srv.Gateway().Messages()
		if res.Delivered || msgs[1].Req != nil || msgs[1].Status != 500 {
			t.Errorf("result %+v, gateway saw %+v", res, msgs[1])
		}
		// A missing token is refused by the gateway.
		srv.Gateway().SetStatus(0)
		delete(opts, "gateway_authentication")
		wantStatus(t, srv, "PATCH", "/api/v2/connections/con_Gw7tQ2mN8xLp4RvZ", map[string]any{"options": opts}, 200)
		res = notify(t, srv, NotifyRequest{Kind: "passwordless", Recipient: recipient})
		if res.Delivered || srv.Gateway().Messages()[2].AuthError != "no bearer token" {
			t.Errorf("unsigned request: %+v / %+v", res, srv.Gateway().Messages()[2])
		}
	})
}

// upe turns the Unified Phone Experience on and, when use is not nil, sets
// options.use_phone_provider on connection id (whole-options PATCH).
func upe(t testing.TB, srv *Server, connID string, use any) {
	t.Helper()
	wantStatus(t, srv, "PATCH", "/api/v2/tenants/settings", map[string]any{"phone_consolidated_experience": true}, 200)
	if use != nil {
		c := obj(t, wantStatus(t, srv, "GET", "/api/v2/connections/"+connID, nil, 200))
		opts := obj(t, c["options"])
		opts["use_phone_provider"] = use
		wantStatus(t, srv, "PATCH", "/api/v2/connections/"+connID, map[string]any{"options": opts}, 200)
	}
}

func addTwilioProvider(t testing.TB, srv *Server, token string, methods ...any) {
	t.Helper()
	wantStatus(t, srv, "POST", "/api/v2/branding/phone/providers", map[string]any{"name": "twilio",
		"configuration": map[string]any{"sid": TwilioSID, "default_from": "+15557654321", "delivery_methods": methods},
		"credentials":   map[string]any{"auth_token": token}}, 201)
}

func TestNotifyRoutes(t *testing.T) {
	t.Parallel()
	const gwConn = "con_Gw7tQ2mN8xLp4RvZ"
	code := otpCode(recipient, "otp_verify", 6)
	enroll := otpCode(recipient, "otp_enroll", 6)
	// Auth0's default otp_verify texts (recorded), rendered: | escape
	// applied, {{ pause }} rendered as nothing.
	defaultText := code + " is your verification code for " + TenantFriendlyName
	defaultVoice := "Hello. Your verification code for " + TenantFriendlyName + " is  " + code + ". I repeat, your verification code is  " + code
	tests := []struct {
		name   string
		sc     Scenario
		setup  func(t *testing.T, srv *Server)
		req    NotifyRequest
		want   NotifyResult // Detail is checked with contains
		twilio []TwilioMessage
	}{
		{name: "empty: MFA factor off", sc: Empty, req: NotifyRequest{Kind: "mfa", Recipient: recipient},
			want: NotifyResult{Route: RouteNone, Code: code, Detail: "factor (sms) is disabled"}},
		{name: "gateway", sc: LegacyGateway, req: NotifyRequest{Kind: "passwordless", Recipient: recipient},
			want: NotifyResult{Route: RouteLegacyGateway, Text: "Your ACME verification code is: " + code, Code: code, Delivered: true, Detail: "gateway answered 200"}},
		{name: "gateway: UPE on without use_phone_provider stays legacy", sc: LegacyGateway,
			setup: func(t *testing.T, srv *Server) {
				addTwilioProvider(t, srv, TwilioAuthToken, "text")
				upe(t, srv, gwConn, nil)
			},
			req:  NotifyRequest{Kind: "passwordless", Connection: gwConn, Recipient: recipient},
			want: NotifyResult{Route: RouteLegacyGateway, Text: "Your ACME verification code is: " + code, Code: code, Delivered: true, Detail: "gateway"}},
		{name: "gateway: use_phone_provider without UPE stays legacy", sc: LegacyGateway,
			setup: func(t *testing.T, srv *Server) {
				addTwilioProvider(t, srv, TwilioAuthToken, "text")
				upe(t, srv, gwConn, true)
				wantStatus(t, srv, "PATCH", "/api/v2/tenants/settings", map[string]any{"phone_consolidated_experience": false}, 200)
			},
			req:  NotifyRequest{Kind: "passwordless", Recipient: recipient},
			want: NotifyResult{Route: RouteLegacyGateway, Text: "Your ACME verification code is: " + code, Code: code, Delivered: true, Detail: "gateway"}},
		{name: "gateway: UPE + use_phone_provider -> Twilio provider, default text", sc: LegacyGateway,
			setup: func(t *testing.T, srv *Server) {
				addTwilioProvider(t, srv, TwilioAuthToken, "text")
				upe(t, srv, gwConn, true)
			},
			req:    NotifyRequest{Kind: "passwordless", Recipient: recipient},
			want:   NotifyResult{Route: RouteProviderTwilio, Text: defaultText, Code: code, Delivered: true, Detail: "use_phone_provider"},
			twilio: []TwilioMessage{{AccountSID: TwilioSID, Channel: "sms", To: recipient, From: "+15557654321", Body: defaultText}}},
		{name: "gateway: use_phone_provider \"unified\" with migrated template keeps the text", sc: LegacyGateway,
			setup: func(t *testing.T, srv *Server) {
				addTwilioProvider(t, srv, TwilioAuthToken, "text")
				wantStatus(t, srv, "POST", "/api/v2/branding/phone/templates", map[string]any{"type": "otp_verify",
					"content": map[string]any{"from": SMSFrom, "body": map[string]any{"text": "Your ACME verification code is: {{ code }}"}}}, 201)
				upe(t, srv, gwConn, "unified")
			},
			req:    NotifyRequest{Kind: "passwordless", Recipient: recipient},
			want:   NotifyResult{Route: RouteProviderTwilio, Text: "Your ACME verification code is: " + code, Code: code, Delivered: true, Detail: "Twilio accepted the message"},
			twilio: []TwilioMessage{{AccountSID: TwilioSID, Channel: "sms", To: recipient, From: SMSFrom, Body: "Your ACME verification code is: " + code}}},
		{name: "UPE + use_phone_provider, no provider", sc: LegacyGateway,
			setup: func(t *testing.T, srv *Server) { upe(t, srv, gwConn, true) },
			req:   NotifyRequest{Kind: "passwordless", Recipient: recipient},
			want:  NotifyResult{Route: RouteNone, Code: code, Detail: "no phone provider is configured"}},
		{name: "UPE + use_phone_provider, provider disabled", sc: LegacyGateway,
			setup: func(t *testing.T, srv *Server) {
				addTwilioProvider(t, srv, TwilioAuthToken, "text")
				id := srv.State().PhoneProviders[0].ID
				wantStatus(t, srv, "PATCH", "/api/v2/branding/phone/providers/"+id, map[string]any{"disabled": true}, 200)
				upe(t, srv, gwConn, true)
			},
			req:  NotifyRequest{Kind: "passwordless", Recipient: recipient},
			want: NotifyResult{Route: RouteNone, Code: code, Detail: "the phone provider is disabled"}},
		{name: "UPE + use_phone_provider, voice-only provider", sc: LegacyGateway,
			setup: func(t *testing.T, srv *Server) {
				addTwilioProvider(t, srv, TwilioAuthToken, "voice")
				upe(t, srv, gwConn, true)
			},
			req:  NotifyRequest{Kind: "passwordless", Recipient: recipient},
			want: NotifyResult{Route: RouteNone, Code: code, Detail: "does not deliver text"}},
		{name: "provider with a wrong Twilio token", sc: LegacyGateway,
			setup: func(t *testing.T, srv *Server) {
				addTwilioProvider(t, srv, "wrong-token", "text")
				upe(t, srv, gwConn, true)
			},
			req:  NotifyRequest{Kind: "passwordless", Recipient: recipient},
			want: NotifyResult{Route: RouteProviderTwilio, Text: defaultText, Code: code, Detail: "Twilio answered 401: 20003 Authenticate"}},
		{name: "legacy Twilio, Liquid template", sc: LegacyTwilio, req: NotifyRequest{Kind: "passwordless", Recipient: recipient},
			want:   NotifyResult{Route: RouteLegacyTwilio, Text: code + " is your ACME login code. It expires in 5 minutes.", Code: code, Delivered: true, Detail: "Twilio accepted the message"},
			twilio: []TwilioMessage{{AccountSID: TwilioSID, Channel: "sms", To: recipient, From: SMSFrom, Body: code + " is your ACME login code. It expires in 5 minutes."}}},
		{name: "MFA legacy Twilio SMS", sc: MFATwilio, req: NotifyRequest{Kind: "mfa", Recipient: recipient},
			want:   NotifyResult{Route: RouteLegacyTwilio, Text: code + " is your ACME verification code.", Code: code, Delivered: true, Detail: "Twilio accepted the message"},
			twilio: []TwilioMessage{{AccountSID: TwilioSID, Channel: "sms", To: recipient, From: TwilioFrom, Body: code + " is your ACME verification code."}}},
		{name: "MFA legacy Twilio voice enrollment", sc: MFATwilio, req: NotifyRequest{Kind: "mfa", Recipient: recipient, DeliveryMethod: "voice", MessageType: "otp_enroll"},
			want:   NotifyResult{Route: RouteLegacyTwilio, Text: enroll + " is your ACME enrollment code.", Code: enroll, Delivered: true, Detail: "Twilio accepted the call"},
			twilio: []TwilioMessage{{AccountSID: TwilioSID, Channel: "voice", To: recipient, From: TwilioFrom, Body: enroll + " is your ACME enrollment code."}}},
		{name: "MFA voice not enabled", sc: Mixed, req: NotifyRequest{Kind: "mfa", Recipient: recipient, DeliveryMethod: "voice"},
			want: NotifyResult{Route: RouteNone, Code: code, Detail: "message type voice is not enabled"}},
		{name: "MFA Auth0 sender", sc: MFATwilio,
			setup: func(t *testing.T, srv *Server) {
				wantStatus(t, srv, "PUT", "/api/v2/guardian/factors/phone/selected-provider", map[string]any{"provider": "auth0"}, 200)
			},
			req:  NotifyRequest{Kind: "mfa", Recipient: recipient},
			want: NotifyResult{Route: RouteLegacyAuth0, Text: code + " is your ACME verification code.", Code: code, Delivered: true, Detail: "simulated"}},
		{name: "MFA hook", sc: MFATwilio,
			setup: func(t *testing.T, srv *Server) {
				wantStatus(t, srv, "PUT", "/api/v2/guardian/factors/phone/selected-provider", map[string]any{"provider": "phone-message-hook"}, 200)
			},
			req:  NotifyRequest{Kind: "mfa", Recipient: recipient},
			want: NotifyResult{Route: RouteLegacyHook, Text: code + " is your ACME verification code.", Code: code, Detail: "no deployed Action is bound to the send-phone-message trigger"}},
		{name: "MFA under UPE uses the provider", sc: MFATwilio,
			setup: func(t *testing.T, srv *Server) {
				addTwilioProvider(t, srv, TwilioAuthToken, "text", "voice")
				upe(t, srv, "", nil)
			},
			req:    NotifyRequest{Kind: "mfa", Recipient: recipient, DeliveryMethod: "voice"},
			want:   NotifyResult{Route: RouteProviderTwilio, Text: defaultVoice, Code: code, Delivered: true, Detail: "Twilio accepted the call"},
			twilio: []TwilioMessage{{AccountSID: TwilioSID, Channel: "voice", To: recipient, From: "+15557654321", Body: defaultVoice}}},
		{name: "unified passwordless", sc: Unified, req: NotifyRequest{Kind: "passwordless", Recipient: recipient},
			want:   NotifyResult{Route: RouteProviderTwilio, Text: "Your ACME code is " + code + ".", Code: code, Delivered: true, Detail: "no legacy SMS provider"},
			twilio: []TwilioMessage{{AccountSID: TwilioSID, Channel: "sms", To: recipient, From: TwilioFrom, Body: "Your ACME code is " + code + "."}}},
		{name: "unified MFA enrollment", sc: Unified, req: NotifyRequest{Kind: "mfa", Recipient: recipient, MessageType: "otp_enroll"},
			want:   NotifyResult{Route: RouteProviderTwilio, Text: "Use " + enroll + " to enroll your phone with ACME.", Code: enroll, Delivered: true, Detail: "Twilio"},
			twilio: []TwilioMessage{{AccountSID: TwilioSID, Channel: "sms", To: recipient, From: TwilioFrom, Body: "Use " + enroll + " to enroll your phone with ACME."}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, tt.sc)
			if tt.setup != nil {
				tt.setup(t, srv)
			}
			got := notify(t, srv, tt.req)
			if !strings.Contains(got.Detail, tt.want.Detail) {
				t.Errorf("detail %q does not contain %q", got.Detail, tt.want.Detail)
			}
			if diff := cmp.Diff(tt.want, got, cmpopts.IgnoreFields(NotifyResult{}, "Detail")); diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.twilio, srv.Twilio().Messages(), cmpopts.IgnoreFields(TwilioMessage{}, "SID"), cmpopts.EquateEmpty()); tt.twilio != nil && diff != "" {
				t.Errorf("Twilio messages (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNotifyInvalid(t *testing.T) {
	t.Parallel()
	srv := newServer(t, LegacyGateway)
	tests := []NotifyRequest{
		{Kind: "email", Recipient: recipient},
		{Kind: "passwordless"},
		{Kind: "passwordless", Recipient: recipient, DeliveryMethod: "fax"},
		{Kind: "passwordless", Recipient: recipient, DeliveryMethod: "voice"},
		{Kind: "passwordless", Recipient: recipient, MessageType: "welcome"},
		{Kind: "passwordless", Recipient: recipient, Connection: "email"},
	}
	for _, req := range tests {
		if _, err := srv.Notify(context.Background(), req); !errors.Is(err, ErrInvalidNotify) {
			t.Errorf("Notify(%+v) = %v, want ErrInvalidNotify", req, err)
		}
	}
	if _, err := newServer(t, Empty).Notify(context.Background(), NotifyRequest{Kind: "passwordless", Recipient: recipient}); !errors.Is(err, ErrInvalidNotify) {
		t.Errorf("passwordless on a tenant without SMS connection: %v", err)
	}
	status, v := call(t, srv, "POST", "/__fake/notify", map[string]any{"kind": "email", "recipient": recipient})
	if status != 400 || !strings.Contains(obj(t, v)["error"].(string), "invalid notify request") {
		t.Errorf("POST /__fake/notify bad kind: %d %v", status, v)
	}
	if status, _ := call(t, srv, "POST", "/__fake/notify", map[string]any{"kind": "mfa", "unknown": 1}); status != 400 {
		t.Errorf("unknown field accepted: %d", status)
	}
}

// gatewayAction is a hand-written custom-phone-provider Action that does
// what the legacy gateway integration did: POST the legacy body to the
// gateway with an HS256 JWT it signs itself.
const gatewayAction = `
const crypto = require('node:crypto');
const b64u = (s) => Buffer.from(s).toString('base64url');
function sign(claims, secret) {
  const head = b64u(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const body = b64u(JSON.stringify(claims));
  const sig = crypto.createHmac('sha256', secret).update(head + '.' + body).digest('base64url');
  return head + '.' + body + '.' + sig;
}
exports.onExecuteCustomPhoneProvider = async (event, api) => {
  if (event.notification.message_type !== 'otp_verify') return;
  const now = Math.floor(Date.now() / 1000);
  const token = sign({ sub: 'urn:Auth0', aud: 'urn:MySmsGateway', iat: now, exp: now + 300 }, event.secrets.GATEWAY_SECRET);
  const res = await fetch(event.secrets.GATEWAY_URL, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'user-agent': 'Auth0', authorization: 'Bearer ' + token },
    body: JSON.stringify({
      recipient: event.notification.recipient,
      body: event.notification.as_text,
      sender: event.secrets.SENDER,
      req: { ip: event.request.ip, 'user-agent': event.request.user_agent },
    }),
  });
  if (res.status !== 200) api.notification.retry('gateway answered ' + res.status);
};
`

func requireNode(t testing.TB) {
	t.Helper()
	if !actionrun.NodeAvailable() {
		if os.Getenv("PHONEMIGRATE_REQUIRE_NODE") != "" {
			t.Fatal("node is not on PATH and PHONEMIGRATE_REQUIRE_NODE is set")
		}
		t.Skip("node is not on PATH")
	}
}

// TestCustomProviderActionRunsInNode migrates the legacy-gateway tenant by
// hand to a custom provider whose Action calls the same gateway, and shows
// that the user receives the same message, verified the same way.
func TestCustomProviderActionRunsInNode(t *testing.T) {
	requireNode(t)
	t.Parallel()
	srv := newServer(t, LegacyGateway, WithActionBuild(0, 0))
	const conn = "con_Gw7tQ2mN8xLp4RvZ"

	before := notify(t, srv, NotifyRequest{Kind: "passwordless", Recipient: recipient})

	gwURL := srv.State().Connections[1].Options["gateway_url"].(string)
	time.Sleep(time.Millisecond)
	deployCustomAction(t, srv, "sms-gateway", gatewayAction, map[string]string{"GATEWAY_URL": gwURL, "GATEWAY_SECRET": GatewaySecret, "SENDER": SMSFrom}, true)
	prov := obj(t, wantStatus(t, srv, "POST", "/api/v2/branding/phone/providers", map[string]any{"name": "custom",
		"configuration": map[string]any{"delivery_methods": []any{"text"}}, "credentials": map[string]any{}}, 201))
	wantStatus(t, srv, "POST", "/api/v2/branding/phone/templates", map[string]any{"type": "otp_verify",
		"content": map[string]any{"body": map[string]any{"text": "Your ACME verification code is: {{ code }}"}}}, 201)
	upe(t, srv, conn, true)

	after := notify(t, srv, NotifyRequest{Kind: "passwordless", Recipient: recipient})
	if after.Route != RouteProviderCustom || !after.Delivered {
		t.Fatalf("after: %+v", after)
	}
	if before.Text != after.Text || before.Code != after.Code {
		t.Errorf("text changed: before %q, after %q", before.Text, after.Text)
	}
	msgs := srv.Gateway().Messages()
	if len(msgs) != 2 {
		t.Fatalf("gateway received %d messages, want 2", len(msgs))
	}
	for i, m := range msgs {
		if !m.Verified || m.Status != 200 {
			t.Errorf("message %d not verified: %+v", i, m)
		}
	}
	if diff := cmp.Diff(msgs[0].Raw, msgs[1].Raw); diff != "" {
		t.Errorf("gateway body before vs after migration (-before +after):\n%s", diff)
	}

	// The provider's /try runs the Action too (Auth0 answers 202 whatever happens).
	wantStatus(t, srv, "POST", "/api/v2/branding/phone/providers/"+prov["id"].(string)+"/try", map[string]any{"to": "+15550009999"}, 202)
	if msgs := srv.Gateway().Messages(); len(msgs) != 3 || msgs[2].Recipient != "+15550009999" {
		t.Errorf("try did not reach the gateway: %+v", msgs)
	}

	// A gateway failure makes the Action retry: not delivered.
	srv.Gateway().SetStatus(503)
	res := notify(t, srv, NotifyRequest{Kind: "passwordless", Recipient: recipient})
	if res.Delivered || !strings.Contains(res.Detail, "retry (gateway answered 503)") {
		t.Errorf("failing gateway: %+v", res)
	}
	// MFA goes through the same provider; the Action ignores otp_enroll.
	srv.Gateway().SetStatus(0)
	wantStatus(t, srv, "PUT", "/api/v2/guardian/factors/sms", map[string]any{"enabled": true}, 200)
	wantStatus(t, srv, "PUT", "/api/v2/guardian/factors/phone/message-types", map[string]any{"message_types": []any{"sms"}}, 200)
	res = notify(t, srv, NotifyRequest{Kind: "mfa", Recipient: recipient, MessageType: "otp_enroll"})
	if res.Route != RouteProviderCustom || !res.Delivered || len(srv.Gateway().Messages()) != 4 {
		t.Errorf("MFA enroll: %+v, %d gateway messages", res, len(srv.Gateway().Messages()))
	}
}

func TestCustomProviderActionOutcomes(t *testing.T) {
	requireNode(t)
	t.Parallel()
	tests := []struct {
		name, code string
		delivered  bool
		detail     string
	}{
		{"drop", `exports.onExecuteCustomPhoneProvider = async (event, api) => { api.notification.drop('no route to ' + event.notification.recipient); };`, false, "drop (no route to " + recipient + ")"},
		{"throw", `exports.onExecuteCustomPhoneProvider = async () => { throw new Error('boom'); };`, false, "threw (boom)"},
		{"secret redacted", `exports.onExecuteCustomPhoneProvider = async (event, api) => { api.notification.drop(event.secrets.TOKEN); };`, false, "drop ([redacted])"},
		{"sent", `exports.onExecuteCustomPhoneProvider = async (event) => { if (event.connection.strategy !== 'sms' || event.tenant.id !== 'acme-legacy') throw new Error('bad event'); };`, true, "finished: sent"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, LegacyGateway, WithActionBuild(0, 0))
			time.Sleep(time.Millisecond)
			deployCustomAction(t, srv, "p", tt.code, map[string]string{"TOKEN": "tok-1234567890"}, true)
			wantStatus(t, srv, "POST", "/api/v2/branding/phone/providers", map[string]any{"name": "custom",
				"configuration": map[string]any{"delivery_methods": []any{"text"}}, "credentials": map[string]any{}}, 201)
			upe(t, srv, "con_Gw7tQ2mN8xLp4RvZ", true)
			res := notify(t, srv, NotifyRequest{Kind: "passwordless", Recipient: recipient})
			if res.Route != RouteProviderCustom || res.Delivered != tt.delivered || !strings.Contains(res.Detail, tt.detail) {
				t.Errorf("result %+v, want delivered=%v and detail containing %q", res, tt.delivered, tt.detail)
			}
		})
	}
}

// TestCloseStopsRunningAction: Close stops an Action that is running
// (here a busy loop, which would run for Auth0's 20 s): before, it ran on,
// and Close (Ctrl-C of 'phonemigrate fake') waited 5 s for the request
// running it, then cut its connection.
func TestCloseStopsRunningAction(t *testing.T) {
	requireNode(t)
	t.Parallel()
	running := make(chan struct{})
	signal := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { close(running) }))
	defer signal.Close()
	srv := newServer(t, LegacyGateway, WithActionBuild(0, 0))
	time.Sleep(time.Millisecond)
	deployCustomAction(t, srv, "p", `exports.onExecuteCustomPhoneProvider = async (event) => {
	await fetch(event.secrets.RUNNING);
	for (;;) {}
};`, map[string]string{"RUNNING": signal.URL}, true)
	wantStatus(t, srv, "POST", "/api/v2/branding/phone/providers", map[string]any{"name": "custom",
		"configuration": map[string]any{"delivery_methods": []any{"text"}}, "credentials": map[string]any{}}, 201)
	upe(t, srv, "con_Gw7tQ2mN8xLp4RvZ", true)
	done := make(chan NotifyResult, 1)
	go func() {
		res, _ := srv.Notify(context.Background(), NotifyRequest{Kind: "passwordless", Recipient: recipient})
		done <- res
	}()
	<-running
	srv.Close()
	if res := <-done; res.Delivered || !strings.Contains(res.Detail, "context canceled") {
		t.Errorf("Notify = %+v, want the Action stopped by Close (context canceled)", res)
	}
}

func TestCustomProviderWithoutBoundAction(t *testing.T) {
	t.Parallel()
	srv := newServer(t, LegacyGateway, WithActionBuild(0, 0))
	time.Sleep(time.Millisecond)
	id := deployCustomAction(t, srv, "p", noopAction, nil, true)
	wantStatus(t, srv, "POST", "/api/v2/branding/phone/providers", map[string]any{"name": "custom",
		"configuration": map[string]any{"delivery_methods": []any{"text"}}, "credentials": map[string]any{}}, 201)
	upe(t, srv, "con_Gw7tQ2mN8xLp4RvZ", true)
	wantStatus(t, srv, "PATCH", "/api/v2/actions/triggers/custom-phone-provider/bindings", map[string]any{"bindings": []any{}}, 200)
	res := notify(t, srv, NotifyRequest{Kind: "passwordless", Recipient: recipient})
	if res.Route != RouteProviderCustom || res.Delivered || !strings.Contains(res.Detail, "no deployed Action is bound") {
		t.Errorf("unbound Action %s: %+v", id, res)
	}
}

// TestNotifyTemplateVariables: tenant phone templates render every variable
// Auth0 documents for them, so a legacy template kept verbatim reads the
// same through the fake as through Auth0.
func TestNotifyTemplateVariables(t *testing.T) {
	t.Parallel()
	srv := newServer(t, LegacyGateway)
	addTwilioProvider(t, srv, TwilioAuthToken, "text")
	upe(t, srv, "con_Gw7tQ2mN8xLp4RvZ", true)
	tpl := "{{ code }} for {{ application.name }} ({{ client.name }}) via {{ connection }}; help: {{ support_email }} {{ support_url }}; " +
		"to {{ user.phone_number }}, {{ locale }}, {{ friendly_name | upcase }}, {{ tenant }}, [{{ organization.name }}{{ custom_domain.domain }}]"
	wantStatus(t, srv, "POST", "/api/v2/branding/phone/templates", map[string]any{"type": "otp_verify", "content": map[string]any{"body": map[string]any{"text": tpl}}}, 201)
	res := notify(t, srv, NotifyRequest{Kind: "passwordless", Recipient: recipient})
	code := otpCode(recipient, "otp_verify", 6)
	want := code + " for ACME Web (ACME Web) via sms; help: support@acme.example https://acme.example/support; to " + recipient + ", en, ACME CORP, " + TenantName + ", []"
	if res.Text != want {
		t.Errorf("rendered\n  %q\nwant\n  %q", res.Text, want)
	}
}
