package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/unifiedphone/unifiedphone/phonemigrate/phonemigratetest"
)

// invariantRecipient receives every message the invariant sends.
const invariantRecipient = "+15550009999"

func cmdMake(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) == 0 {
		ts.Fatalf("usage: make CHANGE...")
	}
	var changes []phonemigratetest.Change
	for _, a := range args {
		c, err := phonemigratetest.ParseChange(a)
		ts.Check(err)
		changes = append(changes, c)
	}
	ctx, cancel := context.WithTimeout(context.Background(), scriptWait)
	defer cancel()
	ts.Check(stateOf(ts).server(ts).Make(ctx, changes...))
}

// deliverEvery sends one message per consumer of the tenant as it is now.
func deliverEvery(ts *testscript.TestScript) []phonemigratetest.Delivery {
	srv := stateOf(ts).server(ts)
	ctx, cancel := context.WithTimeout(context.Background(), scriptWait)
	defer cancel()
	out, err := srv.Deliver(ctx, srv.State().Messages(invariantRecipient))
	ts.Check(err)
	return out
}

func cmdBaseline(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 0 {
		ts.Fatalf("usage: baseline")
	}
	st := stateOf(ts)
	st.baseline = deliverEvery(ts)
	for _, d := range st.baseline {
		if !d.Delivered {
			ts.Fatalf("baseline: %s is not delivered: %s", d.Path, d.Detail)
		}
	}
}

// cmdInvariant asserts "check exits 0 ⇒ every consumer's /__fake/notify
// delivers the same request as at baseline" (a consumer whose difference
// check lists as accepted must still get its code). Flags after
// healthy|unhealthy go to check (a later --checkpoint wins).
func cmdInvariant(ts *testscript.TestScript, neg bool, args []string) {
	var checkArgs []string
	if len(args) > 1 {
		args, checkArgs = args[:1], args[1:]
	}
	if neg || (len(args) == 1 && args[0] != "healthy" && args[0] != "unhealthy") {
		ts.Fatalf("usage: invariant [healthy|unhealthy [CHECK FLAGS...]]")
	}
	st := stateOf(ts)
	if st.baseline == nil {
		ts.Fatalf("invariant: run baseline first")
	}
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), scriptWait)
	defer cancel()
	// check in the script's directory: its default checkpoint, where apply
	// recorded the differences accepted.
	var tf tenantFlags
	fs := newFlagSet("invariant")
	tf.register(fs)
	ts.Check(fs.Parse(nil))
	tenant, err := tf.resolve(ts.Getenv)
	ts.Check(err)
	check := []string{"check", "--quiet", "--json", "--checkpoint", ts.MkAbs(tenant.defaultCheckpoint())}
	for i := 0; i < len(checkArgs); i++ {
		if checkArgs[i] == "--checkpoint" && i+1 < len(checkArgs) {
			checkArgs[i+1] = ts.MkAbs(checkArgs[i+1]) // check runs in this process, not in $WORK
		}
	}
	code := run(ctx, append(check, checkArgs...), strings.NewReader(""), &out, &out, ts.Getenv)
	healthy := code == exitOK
	if len(args) == 1 && healthy != (args[0] == "healthy") {
		ts.Fatalf("invariant: check exited %d, want %s:\n%s", code, args[0], out.String())
	}
	if code != exitOK && code != exitFailed {
		ts.Fatalf("invariant: check exited %d:\n%s", code, out.String())
	}
	if !healthy {
		fmt.Fprintf(ts.Stdout(), "invariant: check unhealthy\n")
		return
	}
	// A consumer whose difference was accepted at apply (listed by check)
	// must still get its code; what it receives may differ.
	var health struct {
		Accepted []struct {
			Consumer string `json:"consumer"`
		} `json:"accepted"`
	}
	ts.Check(json.Unmarshal(out.Bytes(), &health))
	accepted := map[string]bool{}
	for _, a := range health.Accepted {
		accepted[a.Consumer] = true
	}
	now := deliverEvery(ts)
	var bad []string
	for i, c := range phonemigratetest.Compare(st.baseline, now) {
		switch {
		case c.Same:
		case i < len(now) && accepted[consumerID(now[i].Request)] && now[i].Delivered:
			fmt.Fprintf(ts.Stdout(), "invariant: %s receives what was accepted\n", consumerID(now[i].Request))
		default:
			bad = append(bad, c.Path+": "+strings.Join(c.Why, "; "))
		}
	}
	if len(now) != len(st.baseline) {
		bad = append(bad, fmt.Sprintf("%d consumers at baseline, %d now", len(st.baseline), len(now)))
	}
	if len(bad) > 0 {
		ts.Fatalf("invariant broken: check exits 0 but:\n%s\ncheck said:\n%s", strings.Join(bad, "\n"), out.String())
	}
	fmt.Fprintf(ts.Stdout(), "invariant: check healthy, every consumer receives the same\n")
}

// cmdLogAfterSwitch appends the log entries of FILE (a JSON array) to the
// fake's tenant log as soon as the tenant is switched (in the background,
// while apply watches delivery), as Auth0 would log them then.
// wait-logs-read waits for them to be logged and read.
func cmdLogAfterSwitch(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: log-after-switch FILE")
	}
	var entries []phonemigratetest.LogEvent
	ts.Check(json.Unmarshal([]byte(ts.ReadFile(args[0])), &entries))
	st := stateOf(ts)
	srv := st.server(ts)
	logged := make(chan int, 1)
	st.logged = logged
	go func() {
		deadline := time.Now().Add(scriptWait)
		for time.Now().Before(deadline) {
			if on, _ := srv.State().TenantSettings["phone_consolidated_experience"].(bool); on {
				for _, e := range entries {
					srv.AddLog(e)
				}
				logged <- logReads(srv)
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
}

// cmdWaitLogsRead waits until a GET /api/v2/logs arrives after what is
// logged now — after log-after-switch, first until its entries are
// logged. The fake records a request before it answers, so that read's
// answer includes them, and a canary that decides after it has seen them.
func cmdWaitLogsRead(ts *testscript.TestScript, neg bool, args []string) {
	st := stateOf(ts)
	if neg || len(args) != 0 {
		ts.Fatalf("usage: wait-logs-read")
	}
	srv := st.server(ts)
	deadline := time.Now().Add(scriptWait)
	before := logReads(srv)
	if st.logged != nil {
		select {
		case before = <-st.logged:
		case <-time.After(scriptWait):
			ts.Fatalf("the tenant was not switched within %v: nothing logged", scriptWait)
		}
		st.logged = nil
	}
	for logReads(srv) == before {
		if time.Now().After(deadline) {
			ts.Fatalf("no GET /api/v2/logs within %v after the entries were logged", scriptWait)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// logReads counts the GET /api/v2/logs requests srv has received.
func logReads(srv *phonemigratetest.Server) int {
	n := 0
	for _, r := range srv.Requests() {
		if r.Method == "GET" && r.Path == "/api/v2/logs" {
			n++
		}
	}
	return n
}
