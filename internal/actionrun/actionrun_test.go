package actionrun

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// requireNode skips the test when node is absent, unless
// PHONEMIGRATE_REQUIRE_NODE is set (CI), in which case it fails.
func requireNode(t *testing.T) {
	t.Helper()
	if NodeAvailable() {
		return
	}
	if os.Getenv("PHONEMIGRATE_REQUIRE_NODE") != "" {
		t.Fatal("node not found on PATH and PHONEMIGRATE_REQUIRE_NODE is set")
	}
	t.Skip("node not found on PATH; set PHONEMIGRATE_REQUIRE_NODE to make this a failure")
}

func sampleEvent() Event {
	return Event{
		Notification: Notification{
			AsText:         "Your code is 123456",
			AsVoice:        "Your code is 1 2 3 4 5 6",
			Code:           "123456",
			DeliveryMethod: "text",
			MessageType:    "otp_verify",
			Recipient:      "+15555550100",
		},
		Request:    Request{IP: "203.0.113.7", Method: "POST", UserAgent: "Mozilla/5.0"},
		Connection: &Connection{ID: "con_1", Name: "sms", Strategy: "sms"},
		Client:     Client{ClientID: "cid", Name: "App"},
		Tenant:     Tenant{ID: "acme"},
		Secrets:    map[string]string{"TOKEN": "s3cr3t-value"},
	}
}

func TestRunOutcomes(t *testing.T) {
	requireNode(t)
	t.Parallel()
	long := strings.Repeat("é", 1500)
	tests := []struct {
		name string
		code string
		want Result
	}{{
		name: "returns",
		code: `exports.onExecuteCustomPhoneProvider = async (event, api) => {};`,
		want: Result{Outcome: Sent, Logs: []string{}},
	}, {
		name: "sync handler returns",
		code: `exports.onExecuteCustomPhoneProvider = (event, api) => { return 42; };`,
		want: Result{Outcome: Sent, Logs: []string{}},
	}, {
		name: "retry",
		code: `exports.onExecuteCustomPhoneProvider = async (event, api) => { api.notification.retry("gateway 503"); };`,
		want: Result{Outcome: Retry, Reason: "gateway 503", Logs: []string{}},
	}, {
		name: "drop",
		code: `exports.onExecuteCustomPhoneProvider = async (event, api) => { api.notification.drop("gateway 400"); };`,
		want: Result{Outcome: Drop, Reason: "gateway 400", Logs: []string{}},
	}, {
		name: "last call wins: retry then drop",
		code: `exports.onExecuteCustomPhoneProvider = async (event, api) => {
			api.notification.retry("first"); await new Promise(r => setTimeout(r, 5)); api.notification.drop("second"); };`,
		want: Result{Outcome: Drop, Reason: "second", Logs: []string{}},
	}, {
		name: "last call wins: drop then retry",
		code: `exports.onExecuteCustomPhoneProvider = async (event, api) => { api.notification.drop("a"); api.notification.retry("b"); };`,
		want: Result{Outcome: Retry, Reason: "b", Logs: []string{}},
	}, {
		name: "reason truncated to 1024 characters",
		code: `exports.onExecuteCustomPhoneProvider = async (event, api) => { api.notification.retry("é".repeat(1500)); };`,
		want: Result{Outcome: Retry, Reason: long[:1024*len("é")], Logs: []string{}},
	}, {
		name: "throws",
		code: `exports.onExecuteCustomPhoneProvider = async (event, api) => { api.notification.drop("x"); throw new Error("boom"); };`,
		want: Result{Outcome: Threw, Reason: "boom", Logs: []string{}},
	}, {
		name: "rejects with non-Error",
		code: `exports.onExecuteCustomPhoneProvider = (event, api) => Promise.reject("plain");`,
		want: Result{Outcome: Threw, Reason: "plain", Logs: []string{}},
	}, {
		name: "throws from a timer",
		code: `exports.onExecuteCustomPhoneProvider = async (event, api) => {
			await new Promise(() => setTimeout(() => { throw new Error("late") }, 1)); };`,
		want: Result{Outcome: Threw, Reason: "late", Logs: []string{}},
	}, {
		name: "console captured and formatted",
		code: `exports.onExecuteCustomPhoneProvider = async (event, api) => {
			console.log("status", 200, {a: 1}); console.error("err %s", "x"); console.warn("w"); console.info("i");
			console.log("z".repeat(300)); process.stdout.write("not a log line\n"); };`,
		want: Result{Outcome: Sent, Logs: []string{"status 200 { a: 1 }", "err x", "w", "i", strings.Repeat("z", 256)}},
	}, {
		name: "secret values redacted from logs and reasons",
		code: `exports.onExecuteCustomPhoneProvider = async (event, api) => {
			console.log("token=" + event.secrets.TOKEN); api.notification.retry("bad " + event.secrets.TOKEN); };`,
		want: Result{Outcome: Retry, Reason: "bad [redacted]", Logs: []string{"token=[redacted]"}},
	}, {
		// Only the value as it is used to be found: the base64 in a
		// Basic header, for one, kept the whole secret.
		name: "secret values redacted in every form: base64, escaped, upper case",
		code: `exports.onExecuteCustomPhoneProvider = async (event, api) => {
			const tok = event.secrets.TOKEN;
			console.log("Authorization: Basic " + Buffer.from("AC1:" + tok).toString("base64"));
			console.log(JSON.stringify({ token: tok.toUpperCase() }), "\n");
			api.notification.retry("https://gw/?t=" + encodeURIComponent(tok + "&")); };`,
		want: Result{Outcome: Retry, Reason: "https://gw/?t=[redacted]%26", Logs: []string{"Authorization: Basic QUMxOn[redacted]Q==", `{"token":"[redacted]"} ` + "\n"}},
	}, {
		// Truncating before redacting kept the secret's first characters.
		name: "a secret across the log and reason limits is redacted, then cut",
		code: `exports.onExecuteCustomPhoneProvider = async (event, api) => {
			console.log("a".repeat(250) + event.secrets.TOKEN); api.notification.drop("b".repeat(1020) + event.secrets.TOKEN); };`,
		want: Result{Outcome: Drop, Reason: strings.Repeat("b", 1020) + "[red", Logs: []string{strings.Repeat("a", 250) + "[redac"}},
	}, {
		name: "cache set/get/delete",
		code: `exports.onExecuteCustomPhoneProvider = async (event, api) => {
			console.log(JSON.stringify(api.cache.get("k")));
			console.log(api.cache.set("k", "v", {ttl: 60000}).type);
			console.log(api.cache.get("k").value);
			console.log(api.cache.set("x".repeat(65), "v").code);
			api.cache.delete("k");
			console.log(JSON.stringify(api.cache.get("k"))); };`,
		want: Result{Outcome: Sent, Logs: []string{"undefined", "success", "v", "KEY_TOO_LARGE", "undefined"}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Run(context.Background(), tt.code, sampleEvent())
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if diff := cmp.Diff(tt.want, *got); diff != "" {
				t.Errorf("Run mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRunInvalidCode(t *testing.T) {
	requireNode(t)
	t.Parallel()
	tests := []struct {
		name, code, wantMsg string
	}{
		{"missing export", `exports.somethingElse = async () => {};`, "does not export"},
		{"export not a function", `exports.onExecuteCustomPhoneProvider = 1;`, "does not export"},
		{"syntax error", `exports.onExecuteCustomPhoneProvider = async (event, api) => {`, "Unexpected end of input"},
		{"throws at load", `throw new Error("module-level");`, "module-level"},
		{"unknown module", `require("no-such-module-xyz");`, "no-such-module-xyz"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Run(context.Background(), tt.code, sampleEvent())
			if !errors.Is(err, ErrInvalidCode) {
				t.Fatalf("Run = %+v, %v; want ErrInvalidCode", got, err)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not mention %q", err, tt.wantMsg)
			}
		})
	}
}

func TestRunProcessExitWithoutResult(t *testing.T) {
	requireNode(t)
	t.Parallel()
	code := `exports.onExecuteCustomPhoneProvider = async () => { process.exit(3); };`
	_, err := Run(context.Background(), code, sampleEvent())
	if want := "actionrun: node exited without a result (exit code 3)"; err == nil || err.Error() != want {
		t.Fatalf("Run error = %v, want %q", err, want)
	}
}

const hangCode = `exports.onExecuteCustomPhoneProvider = async () => {
	await new Promise(() => setInterval(() => {}, 1000)); };`

func TestRunContextCancelKillsNode(t *testing.T) {
	requireNode(t)
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel)
	start := time.Now()
	_, err := Run(ctx, hangCode, sampleEvent())
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run error = %v, want context.Canceled", err)
	}
	// Without the kill, Run would wait for the 20 s execution limit.
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Run returned %v after cancel; node was not killed promptly", d)
	}
}

func TestRunTimeout(t *testing.T) {
	requireNode(t)
	t.Parallel()
	_, err := Run(context.Background(), hangCode, sampleEvent(), withTimeout(500*time.Millisecond))
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("Run error = %v, want ErrTimeout", err)
	}
}

// TestRunUnsettledPromise: Auth0's runtime outlives the handler's promise,
// so a promise that never settles, with nothing left to wait for, runs
// into the time limit, and a timer the Action unrefs still fires. The
// worker used to end at once: "node exited without a result (exit code 0)".
func TestRunUnsettledPromise(t *testing.T) {
	requireNode(t)
	t.Parallel()
	t.Run("never settles", func(t *testing.T) {
		t.Parallel()
		_, err := Run(t.Context(), `exports.onExecuteCustomPhoneProvider = () => new Promise(() => {});`, sampleEvent(), withTimeout(300*time.Millisecond))
		if !errors.Is(err, ErrTimeout) {
			t.Errorf("Run error = %v, want ErrTimeout", err)
		}
	})
	t.Run("unrefed timer", func(t *testing.T) {
		t.Parallel()
		res, err := Run(t.Context(), `exports.onExecuteCustomPhoneProvider = async (event, api) => {
	await new Promise((done) => setTimeout(done, 1).unref());
	api.notification.drop("fired");
};`, sampleEvent())
		if err != nil || res.Reason != "fired" {
			t.Errorf("Run = %+v, %v; want drop fired", res, err)
		}
	})
}

func TestRunNodeNotFound(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	if NodeAvailable() {
		t.Fatal("NodeAvailable = true with an empty PATH")
	}
	if _, err := Run(context.Background(), "", sampleEvent()); !errors.Is(err, ErrNodeNotFound) {
		t.Fatalf("Run error = %v, want ErrNodeNotFound", err)
	}
}

// echoCode posts the whole event to the URL in event.secrets.ECHO_URL, the
// way an Action makes a real HTTP call.
const echoCode = `exports.onExecuteCustomPhoneProvider = async (event, api) => {
	const res = await fetch(event.secrets.ECHO_URL, {
		method: "POST",
		headers: {"content-type": "application/json"},
		body: JSON.stringify({event, connectionDefined: event.connection !== undefined, apiKeys: Object.keys(api).sort()}),
	});
	if (res.status !== 204) api.notification.retry("echo " + res.status);
};`

func TestRunEventAsAuth0BuildsIt(t *testing.T) {
	requireNode(t)
	t.Parallel()
	tests := []struct {
		name string
		ev   Event
		want string // the JSON the Action sees
	}{{
		name: "passwordless, every field",
		ev: Event{
			Notification: Notification{
				AsText: "Your code is 123456", AsVoice: "Your code is 1 2 3", Code: "123456",
				DeliveryMethod: "text", From: "+15550000000", Locale: "en_US",
				MessageType: "otp_verify", Recipient: "+15555550100",
			},
			Request: Request{
				IP: "203.0.113.7", UserAgent: "Mozilla/5.0", Method: "POST",
				Hostname: "acme.auth0.com", Language: "en-US",
			},
			Connection: &Connection{ID: "con_1", Name: "sms", Strategy: "sms"},
			Client:     Client{ClientID: "cid", Name: "App", Metadata: map[string]string{"k": "v"}},
			Tenant:     Tenant{ID: "acme"},
			Secrets:    map[string]string{"OTHER": "x"},
		},
		want: `{"event":{
			"notification":{"as_text":"Your code is 123456","as_voice":"Your code is 1 2 3","code":"123456",
				"delivery_method":"text","from":"+15550000000","locale":"en_US","message_type":"otp_verify","recipient":"+15555550100"},
			"request":{"ip":"203.0.113.7","user_agent":"Mozilla/5.0","method":"POST","hostname":"acme.auth0.com","language":"en-US","geoip":{}},
			"connection":{"id":"con_1","name":"sms","strategy":"sms"},
			"client":{"client_id":"cid","name":"App","metadata":{"k":"v"}},
			"tenant":{"id":"acme"},
			"secrets":{"OTHER":"x","ECHO_URL":"URL"}},
			"connectionDefined":true,"apiKeys":["cache","notification"]}`,
	}, {
		name: "mfa, optional fields empty",
		ev: Event{
			Notification: Notification{AsText: "t", AsVoice: "v", DeliveryMethod: "voice", MessageType: "otp_enroll", Recipient: "+1"},
			Request:      Request{IP: "::1", Method: "GET"},
			Client:       Client{ClientID: "c", Name: "n"},
			Tenant:       Tenant{ID: "t"},
		},
		want: `{"event":{
			"notification":{"as_text":"t","as_voice":"v","delivery_method":"voice","message_type":"otp_enroll","recipient":"+1"},
			"request":{"ip":"::1","method":"GET","geoip":{}},
			"client":{"client_id":"c","name":"n","metadata":{}},
			"tenant":{"id":"t"},
			"secrets":{"ECHO_URL":"URL"}},
			"connectionDefined":false,"apiKeys":["cache","notification"]}`,
	}, {
		name: "Auth0's example values: connection with strategy only, a user",
		ev: Event{
			Notification: Notification{AsText: "t", AsVoice: "v", DeliveryMethod: "text", MessageType: "otp_verify", Recipient: "+1-808-555-5555"},
			Request:      Request{IP: "::1", Method: "POST"},
			Connection:   &Connection{Strategy: "auth0"},
			User: &User{UserID: "sms|5f3c", PhoneNumber: "+18085555555",
				Identities: []Identity{{Connection: "sms", Provider: "sms", UserID: "5f3c"}}},
			Client: Client{ClientID: "c", Name: "n"},
			Tenant: Tenant{ID: "t"},
		},
		want: `{"event":{
			"notification":{"as_text":"t","as_voice":"v","delivery_method":"text","message_type":"otp_verify","recipient":"+1-808-555-5555"},
			"request":{"ip":"::1","method":"POST","geoip":{}},
			"connection":{"strategy":"auth0"},
			"user":{"user_id":"sms|5f3c","phone_number":"+18085555555",
				"identities":[{"connection":"sms","provider":"sms","user_id":"5f3c","isSocial":false}]},
			"client":{"client_id":"c","name":"n","metadata":{}},
			"tenant":{"id":"t"},
			"secrets":{"ECHO_URL":"URL"}},
			"connectionDefined":true,"apiKeys":["cache","notification"]}`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bodies := make(chan []byte, 1)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				bodies <- b
				w.WriteHeader(http.StatusNoContent)
			}))
			defer srv.Close()
			ev := tt.ev
			ev.Secrets = map[string]string{"ECHO_URL": srv.URL}
			for k, v := range tt.ev.Secrets {
				ev.Secrets[k] = v
			}
			got, err := Run(context.Background(), echoCode, ev)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if got.Outcome != Sent {
				t.Fatalf("Outcome = %q (%s), want sent", got.Outcome, got.Reason)
			}
			var gotJSON, wantJSON any
			body := <-bodies
			if err := json.Unmarshal(body, &gotJSON); err != nil {
				t.Fatalf("echo body: %v", err)
			}
			if err := json.Unmarshal([]byte(strings.Replace(tt.want, `"URL"`, `"`+srv.URL+`"`, 1)), &wantJSON); err != nil {
				t.Fatalf("want: %v", err)
			}
			if diff := cmp.Diff(wantJSON, gotJSON); diff != "" {
				t.Errorf("event seen by the Action (-want +got):\n%s", diff)
			}
			// Key order matters to byte-level consumers; the Action sees
			// notification fields in Auth0's documented order.
			if !strings.Contains(string(body), `"notification":{"as_text"`) {
				t.Errorf("unexpected notification key order: %s", body)
			}
		})
	}
}

func TestTruncate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		s    string
		n    int
		want string
	}{
		{"", 3, ""},
		{"abc", 3, "abc"},
		{"abcd", 3, "abc"},
		{"héllo", 2, "hé"},
		{"日本語", 1, "日"},
	}
	for _, tt := range tests {
		if got := truncate(tt.s, tt.n); got != tt.want {
			t.Errorf("truncate(%q, %d) = %q, want %q", tt.s, tt.n, got, tt.want)
		}
	}
}

// BenchmarkRun measures one execution: temp files, a worker thread, the
// harness, a handler that returns at once. node-cpu-ms/op is the CPU the
// node process spent per execution (Linux: read from /proc).
func BenchmarkRun(b *testing.B) {
	benchmarkRun(b, `exports.onExecuteCustomPhoneProvider = async () => {};`, sampleEvent())
}

// BenchmarkRunFetch is BenchmarkRun with a handler that makes one fetch,
// as every generated Action does: the first fetch of a worker compiles
// undici's HTTP parser.
func BenchmarkRunFetch(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	b.Cleanup(srv.Close)
	ev := sampleEvent()
	ev.Secrets = map[string]string{"URL": srv.URL}
	benchmarkRun(b, `exports.onExecuteCustomPhoneProvider = async (event) => {
	const res = await fetch(event.secrets.URL, {method: "POST", body: "{}"}); await res.text(); };`, ev)
}

func benchmarkRun(b *testing.B, code string, ev Event) {
	if !NodeAvailable() {
		b.Skip("node not found on PATH")
	}
	if _, err := Run(context.Background(), code, ev); err != nil { // start the pool
		b.Fatal(err)
	}
	p, _ := poolFor(mustLookNode(b))
	before, ok := p.cpu()
	n := 0
	for b.Loop() {
		if _, err := Run(context.Background(), code, ev); err != nil {
			b.Fatal(err)
		}
		n++
	}
	if after, ok2 := p.cpu(); ok && ok2 && n > 0 {
		b.ReportMetric(float64((after-before).Milliseconds())/float64(n), "node-cpu-ms/op")
	}
}

func mustLookNode(b testing.TB) string {
	node, err := exec.LookPath("node")
	if err != nil {
		b.Fatal(err)
	}
	return node
}

// TestRunGrandchildHoldingResultPipe: an Action that leaves a process
// behind holding the pool's reply pipe (fd 3) still returns its result,
// without waiting for that process.
func TestRunGrandchildHoldingResultPipe(t *testing.T) {
	requireNode(t)
	t.Parallel()
	const code = `exports.onExecuteCustomPhoneProvider = async (event, api) => {
	const c = require("child_process").spawn("sleep", ["5"], {stdio: ["ignore", "ignore", "ignore", 3], detached: true});
	c.unref();
};`
	res, err := Run(t.Context(), code, sampleEvent())
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if res.Outcome != Sent {
		t.Errorf("outcome %s, want %s", res.Outcome, Sent)
	}
}

// TestRunPoolKilled: an Action that kills the node process fails its own
// run (and only the runs sharing that process), and the next run starts a
// new process. The error, which says what the process printed, holds no
// secret of any run, even one another run printed (there, to fd 2, the
// process's own stderr). Not parallel: it ends the pool the package's
// tests share.
func TestRunPoolKilled(t *testing.T) {
	requireNode(t)
	other := sampleEvent()
	other.Secrets = map[string]string{"OTHER": "secret-of-another-run"}
	if _, err := Run(t.Context(), `exports.onExecuteCustomPhoneProvider = async (event) => {
	require("fs").writeSync(2, "printed " + event.secrets.OTHER + "\n"); };`, other); err != nil {
		t.Fatalf("Run printing to fd 2: %v", err)
	}
	kill := `exports.onExecuteCustomPhoneProvider = async () => { process.kill(process.pid, "SIGKILL"); await new Promise(() => {}); };`
	_, err := Run(t.Context(), kill, sampleEvent())
	if err == nil || !strings.Contains(err.Error(), "without a result") || !strings.Contains(err.Error(), "printed [redacted]") {
		t.Fatalf("Run error = %v, want node exited without a result, saying what it printed", err)
	}
	got, err := Run(t.Context(), `exports.onExecuteCustomPhoneProvider = async (event, api) => { api.notification.drop("after"); };`, sampleEvent())
	if err != nil {
		t.Fatalf("Run after the pool was killed: %v", err)
	}
	if diff := cmp.Diff(Result{Outcome: Drop, Reason: "after", Logs: []string{}}, *got); diff != "" {
		t.Errorf("Run after the pool was killed (-want +got):\n%s", diff)
	}
}
