package fleet_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/unifiedphone/unifiedphone/internal/helddeadline"
	"github.com/unifiedphone/unifiedphone/phonemigrate"
	"github.com/unifiedphone/unifiedphone/phonemigrate/auth0api"
	"github.com/unifiedphone/unifiedphone/phonemigrate/filestore"
	"github.com/unifiedphone/unifiedphone/phonemigrate/fleet"
	"github.com/unifiedphone/unifiedphone/phonemigrate/phonemigratetest"
)

// fastRunner is a Runner tuned for fake tenants: millisecond backoff and
// Action polling.
func fastRunner(env map[string]string) *fleet.Runner {
	return &fleet.Runner{
		Getenv: func(k string) string { return env[k] },
		ClientConfig: func(_ fleet.Tenant, c *auth0api.Config) {
			c.MinBackoff, c.MaxBackoff = time.Millisecond, 5*time.Millisecond
		},
		MigratorOptions: func(fleet.Tenant) []phonemigrate.Option {
			return []phonemigrate.Option{phonemigrate.WithPollInterval(5 * time.Millisecond)}
		},
	}
}

func startFake(t *testing.T, sc phonemigratetest.Scenario) *phonemigratetest.Server {
	t.Helper()
	srv := phonemigratetest.NewServer(sc, phonemigratetest.WithActionBuild(5*time.Millisecond, 1))
	t.Cleanup(srv.Close)
	return srv
}

// outcomes summarizes a report as "name outcome state exit" lines.
func outcomes(r *fleet.Report) []string {
	var out []string
	for _, t := range r.Tenants {
		out = append(out, fmt.Sprintf("%s %s %s %d", t.Name, t.Outcome, t.State, t.ExitCode))
	}
	return out
}

func TestRunMixedFleet(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	gw := startFake(t, phonemigratetest.LegacyGateway)
	tw := startFake(t, phonemigratetest.LegacyTwilio)
	empty := startFake(t, phonemigratetest.Empty)
	unified := startFake(t, phonemigratetest.Unified)
	faulty := startFake(t, phonemigratetest.Mixed)
	faulty.InjectFault(phonemigratetest.Fault{Method: "PATCH", Path: "/tenants/settings", Status: 500})

	env := map[string]string{"TW_TWILIO": phonemigratetest.TwilioAuthToken}
	var tenants []fleet.Tenant
	for _, x := range []struct {
		name string
		srv  *phonemigratetest.Server
		opts fleet.TenantOptions
	}{
		{"gw", gw, fleet.TenantOptions{SkipTest: true}},
		{"tw", tw, fleet.TenantOptions{Provider: "twilio", TestTo: []string{"+15551230001"}, TwilioTokenEnv: "TW_TWILIO", TwilioAPIURL: tw.Twilio().URL}},
		{"empty", empty, fleet.TenantOptions{SkipTest: true}},
		{"unified", unified, fleet.TenantOptions{SkipTest: true}},
		{"noenv", gw, fleet.TenantOptions{SkipTest: true}},
		{"faulty", faulty, fleet.TenantOptions{SkipTest: true, TwilioTokenEnv: "TW_TWILIO", TwilioAPIURL: faulty.Twilio().URL}},
	} {
		tokenEnv := strings.ToUpper(x.name) + "_TOKEN"
		if x.name != "noenv" {
			env[tokenEnv] = x.srv.Token
		}
		tenants = append(tenants, fleet.Tenant{Name: x.name, BaseURL: x.srv.BaseURL, TokenEnv: tokenEnv,
			Checkpoint: filepath.Join(dir, x.name+".json"), RateLimit: fleet.RateLimit{PerSecond: 200, Burst: 20}, Options: x.opts})
	}
	cfg := &fleet.Config{Concurrency: 2, Tenants: tenants}

	r := fastRunner(env)
	// Count the requests in flight across the fleet under the Runner's
	// bound (the Runner wraps this transport).
	flight := &flightCounter{base: http.DefaultTransport}
	cfgClient := r.ClientConfig
	r.ClientConfig = func(t fleet.Tenant, c *auth0api.Config) {
		cfgClient(t, c)
		c.HTTPClient = &http.Client{Transport: flight}
	}
	var (
		mu                sync.Mutex
		running, maxRun   int
		started, finished = map[string]int{}, map[string]int{}
		lastDone          int
		transitions       int
	)
	r.Progress = func(ev fleet.Event) {
		mu.Lock() // Progress calls are serialized; the lock checks that claim under -race.
		defer mu.Unlock()
		switch ev.Kind {
		case fleet.EventStarted:
			running++
			maxRun = max(maxRun, running)
			started[ev.Tenant]++
		case fleet.EventFinished:
			running--
			finished[ev.Tenant]++
			if ev.Done != lastDone+1 || ev.Total != len(tenants) || ev.Result == nil || ev.Result.Name != ev.Tenant {
				t.Errorf("finished event %+v after done=%d", ev, lastDone)
			}
			lastDone = ev.Done
		case fleet.EventTransition:
			transitions++
		}
	}
	rep, err := r.Run(t.Context(), cfg)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	want := []string{
		"gw completed completed 0",
		"tw completed completed 0",
		"empty failed failed 3",
		"unified already_unified already_unified 0",
		"noenv failed  1",
		"faulty failed failed 1",
	}
	if diff := cmp.Diff(want, outcomes(rep)); diff != "" {
		t.Errorf("first run (-want +got):\n%s", diff)
	}
	// Scheduling is by requests: every tenant is in progress at once, and
	// no more than the concurrency's requests are in flight.
	if maxRun < 2 {
		t.Errorf("at most %d tenants ran at once, want them to progress together", maxRun)
	}
	if n := flight.max.Load(); n > 2 || n < 1 {
		t.Errorf("at most %d requests were in flight, want 1..2 (concurrency 2)", n)
	}
	for _, tn := range tenants {
		if started[tn.Name] != 1 || finished[tn.Name] != 1 {
			t.Errorf("%s: %d started, %d finished events; want 1 each", tn.Name, started[tn.Name], finished[tn.Name])
		}
	}
	if transitions == 0 {
		t.Error("no transition events")
	}
	if got := rep.Failed(); got != 3 {
		t.Errorf("Failed() = %d, want 3", got)
	}
	if err := rep.Tenants[4].Err(); !errors.Is(err, fleet.ErrMissingCredentials) || !strings.Contains(err.Error(), "NOENV_TOKEN") {
		t.Errorf("noenv error = %v, want ErrMissingCredentials naming NOENV_TOKEN", err)
	}
	if err := rep.Tenants[2].Err(); !errors.Is(err, phonemigrate.ErrNotEligible) {
		t.Errorf("empty error = %v, want ErrNotEligible", err)
	}
	// The tenant whose token was missing was never contacted under its name:
	// gw got exactly one migration.
	if got := gw.State().TenantSettings["phone_consolidated_experience"]; got != true {
		t.Errorf("gw not switched: %v", got)
	}

	// Second run: the fault is gone. The faulty tenant resumes from its
	// checkpoint; the completed ones write nothing.
	faulty.ClearFaults()
	gw.ResetRequests()
	rep2, err := fastRunner(env).Run(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	want2 := []string{
		"gw already_done completed 0",
		"tw already_done completed 0",
		"empty failed failed 3",
		"unified already_unified already_unified 0",
		"noenv failed  1",
		"faulty completed completed 0",
	}
	if diff := cmp.Diff(want2, outcomes(rep2)); diff != "" {
		t.Errorf("second run (-want +got):\n%s", diff)
	}
	if rep2.Tenants[5].ResumedFrom != phonemigrate.State("provider_tested") {
		t.Errorf("faulty resumed from %q, want provider_tested", rep2.Tenants[5].ResumedFrom)
	}
	for _, rq := range gw.Requests() {
		if rq.Method != "GET" {
			t.Errorf("completed tenant got a write on the second run: %+v", rq)
		}
	}

	// The JSON report has the documented keys and counts.
	b, err := json.Marshal(rep2)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Total, Succeeded, Failed, Concurrency int
		Tenants                               []map[string]any
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Total != 6 || doc.Succeeded != 4 || doc.Failed != 2 || doc.Concurrency != 2 || len(doc.Tenants) != 6 {
		t.Errorf("JSON report counts: %s", b)
	}
	if doc.Tenants[5]["outcome"] != "completed" || doc.Tenants[5]["resumed_from"] != "provider_tested" || doc.Tenants[5]["duration_ms"] == nil {
		t.Errorf("JSON tenant: %v", doc.Tenants[5])
	}
	for _, secret := range []string{gw.Token, phonemigratetest.TwilioAuthToken} {
		if strings.Contains(string(b), secret) || strings.Contains(rep.Table(), secret) || strings.Contains(rep2.Table(), secret) {
			t.Errorf("report holds a secret")
		}
	}
}

// TestRunCancel stops a fleet whose tenants wait on a slow fake: Run
// returns promptly with ctx's error, and the tenants that never started are
// reported as canceled.
//
// The entries name one tenant, so they run one after the other. The
// deadline passes once the fake holds the first one's request (a held
// deadline), so the cancellation always meets a running tenant waiting,
// not a fleet that has not started yet, however slow the machine.
func TestRunCancel(t *testing.T) {
	t.Parallel()
	srv := startFake(t, phonemigratetest.LegacyGateway)
	// Every request waits an hour; the first fault, used up by the first
	// request, leaves the list as it arrives.
	srv.InjectFault(phonemigratetest.Fault{Path: "/api/v2/*", DelayMS: int(time.Hour.Milliseconds()), Times: 1})
	srv.InjectFault(phonemigratetest.Fault{Path: "/api/v2/*", DelayMS: int(time.Hour.Milliseconds())})
	var tenants []fleet.Tenant
	dir := t.TempDir()
	for i := range 5 {
		tenants = append(tenants, fleet.Tenant{Name: fmt.Sprint("t", i), BaseURL: srv.BaseURL, TokenEnv: "TOK",
			Checkpoint: filepath.Join(dir, fmt.Sprint(i, ".json")), Options: fleet.TenantOptions{SkipTest: true}})
	}
	ctx := helddeadline.New(t.Context())
	expired := make(chan time.Time, 1)
	go func() {
		// The minute only guards against requests that never come.
		for deadline := time.Now().Add(time.Minute); len(srv.Faults()) == 2 && time.Now().Before(deadline); {
			time.Sleep(time.Millisecond)
		}
		expired <- time.Now()
		ctx.Expire()
	}()
	rep, err := fastRunner(map[string]string{"TOK": srv.Token}).Run(ctx, &fleet.Config{Concurrency: 2, Tenants: tenants})
	if n := len(srv.Faults()); n != 1 {
		t.Errorf("%d faults left, want 1: the first request was never held", n)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Run = %v, want DeadlineExceeded", err)
	}
	// Without the cancellation it would wait out the hour-long delay.
	if d := time.Since(<-expired); d >= time.Minute {
		t.Errorf("Run took %v after cancellation", d)
	}
	for _, tr := range rep.Tenants {
		if tr.Outcome != fleet.OutcomeCanceled {
			t.Errorf("%s: outcome %s, want canceled", tr.Name, tr.Outcome)
		}
	}
}

func TestRunInvalidConfig(t *testing.T) {
	t.Parallel()
	_, err := (&fleet.Runner{}).Run(t.Context(), &fleet.Config{})
	if !errors.Is(err, fleet.ErrInvalidConfig) {
		t.Fatalf("Run(empty config) = %v, want ErrInvalidConfig", err)
	}
}

// TestRunPacesEachTenant checks that each tenant's client gets the rate
// limit of its own fleet entry (auth0api paces with it; the effect on 429s
// is measured by BenchmarkFleet200 in internal/reliability) and that the
// Runner's ClientConfig sees the file's settings.
func TestRunPacesEachTenant(t *testing.T) {
	t.Parallel()
	a := startFake(t, phonemigratetest.LegacyGateway)
	b := startFake(t, phonemigratetest.LegacyGateway)
	dir := t.TempDir()
	env := map[string]string{"A": a.Token, "B": b.Token}
	cfg := &fleet.Config{Concurrency: 2, Tenants: []fleet.Tenant{
		{Name: "a", BaseURL: a.BaseURL, TokenEnv: "A", Checkpoint: filepath.Join(dir, "a.json"),
			RateLimit: fleet.RateLimit{PerSecond: 50, Burst: 7}, Options: fleet.TenantOptions{SkipTest: true}},
		{Name: "b", BaseURL: b.BaseURL, TokenEnv: "B", Checkpoint: filepath.Join(dir, "b.json"),
			RateLimit: fleet.RateLimit{PerSecond: 30}, Options: fleet.TenantOptions{SkipTest: true}},
	}}
	var mu sync.Mutex
	got := map[string]string{}
	r := fastRunner(env)
	r.ClientConfig = func(t fleet.Tenant, c *auth0api.Config) {
		mu.Lock()
		defer mu.Unlock()
		got[t.Name] = fmt.Sprintf("%v/%d %s", float64(c.RateLimit), c.RateBurst, c.BaseURL)
	}
	rep, err := r.Run(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"a": "50/7 " + a.BaseURL, "b": "30/1 " + b.BaseURL}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("client rate limits (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"a completed completed 0", "b completed completed 0"}, outcomes(rep)); diff != "" {
		t.Errorf("outcomes (-want +got):\n%s", diff)
	}
}

// TestRunBrokenTenantNeedsRepair: a tenant switched by hand without a
// provider leaves MFA users without codes. The fleet writes nothing to it
// and reports it needs_repair (exit 3), naming the repair, rather than a
// plain failure or already_unified.
func TestRunBrokenTenantNeedsRepair(t *testing.T) {
	t.Parallel()
	srv := startFake(t, phonemigratetest.MFATwilio)
	if err := srv.Make(t.Context(), phonemigratetest.SwitchOn); err != nil {
		t.Fatal(err)
	}
	srv.ResetRequests()
	cfg := &fleet.Config{Concurrency: 1, Tenants: []fleet.Tenant{{Name: "broken", BaseURL: srv.BaseURL, TokenEnv: "BROKEN_TOKEN",
		Checkpoint: filepath.Join(t.TempDir(), "broken.json"), Options: fleet.TenantOptions{SkipTest: true}}}}
	rep, err := fastRunner(map[string]string{"BROKEN_TOKEN": srv.Token}).Run(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	tr := rep.Tenants[0]
	if tr.Outcome != fleet.OutcomeNeedsRepair || tr.ExitCode != 3 || tr.Outcome.OK() || !strings.Contains(tr.Error, "fastest safe repair") {
		t.Errorf("broken tenant: outcome %s, exit %d, error %q; want needs_repair, exit 3, naming the repair", tr.Outcome, tr.ExitCode, tr.Error)
	}
	for _, rq := range srv.Requests() {
		if rq.Method != "GET" {
			t.Errorf("the fleet wrote to a tenant that needs repair: %s %s", rq.Method, rq.Path)
		}
	}
}

// flightCounter is a RoundTripper that records the most requests it had in
// flight at once (until each answer's body is closed, as the Runner counts).
type flightCounter struct {
	base     http.RoundTripper
	now, max atomic.Int64
}

func (f *flightCounter) RoundTrip(req *http.Request) (*http.Response, error) {
	n := f.now.Add(1)
	for m := f.max.Load(); n > m && !f.max.CompareAndSwap(m, n); m = f.max.Load() {
	}
	resp, err := f.base.RoundTrip(req)
	if err != nil {
		f.now.Add(-1)
		return nil, err
	}
	resp.Body = &countedBody{ReadCloser: resp.Body, done: func() { f.now.Add(-1) }}
	return resp, nil
}

type countedBody struct {
	io.ReadCloser
	once sync.Once
	done func()
}

func (b *countedBody) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(b.done)
	return err
}

// TestRunUnfinishedRollback: a tenant whose checkpoint records a rollback
// that did not finish is left to Rollback — the fleet's session refuses it
// (exit 3, as one that needs a person) and writes nothing — while the
// other tenants migrate.
func TestRunUnfinishedRollback(t *testing.T) {
	t.Parallel()
	stuck, fine := startFake(t, phonemigratetest.LegacyTwilio), startFake(t, phonemigratetest.LegacyTwilio)
	dir := t.TempDir()
	cp := filepath.Join(dir, "stuck.json")
	if err := filestore.New(cp).Save(t.Context(), &phonemigrate.Checkpoint{Version: 1, Tenant: "stuck", State: phonemigrate.State("rolling_back")}); err != nil {
		t.Fatal(err)
	}
	cfg := &fleet.Config{Concurrency: 2, Tenants: []fleet.Tenant{
		{Name: "stuck", BaseURL: stuck.BaseURL, TokenEnv: "STUCK_TOKEN", Checkpoint: cp, Options: fleet.TenantOptions{SkipTest: true}},
		{Name: "fine", BaseURL: fine.BaseURL, TokenEnv: "FINE_TOKEN", Checkpoint: filepath.Join(dir, "fine.json"), Options: fleet.TenantOptions{SkipTest: true, SkipTwilioCheck: true}},
	}}
	rep, err := fastRunner(map[string]string{"STUCK_TOKEN": stuck.Token, "FINE_TOKEN": fine.Token}).Run(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"stuck failed rolling_back 3", "fine completed completed 0"}
	if diff := cmp.Diff(want, outcomes(rep)); diff != "" {
		t.Errorf("outcomes (-want +got):\n%s", diff)
	}
	if e := rep.Tenants[0].Error; !strings.Contains(e, "rollback of this tenant did not finish") {
		t.Errorf("stuck tenant's error %q, want it to say the rollback did not finish", e)
	}
	for _, rq := range stuck.Requests() {
		if rq.Method != "GET" {
			t.Errorf("the fleet wrote to a tenant whose rollback did not finish: %s %s", rq.Method, rq.Path)
		}
	}
}
