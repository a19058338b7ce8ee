package actiongen

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/unifiedphone/unifiedphone/internal/actionrun"
)

// TestTwilioE164 runs Twilio deliveries with recipients written the ways
// people write phone numbers: Twilio gets E.164, and what cannot become
// E.164 is dropped without a request.
func TestTwilioE164(t *testing.T) {
	requireNode(t)
	t.Parallel()
	tests := []struct {
		recipient string
		wantTo    string // "" when the message must be dropped
	}{
		{auth0ExampleRecipient, "+18085555555"},
		{"+18085555555", "+18085555555"},
		{"+1 (808) 555.5555", "+18085555555"},
		{"+44 20 7946 0958", "+442079460958"},
		{"+33\u00a06\u00a012\u00a034\u00a056\u00a078", "+33612345678"}, // no-break spaces
		{"+1\t808-555-5555", "+18085555555"},
		{"808-555-5555", ""},       // no country code
		{"0044 20 7946 0958", ""},  // 00 is not +
		{"+0 808 555 5555", ""},    // no country code starts with 0
		{"+1234567890123456", ""},  // 16 digits
		{"+1-808-555-5555x12", ""}, // extension
		{"+1/808/555/5555", ""},
		{"", ""},
	}
	for _, tt := range tests {
		t.Run(tt.recipient, func(t *testing.T) {
			t.Parallel()
			srv := newFakeServer(t, http.StatusCreated)
			a := generate(t, Spec{Default: Target{Twilio: &Twilio{AccountSID: testTwilioSID, AuthToken: testTwilioToken, From: "+15550001111", APIBaseURL: srv.URL}}})
			ev := mfaEvent("text")
			ev.Notification.Recipient = tt.recipient
			res := run(t, a, ev)
			if tt.wantTo == "" {
				want := "recipient is not an E.164 phone number (+ and up to 15 digits)"
				if res.Outcome != actionrun.Drop || res.Reason != want {
					t.Errorf("result = %s %q, want drop %q", res.Outcome, res.Reason, want)
				}
				if n := len(srv.got()); n != 0 {
					t.Errorf("Twilio got %d requests, want none", n)
				}
				return
			}
			if res.Outcome != actionrun.Sent {
				t.Fatalf("Outcome = %s (%s), want sent", res.Outcome, res.Reason)
			}
			form, err := url.ParseQuery(string(srv.only(t).Body))
			if err != nil {
				t.Fatal(err)
			}
			if got := form.Get("To"); got != tt.wantTo {
				t.Errorf("To = %q, want %q", got, tt.wantTo)
			}
		})
	}
}

// TestGatewayURLCredentials: a gateway_url with user:password@ (which
// Node's fetch refuses) reaches the gateway as the URL without them plus an
// HTTP Basic header, from the secret GATEWAY_BASIC_AUTH.
func TestGatewayURLCredentials(t *testing.T) {
	requireNode(t)
	t.Parallel()
	tests := []struct {
		name      string
		userinfo  string // put between "http://" and the host
		wantBasic string // "user:password" the gateway decodes; "" for no header
	}{
		{"user and password", "gw-user:gw-pass@", "gw-user:gw-pass"},
		{"percent-encoded", "us%65r:p%40ss%3Aw0rd@", "user:p@ss:w0rd"},
		{"user only", "gw-user@", "gw-user:"},
		{"password only", ":gw-pass@", ":gw-pass"},
		{"empty", "@", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newFakeServer(t, http.StatusOK)
			host := strings.TrimPrefix(srv.URL, "http://")
			raw := "http://" + tt.userinfo + host + "/sms?tenant=acme"
			g, err := GatewayFromOptions(map[string]any{"provider": "sms_gateway", "gateway_url": raw, "from": "Acme"})
			if err != nil {
				t.Fatalf("GatewayFromOptions: %v", err)
			}
			a := generate(t, Spec{Default: Target{Gateway: g}})
			wantSecrets := []Secret{{Name: SecretGatewayURL, Value: srv.URL + "/sms?tenant=acme"}}
			if tt.wantBasic != "" {
				wantSecrets = append(wantSecrets, Secret{Name: SecretGatewayBasicAuth, Value: tt.wantBasic})
			}
			if diff := cmp.Diff(wantSecrets, a.Secrets); diff != "" {
				t.Errorf("Secrets (-want +got):\n%s", diff)
			}
			if tt.wantBasic != "" && strings.Contains(a.Code, tt.wantBasic) {
				t.Error("the code holds the credentials")
			}
			res := run(t, a, passwordlessEvent())
			if res.Outcome != actionrun.Sent {
				t.Fatalf("Outcome = %s (%s), want sent", res.Outcome, res.Reason)
			}
			req := srv.only(t)
			if req.Path != "/sms" {
				t.Errorf("path = %q, want /sms", req.Path)
			}
			if tt.wantBasic == "" {
				if h := req.Header.Get("Authorization"); h != "" {
					t.Errorf("Authorization = %q, want none", h)
				}
				return
			}
			user, pass, ok := (&http.Request{Header: req.Header}).BasicAuth()
			if !ok || user+":"+pass != tt.wantBasic {
				t.Errorf("basic auth = %v %q:%q, want %q", ok, user, pass, tt.wantBasic)
			}
		})
	}

	t.Run("secret missing at run time", func(t *testing.T) {
		srv := newFakeServer(t, http.StatusOK)
		a := generate(t, Spec{Default: Target{Gateway: &Gateway{URL: strings.Replace(srv.URL, "http://", "http://u:p@", 1)}}})
		a.Secrets = a.Secrets[:1]
		res := run(t, a, passwordlessEvent())
		if res.Outcome != actionrun.Drop || res.Reason != "secret GATEWAY_BASIC_AUTH is not set" {
			t.Errorf("result = %s %q, want drop naming the secret", res.Outcome, res.Reason)
		}
		if n := len(srv.got()); n != 0 {
			t.Errorf("gateway got %d requests, want none", n)
		}
	})
}

// TestAcceptedURLsAreCallable: every URL shape Generate accepts is one
// Node's fetch calls; the ports it refuses are the ones fetch refuses.
func TestAcceptedURLsAreCallable(t *testing.T) {
	requireNode(t)
	t.Parallel()
	srv := newFakeServer(t, http.StatusOK)
	port := srv.URL[strings.LastIndex(srv.URL, ":")+1:]
	for _, raw := range []string{
		"http://127.0.0.1:" + port,
		"http://localhost:" + port + "/",
		"http://LOCALHOST:" + port + "/a%20b/c?x=1&y=%2F#fragment",
		"HTTP://127.0.0.1:" + port + "/upper-case-scheme",
		"http://user:pass@localhost:" + port + "/path@with-at?q=a@b",
		"http://u%3Ax:p%2Fq@127.0.0.1:" + port + "/",
	} {
		t.Run(raw, func(t *testing.T) {
			before := len(srv.got())
			a := generate(t, Spec{Default: Target{Gateway: &Gateway{URL: raw}}})
			res := run(t, a, passwordlessEvent())
			if res.Outcome != actionrun.Sent {
				t.Fatalf("Outcome = %s (%s), want sent", res.Outcome, res.Reason)
			}
			if n := len(srv.got()) - before; n != 1 {
				t.Errorf("server got %d requests, want 1", n)
			}
		})
	}

	t.Run("blocked ports", func(t *testing.T) {
		var ports []int
		for p := range fetchBlockedPorts {
			ports = append(ports, p)
			if _, err := Generate(Spec{Default: Target{Gateway: &Gateway{URL: "https://gw.example:" + itoa(p) + "/"}}}); err == nil {
				t.Errorf("Generate accepts port %d", p)
			}
		}
		sort.Ints(ports)
		list, _ := json.Marshal(ports)
		// fetch refuses a blocked port before connecting: the reason lists
		// the ports it did not refuse that way.
		code := `exports.onExecuteCustomPhoneProvider = async (event, api) => {
			const notBlocked = [];
			for (const p of ` + string(list) + `) {
				try { await fetch('http://127.0.0.1:' + p + '/', { method: 'POST' }); notBlocked.push(p); }
				catch (e) { if (!(e.cause && e.cause.message === 'bad port')) notBlocked.push(p); }
			}
			api.notification.drop(JSON.stringify(notBlocked));
		};`
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		res, err := actionrun.Run(ctx, code, passwordlessEvent())
		if err != nil {
			t.Fatal(err)
		}
		if res.Reason != "[]" {
			t.Errorf("ports Generate refuses that Node's fetch calls: %s", res.Reason)
		}
	})
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// TestGatewayJWTOptions: iss and the lifetime, checked by the gateway with
// golang-jwt.
func TestGatewayJWTOptions(t *testing.T) {
	requireNode(t)
	t.Parallel()
	tests := []struct {
		name     string
		issuer   string
		lifetime time.Duration
		want     time.Duration
	}{
		{"defaults: no iss, 5 minutes", "", 0, 5 * time.Minute},
		{"issuer", "https://acme.eu.auth0.com/", 0, 5 * time.Minute},
		{"one minute", "", time.Minute, time.Minute},
		{"both", "urn:acme", time.Hour, time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newFakeServer(t, http.StatusOK)
			a := generate(t, Spec{Default: Target{Gateway: &Gateway{URL: srv.URL, Auth: &GatewayAuth{
				Subject: "urn:Auth0", Audience: "urn:gw", Secret: testGatewaySecret, Issuer: tt.issuer, Lifetime: tt.lifetime}}}})
			if res := run(t, a, passwordlessEvent()); res.Outcome != actionrun.Sent {
				t.Fatalf("Outcome = %s (%s), want sent", res.Outcome, res.Reason)
			}
			verifyGatewayJWTWith(t, srv.only(t).Header, []byte(testGatewaySecret), "urn:gw", "urn:Auth0", tt.issuer, tt.want)
		})
	}
}
