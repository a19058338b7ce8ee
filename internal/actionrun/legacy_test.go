package actionrun

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func legacySample() LegacyEvent {
	return LegacyEvent{
		MessageOptions: MessageOptions{Recipient: "+15555550100", Text: "Your code is 123456", Code: "123456",
			Action: "second-factor-authentication", MessageType: "sms", Language: "en"},
		Request: Request{IP: "203.0.113.7", Method: "POST", UserAgent: "Mozilla/5.0"},
		User:    &User{UserID: "auth0|1"},
		Client:  LegacyClient{ClientID: "cid", Name: "App", ClientMetadata: map[string]string{"k": "v"}},
		Tenant:  Tenant{ID: "acme", FriendlyName: "not in the legacy event"},
		Secrets: map[string]string{"GW_KEY": "k3y-value"},
	}
}

// The legacy event as the Action sees it, and api.cache only.
func TestRunSendPhoneMessageEvent(t *testing.T) {
	t.Parallel()
	requireNode(t)
	code := `exports.onExecuteSendPhoneMessage = async (event, api) => {
		await fetch('https://gw.example/send', {method: 'POST', headers: {'Content-Type': 'application/json'},
			body: JSON.stringify({event, apiKeys: Object.keys(api).sort()})});
	};`
	got, err := RunSendPhoneMessage(context.Background(), code, legacySample(), WithRecorder())
	if err != nil {
		t.Fatal(err)
	}
	if got.Outcome != Sent || len(got.Requests) != 1 {
		t.Fatalf("got %+v, want sent with one request", got)
	}
	var body any
	if err := json.Unmarshal([]byte(got.Requests[0].Body), &body); err != nil {
		t.Fatal(err)
	}
	var want any
	_ = json.Unmarshal([]byte(`{"event":{
		"message_options":{"recipient":"+15555550100","text":"Your code is 123456","code":"123456",
			"action":"second-factor-authentication","message_type":"sms","language":"en"},
		"request":{"ip":"203.0.113.7","user_agent":"Mozilla/5.0","method":"POST","geoip":{}},
		"user":{"user_id":"auth0|1"},
		"client":{"client_id":"cid","name":"App","client_metadata":{"k":"v"}},
		"tenant":{"id":"acme"},
		"secrets":{"GW_KEY":"k3y-value"}},"apiKeys":["cache"]}`), &want)
	if diff := cmp.Diff(want, body); diff != "" {
		t.Errorf("event (-want +got):\n%s", diff)
	}
}

func TestRunSendPhoneMessageOutcomes(t *testing.T) {
	t.Parallel()
	requireNode(t)
	tests := []struct {
		name, code string
		want       Outcome
		wantErr    error
	}{
		{"completes", `exports.onExecuteSendPhoneMessage = async () => {};`, Sent, nil},
		{"throws", `exports.onExecuteSendPhoneMessage = async (e) => { throw new Error('no ' + e.secrets.GW_KEY); };`, Threw, nil},
		{"custom-phone-provider handler only", `exports.onExecuteCustomPhoneProvider = async () => {};`, "", ErrInvalidCode},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := RunSendPhoneMessage(context.Background(), tt.code, legacySample())
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if got.Outcome != tt.want {
				t.Errorf("Outcome = %q, want %q", got.Outcome, tt.want)
			}
			if got.Outcome == Threw && got.Reason != "no [redacted]" {
				t.Errorf("Reason = %q, want the secret redacted", got.Reason)
			}
		})
	}
}

// Every way out of the Action lands on the recorder with its original URL,
// method, headers and body; nothing is sent anywhere else.
func TestWithRecorderCatchesEveryClient(t *testing.T) {
	t.Parallel()
	requireNode(t)
	code := `const https = require('node:https'); const http = require('http');
	exports.onExecuteCustomPhoneProvider = async (event) => {
		const r = await fetch('https://api.example.com/v1/sms?x=1', {method: 'POST', headers: {'X-Key': 'k', 'Content-Type': 'application/json'}, body: '{"a":1}'});
		if ((await r.json()).constructor !== Object) throw new Error('not json');
		await new Promise((resolve, reject) => {
			const req = https.request({hostname: 'sns.example.com', port: 8443, path: '/publish', method: 'PUT', headers: {'Content-Type': 'text/plain'}}, (res) => { res.resume(); res.on('end', resolve); });
			req.on('error', reject); req.end('hello');
		});
		await new Promise((resolve, reject) => {
			http.get('http://gw.example/ping', (res) => { res.resume(); res.on('end', resolve); }).on('error', reject);
		});
	};`
	got, err := Run(context.Background(), code, sampleEvent(), WithRecorder())
	if err != nil {
		t.Fatal(err)
	}
	if got.Outcome != Sent {
		t.Fatalf("Outcome = %s (%s)", got.Outcome, got.Reason)
	}
	type req struct{ Method, URL, Body, CT, Key string }
	var reqs []req
	for _, r := range got.Requests {
		reqs = append(reqs, req{r.Method, r.URL, r.Body, r.Header.Get("Content-Type"), r.Header.Get("X-Key")})
	}
	want := []req{
		{"POST", "https://api.example.com/v1/sms?x=1", `{"a":1}`, "application/json", "k"},
		{"PUT", "https://sns.example.com:8443/publish", "hello", "text/plain", ""},
		{"GET", "http://gw.example/ping", "", "", ""},
	}
	if diff := cmp.Diff(want, reqs); diff != "" {
		t.Errorf("recorded requests (-want +got):\n%s", diff)
	}
	for _, r := range got.Requests {
		if r.Header.Get(originalURLHeader) != "" || r.Header.Get("Host") != "" {
			t.Errorf("recorder headers leak into the recording: %v", r.Header)
		}
	}
}

// An npm package is found in the module paths given, and only there.
func TestWithModulePaths(t *testing.T) {
	t.Parallel()
	requireNode(t)
	dir := filepath.Join(t.TempDir(), "node_modules")
	pkg := filepath.Join(dir, "tiny-dep")
	if err := os.MkdirAll(pkg, 0o755); err != nil {
		t.Fatal(err)
	}
	_ = os.WriteFile(filepath.Join(pkg, "package.json"), []byte(`{"name":"tiny-dep","version":"1.2.3","main":"index.js"}`), 0o644)
	_ = os.WriteFile(filepath.Join(pkg, "index.js"), []byte(`module.exports = (s) => s.toUpperCase();`), 0o644)
	code := `const up = require('tiny-dep');
	exports.onExecuteSendPhoneMessage = async (event) => { await fetch('https://x.example/', {method: 'POST', body: up(event.message_options.text)}); };`
	got, err := RunSendPhoneMessage(context.Background(), code, legacySample(), WithRecorder(), WithModulePaths(dir))
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Requests) != 1 || got.Requests[0].Body != "YOUR CODE IS 123456" {
		t.Errorf("requests = %+v", got.Requests)
	}
	if _, err := RunSendPhoneMessage(context.Background(), code, legacySample()); !errors.Is(err, ErrInvalidCode) {
		t.Errorf("without the module path: err = %v, want ErrInvalidCode", err)
	}
}

func TestHeaderLines(t *testing.T) {
	t.Parallel()
	h := http.Header{"B": {"2"}, "A": {"1", "0"}}
	if diff := cmp.Diff([]string{"A: 0", "A: 1", "B: 2"}, HeaderLines(h)); diff != "" {
		t.Error(diff)
	}
}
