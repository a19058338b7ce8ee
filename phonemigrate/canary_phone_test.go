package phonemigrate_test

import (
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/unifiedphone/unifiedphone/phonemigrate/watch"
)

// recordedEntries are real tenant log entries (testdata/logs/README.md
// names their sources).
func recordedEntries(t *testing.T) map[string]watch.LogEvent {
	t.Helper()
	raw, err := os.ReadFile("testdata/logs/recorded.json")
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]watch.LogEvent
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestCanaryCountsOnlyPhoneEvidence: the canary reads only entries about
// a phone message. Six email failures (fn with details.email_type, an
// email recipient), email magic links (cls) and Management API calls
// (sapi) during the window are not failed phone deliveries: a healthy
// migration is not rolled back for them. The same number of Passwordless
// SMS failures is a breach, and so is MFA's recorded gd_send_sms_failure.
func TestCanaryCountsOnlyPhoneEvidence(t *testing.T) {
	rec := recordedEntries(t)
	switchAt := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	window := watch.Record{From: switchAt, To: switchAt.Add(2 * time.Minute)}
	canary := watch.Canary{MinFailures: 5, Threshold: 0.2, PollInterval: time.Millisecond}
	at := func(i int) time.Time { return switchAt.Add(time.Duration(i) * time.Second) }
	entries := func(name string, n int) []watch.LogEvent {
		var out []watch.LogEvent
		for i := range n {
			e := rec[name]
			e.ID, e.Date = e.Type+string(rune('a'+i))+"0000000000", at(i+1)
			out = append(out, e)
		}
		return out
	}
	phoneFn := func(n int) []watch.LogEvent {
		var out []watch.LogEvent
		for i := range n {
			out = append(out, watch.LogEvent{ID: "sms" + string(rune('a'+i)) + "0000000000", Type: "fn", Date: at(i + 1),
				Details: map[string]any{"email_type": "", "notification_type": "sms", "to": "+15550000001", "error": "gateway answered 503"}})
		}
		return out
	}
	tests := []struct {
		name   string
		events []watch.LogEvent
		want   string
	}{
		{"six email failures", entries("email_fn", 6), watch.VerdictHealthy},
		{"email magic links and API calls", append(entries("cls", 6), entries("sapi", 6)...), watch.VerdictHealthy},
		{"six Passwordless SMS failures", phoneFn(6), watch.VerdictBreach},
		{"six MFA SMS failures (recorded shape)", entries("gd_send_sms_failure", 6), watch.VerdictBreach},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tn := &memTenant{LogEvents: tt.events}
			got, err := canary.Observe(t.Context(), tn, window)
			if err != nil {
				t.Fatal(err)
			}
			if got.Verdict != tt.want {
				t.Errorf("verdict %s (%s), want %s", got.Verdict, got.Reason, tt.want)
			}
		})
	}
}
