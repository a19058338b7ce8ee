package phonemigratetest

import (
	"net/http"
	"strings"
	"testing"
)

// TestControlAPIGuard: the unauthenticated control API answers only
// requests addressed to a loopback host (no DNS rebinding) and takes
// bodies only as JSON (no cross-origin form posts); the Management API is
// not affected.
func TestControlAPIGuard(t *testing.T) {
	t.Parallel()
	srv := NewServer(LegacyGateway)
	t.Cleanup(srv.Close)
	port := srv.URL[strings.LastIndex(srv.URL, ":"):]
	for _, tc := range []struct {
		name        string
		method      string
		path        string
		host        string
		contentType string
		body        string
		want        int
	}{
		{name: "state via 127.0.0.1", method: "GET", path: "/__fake/state", host: "127.0.0.1" + port, want: 200},
		{name: "state via localhost", method: "GET", path: "/__fake/state", host: "localhost" + port, want: 200},
		{name: "state via [::1]", method: "GET", path: "/__fake/state", host: "[::1]" + port, want: 200},
		{name: "state via rebinding name", method: "GET", path: "/__fake/state", host: "attacker.example" + port, want: 403},
		{name: "state via LAN address", method: "GET", path: "/__fake/state", host: "192.168.1.20" + port, want: 403},
		{name: "state via localhost lookalike", method: "GET", path: "/__fake/state", host: "localhost.attacker.example", want: 403},
		{name: "notify via rebinding name", method: "POST", path: "/__fake/notify", host: "attacker.example", contentType: "application/json", body: `{"kind":"passwordless","recipient":"+15550100"}`, want: 403},
		{name: "notify as form post", method: "POST", path: "/__fake/notify", host: "127.0.0.1" + port, contentType: "application/x-www-form-urlencoded", body: `{"kind":"passwordless"}`, want: 415},
		{name: "notify as text/plain", method: "POST", path: "/__fake/notify", host: "127.0.0.1" + port, contentType: "text/plain", body: `{"kind":"passwordless"}`, want: 415},
		{name: "fault without content type", method: "POST", path: "/__fake/faults", host: "127.0.0.1" + port, body: `{"path":"/api/v2/connections","status":500}`, want: 415},
		{name: "fault as JSON", method: "POST", path: "/__fake/faults", host: "127.0.0.1" + port, contentType: "application/json; charset=utf-8", body: `{"path":"/api/v2/x","status":500}`, want: 201},
		{name: "traffic via rebinding name", method: "POST", path: "/__fake/traffic", host: "attacker.example", contentType: "application/json", body: `{"count":1}`, want: 403},
		{name: "break via rebinding name", method: "POST", path: "/__fake/break", host: "attacker.example", contentType: "application/json", body: `{"path":"gateway"}`, want: 403},
		{name: "break as form post", method: "POST", path: "/__fake/break", host: "127.0.0.1" + port, contentType: "application/x-www-form-urlencoded", body: `{"path":"gateway"}`, want: 415},
		{name: "break as JSON", method: "POST", path: "/__fake/break", host: "127.0.0.1" + port, contentType: "application/json", body: `{"path":"gateway"}`, want: 204},
		{name: "delete requests", method: "DELETE", path: "/__fake/requests", host: "127.0.0.1" + port, want: 204},
		{name: "API via another host name", method: "GET", path: "/api/v2/tenants/settings", host: "acme.example", want: 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, srv.URL+tc.path, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Host = tc.host
			if tc.contentType != "" {
				req.Header.Set("Content-Type", tc.contentType)
			}
			req.Header.Set("Authorization", "Bearer "+srv.Token)
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Errorf("%s %s (Host %s): status %d, want %d", tc.method, tc.path, tc.host, resp.StatusCode, tc.want)
			}
		})
	}
}
