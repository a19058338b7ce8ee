package phonemigratetest

import (
	"bytes"
	"context"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/unifiedphone/unifiedphone/internal/actionrun"
)

// compileLogSchemas compiles testdata/log-schemas/*.schema.json, by type.
func compileLogSchemas(t *testing.T) map[string]*jsonschema.Schema {
	t.Helper()
	files, err := filepath.Glob("testdata/log-schemas/*.schema.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no vendored log schemas: %v", err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	out := map[string]*jsonschema.Schema{}
	for _, f := range files {
		abs, _ := filepath.Abs(f)
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if err := c.AddResource(abs, doc); err != nil {
			t.Fatal(err)
		}
		sch, err := c.Compile(abs)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out[strings.TrimSuffix(filepath.Base(f), ".schema.json")] = sch
	}
	return out
}

// emitEveryLogType drives deliveries through every route the fake
// simulates, successful and failing, and returns the server.
func emitEveryLogType(t *testing.T) []LogEvent {
	t.Helper()
	var all []LogEvent

	// Passwordless through the legacy gateway: cs, then fn once it breaks.
	gw := newServer(t, LegacyGateway, WithActionBuild(0, 0))
	notify(t, gw, NotifyRequest{Kind: "passwordless", Recipient: recipient})
	if err := gw.BreakDelivery(DeliveryBreak{Path: BreakGateway, Status: 502}); err != nil {
		t.Fatal(err)
	}
	notify(t, gw, NotifyRequest{Kind: "passwordless", Recipient: recipient})
	gw.RestoreDelivery()
	// limit_phone: a second message to the same number within the window.
	gw.SetPhoneLimit(1, time.Minute)
	notify(t, gw, NotifyRequest{Kind: "passwordless", Recipient: "+15550007777"})
	if res := notify(t, gw, NotifyRequest{Kind: "passwordless", Recipient: "+15550007777"}); res.Delivered {
		t.Errorf("phone limit did not block: %+v", res)
	}
	gw.SetPhoneLimit(0, 0)
	// api_limit: a Management API request over the rate limit.
	gw.SetRateLimit(0.001, 1)
	call(t, gw, "GET", "/api/v2/tenants/settings", nil)
	if status, _ := call(t, gw, "GET", "/api/v2/tenants/settings", nil); status != 429 {
		t.Errorf("rate limit: %d", status)
	}
	gw.SetRateLimit(0, 0)
	// The custom provider Action: sent, then throwing.
	if nodeOK(t) {
		deployCustomAction(t, gw, "p", `exports.onExecuteCustomPhoneProvider = async () => {};`, nil, true)
		wantStatus(t, gw, "POST", "/api/v2/branding/phone/providers", map[string]any{"name": "custom",
			"configuration": map[string]any{"delivery_methods": []any{"text"}}, "credentials": map[string]any{}}, 201)
		upe(t, gw, "con_Gw7tQ2mN8xLp4RvZ", true)
		notify(t, gw, NotifyRequest{Kind: "passwordless", Recipient: recipient})
		if err := gw.BreakDelivery(DeliveryBreak{Path: BreakAction, Message: "provider down"}); err != nil {
			t.Fatal(err)
		}
		if res := notify(t, gw, NotifyRequest{Kind: "passwordless", Recipient: recipient}); res.Delivered {
			t.Errorf("throwing Action delivered: %+v", res)
		}
	}
	all = append(all, gw.Logs()...)

	// MFA through Guardian's legacy Twilio: text and voice, then failing.
	mfa := newServer(t, MFATwilio)
	notify(t, mfa, NotifyRequest{Kind: "mfa", Recipient: recipient})
	notify(t, mfa, NotifyRequest{Kind: "mfa", Recipient: recipient, DeliveryMethod: "voice"})
	if err := mfa.BreakDelivery(DeliveryBreak{Path: BreakTwilio, Status: 503, Code: 30008, Message: "Unknown error"}); err != nil {
		t.Fatal(err)
	}
	notify(t, mfa, NotifyRequest{Kind: "mfa", Recipient: recipient})
	notify(t, mfa, NotifyRequest{Kind: "mfa", Recipient: recipient, DeliveryMethod: "voice"})
	all = append(all, mfa.Logs()...)

	// A tenant-level Twilio provider's test message that fails.
	uni := newServer(t, Unified)
	if err := uni.BreakDelivery(DeliveryBreak{Path: BreakTwilio}); err != nil {
		t.Fatal(err)
	}
	id := uni.State().PhoneProviders[0].ID
	wantStatus(t, uni, "POST", "/api/v2/branding/phone/providers/"+id+"/try", map[string]any{"to": "+15550009999"}, 202)
	all = append(all, uni.Logs()...)
	return all
}

// nodeOK reports whether Node.js can run Actions (the Action log types
// are then emitted too).
func nodeOK(t *testing.T) bool {
	t.Helper()
	if !actionrun.NodeAvailable() {
		if os.Getenv("PHONEMIGRATE_REQUIRE_NODE") != "" {
			t.Fatal("node is not on PATH and PHONEMIGRATE_REQUIRE_NODE is set")
		}
		return false
	}
	return true
}

// TestLogEventsValidateAgainstAuth0Schemas validates every log event the
// fake emits against Auth0's own JSON Schema of its type.
func TestLogEventsValidateAgainstAuth0Schemas(t *testing.T) {
	t.Parallel()
	schemas := compileLogSchemas(t)
	events := emitEveryLogType(t)
	seen := map[string]int{}
	for i, e := range events {
		typ, _ := e["type"].(string)
		seen[typ]++
		sch, ok := schemas[typ]
		if !ok {
			t.Errorf("event %d: type %q has no vendored schema", i, typ)
			continue
		}
		// Validate what a client receives: the JSON encoding. The
		// schemas describe log-stream events, which leave out what the
		// Management API answers as null (recorded: connection,
		// organization_id, ...): drop those nulls first.
		raw, err := json.Marshal(withoutNulls(e))
		if err != nil {
			t.Fatal(err)
		}
		inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		if err := sch.Validate(inst); err != nil {
			t.Errorf("event %d (%s) does not validate:\n%v\n%s", i, typ, err, raw)
		}
	}
	want := []string{LogAPISuccess, LogAPILimit, LogCodeSent, LogFailedNotification, LogMFASMS, LogMFASMSFailure, LogMFAVoice, LogMFAVoiceFailure, LogPhoneLimit}
	if actionrun.NodeAvailable() {
		want = append(want, LogActionFailed)
	}
	sort.Strings(want)
	var got []string
	for typ := range seen {
		got = append(got, typ)
	}
	sort.Strings(got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("emitted log types (-want +got):\n%s", diff)
	}
}

// withoutNulls returns e without its null-valued top-level keys.
func withoutNulls(e LogEvent) LogEvent {
	out := LogEvent{}
	for k, v := range e {
		if v != nil {
			out[k] = v
		}
	}
	return out
}

// TestDeliveryLogsCarryTheFailureReason checks the details a watcher
// reads: the recipient and the error of a failed Passwordless message, the
// provider error of a failed MFA SMS.
func TestDeliveryLogsCarryTheFailureReason(t *testing.T) {
	t.Parallel()
	srv := newServer(t, Mixed)
	if err := srv.BreakDelivery(DeliveryBreak{Path: BreakGateway, Status: 500}); err != nil {
		t.Fatal(err)
	}
	notify(t, srv, NotifyRequest{Kind: "passwordless", Recipient: recipient})
	if err := srv.BreakDelivery(DeliveryBreak{Path: BreakTwilio, Status: 400, Code: 21610, Message: "Attempt to send to unsubscribed recipient"}); err != nil {
		t.Fatal(err)
	}
	notify(t, srv, NotifyRequest{Kind: "mfa", Recipient: recipient})
	logs := srv.Logs()
	if len(logs) != 2 {
		t.Fatalf("%d events, want 2: %v", len(logs), logs)
	}
	type summary struct{ Type, To, Error string }
	var got []summary
	for _, e := range logs {
		d := e["details"].(map[string]any)
		s := summary{Type: e["type"].(string)}
		if to, ok := d["to"].(string); ok {
			s.To, s.Error = to, d["error"].(string)
		}
		if pe, ok := d["provider_error"].(map[string]any); ok {
			s.To = d["authenticator"].(map[string]any)["phone_number"].(string)
			s.Error = pe["message"].(string)
		}
		got = append(got, s)
	}
	want := []summary{
		{LogFailedNotification, recipient, `gateway answered 500 (Auth0: "Unexpected response while calling the SMS gateway: 500")`},
		{LogMFASMSFailure, recipient, "Twilio answered 400: 21610 Attempt to send to unsubscribed recipient"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	srv.RestoreDelivery()
	if res := notify(t, srv, NotifyRequest{Kind: "mfa", Recipient: recipient}); !res.Delivered {
		t.Errorf("after RestoreDelivery: %+v", res)
	}
}

func logTypes(t *testing.T, v any) []string {
	t.Helper()
	list, ok := v.([]any)
	if !ok {
		list = obj(t, v)["logs"].([]any)
	}
	out := []string{}
	for _, e := range list {
		out = append(out, obj(t, e)["type"].(string))
	}
	return out
}

func TestListLogs(t *testing.T) {
	t.Parallel()
	srv := newServer(t, Mixed)
	notify(t, srv, NotifyRequest{Kind: "passwordless", Recipient: recipient}) // cs
	notify(t, srv, NotifyRequest{Kind: "mfa", Recipient: recipient})          // gd_send_sms
	time.Sleep(5 * time.Millisecond)
	mid := time.Now().UTC()
	time.Sleep(5 * time.Millisecond)
	if err := srv.BreakDelivery(DeliveryBreak{Path: BreakGateway}); err != nil {
		t.Fatal(err)
	}
	if err := srv.BreakDelivery(DeliveryBreak{Path: BreakTwilio}); err != nil {
		t.Fatal(err)
	}
	notify(t, srv, NotifyRequest{Kind: "passwordless", Recipient: recipient}) // fn
	notify(t, srv, NotifyRequest{Kind: "mfa", Recipient: recipient})          // gd_send_sms_failure
	logs := srv.Logs()
	firstID := logs[0]["log_id"].(string)
	midISO := mid.Format(time.RFC3339Nano)

	tests := []struct {
		name   string
		query  url.Values
		status int
		want   []string
	}{
		{"default: newest first", nil, 200, []string{"gd_send_sms_failure", "fn", "gd_send_sms", "cs"}},
		{"sort ascending", url.Values{"sort": {"date:1"}}, 200, []string{"cs", "gd_send_sms", "fn", "gd_send_sms_failure"}},
		{"type", url.Values{"q": {"type:fn"}}, 200, []string{"fn"}},
		{"type OR", url.Values{"q": {`type:("fn" OR "gd_send_sms_failure")`}}, 200, []string{"gd_send_sms_failure", "fn"}},
		{"search is q", url.Values{"search": {`type:"cs"`}}, 200, []string{"cs"}},
		{"prefix", url.Values{"q": {"type:gd_send_*"}, "sort": {"date:1"}}, 200, []string{"gd_send_sms", "gd_send_sms_failure"}},
		{"date range open", url.Values{"q": {"date:[" + midISO + " TO *]"}}, 200, []string{"gd_send_sms_failure", "fn"}},
		{"date range closed", url.Values{"q": {"date:[2026-01-01T00:00:00Z TO " + midISO + "}"}}, 200, []string{"gd_send_sms", "cs"}},
		{"type AND date", url.Values{"q": {`type:("fn" OR "cs") AND date:[` + midISO + ` TO *]`}}, 200, []string{"fn"}},
		{"NOT", url.Values{"q": {"NOT type:gd_send_*"}}, 200, []string{"fn", "cs"}},
		{"nested field", url.Values{"q": {`details.notification_type:sms`}}, 200, []string{"fn"}},
		{"page", url.Values{"per_page": {"1"}, "page": {"1"}}, 200, []string{"fn"}},
		{"totals", url.Values{"per_page": {"2"}, "include_totals": {"true"}}, 200, []string{"gd_send_sms_failure", "fn"}},
		{"per_page over 100", url.Values{"per_page": {"101"}}, 400, nil},
		{"beyond 1000", url.Values{"per_page": {"100"}, "page": {"10"}}, 400, nil},
		{"bad sort", url.Values{"sort": {"type:1"}}, 400, nil},
		{"bad query", url.Values{"q": {"type:(fn"}}, 400, nil},
		{"bad date", url.Values{"q": {"date:[yesterday TO *]"}}, 400, nil},
		{"checkpoint", url.Values{"from": {firstID}, "take": {"2"}}, 200, []string{"gd_send_sms", "fn"}},
		{"checkpoint ignores q and sort", url.Values{"from": {firstID}, "take": {"100"}, "q": {"type:cs"}, "sort": {"date:-1"}}, 200, []string{"gd_send_sms", "fn", "gd_send_sms_failure"}},
		{"checkpoint from the start", url.Values{"from": {""}, "take": {"1"}}, 200, []string{"cs"}},
		{"take over 100", url.Values{"from": {firstID}, "take": {"101"}}, 400, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := "/api/v2/logs"
			if len(tt.query) > 0 {
				path += "?" + tt.query.Encode()
			}
			status, v := call(t, srv, "GET", path, nil)
			if status != tt.status {
				t.Fatalf("status %d, want %d: %v", status, tt.status, v)
			}
			if tt.status != 200 {
				return
			}
			if diff := cmp.Diff(tt.want, logTypes(t, v)); diff != "" {
				t.Errorf("types (-want +got):\n%s", diff)
			}
		})
	}
	// include_totals answers the paging envelope.
	_, v := call(t, srv, "GET", "/api/v2/logs?per_page=2&page=1&include_totals=true", nil)
	env := obj(t, v)
	got := map[string]any{"start": env["start"], "limit": env["limit"], "length": env["length"], "total": env["total"]}
	if diff := cmp.Diff(map[string]any{"start": 2.0, "limit": 2.0, "length": 2.0, "total": 4.0}, got); diff != "" {
		t.Errorf("envelope (-want +got):\n%s", diff)
	}
}

func TestLogsAreRateLimited(t *testing.T) {
	t.Parallel()
	srv := newServer(t, Mixed, WithRateLimit(0.001, 2))
	var statuses []int
	for range 3 {
		status, _, h := callRaw(t, srv, "GET", "/api/v2/logs?q=type:fn", nil, srv.Token)
		statuses = append(statuses, status)
		if h.Get("X-RateLimit-Limit") != "2" {
			t.Errorf("X-RateLimit-Limit %q", h.Get("X-RateLimit-Limit"))
		}
	}
	if diff := cmp.Diff([]int{200, 200, 429}, statuses); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
	if types := logTypesOf(srv.Logs()); !slices.Equal(types, []string{LogAPILimit}) {
		t.Errorf("log after a 429: %v", types)
	}
}

func logTypesOf(logs []LogEvent) []string {
	out := []string{}
	for _, e := range logs {
		out = append(out, e["type"].(string))
	}
	return out
}

func TestTraffic(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		scenario  Scenario
		spec      Traffic
		breakPath string
		want      TrafficStatus
		wantTypes map[string]int
	}{
		{"mixed healthy", Mixed, Traffic{PerSecond: 100, Count: 6, MFAPercent: 50}, "", TrafficStatus{Sent: 6, Delivered: 6},
			map[string]int{"cs": 3, "gd_send_sms": 3}},
		{"mfa only tenant, voice", MFATwilio, Traffic{PerSecond: 100, Count: 4, MFAPercent: 0, VoicePercent: 100}, "", TrafficStatus{Sent: 4, Delivered: 4},
			map[string]int{"gd_send_voice": 4}},
		{"gateway broken", LegacyGateway, Traffic{PerSecond: 100, Count: 3}, BreakGateway, TrafficStatus{Sent: 3, Failed: 3},
			map[string]int{"fn": 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, tt.scenario)
			if tt.breakPath != "" {
				if err := srv.BreakDelivery(DeliveryBreak{Path: tt.breakPath}); err != nil {
					t.Fatal(err)
				}
			}
			tt.spec.Seed = 7
			if err := srv.StartTraffic(tt.spec); err != nil {
				t.Fatal(err)
			}
			// The traffic ends by itself (its count); the minute only
			// guards against a hang.
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if err := srv.WaitTraffic(ctx); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, srv.TrafficStatus()); diff != "" {
				t.Errorf("status (-want +got):\n%s", diff)
			}
			got := map[string]int{}
			for _, typ := range logTypesOf(srv.Logs()) {
				got[typ]++
			}
			if tt.name == "mixed healthy" {
				// The mix is random (seeded): only the total is fixed.
				if got["cs"]+got["gd_send_sms"] != 6 || got["cs"] == 0 || got["gd_send_sms"] == 0 {
					t.Errorf("types %v, want 6 of cs and gd_send_sms, both present", got)
				}
				return
			}
			if diff := cmp.Diff(tt.wantTypes, got); diff != "" {
				t.Errorf("types (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTrafficStopsByItselfAndOnRequest(t *testing.T) {
	t.Parallel()
	srv := newServer(t, MFATwilio)
	// Bounded by time: 50 ms at 20/s is at most a couple of deliveries.
	status, _ := call(t, srv, "POST", "/__fake/traffic", map[string]any{"per_second": 20, "count": 1000, "duration_ms": 50})
	if status != 202 {
		t.Fatalf("POST /__fake/traffic: %d", status)
	}
	// It ends by itself after its 50 ms; the minute only guards against a
	// hang.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := srv.WaitTraffic(ctx); err != nil {
		t.Fatal(err)
	}
	if st := srv.TrafficStatus(); st.Running || st.Sent > 3 {
		t.Errorf("after the duration: %+v", st)
	}
	// Stopped on request.
	call(t, srv, "POST", "/__fake/traffic", map[string]any{"per_second": 10, "count": 1000, "duration_ms": 60000})
	_, v := call(t, srv, "DELETE", "/__fake/traffic", nil)
	if obj(t, v)["running"] != false {
		t.Errorf("DELETE /__fake/traffic: %v", v)
	}
	for _, bad := range []map[string]any{{"per_second": 1000}, {"count": 20000}, {"duration_ms": 700000}, {"mfa_percent": 101}} {
		if status, _ := call(t, srv, "POST", "/__fake/traffic", bad); status != 400 {
			t.Errorf("POST /__fake/traffic %v: %d, want 400", bad, status)
		}
	}
	for _, bad := range []map[string]any{{"path": "smoke-signals"}, {"path": "gateway", "status": 200}} {
		if status, _ := call(t, srv, "POST", "/__fake/break", bad); status != 400 {
			t.Errorf("POST /__fake/break %v: %d, want 400", bad, status)
		}
	}
	if status, _ := call(t, srv, "DELETE", "/__fake/break", nil); status != 204 {
		t.Errorf("DELETE /__fake/break: %d", status)
	}
}
