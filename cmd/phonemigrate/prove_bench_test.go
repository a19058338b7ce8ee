package main

import (
	"bytes"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/unifiedphone/unifiedphone/phonemigrate/phonemigratetest"
)

// BenchmarkRehearsalCalls measures the Management API calls the pre-write
// rehearsal adds to plan (and so to apply, which runs the same rehearsal
// before its first write): plan with the rehearsal minus plan without it,
// per scenario. The rehearsal reads the tenant once (a snapshot) and
// migrates only its fake copy: it must never write to the tenant.
func BenchmarkRehearsalCalls(b *testing.B) {
	requireNode(b)
	for _, sc := range []phonemigratetest.Scenario{phonemigratetest.LegacyGateway, phonemigratetest.LegacyTwilio, phonemigratetest.MFATwilio, phonemigratetest.Mixed} {
		b.Run(string(sc), func(b *testing.B) {
			var reads, writes, base int
			for b.Loop() {
				count := func(rehearse string) (int, int) {
					srv := phonemigratetest.NewServer(sc)
					defer srv.Close()
					env := map[string]string{envBaseURL: srv.BaseURL, envToken: srv.Token, envWatch: "0", envRehearse: rehearse}
					var stdout, stderr bytes.Buffer
					if code := run(b.Context(), []string{"plan", "--skip-test", "--quiet", "--twilio-api-url", srv.Twilio().URL},
						strings.NewReader(""), &stdout, &stderr, func(k string) string { return env[k] }); code != exitOK {
						b.Fatalf("plan (rehearse=%s): exit %d: %s", rehearse, code, stderr.String())
					}
					r, w := 0, 0
					for _, q := range srv.Requests() {
						if !strings.Contains(q.Path, "/api/v2/") {
							continue
						}
						if q.Method == http.MethodGet {
							r++
						} else {
							w++
						}
					}
					return r, w
				}
				withR, withW := count("1")
				baseR, _ := count("0")
				reads, writes, base = withR-baseR, withW, baseR
			}
			if writes != 0 {
				b.Fatalf("plan with the rehearsal wrote %d times to the tenant", writes)
			}
			b.ReportMetric(float64(reads), "rehearsal-reads/op")
			b.ReportMetric(float64(writes), "rehearsal-writes/op")
			b.ReportMetric(float64(base), "plan-reads/op")
		})
	}
}

// requireNode skips when node is absent, unless PHONEMIGRATE_REQUIRE_NODE
// is set (CI), where it fails.
func requireNode(tb testing.TB) {
	tb.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		if os.Getenv("PHONEMIGRATE_REQUIRE_NODE") != "" {
			tb.Fatalf("node is required (PHONEMIGRATE_REQUIRE_NODE is set): %v", err)
		}
		tb.Skip("node not found; the rehearsal, the proof and the fake's Actions run in Node")
	}
}
