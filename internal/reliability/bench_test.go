package reliability

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/unifiedphone/unifiedphone/phonemigrate"
	"github.com/unifiedphone/unifiedphone/phonemigrate/auth0api"
	"github.com/unifiedphone/unifiedphone/phonemigrate/fleet"
	"github.com/unifiedphone/unifiedphone/phonemigrate/phonemigratetest"
)

// Run the benchmarks with
//
//	go test -run='^$' -bench=. -benchtime=1x ./internal/reliability/
//
// (BenchmarkFleet200 takes minutes per iteration; the others accept a
// larger -benchtime). Figures and goals are in BENCHMARKS.md.

// minimalCalls is the smallest number of Management API calls the rules
// require to migrate a tenant in state st by plan p (made by Migrator.Plan
// before the run, so it is independent of what the run does: an
// unnecessary write in the run cannot raise it):
//
//   - reads needed: tenant settings (the UPE switch), the SMS connections
//     (with their raw options), the MFA factors; when MFA is enabled its
//     message types, selected provider, legacy templates and, when the
//     selected provider is Twilio, its legacy settings; the phone providers
//     (one per tenant: list before create); the phone templates; for a
//     custom provider the Actions of the trigger and its bindings, one read
//     of the Action to see it built before deploying, and one to see it
//     deployed before binding;
//   - the plan's writes (each one the rules require: the plan shows only
//     writes that change something);
//   - one read right before each whole-options write (connection PATCH),
//     so that a concurrent edit is not written over from a stale read; its
//     verification is Auth0's answer, like every other write's.
//
// The provider test is skipped (as in the CLI figures): a test is a wait,
// after which the rules re-read what later steps write from.
func minimalCalls(st phonemigratetest.State, p *phonemigrate.Plan) (reads, writes int) {
	reads = 3 // tenant settings, connections, guardian factors
	mfa := slices.ContainsFunc(st.Guardian.Factors, func(f phonemigratetest.Factor) bool { return f.Name == "sms" && f.Enabled })
	if mfa {
		reads += 3 // message types, selected provider, legacy templates
		if st.Guardian.SelectedProvider == "twilio" {
			reads++ // legacy Twilio settings
		}
	}
	reads += 2 // phone providers, phone templates
	for _, step := range p.Steps {
		for _, w := range step.Writes {
			writes++
			if w.Method == http.MethodPatch && strings.HasPrefix(w.Path, "/connections/") {
				reads++ // the connection as it is right before its whole-options write
			}
			if w.Method == http.MethodPost && w.Path == "/actions/actions" {
				// Actions by trigger, trigger bindings, the Action built, and
				// the Action deployed: Auth0 answers a deploy before the
				// version is deployed (recorded), and binding needs it.
				reads += 4
			}
		}
	}
	return reads, writes
}

// BenchmarkCallsPerMigration counts the Management API calls of one
// migration per scenario (reads, writes, total) next to the minimum of
// minimalCalls, through the library (Migrator.Apply, which discovers the
// tenant itself) and through the CLI binary (apply --yes --skip-test
// --watch 0 --no-rehearse, which plans, prints the plan and applies from
// the plan's reads).
func BenchmarkCallsPerMigration(b *testing.B) {
	bin := buildCLI(b)
	for _, path := range []string{"library", "cli"} {
		for _, sc := range migrating {
			b.Run(path+"/"+string(sc), func(b *testing.B) {
				var reads, writes, reportReads, minimum int
				for b.Loop() {
					b.StopTimer()
					srv := newFake(sc)
					original := srv.State()
					o := migrateOptions(srv)
					o.TestRecipients, o.SkipTest = nil, true
					planner, err := newMigrator(b.Context(), srv, nil, nil)
					if err != nil {
						b.Fatal(err)
					}
					plan, err := planner.Plan(b.Context(), o)
					if err != nil {
						b.Fatal(err)
					}
					r, w := minimalCalls(original, plan)
					minimum = r + w
					srv.ResetRequests()
					b.StartTimer()
					if path == "cli" {
						runCLI(b, bin, srv)
					} else {
						m, err := newMigrator(b.Context(), srv, nil, nil)
						if err != nil {
							b.Fatal(err)
						}
						if _, err := m.Apply(b.Context(), o); err != nil {
							b.Fatal(err)
						}
					}
					b.StopTimer()
					reqs, report := integrationReads(apiRequests(srv.Requests()))
					ws := writesOf(reqs)
					reads, writes, reportReads = len(reqs)-len(ws), len(ws), len(report)
					srv.Close()
					b.StartTimer()
				}
				b.ReportMetric(float64(reportReads), "report-reads/op")
				b.ReportMetric(float64(reads+writes), "calls/op")
				b.ReportMetric(float64(reads), "reads/op")
				b.ReportMetric(float64(writes), "writes/op")
				b.ReportMetric(float64(minimum), "min-calls")
				b.ReportMetric(float64(reads+writes)/float64(minimum), "x-min")
			})
		}
	}
}

// integrationReads splits reqs into the migration's calls and the reads
// of the integrations-at-risk report (client grants, sapi/fapi tenant
// logs, the names of the applications found), which issue #28 counts
// apart: they inform the person, the migration does not need them.
func integrationReads(reqs []phonemigratetest.Request) (migration, report []phonemigratetest.Request) {
	for _, r := range reqs {
		if r.Method == "GET" && (r.Path == "/api/v2/client-grants" || r.Path == "/api/v2/logs" || strings.HasPrefix(r.Path, "/api/v2/clients/")) {
			report = append(report, r)
			continue
		}
		migration = append(migration, r)
	}
	return migration, report
}

// apiRequests are the Management API requests of reqs.
func apiRequests(reqs []phonemigratetest.Request) []phonemigratetest.Request {
	var out []phonemigratetest.Request
	for _, r := range reqs {
		if strings.HasPrefix(r.Path, "/api/v2/") {
			out = append(out, r)
		}
	}
	return out
}

// buildCLI builds the phonemigrate binary into a temporary directory.
func buildCLI(b *testing.B) string {
	b.Helper()
	bin := filepath.Join(b.TempDir(), "phonemigrate")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/unifiedphone/unifiedphone/cmd/phonemigrate")
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// runCLI runs 'phonemigrate apply --yes --skip-test --watch 0
// --no-rehearse' against srv.
func runCLI(b *testing.B, bin string, srv *phonemigratetest.Server) {
	b.Helper()
	cmd := exec.CommandContext(b.Context(), bin, "apply", "--yes", "--skip-test", "--watch", "0", "--no-rehearse", "--quiet",
		"--checkpoint", filepath.Join(b.TempDir(), "cp.json"))
	cmd.Env = append(os.Environ(), "PHONEMIGRATE_BASE_URL="+srv.BaseURL, "AUTH0_TOKEN="+srv.Token,
		"PHONEMIGRATE_TWILIO_API_URL="+srv.Twilio().URL, "TWILIO_AUTH_TOKEN="+phonemigratetest.TwilioAuthToken)
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("phonemigrate apply: %v\n%s", err, out)
	}
}

// checkpointDir is a fresh directory for a fleet's checkpoints: under
// $PHONEMIGRATE_BENCH_DIR when set (e.g. /dev/shm, a RAM disk, to compare
// with the default temporary directory on disk), else b.TempDir().
func checkpointDir(b *testing.B) string {
	b.Helper()
	root := os.Getenv("PHONEMIGRATE_BENCH_DIR")
	if root == "" {
		return b.TempDir()
	}
	dir, err := os.MkdirTemp(root, "phonemigrate-bench-")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// fleetOf starts n fake tenants of scenario sc, each limited to perSecond
// requests per second with burst, and a fleet file for them with the same
// client-side rate limit (paced) or none.
func fleetOf(b *testing.B, n int, sc phonemigratetest.Scenario, perSecond float64, burst int, paced bool) ([]*phonemigratetest.Server, *fleet.Config, map[string]string) {
	b.Helper()
	dir := checkpointDir(b)
	env := map[string]string{"TWILIO": phonemigratetest.TwilioAuthToken}
	cfg := &fleet.Config{}
	srvs := make([]*phonemigratetest.Server, n)
	for i := range n {
		var opts []phonemigratetest.Option
		if perSecond > 0 {
			opts = append(opts, phonemigratetest.WithRateLimit(perSecond, burst))
		}
		srvs[i] = newFake(sc, opts...)
		name := fmt.Sprintf("t%04d", i)
		env[name] = srvs[i].Token
		t := fleet.Tenant{Name: name, BaseURL: srvs[i].BaseURL, TokenEnv: name, Checkpoint: filepath.Join(dir, name+".json"),
			Options: fleet.TenantOptions{SkipTest: true, TwilioTokenEnv: "TWILIO", TwilioAPIURL: srvs[i].Twilio().URL}}
		if paced {
			t.RateLimit = fleet.RateLimit{PerSecond: perSecond, Burst: burst}
		}
		cfg.Tenants = append(cfg.Tenants, t)
	}
	b.Cleanup(func() {
		for _, s := range srvs {
			s.Close()
		}
	})
	return srvs, cfg, env
}

// BenchmarkFleet200 migrates 200 fake tenants, each limited by the fake to
// 2 requests/s with bursts of 10, with at most 50 requests in flight across
// the fleet, and compares the wall time with the floor the rate limit sets.
// Limits are per tenant and every tenant progresses at once, so the floor
// is one tenant's: its N calls, the first 10 free and then 2 per second,
// (N − 10)/2 seconds, with N the most calls any tenant was served (observed,
// not assumed).
//
//   - ours: the fleet file's rate limit paces each tenant client-side
//     (auth0api RateLimit, synced from the first answer) and our transport
//     retries;
//   - ours-unpaced: no client-side pacing, our transport retries 429s
//     after X-RateLimit-Reset;
//   - go-auth0-retrier: no pacing, go-auth0's own retrier (auth0api
//     Config.SDKRetrier), as a go-auth0 user would have it.
//
// The scenario is mixed (custom provider, routing Action; the provider test
// skipped): 24 calls per tenant (22 and two Action status reads), more
// than the burst, so the rate limit is what the fleet waits for.
func BenchmarkFleet200(b *testing.B) {
	const fleetScenario = phonemigratetest.Mixed
	const (
		tenants     = 200
		perSecond   = 2
		burst       = 10
		concurrency = 200
	)
	for _, v := range []struct {
		name       string
		paced, sdk bool
	}{
		{"ours", true, false},
		{"ours-unpaced", false, false},
		{"go-auth0-retrier", false, true},
	} {
		b.Run(v.name, func(b *testing.B) {
			var wall, bound time.Duration
			var failed, calls, throttled int
			for b.Loop() {
				b.StopTimer()
				srvs, cfg, env := fleetOf(b, tenants, fleetScenario, perSecond, burst, v.paced)
				r := &fleet.Runner{
					Concurrency: concurrency,
					Getenv:      func(k string) string { return env[k] },
					ClientConfig: func(_ fleet.Tenant, c *auth0api.Config) {
						c.SDKRetrier = v.sdk // attempts: DefaultMaxAttempts for both retriers
					},
					MigratorOptions: func(fleet.Tenant) []phonemigrate.Option {
						return []phonemigrate.Option{phonemigrate.WithPollInterval(5 * time.Millisecond)}
					},
				}
				b.StartTimer()
				start := time.Now()
				rep, err := r.Run(b.Context(), cfg)
				wall = time.Since(start)
				b.StopTimer()
				if err != nil {
					b.Fatal(err)
				}
				failed = rep.Failed()
				maxCalls := 0
				calls, throttled = 0, 0
				for _, s := range srvs {
					served := 0
					for _, rq := range s.Requests() {
						if rq.Status == http.StatusTooManyRequests {
							throttled++
						} else {
							served++
						}
					}
					calls += served
					maxCalls = max(maxCalls, served)
				}
				bound = time.Duration(float64(max(0, maxCalls-burst)) / perSecond * float64(time.Second))
				b.StartTimer()
			}
			b.ReportMetric(wall.Seconds(), "wall-s")
			b.ReportMetric(bound.Seconds(), "bound-s")
			b.ReportMetric(wall.Seconds()/bound.Seconds(), "x-bound")
			b.ReportMetric(float64(failed), "failed-tenants")
			b.ReportMetric(float64(calls)/tenants, "calls/tenant")
			b.ReportMetric(float64(throttled), "429s")
		})
	}
}

// BenchmarkCancelDuringRateLimitWait measures how long a call takes to
// return after its context is cancelled while it waits because of a rate
// limit:
//
//   - client-pacing: waiting for the client-side token bucket;
//   - server-429: our transport waiting for X-RateLimit-Reset after a 429;
//   - go-auth0-retrier-429: go-auth0's retrier sleeping after a 429
//     (time.Sleep, deaf to the context).
//
// The metric cancel-ms is the mean latency from cancel() to the call's
// return; max-cancel-ms the worst.
func BenchmarkCancelDuringRateLimitWait(b *testing.B) {
	for _, v := range []struct {
		name       string
		clientRate rate.Limit
		serverRate float64
		sdk        bool
	}{
		{"client-pacing", 0.2, 0, false},
		{"server-429", 0, 0.2, false},
		{"go-auth0-retrier-429", 0, 0.2, true},
	} {
		b.Run(v.name, func(b *testing.B) {
			var total, worst time.Duration
			n := 0
			for b.Loop() {
				b.StopTimer()
				var opts []phonemigratetest.Option
				if v.serverRate > 0 {
					opts = append(opts, phonemigratetest.WithRateLimit(v.serverRate, 1))
				}
				srv := newFake(phonemigratetest.LegacyTwilio, opts...)
				cfg := clientConfig(srv, nil)
				cfg.RequestTimeout = 0
				cfg.MaxRetryWait = time.Minute
				if v.clientRate > 0 {
					cfg.RateLimit, cfg.RateBurst = v.clientRate, 1
				}
				cfg.SDKRetrier = v.sdk
				cl, err := auth0api.New(b.Context(), cfg)
				if err != nil {
					b.Fatal(err)
				}
				// The first call takes the only token; the second waits.
				if _, err := cl.TenantSettings(b.Context()); err != nil {
					b.Fatal(err)
				}
				ctx, cancel := context.WithCancel(b.Context())
				done := make(chan error, 1)
				go func() { _, err := cl.TenantSettings(ctx); done <- err }()
				time.Sleep(100 * time.Millisecond) // well inside the wait
				b.StartTimer()
				at := time.Now()
				cancel()
				err = <-done
				d := time.Since(at)
				b.StopTimer()
				if err == nil {
					b.Fatal("the call succeeded; it should have been waiting")
				}
				total += d
				worst = max(worst, d)
				n++
				srv.Close()
				b.StartTimer()
			}
			b.ReportMetric(float64(total.Microseconds())/float64(n)/1000, "cancel-ms")
			b.ReportMetric(float64(worst.Microseconds())/1000, "max-cancel-ms")
		})
	}
}

// BenchmarkFleetScale migrates 1,000 and 5,000 fake tenants (legacy-twilio,
// no rate limit, at most 50 requests in flight) with their checkpoints on
// disk (b.TempDir(); set PHONEMIGRATE_BENCH_DIR=/dev/shm for a RAM disk),
// and samples the heap every 5 ms. wall-s is the run's wall time;
// fakes-MB the heap held by the fakes before the run; peak-MB the highest
// heap in use during the run (fakes, their request handling and the fleet
// runner together); run-MB the difference, an upper bound of what the
// runner needs.
func BenchmarkFleetScale(b *testing.B) {
	for _, tenants := range []int{1000, 5000} {
		b.Run(fmt.Sprint(tenants), func(b *testing.B) { fleetScale(b, tenants) })
	}
}

func fleetScale(b *testing.B, tenants int) {
	var base, peak uint64
	var failed int
	var wall time.Duration
	for b.Loop() {
		b.StopTimer()
		_, cfg, env := fleetOf(b, tenants, phonemigratetest.LegacyTwilio, 0, 0, false)
		r := &fleet.Runner{Concurrency: 50, Getenv: func(k string) string { return env[k] }}
		// PHONEMIGRATE_BENCH_IN_PROGRESS bounds the tenants in progress
		// (Runner.MaxInProgress) to compare with waves of tenants.
		r.MaxInProgress, _ = strconv.Atoi(os.Getenv("PHONEMIGRATE_BENCH_IN_PROGRESS"))
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		base = ms.HeapInuse
		var p atomic.Uint64
		p.Store(base)
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			tk := time.NewTicker(5 * time.Millisecond)
			defer tk.Stop()
			for {
				select {
				case <-stop:
					return
				case <-tk.C:
					var ms runtime.MemStats
					runtime.ReadMemStats(&ms)
					if ms.HeapInuse > p.Load() {
						p.Store(ms.HeapInuse)
					}
				}
			}
		}()
		b.StartTimer()
		start := time.Now()
		rep, err := r.Run(b.Context(), cfg)
		wall = time.Since(start)
		b.StopTimer()
		close(stop)
		wg.Wait()
		if err != nil {
			b.Fatal(err)
		}
		failed = rep.Failed()
		peak = p.Load()
		errs := map[string]int{}
		for _, tr := range rep.Tenants {
			if tr.Error != "" {
				errs[tr.Error]++
			}
		}
		for e, n := range errs {
			b.Logf("%d tenant(s) failed: %s", n, e)
		}
		b.StartTimer()
	}
	const mb = 1 << 20
	b.ReportMetric(wall.Seconds(), "wall-s")
	b.ReportMetric(float64(base)/mb, "fakes-MB")
	b.ReportMetric(float64(peak)/mb, "peak-MB")
	b.ReportMetric(float64(peak-base)/mb, "run-MB")
	b.ReportMetric(float64(failed), "failed-tenants")
}

// BenchmarkCallsPerConvergence counts the Management API calls of an apply
// on half-migrated tenants. Two are switched to the Unified Phone
// Experience with a healthy provider, but the Passwordless connection still
// (or again) on its legacy settings; the minimum the invariants require:
// the discovery reads (tenant settings, connections, guardian factors,
// phone providers, phone templates, plus the message types with MFA), the
// connection read right before its whole-options write, the write, and its
// verify read. Two leave MFA users without codes and must be refused after
// the discovery reads alone, with no write.
func BenchmarkCallsPerConvergence(b *testing.B) {
	cases := []struct {
		name  string
		sc    phonemigratetest.Scenario
		shape func(b *testing.B, srv *phonemigratetest.Server)
		// minimum is the number of calls the invariants require; refused
		// states must be refused (an *UnhealthyError) after their reads,
		// with no write.
		minimum int
		refused bool
	}{
		{name: "switched-by-hand", minimum: 5 + 2 + 1, sc: phonemigratetest.LegacyTwilio, shape: func(b *testing.B, srv *phonemigratetest.Server) {
			mustMake(b, srv, phonemigratetest.AddTextOnlyProvider, phonemigratetest.SwitchOn)
		}},
		{name: "migrated-then-connection-reverted", minimum: 5 + 2 + 1, sc: phonemigratetest.LegacyTwilio, shape: func(b *testing.B, srv *phonemigratetest.Server) {
			m, err := newMigrator(b.Context(), srv, nil, nil)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := m.Apply(b.Context(), migrateOptions(srv)); err != nil {
				b.Fatal(err)
			}
			mustMake(b, srv, phonemigratetest.StopUsingProvider)
		}},
		// MFA users get no code: the tenant is switched without a provider.
		// Discovery (five reads plus the MFA message types) is all it takes
		// to see it.
		{name: "switched-without-provider", minimum: 5 + 1, refused: true, sc: phonemigratetest.MFATwilio, shape: func(b *testing.B, srv *phonemigratetest.Server) {
			mustMake(b, srv, phonemigratetest.SwitchOn)
		}},
		// Voice MFA users get no code: the provider delivers text only.
		{name: "provider-misses-voice", minimum: 5 + 1, refused: true, sc: phonemigratetest.MFATwilio, shape: func(b *testing.B, srv *phonemigratetest.Server) {
			mustMake(b, srv, phonemigratetest.AddTextOnlyProvider, phonemigratetest.SwitchOn)
		}},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			var reads, writes int
			for b.Loop() {
				b.StopTimer()
				srv := newFake(tc.sc)
				tc.shape(b, srv)
				srv.ResetRequests()
				m, err := newMigrator(b.Context(), srv, nil, nil)
				if err != nil {
					b.Fatal(err)
				}
				o := migrateOptions(srv)
				o.TestRecipients, o.SkipTest = nil, true // the provider is kept, not new
				b.StartTimer()
				_, err = m.Apply(b.Context(), o)
				b.StopTimer()
				var unhealthy *phonemigrate.UnhealthyError
				if tc.refused != errors.As(err, &unhealthy) || (!tc.refused && err != nil) {
					b.Fatalf("Apply = %v, want refused %v", err, tc.refused)
				}
				reqs := srv.Requests()
				w := writesOf(reqs)
				reads, writes = len(reqs)-len(w), len(w)
				if tc.refused && writes != 0 {
					b.Fatalf("refused apply wrote %d times: %v", writes, w)
				}
				srv.Close()
				b.StartTimer()
			}
			reportCalls(b, reads, writes, tc.minimum)
		})
	}
}

// reportCalls reports the calls of the last run against the minimum the
// invariants require.
func reportCalls(b *testing.B, reads, writes, minimum int) {
	b.ReportMetric(float64(reads+writes), "calls/op")
	b.ReportMetric(float64(reads), "reads/op")
	b.ReportMetric(float64(writes), "writes/op")
	b.ReportMetric(float64(minimum), "min-calls")
	b.ReportMetric(float64(reads+writes)/float64(minimum), "x-min")
}

// mustMake makes changes to the fake tenant, as a person shaping it would.
func mustMake(b *testing.B, srv *phonemigratetest.Server, changes ...phonemigratetest.Change) {
	b.Helper()
	if err := srv.Make(b.Context(), changes...); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkCallsPerRepair counts the Management API calls of
// [phonemigrate.Migrator.Repair] on the two half-migrated states that leave
// MFA users without codes, which Apply refuses (BenchmarkCallsPerConvergence).
// The minimum: the discovery reads of a switched MFA tenant (tenant
// settings, connections, Guardian factors, phone providers, phone
// templates, MFA message types: 6), the tenant settings read again right
// before the write (so a repair someone made meanwhile is not repeated),
// the write (verified from its answer), and the discovery of the tenant
// as it is now, switched back — the same 6 reads plus the 3 legacy
// Guardian reads that answer again (selected provider, its Twilio
// settings, the enrollment and verification messages): 17, exactly one of
// them a write.
func BenchmarkCallsPerRepair(b *testing.B) {
	cases := []struct {
		name    string
		shape   func(b *testing.B, srv *phonemigratetest.Server)
		minimum int
	}{
		{name: "switched-without-provider", minimum: 6 + 1 + 1 + 6 + 3, shape: func(b *testing.B, srv *phonemigratetest.Server) {
			mustMake(b, srv, phonemigratetest.SwitchOn)
		}},
		{name: "provider-misses-voice", minimum: 6 + 1 + 1 + 6 + 3, shape: func(b *testing.B, srv *phonemigratetest.Server) {
			mustMake(b, srv, phonemigratetest.AddTextOnlyProvider, phonemigratetest.SwitchOn)
		}},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			var reads, writes int
			for b.Loop() {
				b.StopTimer()
				srv := newFake(phonemigratetest.MFATwilio)
				tc.shape(b, srv)
				srv.ResetRequests()
				m, err := newMigrator(b.Context(), srv, nil, nil)
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				res, err := m.Repair(b.Context(), phonemigrate.RepairOptions{})
				b.StopTimer()
				if err != nil || res.Outcome != phonemigrate.RepairDone {
					b.Fatalf("Repair = %+v, %v; want repaired", res, err)
				}
				reqs := srv.Requests()
				w := writesOf(reqs)
				reads, writes = len(reqs)-len(w), len(w)
				if writes != 1 {
					b.Fatalf("Repair wrote %d times, want once: %v", writes, w)
				}
				srv.Close()
				b.StartTimer()
			}
			reportCalls(b, reads, writes, tc.minimum)
		})
	}
}
