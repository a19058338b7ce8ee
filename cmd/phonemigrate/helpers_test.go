package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/unifiedphone/unifiedphone/phonemigrate/filestore"
	"github.com/unifiedphone/unifiedphone/phonemigrate/phonemigratetest"
)

var update = flag.Bool("update", false, "rewrite golden files and cmp sections of scripts")

// scriptState is one script's fake tenants and saved snapshots.
type scriptState struct {
	srv   *phonemigratetest.Server
	saved map[string]phonemigratetest.State
	// baseline is what every consumer received when "baseline" ran (the
	// invariant command compares with it).
	baseline []phonemigratetest.Delivery
	// logged receives, once log-after-switch has logged its entries, how
	// many log reads the fake had received then (wait-logs-read).
	logged chan int
}

type scriptStateKey struct{}

func scriptSetup(env *testscript.Env) error {
	// NODELESS_PATH is PATH without the directories holding node, for
	// scripts that check what happens on a machine without Node.js.
	var dirs []string
	for _, dir := range filepath.SplitList(env.Getenv("PATH")) {
		if _, err := os.Stat(filepath.Join(dir, "node")); err != nil {
			dirs = append(dirs, dir)
		}
	}
	env.Setenv("NODELESS_PATH", strings.Join(dirs, string(filepath.ListSeparator)))
	// Scripts migrate without apply's default 2m delivery watch unless
	// they ask for one (--watch); watch.txtar does.
	env.Setenv("PHONEMIGRATE_WATCH", "0")
	// Likewise without the pre-write rehearsal (a migration of a fake
	// copy) unless they ask for it: the outcome_*.txtar scripts do.
	env.Setenv("PHONEMIGRATE_REHEARSE", "0")

	st := &scriptState{saved: map[string]phonemigratetest.State{}}
	env.Values[scriptStateKey{}] = st
	env.Defer(func() {
		if st.srv != nil {
			st.srv.Close()
		}
	})
	return nil
}

func stateOf(ts *testscript.TestScript) *scriptState {
	return ts.Value(scriptStateKey{}).(*scriptState)
}

func (st *scriptState) server(ts *testscript.TestScript) *phonemigratetest.Server {
	if st.srv == nil {
		ts.Fatalf("no fake tenant: run fake-tenant SCENARIO first")
	}
	return st.srv
}

// scriptCommands are the commands scripts use to set up and inspect fake
// tenants (the phonemigrate command itself runs as a separate process and
// reaches the fake over HTTP, like a user's would):
//
//	fake-tenant SCENARIO        start a fake tenant; sets PHONEMIGRATE_BASE_URL,
//	                            AUTH0_TOKEN, FAKE_URL, FAKE_CLIENT_ID, FAKE_CLIENT_SECRET,
//	                            FAKE_TWILIO_URL, PHONEMIGRATE_TWILIO_API_URL
//	fault METHOD PATH STATUS [TIMES]   inject a failure (STATUS "drop" drops the connection,
//	                            "delay:MS" only delays;
//	                            TIMES 0 means until "fault clear"; default 1)
//	fault clear                 remove every fault
//	fault wait                  wait until every fault with TIMES > 0 has met its
//	                            requests (a delay:MS fault is then holding the last)
//	requests [writes|reset]     print "requests: N" and the request log ("METHOD PATH STATUS"
//	                            lines); writes leaves out GETs and /oauth/token
//	notify KIND CONNECTION RECIPIENT [METHOD]   send one message, print the result as JSON
//	api METHOD PATH [FILE]      call the fake's Management API (PATH under /api/v2, body from
//	                            FILE), as a colleague shaping the tenant would; fail unless 2xx;
//	                            print the answer
//	fake-twilio reject SID      the fake Twilio rejects account SID's credentials (401 20003)
//	fake-twilio fail NUMBER FINAL   what goes to NUMBER ends FINAL (failed, undelivered,
//	                            busy, no-answer, or lost: never listed)
//	fake-twilio statuses        print each accepted message's sid and the statuses reported
//	tenant-state get PATH       print the JSON value at PATH (dot-separated;
//	                            array elements by index or by name)
//	tenant-state save NAME      remember the tenant's state
//	tenant-state same NAME      fail unless the state equals the one saved (phonemigratetest.IgnoreGenerated)
//	exits CODE PROG ARGS...     run PROG like exec and fail unless it exits with CODE
//	wait-checkpoint FILE STATE  wait until the checkpoint FILE is in STATE
//	wait-json FILE PATH VALUE   wait until json-get FILE PATH would print VALUE
//	fake-env FILE               wait for the --env-file of a background 'phonemigrate fake',
//	                            set its variables and FAKE_ADDR (its host:port)
//	wait-http URL [FILE]        wait until URL answers 200 (save the body to FILE)
//	hold-lock FILE              take FILE's checkpoint lock until the script ends
//	json-get FILE PATH          print the JSON value at PATH in FILE
//	file-mode FILE              print FILE's permission bits in octal (e.g. 600)
//	glob-exists PATTERN         fail unless a file matches PATTERN
//	traffic start RATE COUNT    background Passwordless deliveries (RATE a second), logged
//	traffic wait N              wait until N of them have been sent (and logged);
//	                            +N: N more than so far
//	traffic stop                stop them
//	break PATH                  make a delivery path fail: gateway, twilio or action
//	break clear                 restore every delivery path
//	make CHANGE...              change the tenant as a person or an IaC run would (Server.Make)
//	baseline                    record what every consumer receives now
//	invariant [healthy|unhealthy]  run 'phonemigrate check'; when it exits 0, every consumer
//	                            must receive through /__fake/notify the same as at baseline;
//	                            healthy/unhealthy also require check's verdict
//	log-after-switch FILE       append FILE's log entries (JSON array) once the tenant is switched
//	wait-logs-read              wait until a GET /api/v2/logs comes after what is logged
//	                            now (its answer has it); after log-after-switch, first
//	                            wait until its entries are logged
func scriptCommands() map[string]func(ts *testscript.TestScript, neg bool, args []string) {
	return map[string]func(ts *testscript.TestScript, neg bool, args []string){
		"fake-tenant":      cmdFakeTenant,
		"fault":            cmdFault,
		"requests":         cmdRequests,
		"notify":           cmdNotify,
		"api":              cmdAPI,
		"tenant-state":     cmdTenantState,
		"fake-twilio":      cmdFakeTwilio,
		"json-get":         cmdJSONGet,
		"exits":            cmdExits,
		"hold-lock":        cmdHoldLock,
		"fake-env":         cmdFakeEnv,
		"wait-checkpoint":  cmdWaitCheckpoint,
		"wait-json":        cmdWaitJSON,
		"wait-http":        cmdWaitHTTP,
		"file-mode":        cmdFileMode,
		"glob-exists":      cmdGlobExists,
		"traffic":          cmdTraffic,
		"break":            cmdBreak,
		"make":             cmdMake,
		"baseline":         cmdBaseline,
		"invariant":        cmdInvariant,
		"log-after-switch": cmdLogAfterSwitch,
		"wait-logs-read":   cmdWaitLogsRead,
	}
}

func cmdFakeTenant(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: fake-tenant SCENARIO")
	}
	sc, err := phonemigratetest.ParseScenario(args[0])
	ts.Check(err)
	st := stateOf(ts)
	// The new fake binds its port while the previous one still holds its
	// own: "another tenant" always has another address (the tenant's name).
	old := st.srv
	st.srv = phonemigratetest.NewServer(sc, phonemigratetest.WithActionBuild(5*time.Millisecond, 1))
	if old != nil {
		old.Close()
	}
	ts.Setenv("PHONEMIGRATE_BASE_URL", st.srv.BaseURL)
	ts.Setenv("AUTH0_TOKEN", st.srv.Token)
	ts.Setenv("FAKE_URL", st.srv.URL)
	ts.Setenv("FAKE_CLIENT_ID", st.srv.ClientID)
	ts.Setenv("FAKE_CLIENT_SECRET", st.srv.ClientSecret)
	ts.Setenv("FAKE_TWILIO_URL", st.srv.Twilio().URL)
	// As a user exports what 'phonemigrate fake' prints: the Twilio
	// credential check and test-message evidence go to the fake Twilio,
	// never to api.twilio.com.
	ts.Setenv("PHONEMIGRATE_TWILIO_API_URL", st.srv.Twilio().URL)
}

func cmdFault(ts *testscript.TestScript, neg bool, args []string) {
	if !neg && len(args) == 1 && args[0] == "clear" {
		stateOf(ts).server(ts).ClearFaults()
		return
	}
	if !neg && len(args) == 1 && args[0] == "wait" {
		waitFaultsUsed(ts)
		return
	}
	if neg || len(args) < 3 || len(args) > 4 {
		ts.Fatalf("usage: fault METHOD PATH STATUS|drop|delay:MS [TIMES] | fault clear | fault wait")
	}
	f := phonemigratetest.Fault{Method: args[0], Path: args[1], Times: 1}
	if ms, ok := strings.CutPrefix(args[2], "delay:"); ok {
		n, err := strconv.Atoi(ms)
		ts.Check(err)
		f.DelayMS = n
	} else if args[2] == "drop" {
		f.Drop = true
	} else {
		n, err := strconv.Atoi(args[2])
		ts.Check(err)
		f.Status = n
	}
	if len(args) == 4 {
		n, err := strconv.Atoi(args[3])
		ts.Check(err)
		f.Times = n
	}
	stateOf(ts).server(ts).InjectFault(f)
}

// waitFaultsUsed waits until every fault injected with TIMES > 0 has met
// its requests: the last one has arrived at the fake (and a delaying
// fault is holding it).
func waitFaultsUsed(ts *testscript.TestScript) {
	srv := stateOf(ts).server(ts)
	deadline := time.Now().Add(scriptWait)
	for {
		left := slices.DeleteFunc(srv.Faults(), func(f phonemigratetest.Fault) bool { return f.Times == 0 })
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			ts.Fatalf("faults still waiting for their requests after %v: %+v", scriptWait, left)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func cmdRequests(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) > 1 {
		ts.Fatalf("usage: requests [writes|reset]")
	}
	srv := stateOf(ts).server(ts)
	mode := ""
	if len(args) == 1 {
		mode = args[0]
	}
	switch mode {
	case "reset":
		srv.ResetRequests()
		return
	case "", "writes":
	default:
		ts.Fatalf("usage: requests [writes|reset]")
	}
	var lines []string
	for _, r := range srv.Requests() {
		if mode == "writes" && (r.Method == "GET" || r.Path == "/oauth/token") {
			continue
		}
		lines = append(lines, fmt.Sprintf("%s %s %d\n", r.Method, r.Path, r.Status))
	}
	// The count comes first so that "no writes" is a positive match
	// (a custom command that prints nothing leaves stdout as it was).
	fmt.Fprintf(ts.Stdout(), "requests: %d\n%s", len(lines), strings.Join(lines, ""))
}

func cmdNotify(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 3 || len(args) > 4 {
		ts.Fatalf("usage: notify passwordless|mfa CONNECTION RECIPIENT [text|voice]")
	}
	req := phonemigratetest.NotifyRequest{Kind: args[0], Connection: args[1], Recipient: args[2], DeliveryMethod: "text"}
	if len(args) == 4 {
		req.DeliveryMethod = args[3]
	}
	ctx, cancel := context.WithTimeout(context.Background(), scriptWait)
	defer cancel()
	res, err := stateOf(ts).server(ts).Notify(ctx, req)
	ts.Check(err)
	b, err := json.Marshal(res)
	ts.Check(err)
	fmt.Fprintf(ts.Stdout(), "%s\n", b)
}

func cmdAPI(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 2 || len(args) > 3 {
		ts.Fatalf("usage: api METHOD PATH [FILE]")
	}
	srv := stateOf(ts).server(ts)
	var body io.Reader
	if len(args) == 3 {
		body = strings.NewReader(ts.ReadFile(args[2]))
	}
	req, err := http.NewRequest(args[0], srv.BaseURL+args[1], body)
	ts.Check(err)
	req.Header.Set("Authorization", "Bearer "+srv.Token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	ts.Check(err)
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	ts.Check(err)
	fmt.Fprintf(ts.Stdout(), "%s\n", out)
	if ok := resp.StatusCode/100 == 2; ok == neg {
		ts.Fatalf("api %s %s: %d %s", args[0], args[1], resp.StatusCode, out)
	}
}

func cmdFakeTwilio(ts *testscript.TestScript, neg bool, args []string) {
	usage := "usage: fake-twilio reject SID | fail NUMBER FINAL | statuses"
	if neg || len(args) == 0 {
		ts.Fatalf("%s", usage)
	}
	tw := stateOf(ts).server(ts).Twilio()
	switch {
	case args[0] == "reject" && len(args) == 2:
		tw.RejectAccount(args[1])
	case args[0] == "fail" && len(args) == 3:
		ts.Check(tw.FailNumber(args[1], args[2]))
	case args[0] == "statuses" && len(args) == 1:
		for _, m := range tw.Messages() {
			fmt.Fprintf(ts.Stdout(), "%s %s %s\n", m.SID, m.To, strings.Join(tw.Statuses(m.SID), ","))
		}
	default:
		ts.Fatalf("%s", usage)
	}
}

func cmdTenantState(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: tenant-state get PATH | save NAME | same NAME")
	}
	st := stateOf(ts)
	srv := st.server(ts)
	switch args[0] {
	case "get":
		if neg {
			ts.Fatalf("tenant-state get cannot be negated")
		}
		v, err := lookupPath(srv.State(), args[1])
		ts.Check(err)
		b, err := json.Marshal(v)
		ts.Check(err)
		fmt.Fprintf(ts.Stdout(), "%s\n", b)
	case "save":
		if neg {
			ts.Fatalf("tenant-state save cannot be negated")
		}
		st.saved[args[1]] = srv.State()
	case "same":
		want, ok := st.saved[args[1]]
		if !ok {
			ts.Fatalf("no saved state %q", args[1])
		}
		diff := cmp.Diff(want, srv.State(), phonemigratetest.IgnoreGenerated)
		switch {
		case diff != "" && !neg:
			ts.Fatalf("tenant state differs from %q (-saved +now):\n%s", args[1], diff)
		case diff == "" && neg:
			ts.Fatalf("tenant state unexpectedly equals %q", args[1])
		}
	default:
		ts.Fatalf("usage: tenant-state get PATH | save NAME | same NAME")
	}
}

// lookupPath walks the state's JSON form along a dot-separated path; an
// array element is named by its index or by its "name" or "type" field
// (connections.sms.options.use_phone_provider).
func lookupPath(s phonemigratetest.State, path string) (any, error) {
	b, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, err
	}
	return walkJSON(v, path)
}

// walkJSON is lookupPath on decoded JSON.
func walkJSON(v any, path string) (any, error) {
	for _, seg := range strings.Split(path, ".") {
		switch x := v.(type) {
		case map[string]any:
			v = x[seg]
		case []any:
			found := false
			if i, err := strconv.Atoi(seg); err == nil && i >= 0 && i < len(x) {
				v, found = x[i], true
			} else {
				for _, e := range x {
					if m, ok := e.(map[string]any); ok && (m["name"] == seg || m["type"] == seg) {
						v, found = e, true
						break
					}
				}
			}
			if !found {
				return nil, fmt.Errorf("no element %q in %s", seg, path)
			}
		default:
			return nil, fmt.Errorf("path %s: %q is below a scalar", path, seg)
		}
	}
	return v, nil
}

func cmdJSONGet(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: json-get FILE PATH")
	}
	var v any
	ts.Check(json.Unmarshal([]byte(ts.ReadFile(args[0])), &v))
	got, err := walkJSON(v, args[1])
	ts.Check(err)
	b, err := json.Marshal(got)
	ts.Check(err)
	fmt.Fprintf(ts.Stdout(), "%s\n", b)
}

func cmdFileMode(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: file-mode FILE")
	}
	fi, err := os.Stat(ts.MkAbs(args[0]))
	ts.Check(err)
	fmt.Fprintf(ts.Stdout(), "%o\n", fi.Mode().Perm())
}

func cmdGlobExists(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: glob-exists PATTERN")
	}
	m, err := filepath.Glob(ts.MkAbs(args[0]))
	ts.Check(err)
	switch {
	case len(m) == 0 && !neg:
		ts.Fatalf("no file matches %s", args[0])
	case len(m) > 0 && neg:
		ts.Fatalf("%s matches %v", args[0], m)
	}
}

func cmdExits(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exits CODE PROG [ARGS...]")
	}
	want, err := strconv.Atoi(args[0])
	ts.Check(err)
	err = ts.Exec(args[1], args[2:]...)
	got := 0
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			ts.Fatalf("%s: %v", args[1], err)
		}
		got = ee.ExitCode()
	}
	if got != want {
		ts.Fatalf("%s exited with %d, want %d", args[1], got, want)
	}
}

func cmdHoldLock(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: hold-lock FILE")
	}
	unlock, err := filestore.New(ts.MkAbs(args[0])).Lock(context.Background())
	ts.Check(err)
	ts.Defer(func() { _ = unlock() })
}

// scriptWait bounds the script commands that wait for something a
// background command does. It only matters when that never happens: each
// wait ends as soon as its condition holds, so a busy machine makes it
// longer, never a failure.
const scriptWait = 2 * time.Minute

// cmdFakeEnv waits for the --env-file of a background 'phonemigrate fake'
// (written whole once the fake serves) and sets its variables, and
// FAKE_ADDR to the host:port the fake listens on. The fake binds its own
// port (--listen 127.0.0.1:0) and reports it: no port is chosen for it
// and freed before it binds.
func cmdFakeEnv(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: fake-env FILE")
	}
	path := ts.MkAbs(args[0])
	deadline := time.Now().Add(scriptWait)
	var b []byte
	for {
		var err error
		if b, err = os.ReadFile(path); err == nil {
			break
		}
		if time.Now().After(deadline) {
			ts.Fatalf("the fake wrote no %s within %v: %v", args[0], scriptWait, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			ts.Fatalf("%s: %q is not NAME=VALUE", args[0], line)
		}
		ts.Setenv(k, v)
		if k == "PHONEMIGRATE_BASE_URL" {
			u, err := url.Parse(v)
			ts.Check(err)
			ts.Setenv("FAKE_ADDR", u.Host)
		}
	}
}

func cmdWaitHTTP(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 1 || len(args) > 2 {
		ts.Fatalf("usage: wait-http URL [FILE]")
	}
	deadline := time.Now().Add(scriptWait)
	for {
		resp, err := http.Get(args[0])
		if err == nil {
			body, rerr := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && rerr == nil {
				if len(args) == 2 {
					ts.Check(os.WriteFile(ts.MkAbs(args[1]), body, 0o600))
				}
				return
			}
		}
		if time.Now().After(deadline) {
			ts.Fatalf("%s did not answer 200 within %v (last error: %v)", args[0], scriptWait, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func cmdWaitCheckpoint(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: wait-checkpoint FILE STATE")
	}
	path := ts.MkAbs(args[0])
	deadline := time.Now().Add(scriptWait)
	last := ""
	for time.Now().Before(deadline) {
		var cp struct {
			State string `json:"state"`
		}
		if b, err := os.ReadFile(path); err == nil && json.Unmarshal(b, &cp) == nil {
			last = cp.State
			if cp.State == args[1] {
				return
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	ts.Fatalf("checkpoint %s did not reach %s within %v (last state %q)", args[0], args[1], scriptWait, last)
}

func cmdWaitJSON(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: wait-json FILE PATH VALUE")
	}
	path := ts.MkAbs(args[0])
	deadline := time.Now().Add(scriptWait)
	last := ""
	for time.Now().Before(deadline) {
		var v any
		if b, err := os.ReadFile(path); err == nil && json.Unmarshal(b, &v) == nil {
			if got, err := walkJSON(v, args[1]); err == nil {
				b, _ := json.Marshal(got)
				if last = string(b); last == args[2] {
					return
				}
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	ts.Fatalf("%s: %s did not become %s within %v (last %s)", args[0], args[1], args[2], scriptWait, last)
}

func cmdTraffic(ts *testscript.TestScript, neg bool, args []string) {
	srv := stateOf(ts).server(ts)
	switch {
	case !neg && len(args) == 1 && args[0] == "stop":
		srv.StopTraffic()
	case !neg && len(args) == 2 && args[0] == "wait":
		n, err := strconv.Atoi(args[1])
		ts.Check(err)
		if strings.HasPrefix(args[1], "+") {
			n += srv.TrafficStatus().Sent
		}
		deadline := time.Now().Add(scriptWait)
		for srv.TrafficStatus().Sent < n {
			if time.Now().After(deadline) {
				ts.Fatalf("traffic sent %d messages in %v, fewer than %d", srv.TrafficStatus().Sent, scriptWait, n)
			}
			time.Sleep(10 * time.Millisecond)
		}
	case !neg && len(args) == 3 && args[0] == "start":
		rate, err := strconv.ParseFloat(args[1], 64)
		ts.Check(err)
		count, err := strconv.Atoi(args[2])
		ts.Check(err)
		ts.Check(srv.StartTraffic(phonemigratetest.Traffic{PerSecond: rate, Count: count, DurationMS: 120_000,
			Recipients: []string{"+15550000001", "+15550000002", "+15550000003"}}))
		ts.Defer(srv.StopTraffic)
	default:
		ts.Fatalf("usage: traffic start RATE COUNT | traffic wait [+]N | traffic stop")
	}
}

func cmdBreak(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: break gateway|twilio|action|clear")
	}
	srv := stateOf(ts).server(ts)
	if args[0] == "clear" {
		srv.RestoreDelivery()
		return
	}
	ts.Check(srv.BreakDelivery(phonemigratetest.DeliveryBreak{Path: args[0]}))
}
