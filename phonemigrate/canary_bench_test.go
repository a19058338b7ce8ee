package phonemigrate_test

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/unifiedphone/unifiedphone/phonemigrate"
	"github.com/unifiedphone/unifiedphone/phonemigrate/auth0api"
	"github.com/unifiedphone/unifiedphone/phonemigrate/phonemigratetest"
	"github.com/unifiedphone/unifiedphone/phonemigrate/watch"
)

// benchCanary runs the canary against the fake tenant (MFA through
// Guardian's legacy Twilio, so no Node.js) under 100 MFA SMS a second,
// breaking Twilio after breakAfter (never when 0). It returns the record
// and the fake.
func benchCanary(b *testing.B, poll, window, breakAfter time.Duration) (watch.Record, *phonemigratetest.Server) {
	b.Helper()
	srv := phonemigratetest.NewServer(phonemigratetest.MFATwilio)
	b.Cleanup(srv.Close)
	cl, err := auth0api.New(b.Context(), auth0api.Config{BaseURL: srv.BaseURL, Token: phonemigrate.Secret(srv.Token)})
	if err != nil {
		b.Fatal(err)
	}
	if err := srv.StartTraffic(phonemigratetest.Traffic{PerSecond: 100, Count: 10_000, DurationMS: 600_000, MFAPercent: 100}); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(srv.StopTraffic)
	time.Sleep(200 * time.Millisecond) // a baseline
	from := time.Now()
	if breakAfter > 0 {
		time.AfterFunc(breakAfter, func() { _ = srv.BreakDelivery(phonemigratetest.DeliveryBreak{Path: phonemigratetest.BreakTwilio}) })
	}
	srv.ResetRequests()
	ctx, cancel := context.WithTimeout(b.Context(), window+10*time.Second)
	defer cancel()
	rec, err := watch.Canary{PollInterval: poll, MinFailures: 3, Threshold: 0.2}.Observe(ctx, cl,
		watch.Record{From: from, To: from.Add(window)})
	if err != nil {
		b.Fatal(err)
	}
	return rec, srv
}

// BenchmarkCanaryDetection measures the time from the first failed
// delivery the fake logged to the canary's breach decision, in
// milliseconds and in poll intervals (goal: ≤ 2).
func BenchmarkCanaryDetection(b *testing.B) {
	for _, poll := range []time.Duration{100 * time.Millisecond, 500 * time.Millisecond} {
		b.Run("poll="+poll.String(), func(b *testing.B) {
			var total, worst time.Duration
			for range b.N {
				// The break falls anywhere in a poll interval.
				rec, srv := benchCanary(b, poll, time.Minute, 600*time.Millisecond+rand.N(poll))
				if rec.Verdict != watch.VerdictBreach {
					b.Fatalf("verdict %s", rec.Verdict)
				}
				var first time.Time
				for _, e := range srv.Logs() {
					if e["type"] == "gd_send_sms_failure" {
						first, _ = time.Parse(time.RFC3339Nano, e["date"].(string))
						break
					}
				}
				lat := rec.DecidedAt.Sub(first)
				total += lat
				worst = max(worst, lat)
			}
			mean := total / time.Duration(b.N)
			b.ReportMetric(float64(mean.Milliseconds()), "ms-detect")
			b.ReportMetric(float64(worst.Milliseconds()), "ms-detect-worst")
			b.ReportMetric(float64(worst)/float64(poll), "polls-worst")
		})
	}
}

// BenchmarkCanaryCalls counts GET /api/v2/logs calls of a healthy 3 s
// watch polling every 100 ms, and reports them per poll and per minute.
func BenchmarkCanaryCalls(b *testing.B) {
	const poll, window = 100 * time.Millisecond, 3 * time.Second
	for range b.N {
		rec, srv := benchCanary(b, poll, window, 0)
		if rec.Verdict != watch.VerdictHealthy {
			b.Fatalf("verdict %s: %s", rec.Verdict, rec.Reason)
		}
		calls := 0
		for _, r := range srv.Requests() {
			if r.Path == "/api/v2/logs" {
				calls++
			}
		}
		b.ReportMetric(float64(calls), "log-calls")
		b.ReportMetric(float64(calls-3)/float64(rec.Polls-3), "calls/poll")
		b.ReportMetric(float64(calls)/window.Minutes(), "calls/min")
		b.ReportMetric(float64(rec.Observed.Current.Path(watch.PathMFAText).Sent), "messages-seen")
	}
}
