package reliability

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/unifiedphone/unifiedphone/phonemigrate"
	"github.com/unifiedphone/unifiedphone/phonemigrate/auth0api"
	"github.com/unifiedphone/unifiedphone/phonemigrate/filestore"
	"github.com/unifiedphone/unifiedphone/phonemigrate/phonemigratetest"
)

// fault is one kind of failure the matrix injects at one request.
type fault struct {
	name string
	// inject returns the fake's fault for the request (nil: none).
	inject func(r *http.Request) *phonemigratetest.Fault
	crash  bool
	// hold: the fake holds the request, and the client's timeout cuts it
	// once it does.
	hold bool
}

var faults = []fault{
	{name: "500-once", inject: func(r *http.Request) *phonemigratetest.Fault {
		return &phonemigratetest.Fault{Method: r.Method, Path: r.URL.Path, Status: 500, Times: 1}
	}},
	{name: "500-persistent", inject: func(r *http.Request) *phonemigratetest.Fault {
		return &phonemigratetest.Fault{Method: r.Method, Path: r.URL.Path, Status: 500}
	}},
	{name: "429-storm", inject: func(r *http.Request) *phonemigratetest.Fault {
		// More 429s than the client's attempts (DefaultMaxAttempts 4).
		return &phonemigratetest.Fault{Method: r.Method, Path: r.URL.Path, Status: 429, Times: 10}
	}},
	{name: "slow", inject: func(r *http.Request) *phonemigratetest.Fault {
		// Holds the request until the client gives up on it: the fake's
		// wait ends when the client goes away, long before this delay.
		// The client gives up by its per-attempt timeout, which the hook
		// makes expire as soon as the fake holds the request (hold), so
		// neither the wait nor the outcome depends on the machine's speed.
		return &phonemigratetest.Fault{Method: r.Method, Path: r.URL.Path, DelayMS: int(time.Hour.Milliseconds()), Times: 1}
	}, hold: true},
	{name: "drop", inject: func(r *http.Request) *phonemigratetest.Fault {
		return &phonemigratetest.Fault{Method: r.Method, Path: r.URL.Path, Drop: true, Times: 1}
	}},
	{name: "crash-after-write", crash: true},
}

// reference is a scenario's clean migration: the tenant before and after,
// and its mutating requests in the order the client sent them.
type reference struct {
	original, migrated phonemigratetest.State
	writes             []string
	messages           []phonemigratetest.NotifyRequest
	urls               []string // the reference fake's Gateway and Twilio URLs
}

func cleanRun(ctx context.Context, sc phonemigratetest.Scenario, dir string) (*reference, error) {
	srv := newFake(sc)
	defer srv.Close()
	ref := &reference{original: srv.State(), urls: []string{srv.Gateway().URL, srv.Twilio().URL}}
	ref.messages = ref.original.Messages(recipient)
	h := &hook{base: http.DefaultTransport}
	m, err := newMigrator(ctx, srv, h, filestore.New(filepath.Join(dir, "clean-"+string(sc)+".json")))
	if err != nil {
		return nil, err
	}
	res, err := m.Apply(ctx, migrateOptions(srv))
	if err != nil || res.State != phonemigrate.StateCompleted {
		return nil, fmt.Errorf("clean apply: %v, %v", res, err)
	}
	ref.migrated = srv.State()
	// The list comes from the fake's request log; the hook saw the same
	// requests, in the client's order (the log is in completion order).
	logged := writesOf(srv.Requests())
	ref.writes = h.seq
	a, b := slices.Sorted(slices.Values(logged)), slices.Sorted(slices.Values(h.seq))
	if !slices.Equal(a, b) {
		return nil, fmt.Errorf("the fake logged writes %v, the client sent %v", logged, h.seq)
	}
	return ref, nil
}

// matrixCase is one cell: a scenario, the index of the mutating request,
// a fault, and how the run ends (resume or rollback).
type matrixCase struct {
	sc       phonemigratetest.Scenario
	ref      *reference
	index    int // 1-based, into ref.writes
	fault    fault
	rollback bool
}

func (c matrixCase) String() string {
	end := "resume"
	if c.rollback {
		end = "rollback"
	}
	return fmt.Sprintf("%s/%02d %s/%s/%s", c.sc, c.index, normalize(c.ref.writes[c.index-1]), c.fault.name, end)
}

// run plays one case and returns what did not hold (nil: it held).
//
// busy bounds the cases that compute at once (each runs Node.js for its
// custom provider's test messages): run holds one of its slots.
func (c matrixCase) run(ctx context.Context, dir string, busy *slots) error {
	busy.take()
	defer busy.give()
	srv := newFake(c.sc)
	defer srv.Close()

	original := srv.State()

	// 1. The faulted attempt.
	runCtx, crash := context.WithCancel(ctx)
	defer crash()
	h := &hook{base: http.DefaultTransport, target: c.index}
	if c.fault.crash {
		h.crash = crash
	} else {
		h.before = func(r *http.Request) { srv.InjectFault(*c.fault.inject(r)) }
	}
	if c.fault.hold {
		h.cutWhen = func(ctx context.Context) { heldBy(ctx, srv) }
	}
	store := killableStore{Store: filestore.New(filepath.Join(dir, "cp.json")), killed: h.isCrashed}
	m, err := newMigrator(ctx, srv, h, store)
	if err != nil {
		return err
	}
	res, applyErr := m.Apply(runCtx, migrateOptions(srv))
	if h.n < c.index {
		return fmt.Errorf("the faulted run sent only %d mutating requests, the target was #%d (%v)", h.n, c.index, applyErr)
	}
	if c.fault.hold && !h.wasCut() {
		return fmt.Errorf("the client's timeout never cut the request the fake held (%v)", applyErr)
	}
	// A request cut by its timeout and not sent again fails the apply with
	// that timeout; one sent again lets it complete.
	var te *auth0api.TimeoutError
	if c.fault.hold && applyErr != nil && !errors.As(applyErr, &te) {
		return fmt.Errorf("the faulted apply failed with %v, want the client's timeout", applyErr)
	}
	srv.ClearFaults()
	if applyErr == nil && res.State != phonemigrate.StateCompleted {
		return fmt.Errorf("faulted apply returned no error in state %s", res.State)
	}

	// 2. In between: every user still gets codes.
	if bad := undelivered(ctx, srv, c.ref.messages); len(bad) > 0 {
		return fmt.Errorf("after the faulted apply (%v), undelivered: %s", applyErr, strings.Join(bad, "; "))
	}

	// 3. Resume or roll back, as a new process would (fresh client and
	// migrator, same checkpoint file).
	m2, err := newMigrator(ctx, srv, nil, filestore.New(filepath.Join(dir, "cp.json")))
	if err != nil {
		return err
	}
	want, wantURLs := c.ref.migrated, c.ref.urls
	if c.rollback {
		want, wantURLs = original, []string{srv.Gateway().URL, srv.Twilio().URL}
		res, err := m2.Rollback(ctx)
		if err != nil {
			return fmt.Errorf("rollback after %v: %w", applyErr, err)
		}
		if res.State != phonemigrate.StateRolledBack {
			return fmt.Errorf("rollback ended in %s", res.State)
		}
	} else {
		res, err := m2.Apply(ctx, migrateOptions(srv))
		if err != nil {
			return fmt.Errorf("resume after %v: %w", applyErr, err)
		}
		if res.State != phonemigrate.StateCompleted {
			return fmt.Errorf("resume ended in %s", res.State)
		}
	}
	if diff := cmp.Diff(portless(want, wantURLs...), portless(srv.State(), srv.Gateway().URL, srv.Twilio().URL), phonemigratetest.IgnoreGenerated); diff != "" {
		return fmt.Errorf("tenant differs from the %s state (-want +got):\n%s", map[bool]string{false: "migrated", true: "original"}[c.rollback], diff)
	}
	if bad := undelivered(ctx, srv, c.ref.messages); len(bad) > 0 {
		return fmt.Errorf("at the end, undelivered: %s", strings.Join(bad, "; "))
	}
	return nil
}

// TestFaultMatrix injects every fault at every mutating request of every
// migrating scenario's apply, then resumes (every fault) or rolls back
// (every fault too), and checks that the tenant ends exactly migrated or
// exactly original and that Passwordless and MFA messages were deliverable
// after the failed attempt and at the end.
//
// Every case has its own fake and checkpoint, so the cases run in
// parallel, at most six at a time, so that the machine's load, not the
// matrix's own, decides how long a test message takes. No timeout depends
// on the machine's speed: the client's per-attempt timeouts only guard
// against a hang (clientConfig), and the "slow" fault's request is cut by
// its timeout as soon as the fake holds it (hook.cutWhen).
//
// With -short only the first and last mutating request of each scenario
// are faulted.
func TestFaultMatrix(t *testing.T) {
	t.Parallel()
	requireNode(t)
	ctx := t.Context()
	refs := make([]*reference, len(migrating))
	var wg sync.WaitGroup
	for i, sc := range migrating {
		wg.Go(func() {
			ref, err := cleanRun(ctx, sc, t.TempDir())
			if err != nil {
				t.Errorf("%s: %v", sc, err)
				return
			}
			refs[i] = ref
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	var cases []matrixCase
	for i, sc := range migrating {
		ref := refs[i]
		t.Logf("%s: %d mutating requests: %s", sc, len(ref.writes), strings.Join(mapSlice(ref.writes, normalize), ", "))
		for i := range ref.writes {
			if testing.Short() && i != 0 && i != len(ref.writes)-1 {
				continue
			}
			for _, f := range faults {
				for _, rb := range []bool{false, true} {
					cases = append(cases, matrixCase{sc: sc, ref: ref, index: i + 1, fault: f, rollback: rb})
				}
			}
		}
	}

	var held atomic.Int64
	busy := newSlots(6)
	// play runs one case as a subtest (t.Run may be called from several
	// goroutines; each call returns when its case is done).
	play := func(c matrixCase) {
		t.Run(c.String(), func(t *testing.T) {
			if err := c.run(ctx, t.TempDir(), busy); err != nil {
				t.Error(err)
				return
			}
			held.Add(1)
		})
	}
	start := time.Now()
	next := make(chan matrixCase)
	for range 6 {
		wg.Go(func() {
			for c := range next {
				play(c)
			}
		})
	}
	for _, c := range cases {
		next <- c
	}
	close(next)
	wg.Wait()
	n := len(cases)
	t.Logf("fault matrix: %d cases (%d scenarios × their mutating requests × %d faults × resume/rollback), %d held, in %v",
		n, len(migrating), len(faults), held.Load(), time.Since(start).Round(time.Millisecond))
	if !testing.Short() && n != 336 {
		t.Errorf("the matrix has %d cases, want 336: the clean applies changed; update this count if that is intended", n)
	}
}

// heldBy returns once srv holds the request the "slow" fault was injected
// for: the fault (Times 1) is used up when the request arrives. It polls,
// with no deadline: the request was written, so it arrives.
func heldBy(ctx context.Context, srv *phonemigratetest.Server) {
	for len(srv.Faults()) > 0 && ctx.Err() == nil {
		time.Sleep(time.Millisecond)
	}
}

func mapSlice[T, U any](s []T, f func(T) U) []U {
	out := make([]U, len(s))
	for i, v := range s {
		out[i] = f(v)
	}
	return out
}

// slots is a counting semaphore.
type slots chan struct{}

func newSlots(n int) *slots { s := make(slots, n); return &s }
func (s *slots) take()      { *s <- struct{}{} }
func (s *slots) give()      { <-*s }
