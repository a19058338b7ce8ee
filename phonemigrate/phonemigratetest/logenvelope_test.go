package phonemigratetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"sort"
	"testing"

	"github.com/auth0/go-auth0/v3/management/core"
	"github.com/google/go-cmp/cmp"
)

// recordedLogs loads testdata/logs (real answers of GET /api/v2/logs).
func recordedLogs(t *testing.T) (list []map[string]any, one map[string]any) {
	t.Helper()
	raw, err := os.ReadFile("testdata/logs/go-auth0-logs.json")
	if err != nil {
		t.Fatal(err)
	}
	var recs []struct {
		Path         string `json:"path"`
		ResponseBody any    `json:"response_body"`
	}
	if err := json.Unmarshal(raw, &recs); err != nil {
		t.Fatal(err)
	}
	for _, x := range recs[0].ResponseBody.([]any) {
		list = append(list, x.(map[string]any))
	}
	return list, recs[1].ResponseBody.(map[string]any)
}

// logStreamKeys are the keys the fake adds to Auth0's Management API
// envelope: the log-stream fields its schemas require.
var logStreamKeys = []string{"tenant_name", "environment_name", "$event_schema"}

// envelopeDiffs compares the top level of a fake entry with a recorded
// one of the same type: every recorded key is there, with the same JSON
// type where both have a value; strictNulls also wants null exactly where
// the recording has null.
func envelopeDiffs(got, want map[string]any, strictNulls bool) []string {
	var out []string
	for k, wv := range want {
		gv, ok := got[k]
		switch {
		case !ok:
			out = append(out, "missing "+k)
		case strictNulls && (wv == nil) != (gv == nil):
			out = append(out, fmt.Sprintf("%s: fake %s, recorded %s", k, jsonType(gv), jsonType(wv)))
		case wv != nil && gv != nil && jsonType(gv) != jsonType(wv):
			out = append(out, fmt.Sprintf("type %s: fake %s, recorded %s", k, jsonType(gv), jsonType(wv)))
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok && !slices.Contains(logStreamKeys, k) {
			out = append(out, "extra "+k)
		}
	}
	sort.Strings(out)
	return out
}

// keysOf returns the sorted keys of the object at path (a list of keys)
// in m.
func keysOf(m map[string]any, path ...string) []string {
	var cur any = m
	for _, p := range path {
		cur = cur.(map[string]any)[p]
	}
	var out []string
	for k := range cur.(map[string]any) {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

var logIDPattern = regexp.MustCompile(`^[0-9]{56}$`)

// TestLogEnvelopeMatchesRecording compares the fake's sapi and fn entries,
// as GET /api/v2/logs answers them, with the ones real Auth0 answered
// (testdata/logs): the envelope keys, null where Auth0 has null, the
// 56-digit log_id equal to _id, and a sapi entry's details.
func TestLogEnvelopeMatchesRecording(t *testing.T) {
	t.Parallel()
	recorded, _ := recordedLogs(t)
	srv := newServer(t, LegacyGateway)
	wantStatus(t, srv, "PATCH", "/api/v2/tenants/settings", map[string]any{"friendly_name": "ACME"}, 200)
	if err := srv.BreakDelivery(DeliveryBreak{Path: BreakGateway, Status: 502}); err != nil {
		t.Fatal(err)
	}
	notify(t, srv, NotifyRequest{Kind: "passwordless", Recipient: recipient})
	_, v := call(t, srv, "GET", "/api/v2/logs", nil)
	byType := map[string]map[string]any{}
	for _, x := range v.([]any) {
		e := x.(map[string]any)
		byType[e["type"].(string)] = e
		id, _ := e["log_id"].(string)
		if !logIDPattern.MatchString(id) || e["_id"] != id {
			t.Errorf("%s: log_id %q, _id %v: want the same 56 digits", e["type"], id, e["_id"])
		}
	}
	for _, want := range recorded {
		typ := want["type"].(string)
		got, ok := byType[typ]
		if !ok {
			continue // a type the fake does not emit (ss)
		}
		t.Run(typ, func(t *testing.T) {
			// A sapi entry is the fake's own API call, like the recorded
			// ones: its nulls must match. An fn entry here is a phone
			// message, the recorded one an email: only types are compared.
			if d := envelopeDiffs(got, want, typ == LogAPISuccess); len(d) > 0 {
				t.Errorf("envelope differs from the recording:\n  %v", d)
			}
			if typ != LogAPISuccess {
				return
			}
			for _, path := range [][]string{{"details"}, {"details", "request"}, {"details", "request", "auth"}, {"details", "response"}} {
				if diff := cmp.Diff(keysOf(want, path...), keysOf(got, path...)); diff != "" {
					t.Errorf("keys of %v (-recorded +fake):\n%s", path, diff)
				}
			}
		})
	}
	for _, typ := range []string{LogAPISuccess, LogFailedNotification} {
		if _, ok := byType[typ]; !ok {
			t.Errorf("the fake logged no %s entry", typ)
		}
	}
}

// TestGetLogByID reads one entry with go-auth0 v3 (GET /api/v2/logs/{id})
// and an unknown id.
func TestGetLogByID(t *testing.T) {
	t.Parallel()
	_, rec := recordedLogs(t)
	srv := newServer(t, Unified)
	wantStatus(t, srv, "PATCH", "/api/v2/tenants/settings", map[string]any{"friendly_name": "ACME"}, 200)
	logs := srv.Logs()
	if len(logs) != 1 {
		t.Fatalf("logs = %v", logs)
	}
	id := logs[0]["log_id"].(string)
	m := v3(srv, srv.Token)
	got, err := m.Logs.Get(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if got.GetLogID() != id || got.GetType() != LogAPISuccess || got.GetDescription() != "Update tenant settings" {
		t.Errorf("GET /logs/{id} = %s %s %q", got.GetLogID(), got.GetType(), got.GetDescription())
	}
	_, v := call(t, srv, "GET", "/api/v2/logs/"+id, nil)
	if d := envelopeDiffs(v.(map[string]any), rec, true); len(d) > 0 {
		t.Errorf("GET /logs/{id} envelope differs from the recording:\n  %v", d)
	}
	_, err = m.Logs.Get(t.Context(), "900"+id[3:len(id)-1]+"9")
	var apiErr *core.APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 404 {
		t.Errorf("unknown log id: %v, want 404", err)
	}
}
