package phonemigrate_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/unifiedphone/unifiedphone/phonemigrate"
	"github.com/unifiedphone/unifiedphone/phonemigrate/phonemigratetest"
	"github.com/unifiedphone/unifiedphone/phonemigrate/watch"
)

func TestMaskReason(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"Twilio answered 400: 21211 Invalid 'To' Phone Number: +15551234567", "Twilio answered 400: 21211 Invalid 'To' Phone Number: +•••••••••67"},
		{"gateway answered 503", "gateway answered 503"},
		{"call to +1 (555) 123-4567 failed", "call to +•••••••••67 failed"},
		{"POST https://gw.example/sms?key=abc123 failed", "POST https://gw.example/sms?[redacted] failed"},
		{"Authorization: Bearer eyJhbGciOi.x.y rejected", "Authorization: Bearer [redacted] rejected"},
		{"bad\x1b[31m red", "bad [31m red"},
		{strings.Repeat("x", 300), strings.Repeat("x", 199) + "…"},
	}
	for _, tt := range tests {
		if got := watch.MaskReason(tt.in); got != tt.want {
			t.Errorf("MaskReason(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// ev builds a log event at base+offset. A Passwordless cs without details
// gets the phone recipient Auth0 logs (details.body.phone_number), an fn
// without a notification type Auth0's "sms" and a phone recipient: the
// canary counts only entries about a phone.
func ev(id int, typ string, at time.Time, details map[string]any) watch.LogEvent {
	switch typ {
	case "cs":
		if details == nil {
			details = map[string]any{"body": map[string]any{"phone_number": "+15550000001", "connection": "sms"}}
		}
	case "fn":
		if _, ok := details["notification_type"]; !ok {
			d := map[string]any{"notification_type": "sms", "to": "+15550000001"}
			for k, v := range details {
				d[k] = v
			}
			details = d
		}
	}
	return watch.LogEvent{ID: fmt.Sprintf("90%010d", id), Type: typ, Date: at, Details: details}
}

func TestWatchDelivery(t *testing.T) {
	t.Parallel()
	switchAt := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	before, after := switchAt.Add(-5*time.Minute), switchAt.Add(90*time.Second)
	fnDetails := func(to, err string) map[string]any {
		return map[string]any{"notification_type": "sms", "to": to, "error": err}
	}
	mfaFail := map[string]any{"provider_error": map[string]any{"errorCode": "twilio_error", "message": "Twilio answered 401: 20003 Authenticate"}}
	tn := &memTenant{LogEvents: []watch.LogEvent{
		ev(1, "cs", before, nil),
		ev(2, "fn", before, fnDetails("+15550000001", "gateway answered 503")),
		ev(3, "gd_send_sms", before, nil),
		ev(4, "cs", after, nil),
		ev(5, "fn", after, fnDetails("+15550000001", "Action p finished: threw (call +15550000001 failed)")),
		ev(6, "fn", after.Add(time.Second), fnDetails("+15550000002", "Action p finished: threw (call +15550000002 failed)")),
		ev(7, "fn", after.Add(2*time.Second), fnDetails("+15550000003", "gateway answered 500")),
		ev(8, "gd_send_sms_failure", after, mfaFail),
		ev(9, "gd_send_voice", after, nil),
		ev(10, "actions_execution_failed", after, map[string]any{"action_error": map[string]any{"message": "boom"}}),
		ev(11, "limit_phone", after, nil),
		ev(12, "fn", after, map[string]any{"notification_type": "phone_test", "to": "+15550009999", "error": "x"}),
		ev(13, "api_limit", after, nil),                 // not a delivery
		ev(14, "cs", switchAt.Add(11*time.Minute), nil), // after the window
	}}
	rep, err := watch.Delivery(t.Context(), tn, switchAt, switchAt.Add(10*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	paths := map[watch.Path][2]int{}
	for _, p := range rep.Current.Paths {
		paths[p.Path] = [2]int{p.Sent, p.Failed}
	}
	want := map[watch.Path][2]int{
		watch.PathPasswordlessText: {1, 3}, watch.PathPasswordlessVoice: {0, 0},
		watch.PathMFAText: {0, 1}, watch.PathMFAVoice: {1, 0},
	}
	if diff := cmp.Diff(want, paths); diff != "" {
		t.Errorf("current (-want +got):\n%s", diff)
	}
	pl := rep.Current.Path(watch.PathPasswordlessText)
	if pl.FailureRate != 0.75 {
		t.Errorf("failure rate %v, want 0.75", pl.FailureRate)
	}
	wantTop := []watch.ReasonCount{{Reason: "Action p finished: threw (call +•••••••••01 failed)", Count: 1},
		{Reason: "Action p finished: threw (call +•••••••••02 failed)", Count: 1}, {Reason: "gateway answered 500", Count: 1}}
	if diff := cmp.Diff(wantTop, pl.TopErrors); diff != "" {
		t.Errorf("top errors (-want +got):\n%s", diff)
	}
	if got := [3]int{rep.Current.ActionFailures, rep.Current.PhoneLimited, rep.Current.TestFailures}; got != [3]int{1, 1, 1} {
		t.Errorf("action failures, phone limited, test failures = %v", got)
	}
	// The baseline is the 10 minutes before the switch.
	if b := rep.Baseline.Path(watch.PathPasswordlessText); b.Sent != 1 || b.Failed != 1 || b.FailureRate != 0.5 {
		t.Errorf("baseline passwordless %+v", b)
	}
	if !rep.Baseline.From.Equal(switchAt.Add(-10*time.Minute)) || len(rep.Current.Minutes) != 11 {
		t.Errorf("baseline from %v, %d minutes", rep.Baseline.From, len(rep.Current.Minutes))
	}
	if m := rep.Current.Minutes[1]; m.Sent != 2 || m.Failed != 4 {
		t.Errorf("minute 1: %+v", m)
	}
	// No phone number in the report.
	if s := fmt.Sprint(rep); strings.Contains(s, "5550000") {
		t.Errorf("report shows a phone number: %s", s)
	}
	if _, err := watch.Delivery(t.Context(), tn, switchAt, switchAt); !errors.Is(err, watch.ErrInvalidWindow) {
		t.Errorf("empty window: %v", err)
	}
}

// canaryRun migrates the legacy-gateway tenant to a custom provider under
// background traffic with the canary on; breakAt, if set, breaks the
// Action when the tenant switches.
func canaryRun(t *testing.T, breakAction bool) (*phonemigratetest.Server, *phonemigrate.Result, error) {
	t.Helper()
	requireNode(t)
	var srv *phonemigratetest.Server
	srv, m := fakeTenant(t, phonemigratetest.LegacyGateway, phonemigrate.WithObserver(func(tr phonemigrate.Transition) {
		if breakAction && tr.To == phonemigrate.StateTenantSwitched {
			if err := srv.BreakDelivery(phonemigratetest.DeliveryBreak{Path: phonemigratetest.BreakAction, Message: "provider unavailable"}); err != nil {
				t.Error(err)
			}
		}
	}))
	if err := srv.StartTraffic(phonemigratetest.Traffic{PerSecond: 20, Count: 2000, DurationMS: 300_000, Recipients: []string{"+15550000001", "+15550000002"}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.StopTraffic)
	// A baseline before the switch: some messages delivered (and logged).
	for deadline := time.Now().Add(time.Minute); srv.TrafficStatus().Sent < 3; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("traffic sent %d messages in a minute", srv.TrafficStatus().Sent)
		}
	}
	o := fakeOptions(srv)
	// A breach ends the window early, so the breaking run's is long:
	// however slowly a busy machine delivers, the breach comes within it.
	window := 5 * time.Minute
	o.Canary = watch.Canary{Window: window, PollInterval: 100 * time.Millisecond, MinFailures: 3, AutoRollback: true}
	if !breakAction {
		// A healthy run watches its whole window, which must hold messages
		// sent through the new path however slow the machine: it is an
		// hour long on a clock that jumps past its end once the canary
		// has seen three of them (real time until then, as the fake's log
		// dates are).
		var seen atomic.Bool
		o.Canary.Window = healthyWindow
		o.Canary.Now = func() time.Time {
			if seen.Load() {
				return time.Now().Add(2 * healthyWindow)
			}
			return time.Now()
		}
		o.Canary.OnPoll = func(r watch.Record) {
			if r.Observed != nil && r.Observed.Current.Path(watch.PathPasswordlessText).Sent >= 3 {
				seen.Store(true)
			}
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
	defer cancel()
	res, err := m.Apply(ctx, o)
	return srv, res, err
}

// healthyWindow is the window of canaryRun's healthy run.
const healthyWindow = time.Hour

func TestCanaryHealthyCompletes(t *testing.T) {
	t.Parallel()
	_, res, err := canaryRun(t, false)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	w := res.Checkpoint.Watch
	if res.State != phonemigrate.StateCompleted || w == nil || w.Verdict != watch.VerdictHealthy {
		t.Fatalf("state %s, watch %+v", res.State, w)
	}
	if got := w.To.Sub(w.From); got != healthyWindow {
		t.Errorf("window %v", got)
	}
	// The legacy gateway delivered before the switch (the baseline); after
	// it the Node.js Action delivered (at least the three the window
	// waited for) and nothing failed.
	cur, base := w.Observed.Current.Path(watch.PathPasswordlessText), w.Observed.Baseline.Path(watch.PathPasswordlessText)
	if base.Sent == 0 || cur.Sent < 3 || cur.Failed != 0 {
		t.Errorf("observed %+v, baseline %+v", cur, base)
	}
}

func TestCanaryBreachRollsBack(t *testing.T) {
	t.Parallel()
	srv, res, err := canaryRun(t, true)
	var be *phonemigrate.CanaryBreachError
	if !errors.As(err, &be) || !errors.Is(err, phonemigrate.ErrDeliveryBreach) || !be.RolledBack {
		t.Fatalf("Apply = %v, want a rolled-back breach", err)
	}
	if res.State != phonemigrate.StateRolledBack {
		t.Errorf("state %s, want rolled_back", res.State)
	}
	w := res.Checkpoint.Watch
	if w == nil || w.Verdict != watch.VerdictBreach || !strings.Contains(w.Reason, "passwordless/text failed") {
		t.Fatalf("watch %+v", w)
	}
	if strings.Contains(err.Error(), "+1555") {
		t.Errorf("error shows a phone number: %v", err)
	}
	// Decided before the window ended.
	if !w.DecidedAt.Before(w.To) {
		t.Errorf("decided at %v, window ends %v", w.DecidedAt, w.To)
	}
	// The legacy path delivers again (the Action still throws).
	srv.StopTraffic()
	r, err := srv.Notify(t.Context(), phonemigratetest.NotifyRequest{Kind: "passwordless", Recipient: "+15550000001"})
	if err != nil || r.Route != phonemigratetest.RouteLegacyGateway || !r.Delivered {
		t.Errorf("after rollback: %+v, %v", r, err)
	}
}

// TestCanaryInterruptedResumes: Ctrl-C during the watch leaves a
// checkpoint that resumes the same window. The canary's clock stands still
// in the interrupted run, so its window cannot end before the interruption
// however long the steps up to the watch take; the resumed run's clock
// stands at the window's end.
func TestCanaryInterruptedResumes(t *testing.T) {
	requireNode(t)
	t.Parallel()
	srv, m := fakeTenant(t, phonemigratetest.LegacyGateway)
	o := fakeOptions(srv)
	const window = 5 * time.Second
	start := time.Now()
	o.Canary = watch.Canary{Window: window, PollInterval: 50 * time.Millisecond, Now: func() time.Time { return start }}
	ctx, cancel := context.WithCancel(t.Context())
	polls := 0
	o.Canary.OnPoll = func(r watch.Record) {
		polls++
		if r.Verdict != watch.VerdictWatching {
			t.Errorf("poll %d of the interrupted run: verdict %s, want watching", polls, r.Verdict)
		}
		if polls == 2 {
			cancel() // Ctrl-C during the watch, after it polled once
		}
	}
	if _, err := m.Apply(ctx, o); !errors.Is(err, context.Canceled) {
		t.Fatalf("Apply = %v, want canceled", err)
	}
	cp, _ := m.Status(t.Context())
	if cp.State != phonemigrate.StateFailed || cp.LastGood != phonemigrate.StateTemplatesMigrated || cp.Watch == nil {
		t.Fatalf("checkpoint %s/%s watch %+v", cp.State, cp.LastGood, cp.Watch)
	}
	if w := cp.Watch; w.Verdict != watch.VerdictWatching || !w.From.Equal(start) || w.To.Sub(w.From) != window {
		t.Errorf("interrupted watch %+v, want watching the window from %v for %v", w, start, window)
	}
	from := cp.Watch.From
	o.Canary.OnPoll = nil
	o.Canary.Now = func() time.Time { return start.Add(window) }
	res, err := m.Apply(t.Context(), o)
	if err != nil || res.State != phonemigrate.StateCompleted {
		t.Fatalf("resume = %v, %v", res, err)
	}
	if w := res.Checkpoint.Watch; !w.From.Equal(from) || w.Verdict != watch.VerdictHealthy {
		t.Errorf("resumed watch %+v, want the window from %v", w, from)
	}
}

func TestCanaryVerdictIsBaselineAware(t *testing.T) {
	t.Parallel()
	switchAt := time.Now().Add(-time.Hour).UTC()
	mk := func(before, after [2]int) *memTenant {
		tn := &memTenant{}
		id := 0
		add := func(at time.Time, n [2]int) {
			for range n[0] {
				id++
				tn.LogEvents = append(tn.LogEvents, ev(id, "cs", at, nil))
			}
			for range n[1] {
				id++
				tn.LogEvents = append(tn.LogEvents, ev(id, "fn", at, map[string]any{"error": "gateway answered 503"}))
			}
		}
		add(switchAt.Add(-time.Minute), before)
		add(switchAt.Add(time.Minute), after)
		return tn
	}
	tests := []struct {
		name          string
		before, after [2]int // sent, failed
		want          string
	}{
		{"healthy", [2]int{10, 0}, [2]int{10, 0}, watch.VerdictHealthy},
		{"one failure of two", [2]int{10, 0}, [2]int{1, 1}, watch.VerdictHealthy},
		{"broken", [2]int{10, 0}, [2]int{2, 8}, watch.VerdictBreach},
		{"already failing as much before", [2]int{2, 8}, [2]int{2, 8}, watch.VerdictHealthy},
		{"worse than before", [2]int{8, 2}, [2]int{2, 8}, watch.VerdictBreach},
		// A break late in a long healthy window: 6 of 106 is 6%, but 6 of
		// the last 20 messages is 30%.
		{"late break", [2]int{10, 0}, [2]int{100, 6}, watch.VerdictBreach},
		{"late, too few failures", [2]int{10, 0}, [2]int{100, 4}, watch.VerdictHealthy},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := watch.Canary{MinFailures: 5, Threshold: 0.2, PollInterval: time.Millisecond}.Observe(t.Context(), mk(tt.before, tt.after),
				watch.Record{From: switchAt, To: switchAt.Add(10 * time.Minute)})
			if err != nil {
				t.Fatal(err)
			}
			if got.Verdict != tt.want {
				t.Errorf("verdict %s (%s), want %s", got.Verdict, got.Reason, tt.want)
			}
		})
	}
}

// Right after the connections switch the canary looks once: a path
// already broken stops the migration before the next writes.
func TestCanaryLooksAfterConnectionsSwitch(t *testing.T) {
	requireNode(t)
	t.Parallel()
	var srv *phonemigratetest.Server
	srv, m := fakeTenant(t, phonemigratetest.LegacyGateway, phonemigrate.WithObserver(func(tr phonemigrate.Transition) {
		if tr.To != phonemigrate.StateConnectionsSwitched {
			return
		}
		// Broken after the test message went through.
		if err := srv.BreakDelivery(phonemigratetest.DeliveryBreak{Path: phonemigratetest.BreakAction}); err != nil {
			t.Error(err)
		}
		for range 4 { // users sign in through the new path, which throws
			if _, err := srv.Notify(context.Background(), phonemigratetest.NotifyRequest{Kind: "passwordless", Recipient: "+15550000001"}); err != nil {
				t.Error(err)
			}
		}
	}))
	o := fakeOptions(srv)
	o.Canary = watch.Canary{Window: time.Minute, PollInterval: 50 * time.Millisecond, MinFailures: 3}
	_, err := m.Apply(t.Context(), o)
	var be *phonemigrate.CanaryBreachError
	if !errors.As(err, &be) || be.RolledBack {
		t.Fatalf("Apply = %v, want a breach without rollback", err)
	}
	cp, _ := m.Status(t.Context())
	if cp.State != phonemigrate.StateFailed || cp.LastGood != phonemigrate.StateConnectionsSwitched {
		t.Errorf("checkpoint %s/%s, want failed after connections_switched", cp.State, cp.LastGood)
	}
	if cp.Watch == nil || cp.Watch.Verdict != watch.VerdictBreach || len(cp.Watch.Breached) != 1 || cp.Watch.Breached[0] != watch.PathPasswordlessText {
		t.Errorf("watch %+v", cp.Watch)
	}
	if len(srv.State().PhoneTemplates) != 0 {
		t.Errorf("templates were migrated after the breach: %+v", srv.State().PhoneTemplates)
	}
}

// A custom provider's test message is judged from the tenant logs: a
// failure logged for it stops the migration before the tenant switch;
// none logged leaves it "assumed received", said so.
func TestCustomProviderTestMessageFromLogs(t *testing.T) {
	requireNode(t)
	t.Parallel()
	for _, broken := range []bool{true, false} {
		t.Run(fmt.Sprintf("broken=%v", broken), func(t *testing.T) {
			srv, m := fakeTenant(t, phonemigratetest.LegacyGateway)
			if broken {
				if err := srv.BreakDelivery(phonemigratetest.DeliveryBreak{Path: phonemigratetest.BreakAction}); err != nil {
					t.Fatal(err)
				}
			}
			o := fakeOptions(srv)
			o.Canary = watch.Canary{Window: 50 * time.Millisecond, PollInterval: 20 * time.Millisecond}
			res, err := m.Apply(t.Context(), o)
			if !broken {
				if err != nil {
					t.Fatalf("Apply: %v", err)
				}
				tests := res.Checkpoint.Tests
				if len(tests) != 1 || tests[0].Evidence != phonemigrate.EvidenceTenantLogs || tests[0].Status != phonemigrate.StatusNoFailureLogged || !tests[0].AssumedReceived {
					t.Errorf("tests %+v, want no failure logged, assumed received", tests)
				}
				return
			}
			var de *phonemigrate.TestDeliveryError
			if !errors.As(err, &de) || de.Outcome.Status != phonemigrate.StatusFailureLogged || de.Outcome.Reason == "" {
				t.Fatalf("Apply = %v, want a TestDeliveryError from the logs", err)
			}
			if strings.Contains(err.Error(), "+15551230001") && !strings.Contains(err.Error(), "to +15551230001") {
				t.Errorf("the reason carries the recipient: %v", err)
			}
			if v := srv.State().TenantSettings["phone_consolidated_experience"]; v == true {
				t.Errorf("the tenant was switched after a failed test message")
			}
		})
	}
}
