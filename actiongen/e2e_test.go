package actiongen

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"

	"github.com/unifiedphone/unifiedphone/internal/actionrun"
)

// requireNode skips the test when node is absent, unless
// PHONEMIGRATE_REQUIRE_NODE is set (CI), in which case it fails.
func requireNode(t *testing.T) {
	t.Helper()
	if actionrun.NodeAvailable() {
		return
	}
	if os.Getenv("PHONEMIGRATE_REQUIRE_NODE") != "" {
		t.Fatal("node not found on PATH and PHONEMIGRATE_REQUIRE_NODE is set")
	}
	t.Skip("node not found on PATH; set PHONEMIGRATE_REQUIRE_NODE to make this a failure")
}

const testRecipient = "+15555550123"

// passwordlessEvent is a Passwordless SMS message as Auth0 builds it.
func passwordlessEvent() actionrun.Event {
	return actionrun.Event{
		Notification: actionrun.Notification{
			AsText:         "Your verification code is: 12345",
			AsVoice:        "Your verification code is: 1 2 3 4 5",
			Code:           "12345",
			DeliveryMethod: "text",
			MessageType:    "otp_verify",
			Recipient:      testRecipient,
		},
		Request: actionrun.Request{
			IP: "167.56.227.117", UserAgent: "Mozilla/5.0 (X11; Linux x86_64)", Method: "POST",
			Hostname: "acme.eu.auth0.com", Language: "en",
		},
		Connection: &actionrun.Connection{ID: "con_UX85K7K0N86INi9U", Name: "sms", Strategy: "sms"},
		Client:     actionrun.Client{ClientID: "client-1", Name: "Acme"},
		Tenant:     actionrun.Tenant{ID: "acme"},
	}
}

// mfaEvent is an MFA message: no event.connection.
func mfaEvent(method string) actionrun.Event {
	ev := passwordlessEvent()
	ev.Connection = nil
	ev.Notification.DeliveryMethod = method
	ev.Notification.MessageType = "otp_enroll"
	return ev
}

// run executes the Action in Node with its secrets in event.secrets, as
// Auth0 would, and checks that no reason or log line leaks a secret or the
// recipient.
func run(t *testing.T, a *Action, ev actionrun.Event) *actionrun.Result {
	t.Helper()
	ev.Secrets = map[string]string{}
	for _, s := range a.Secrets {
		ev.Secrets[s.Name] = s.Value
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := actionrun.Run(ctx, a.Code, ev)
	if err != nil {
		t.Fatalf("actionrun.Run: %v", err)
	}
	for _, s := range append([]string{res.Reason}, res.Logs...) {
		// actionrun redacts secret values, so a leak shows as [redacted].
		if strings.Contains(s, "[redacted]") || strings.Contains(s, ev.Notification.Recipient) {
			t.Errorf("reason or log leaks a secret or the recipient: %q", s)
		}
	}
	return res
}

func generate(t *testing.T, spec Spec) *Action {
	t.Helper()
	a, err := Generate(spec)
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	return a
}

// recorded is one request a fake server received.
type recorded struct {
	Method, Path string
	Header       http.Header
	Body         []byte
}

// fakeServer is an httptest server that records requests and answers with
// status (and body, when set).
type fakeServer struct {
	*httptest.Server
	mu       sync.Mutex
	requests []recorded
	status   int
	body     string
	delay    time.Duration
}

func newFakeServer(t testing.TB, status int) *fakeServer {
	f := &fakeServer{status: status}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.requests = append(f.requests, recorded{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: b})
		status, body, delay := f.status, f.body, f.delay
		f.mu.Unlock()
		if delay > 0 {
			select {
			case <-r.Context().Done():
				return
			case <-time.After(delay):
			}
		}
		if body != "" {
			w.Header().Set("Content-Type", "application/json")
		}
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	t.Cleanup(f.Close)
	return f
}

// set changes the answer for the next requests.
func (f *fakeServer) set(status int, body string, delay time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.status, f.body, f.delay = status, body, delay
}

func (f *fakeServer) got() []recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]recorded(nil), f.requests...)
}

func (f *fakeServer) only(t *testing.T) recorded {
	t.Helper()
	reqs := f.got()
	if len(reqs) != 1 {
		t.Fatalf("server got %d requests, want 1", len(reqs))
	}
	return reqs[0]
}

// verifyGatewayJWT checks the Authorization header the way a legacy gateway
// would, with golang-jwt, and returns the claims.
func verifyGatewayJWT(t *testing.T, h http.Header, key []byte, audience, subject string) jwt.MapClaims {
	t.Helper()
	auth := h.Get("Authorization")
	tok, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok {
		t.Fatalf("Authorization = %q, want a Bearer token", auth)
	}
	opts := []jwt.ParserOption{
		jwt.WithValidMethods([]string{"HS256"}),
		jwt.WithAudience(audience),
		jwt.WithIssuedAt(),
		jwt.WithExpirationRequired(),
	}
	if subject != "" {
		opts = append(opts, jwt.WithSubject(subject))
	}
	claims := jwt.MapClaims{}
	parsed, err := jwt.ParseWithClaims(tok, claims, func(*jwt.Token) (any, error) { return key, nil }, opts...)
	if err != nil {
		t.Fatalf("gateway JWT does not verify: %v", err)
	}
	if typ := parsed.Header["typ"]; typ != "JWT" {
		t.Errorf("JWT typ = %v, want JWT", typ)
	}
	iat, _ := claims.GetIssuedAt()
	exp, _ := claims.GetExpirationTime()
	if d := exp.Sub(iat.Time); d != 5*time.Minute {
		t.Errorf("exp - iat = %v, want 5m", d)
	}
	if d := time.Since(iat.Time); d < -2*time.Second || d > time.Minute {
		t.Errorf("iat is %v away from now", d)
	}
	var keys []string
	for k := range claims {
		keys = append(keys, k)
	}
	want := []string{"aud", "exp", "iat"}
	if subject != "" {
		want = append(want, "sub")
	}
	if diff := cmp.Diff(want, keys, cmpSorted); diff != "" {
		t.Errorf("JWT claims (-want +got):\n%s", diff)
	}
	return claims
}

var cmpSorted = cmp.Transformer("sort", func(in []string) []string {
	out := append([]string(nil), in...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
})

// decodeBody decodes a JSON body into an ordered list of top-level keys and
// a generic value, rejecting trailing data.
func decodeBody(t *testing.T, b []byte) ([]string, map[string]any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("gateway body is not JSON: %v: %s", err, b)
	}
	if dec.More() {
		t.Fatalf("trailing data after gateway body: %s", b)
	}
	// Top-level key order, as the bytes have it.
	dec = json.NewDecoder(bytes.NewReader(b))
	var keys []string
	dec.Token() // {
	for dec.More() {
		k, _ := dec.Token()
		keys = append(keys, k.(string))
		var skip json.RawMessage
		dec.Decode(&skip)
	}
	return keys, m
}

func TestGatewayLegacyContract(t *testing.T) {
	requireNode(t)
	keyBytes := make([]byte, 32)
	rand.Read(keyBytes)
	keyBytes[0], keyBytes[1], keyBytes[2] = 0xfb, 0xff, 0xfe // force '+', '/', '-', '_' in encodings

	tests := []struct {
		name      string
		gw        Gateway // URL filled in
		notifFrom string
		key       []byte // JWT key the gateway verifies with; nil: no Authorization expected
		wantKeys  []string
		want      map[string]any
	}{{
		name:     "From is sent as sender",
		gw:       Gateway{From: "+1 234 567"},
		wantKeys: []string{"recipient", "body", "sender"},
		want:     map[string]any{"recipient": testRecipient, "body": "Your verification code is: 12345", "sender": "+1 234 567"},
	}, {
		name:      "From wins over notification.from",
		gw:        Gateway{From: "+1 234 567"},
		notifFrom: "+19999999999",
		wantKeys:  []string{"recipient", "body", "sender"},
		want:      map[string]any{"recipient": testRecipient, "body": "Your verification code is: 12345", "sender": "+1 234 567"},
	}, {
		name:      "notification.from when From is empty",
		gw:        Gateway{},
		notifFrom: "+19999999999",
		wantKeys:  []string{"recipient", "body", "sender"},
		want:      map[string]any{"recipient": testRecipient, "body": "Your verification code is: 12345", "sender": "+19999999999"},
	}, {
		name:     "no sender at all",
		gw:       Gateway{},
		wantKeys: []string{"recipient", "body"},
		want:     map[string]any{"recipient": testRecipient, "body": "Your verification code is: 12345"},
	}, {
		name:     "forward_req_info adds req with ip and user-agent only",
		gw:       Gateway{From: "+1 234 567", ForwardRequestInfo: true},
		wantKeys: []string{"recipient", "body", "sender", "req"},
		want: map[string]any{"recipient": testRecipient, "body": "Your verification code is: 12345", "sender": "+1 234 567",
			"req": map[string]any{"ip": "167.56.227.117", "user-agent": "Mozilla/5.0 (X11; Linux x86_64)"}},
	}, {
		name:     "bearer JWT with subject",
		gw:       Gateway{From: "+1 234 567", Auth: &GatewayAuth{Method: "bearer", Subject: "urn:Auth0", Audience: "urn:MySmsGateway", Secret: "MySecretToSignTheToken"}},
		key:      []byte("MySecretToSignTheToken"),
		wantKeys: []string{"recipient", "body", "sender"},
		want:     map[string]any{"recipient": testRecipient, "body": "Your verification code is: 12345", "sender": "+1 234 567"},
	}, {
		name:     "bearer JWT without subject has no sub claim",
		gw:       Gateway{Auth: &GatewayAuth{Audience: "urn:gw", Secret: "ünïcode secret"}},
		key:      []byte("ünïcode secret"),
		wantKeys: []string{"recipient", "body"},
		want:     map[string]any{"recipient": testRecipient, "body": "Your verification code is: 12345"},
	}}
	for _, enc := range []struct {
		name string
		enc  *base64.Encoding
	}{
		{"base64 padded", base64.StdEncoding},
		{"base64 unpadded", base64.RawStdEncoding},
		{"base64url padded", base64.URLEncoding},
		{"base64url unpadded", base64.RawURLEncoding},
	} {
		// 32 bytes: padded encodings end in "=".
		tests = append(tests, struct {
			name      string
			gw        Gateway
			notifFrom string
			key       []byte
			wantKeys  []string
			want      map[string]any
		}{
			name: "secret " + enc.name,
			gw: Gateway{Auth: &GatewayAuth{Subject: "urn:Auth0", Audience: "urn:gw",
				Secret: enc.enc.EncodeToString(keyBytes), SecretBase64Encoded: true}},
			key:      keyBytes,
			wantKeys: []string{"recipient", "body"},
			want:     map[string]any{"recipient": testRecipient, "body": "Your verification code is: 12345"},
		})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			gwSrv := newFakeServer(t, http.StatusOK)
			gw := tt.gw
			gw.URL = gwSrv.URL + "/sms?tenant=acme"
			a := generate(t, Spec{Default: Target{Gateway: &gw}})
			ev := passwordlessEvent()
			ev.Notification.From = tt.notifFrom
			res := run(t, a, ev)
			if res.Outcome != actionrun.Sent {
				t.Fatalf("Outcome = %s (%s), want sent", res.Outcome, res.Reason)
			}
			req := gwSrv.only(t)
			if req.Method != http.MethodPost || req.Path != "/sms" {
				t.Errorf("request = %s %s, want POST /sms", req.Method, req.Path)
			}
			if ct := req.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q, want application/json", ct)
			}
			keys, body := decodeBody(t, req.Body)
			if diff := cmp.Diff(tt.wantKeys, keys); diff != "" {
				t.Errorf("body keys in order (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.want, body); diff != "" {
				t.Errorf("body (-want +got):\n%s", diff)
			}
			if tt.key == nil {
				if h := req.Header.Get("Authorization"); h != "" {
					t.Errorf("Authorization = %q, want none without gateway authentication", h)
				}
				return
			}
			claims := verifyGatewayJWT(t, req.Header, tt.key, gw.Auth.Audience, gw.Auth.Subject)
			if aud, _ := claims["aud"].(string); aud != gw.Auth.Audience {
				t.Errorf("aud = %#v, want the string %q (as the legacy token had)", claims["aud"], gw.Auth.Audience)
			}
		})
	}
}

// TestGatewayJWTWrongKeyFails proves the gateway-side verification can fail:
// a token signed with the raw text of a base64 secret does not verify with
// the decoded key.
func TestGatewayJWTWrongKeyFails(t *testing.T) {
	requireNode(t)
	gwSrv := newFakeServer(t, http.StatusOK)
	secret := base64.StdEncoding.EncodeToString([]byte("decoded key bytes"))
	a := generate(t, Spec{Default: Target{Gateway: &Gateway{URL: gwSrv.URL,
		Auth: &GatewayAuth{Audience: "urn:gw", Secret: secret, SecretBase64Encoded: false}}}})
	run(t, a, passwordlessEvent())
	tok := strings.TrimPrefix(gwSrv.only(t).Header.Get("Authorization"), "Bearer ")
	_, err := jwt.Parse(tok, func(*jwt.Token) (any, error) { return []byte("decoded key bytes"), nil }, jwt.WithValidMethods([]string{"HS256"}))
	if err == nil {
		t.Fatal("token signed with the undecoded secret verified with the decoded key")
	}
	if _, err := jwt.Parse(tok, func(*jwt.Token) (any, error) { return []byte(secret), nil }, jwt.WithValidMethods([]string{"HS256"})); err != nil {
		t.Fatalf("token does not verify with the secret text: %v", err)
	}
}

func TestGatewayVoice(t *testing.T) {
	requireNode(t)
	tests := []struct {
		name        string
		voice       bool
		wantOutcome actionrun.Outcome
		wantBody    map[string]any // nil: no request
	}{
		{"voice forwarded with as_voice", true, actionrun.Sent,
			map[string]any{"recipient": testRecipient, "body": "Your verification code is: 1 2 3 4 5", "sender": "Acme"}},
		{"voice dropped without Voice", false, actionrun.Drop, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			gwSrv := newFakeServer(t, http.StatusOK)
			a := generate(t, Spec{Default: Target{Gateway: &Gateway{URL: gwSrv.URL, From: "Acme", Voice: tt.voice}}})
			res := run(t, a, mfaEvent("voice"))
			if res.Outcome != tt.wantOutcome {
				t.Fatalf("Outcome = %s (%s), want %s", res.Outcome, res.Reason, tt.wantOutcome)
			}
			if tt.wantBody == nil {
				if n := len(gwSrv.got()); n != 0 {
					t.Errorf("gateway got %d requests, want none", n)
				}
				if !strings.Contains(res.Reason, "voice") {
					t.Errorf("drop reason %q does not say why", res.Reason)
				}
				return
			}
			_, body := decodeBody(t, gwSrv.only(t).Body)
			if diff := cmp.Diff(tt.wantBody, body); diff != "" {
				t.Errorf("body (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTwilio(t *testing.T) {
	requireNode(t)
	const voiceText = `Code: 1 2 3 <b>&"'`
	tests := []struct {
		name        string
		tw          Twilio
		method      string
		wantOutcome actionrun.Outcome
		wantPath    string // "" when no request is expected
		wantForm    url.Values
	}{{
		name:        "text with From",
		tw:          Twilio{From: "+15550001111"},
		method:      "text",
		wantOutcome: actionrun.Sent,
		wantPath:    "/2010-04-01/Accounts/" + testTwilioSID + "/Messages.json",
		wantForm:    url.Values{"To": {testRecipient}, "From": {"+15550001111"}, "Body": {"Your verification code is: 12345"}},
	}, {
		name:        "text with messaging service",
		tw:          Twilio{MessagingServiceSID: "MG0123456789abcdef0123456789abcdef"},
		method:      "text",
		wantOutcome: actionrun.Sent,
		wantPath:    "/2010-04-01/Accounts/" + testTwilioSID + "/Messages.json",
		wantForm:    url.Values{"To": {testRecipient}, "MessagingServiceSid": {"MG0123456789abcdef0123456789abcdef"}, "Body": {"Your verification code is: 12345"}},
	}, {
		name:        "voice call with escaped TwiML",
		tw:          Twilio{From: "+15550001111"},
		method:      "voice",
		wantOutcome: actionrun.Sent,
		wantPath:    "/2010-04-01/Accounts/" + testTwilioSID + "/Calls.json",
		wantForm: url.Values{"To": {testRecipient}, "From": {"+15550001111"},
			"Twiml": {"<Response><Say>Code: 1 2 3 &lt;b&gt;&amp;&quot;&apos;</Say></Response>"}},
	}, {
		name:        "voice without From is dropped",
		tw:          Twilio{MessagingServiceSID: "MG0123456789abcdef0123456789abcdef"},
		method:      "voice",
		wantOutcome: actionrun.Drop,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			twSrv := newFakeServer(t, http.StatusCreated)
			tw := tt.tw
			tw.AccountSID, tw.AuthToken, tw.APIBaseURL = testTwilioSID, testTwilioToken, twSrv.URL
			a := generate(t, Spec{Default: Target{Twilio: &tw}})
			ev := mfaEvent(tt.method)
			ev.Notification.AsVoice = voiceText
			res := run(t, a, ev)
			if res.Outcome != tt.wantOutcome {
				t.Fatalf("Outcome = %s (%s), want %s", res.Outcome, res.Reason, tt.wantOutcome)
			}
			if tt.wantPath == "" {
				if n := len(twSrv.got()); n != 0 {
					t.Errorf("Twilio got %d requests, want none", n)
				}
				return
			}
			req := twSrv.only(t)
			if req.Method != http.MethodPost || req.Path != tt.wantPath {
				t.Errorf("request = %s %s, want POST %s", req.Method, req.Path, tt.wantPath)
			}
			if ct := req.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
				t.Errorf("Content-Type = %q", ct)
			}
			hr := &http.Request{Header: req.Header}
			user, pass, ok := hr.BasicAuth()
			if !ok || user != testTwilioSID || pass != testTwilioToken {
				t.Errorf("basic auth = %v, user %q; want the account SID and token", ok, user)
			}
			form, err := url.ParseQuery(string(req.Body))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.wantForm, form); diff != "" {
				t.Errorf("form (-want +got):\n%s", diff)
			}
		})
	}
}

// refusedURL returns an http URL on loopback where nothing listens.
func refusedURL(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := "http://" + l.Addr().String()
	l.Close()
	return u
}

func TestStatusMapping(t *testing.T) {
	requireNode(t)
	tests := []struct {
		status     int           // 0: connection refused
		delay      time.Duration // > request timeout: the Action gives up
		want       actionrun.Outcome
		wantReason string // substring; "" for Sent
	}{
		{200, 0, actionrun.Sent, ""},
		{201, 0, actionrun.Sent, ""},
		{204, 0, actionrun.Sent, ""},
		{302, 0, actionrun.Drop, "HTTP 302"},
		{400, 0, actionrun.Drop, "HTTP 400"},
		{401, 0, actionrun.Drop, "HTTP 401"},
		{404, 0, actionrun.Drop, "HTTP 404"},
		{429, 0, actionrun.Retry, "HTTP 429"},
		{500, 0, actionrun.Retry, "HTTP 500"},
		{503, 0, actionrun.Retry, "HTTP 503"},
		{0, 0, actionrun.Retry, "ECONNREFUSED"},
		{200, 5 * time.Second, actionrun.Retry, "timed out after 300 ms"},
	}
	for _, kind := range []string{"gateway", "twilio"} {
		for _, tt := range tests {
			name := kind + "/" + http.StatusText(tt.status)
			if tt.status == 0 {
				name = kind + "/connection refused"
			}
			if tt.delay > 0 {
				name = kind + "/slow"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				srv := newFakeServer(t, tt.status)
				srv.set(tt.status, "", tt.delay)
				base := srv.URL
				if tt.status == 0 {
					base = refusedURL(t)
				}
				spec := Spec{RequestTimeout: 300 * time.Millisecond}
				if kind == "gateway" {
					spec.Default.Gateway = &Gateway{URL: base, Auth: &GatewayAuth{Audience: "a", Secret: testGatewaySecret}}
				} else {
					spec.Default.Twilio = &Twilio{AccountSID: testTwilioSID, AuthToken: testTwilioToken, From: "+15550001111", APIBaseURL: base}
				}
				res := run(t, generate(t, spec), passwordlessEvent())
				if res.Outcome != tt.want {
					t.Fatalf("Outcome = %s (%q), want %s", res.Outcome, res.Reason, tt.want)
				}
				if tt.want == actionrun.Sent {
					if res.Reason != "" {
						t.Errorf("Reason = %q, want none", res.Reason)
					}
					return
				}
				if !strings.Contains(res.Reason, tt.wantReason) {
					t.Errorf("Reason = %q, want it to contain %q", res.Reason, tt.wantReason)
				}
				if len(res.Logs) != 1 || !strings.Contains(res.Logs[0], tt.wantReason) {
					t.Errorf("Logs = %q, want one line with the reason", res.Logs)
				}
			})
		}
	}
}

func TestTwilioErrorCodeInReason(t *testing.T) {
	requireNode(t)
	srv := newFakeServer(t, http.StatusBadRequest)
	srv.set(http.StatusBadRequest, `{"code": 21211, "message": "The 'To' number `+testRecipient+` is not a valid phone number.", "status": 400}`, 0)
	a := generate(t, Spec{Default: Target{Twilio: &Twilio{AccountSID: testTwilioSID, AuthToken: testTwilioToken, From: "+15550001111", APIBaseURL: srv.URL}}})
	res := run(t, a, passwordlessEvent())
	if diff := cmp.Diff(&actionrun.Result{Outcome: actionrun.Drop, Reason: "Twilio answered HTTP 400 (Twilio error 21211)",
		Logs: []string{"phonemigrate-custom-phone-provider: otp_verify by text: Twilio answered HTTP 400 (Twilio error 21211)"}}, res); diff != "" {
		t.Errorf("result (-want +got):\n%s", diff)
	}
}

func TestMissingSecretAtRunTimeDrops(t *testing.T) {
	requireNode(t)
	srv := newFakeServer(t, http.StatusOK)
	a := generate(t, Spec{Default: Target{Gateway: &Gateway{URL: srv.URL, Auth: &GatewayAuth{Audience: "a", Secret: "s3cret"}}}})
	a.Secrets = a.Secrets[:1] // GATEWAY_SECRET not uploaded
	res := run(t, a, passwordlessEvent())
	if res.Outcome != actionrun.Drop || res.Reason != "secret GATEWAY_SECRET is not set" {
		t.Errorf("result = %s %q, want drop naming the secret", res.Outcome, res.Reason)
	}
	if n := len(srv.got()); n != 0 {
		t.Errorf("gateway got %d requests, want none", n)
	}
}

func TestRouting(t *testing.T) {
	requireNode(t)
	gwSrv := newFakeServer(t, http.StatusOK)
	gw2Srv := newFakeServer(t, http.StatusOK)
	twSrv := newFakeServer(t, http.StatusCreated)
	gatewayPasswordless := &Target{Gateway: &Gateway{URL: gwSrv.URL + "/pwl", From: "Acme",
		Auth: &GatewayAuth{Subject: "urn:Auth0", Audience: "urn:pwl", Secret: "passwordless-secret"}}}

	tests := []struct {
		name     string
		spec     Spec
		ev       actionrun.Event
		wantHits map[string]int // server -> requests
	}{{
		name:     "passwordless event goes to the gateway",
		spec:     Spec{Default: Target{Twilio: &Twilio{AccountSID: testTwilioSID, AuthToken: testTwilioToken, From: "+15550001111", APIBaseURL: twSrv.URL}}, Passwordless: gatewayPasswordless},
		ev:       passwordlessEvent(),
		wantHits: map[string]int{"gateway": 1, "gateway2": 0, "twilio": 0},
	}, {
		name:     "mfa event goes to Twilio",
		spec:     Spec{Default: Target{Twilio: &Twilio{AccountSID: testTwilioSID, AuthToken: testTwilioToken, From: "+15550001111", APIBaseURL: twSrv.URL}}, Passwordless: gatewayPasswordless},
		ev:       mfaEvent("text"),
		wantHits: map[string]int{"gateway": 0, "gateway2": 0, "twilio": 1},
	}, {
		name:     "non-sms connection goes to default",
		spec:     Spec{Default: Target{Gateway: &Gateway{URL: gw2Srv.URL}}, Passwordless: gatewayPasswordless},
		ev:       func() actionrun.Event { e := passwordlessEvent(); e.Connection.Strategy = "auth0"; return e }(),
		wantHits: map[string]int{"gateway": 0, "gateway2": 1, "twilio": 0},
	}, {
		name:     "two gateways keep their own secrets",
		spec:     Spec{Default: Target{Gateway: &Gateway{URL: gw2Srv.URL, Auth: &GatewayAuth{Audience: "urn:mfa", Secret: "mfa-secret"}}}, Passwordless: gatewayPasswordless},
		ev:       passwordlessEvent(),
		wantHits: map[string]int{"gateway": 1, "gateway2": 0, "twilio": 0},
	}}
	// Sequential: the servers are shared and counted per case.
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := map[string]int{"gateway": len(gwSrv.got()), "gateway2": len(gw2Srv.got()), "twilio": len(twSrv.got())}
			a := generate(t, tt.spec)
			res := run(t, a, tt.ev)
			if res.Outcome != actionrun.Sent {
				t.Fatalf("Outcome = %s (%s), want sent", res.Outcome, res.Reason)
			}
			got := map[string]int{"gateway": len(gwSrv.got()) - before["gateway"], "gateway2": len(gw2Srv.got()) - before["gateway2"], "twilio": len(twSrv.got()) - before["twilio"]}
			if diff := cmp.Diff(tt.wantHits, got); diff != "" {
				t.Errorf("requests per server (-want +got):\n%s", diff)
			}
			if got["gateway"] == 1 {
				reqs := gwSrv.got()
				last := reqs[len(reqs)-1]
				if last.Path != "/pwl" {
					t.Errorf("passwordless gateway path = %q, want /pwl", last.Path)
				}
				verifyGatewayJWT(t, last.Header, []byte("passwordless-secret"), "urn:pwl", "urn:Auth0")
			}
		})
	}
}
