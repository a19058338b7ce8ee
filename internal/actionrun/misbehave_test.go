//go:build unix

package actionrun

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// The tests of this file run Actions that misbehave on purpose. Where the
// harness used to hang, they would hang too: go test's -timeout reports
// them.

// TestRunBoundsWhatTheActionWrites: an Action that logs or throws without
// end gets a Result, bounded, with no part of a secret; the pool's reply
// line once exceeded the reader's 32 MB limit, which stopped the reader and
// left every run of the pool waiting forever.
func TestRunBoundsWhatTheActionWrites(t *testing.T) {
	requireNode(t)
	t.Parallel()
	secret := sampleEvent().Secrets["TOKEN"]
	t.Run("40 lines of a megabyte", func(t *testing.T) {
		t.Parallel()
		res, err := Run(t.Context(), `exports.onExecuteCustomPhoneProvider = async () => {
	const s = "z".repeat(1 << 20);
	for (let i = 0; i < 40; i++) console.log(s);
};`, sampleEvent())
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
		want := make([]string, 40)
		for i := range want {
			want[i] = strings.Repeat("z", MaxLogLen)
		}
		if diff := cmp.Diff(want, res.Logs); diff != "" {
			t.Errorf("Logs (-want +got):\n%s", diff)
		}
	})
	t.Run("300,000 lines: the first million characters kept, the rest counted", func(t *testing.T) {
		t.Parallel()
		res, err := Run(t.Context(), `exports.onExecuteCustomPhoneProvider = async () => {
	for (let i = 0; i < 300000; i++) console.log("0123456789");
};`, sampleEvent())
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
		n := len(res.Logs)
		m := regexp.MustCompile(`^\[actionrun: (\d+) more console lines not kept\]$`).FindStringSubmatch(res.Logs[n-1])
		if m == nil {
			t.Fatalf("last log line %q, want the count of lines not kept", res.Logs[n-1])
		}
		dropped, _ := strconv.Atoi(m[1])
		if kept := n - 1; kept+dropped != 300000 || kept*10 < 1<<20 {
			t.Errorf("%d lines kept and %d counted, want the first million characters' lines kept and all 300000 accounted for", kept, dropped)
		}
		for i, l := range res.Logs[:n-1] {
			if l != "0123456789" {
				t.Fatalf("Logs[%d] = %q", i, l)
			}
		}
	})
	t.Run("a thrown message of 50 MB is cut before a secret, never through it", func(t *testing.T) {
		t.Parallel()
		res, err := Run(t.Context(), `exports.onExecuteCustomPhoneProvider = async (event) => {
	throw new Error("x".repeat(65530) + event.secrets.TOKEN + "y".repeat(50e6));
};`, sampleEvent())
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
		if res.Outcome != Threw || res.Reason != strings.Repeat("x", 65530) {
			t.Errorf("Run = %s, reason of %d characters ending %q; want threw, 65530 x's", res.Outcome, len(res.Reason), res.Reason[max(0, len(res.Reason)-20):])
		}
	})
	t.Run("stderr of a run without a result is cut before a secret", func(t *testing.T) {
		t.Parallel()
		_, err := Run(t.Context(), `exports.onExecuteCustomPhoneProvider = async (event) => {
	await new Promise((done) => process.stderr.write("e".repeat(8190) + event.secrets.TOKEN, done));
	process.exit(1);
};`, sampleEvent())
		if err == nil || !strings.Contains(err.Error(), "without a result") || !strings.Contains(err.Error(), "eeee") {
			t.Fatalf("Run error = %v, want no result, with the stderr", err)
		}
		if msg := err.Error(); strings.Contains(msg, secret[:2]) {
			t.Errorf("error ends %q: part of the secret %q is in it", msg[len(msg)-20:], secret)
		}
	})
}

// TestRunStrayWritesToTheReplyPipe: what an Action writes to fd 3, the
// pool's reply pipe, without a newline once glued itself to the next reply
// and lost it.
func TestRunStrayWritesToTheReplyPipe(t *testing.T) {
	requireNode(t)
	t.Parallel()
	res, err := Run(t.Context(), `exports.onExecuteCustomPhoneProvider = async (event, api) => {
	const fs = require("fs");
	fs.writeSync(3, "not json\n");
	fs.writeSync(3, '{"id": 0, "half');
	api.notification.drop("ok");
};`, sampleEvent())
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if diff := cmp.Diff(Result{Outcome: Drop, Reason: "ok", Logs: []string{}}, *res); diff != "" {
		t.Errorf("Run (-want +got):\n%s", diff)
	}
}

// blockingRead is an Action that blocks its worker thread in a call
// terminating the worker cannot interrupt: execFileSync of cat reading the
// FIFO at event.secrets.FIFO.
const blockingRead = `exports.onExecuteCustomPhoneProvider = async (event) => {
	require("child_process").execFileSync("cat", [event.secrets.FIFO]);
};`

// fifo makes a FIFO and returns its path and a function that opens it for
// writing, which returns once the Action's cat has opened it for reading:
// from then on the worker is blocked in execFileSync until the writer is
// closed.
func fifo(t *testing.T) (path string, openWriter func() *os.File) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	return path, func() *os.File {
		w, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			t.Error(err)
			return nil
		}
		return w
	}
}

// TestRunStopsBlockedWorker: a cancelled run returns at once even when its
// worker is blocked in a system call, and other runs go on meanwhile. The
// pool answered a stop only when the worker had ended: Run waited for the
// blocking call, past its context and its time limit.
func TestRunStopsBlockedWorker(t *testing.T) {
	requireNode(t)
	t.Parallel()
	path, openWriter := fifo(t)
	ev := sampleEvent()
	ev.Secrets = map[string]string{"FIFO": path}
	ctx, cancel := context.WithCancel(t.Context())
	w := make(chan *os.File, 1)
	go func() {
		w <- openWriter()
		cancel() // the Action has the FIFO open: it is blocked reading it
	}()
	_, err := Run(ctx, blockingRead, ev)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Run error = %v, want context.Canceled", err)
	}
	res, err := Run(t.Context(), `exports.onExecuteCustomPhoneProvider = async (event, api) => { api.notification.drop("meanwhile"); };`, sampleEvent())
	if err != nil || res.Reason != "meanwhile" {
		t.Errorf("a run beside the blocked worker = %+v, %v", res, err)
	}
	if f := <-w; f != nil {
		f.Close() // unblocks the worker, which then ends
	}
}

// TestPoolExitsWithBlockedWorker: the pool ends when its stdin does (the Go
// process exiting) even with a worker blocked in a system call; it used to
// stay until the call returned, a node process left behind.
func TestPoolExitsWithBlockedWorker(t *testing.T) {
	requireNode(t)
	t.Parallel()
	path, openWriter := fifo(t)
	p := testPool(t)
	action := filepath.Join(t.TempDir(), "action.cjs")
	if err := os.WriteFile(action, []byte(blockingRead), 0o600); err != nil {
		t.Fatal(err)
	}
	ev := sampleEvent()
	ev.Secrets = map[string]string{"FIFO": path}
	if _, _, err := p.start(poolRequest{Action: action, Input: &harnessInput{Trigger: TriggerCustomPhoneProvider, Event: ev.wire()}}); err != nil {
		t.Fatal(err)
	}
	w := openWriter()
	if w == nil {
		return
	}
	defer w.Close()
	p.in.Close()
	<-p.done
}

// TestPoolEndsActionsProcesses: a process an Action started and left
// running ends with the pool, when the Go process is gone (its stdin
// ends); it was left behind (a node, had the Action spawned one).
func TestPoolEndsActionsProcesses(t *testing.T) {
	requireNode(t)
	t.Parallel()
	p := testPool(t)
	action := filepath.Join(t.TempDir(), "action.cjs")
	if err := os.WriteFile(action, []byte(`exports.onExecuteCustomPhoneProvider = async (event, api) => {
	const c = require("child_process").spawn("sleep", ["600"], {stdio: "ignore"});
	api.notification.drop(String(c.pid));
};`), 0o600); err != nil {
		t.Fatal(err)
	}
	_, c, err := p.start(poolRequest{Action: action, Input: &harnessInput{Trigger: TriggerCustomPhoneProvider, Event: sampleEvent().wire()}})
	if err != nil {
		t.Fatal(err)
	}
	rep := <-c
	if rep.Report == nil {
		t.Fatalf("no report: %+v", rep)
	}
	pid, err := strconv.Atoi(rep.Report.Reason)
	if err != nil {
		t.Fatalf("reason %q, want the child's pid", rep.Report.Reason)
	}
	p.in.Close()
	<-p.done
	// The child was sent SIGKILL before the pool exited; it is gone once
	// its parent's parent has reaped it, a zombie until then.
	for {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return
			}
			t.Skipf("no /proc: %v", err)
		}
		if f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:])); len(f) > 0 && f[0] == "Z" {
			return
		}
		if err := syscall.Kill(pid, 0); err != nil {
			return
		}
		time.Sleep(10 * time.Millisecond) // polls: the reaping sends no signal here
	}
}

// TestPoolAnswersStopOfUnknownRun: a stop for a run the pool does not know
// (its request or reply was lost) is answered, so that the run's caller,
// waiting for the answer, ends.
func TestPoolAnswersStopOfUnknownRun(t *testing.T) {
	requireNode(t)
	t.Parallel()
	p := testPool(t)
	c := make(chan poolReply, 1)
	p.mu.Lock()
	p.pending[12345] = c
	p.mu.Unlock()
	p.send("stop", 12345)
	if rep := <-c; rep.ID != 12345 || rep.Report != nil {
		t.Errorf("reply %+v, want one for run 12345 without a report", rep)
	}
}

// TestPoolStartAfterExit: starting a run on a pool that has exited (after
// poolFor found it running) is errPoolWrite, which startRun retries on a
// new pool, not the old pool's exit, which would fail a run that never
// started.
func TestPoolStartAfterExit(t *testing.T) {
	requireNode(t)
	t.Parallel()
	p := testPool(t)
	p.in.Close()
	<-p.done
	if _, _, err := p.start(poolRequest{Input: &harnessInput{}}); !errors.Is(err, errPoolWrite) {
		t.Errorf("start on an exited pool: %v, want errPoolWrite", err)
	}
}

// testPool starts a pool of the test's own, ended with the test.
func testPool(t *testing.T) *pool {
	t.Helper()
	p, err := startPool(mustLookNode(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.in.Close()
		<-p.done
	})
	return p
}

// TestRunWorkerOutOfMemory: an Action that allocates without end fails its
// own run, saying so, and a run beside it in the same pool completes.
func TestRunWorkerOutOfMemory(t *testing.T) {
	requireNode(t)
	t.Parallel()
	arrived, finish := make(chan struct{}), make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(arrived)
		<-finish
	}))
	defer srv.Close()
	ev := sampleEvent()
	ev.Secrets = map[string]string{"URL": srv.URL}
	type outcome struct {
		res *Result
		err error
	}
	beside := make(chan outcome, 1)
	go func() {
		res, err := Run(t.Context(), `exports.onExecuteCustomPhoneProvider = async (event, api) => {
	const res = await fetch(event.secrets.URL);
	api.notification.drop("beside " + res.status);
};`, ev)
		beside <- outcome{res, err}
	}()
	<-arrived
	_, err := Run(t.Context(), `exports.onExecuteCustomPhoneProvider = async () => {
	const a = [];
	for (;;) a.push(new Array(1e5).fill(1.5));
};`, sampleEvent())
	if err == nil || !strings.Contains(err.Error(), "memory limit") {
		t.Errorf("Run error = %v, want the worker's memory limit", err)
	}
	close(finish)
	if o := <-beside; o.err != nil || o.res.Reason != "beside 200" {
		t.Errorf("the run beside = %+v, %v; want drop beside 200", o.res, o.err)
	}
	// The limit is the worker's own, not V8's default for the machine
	// (gigabytes, which Actions failing at once would take from a shared
	// machine).
	res, err := Run(t.Context(), `exports.onExecuteCustomPhoneProvider = async (event, api) => {
	api.notification.drop(String(require("v8").getHeapStatistics().heap_size_limit));
};`, sampleEvent())
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if limit, err := strconv.ParseInt(res.Reason, 10, 64); err != nil || limit > 512<<20 {
		t.Errorf("a worker's heap limit is %q bytes, want at most 512 MB", res.Reason)
	}
}

func TestReadLine(t *testing.T) {
	t.Parallel()
	in := strings.Repeat("x", 100) + "\nshort\n" + strings.Repeat("y", 17) + "\n" + "{}\nno newline"
	br := bufio.NewReaderSize(strings.NewReader(in), 16)
	var got []string
	for {
		line, err := readLine(br, 20)
		if err != nil {
			break
		}
		got = append(got, string(line))
	}
	want := []string{"", "short\n", strings.Repeat("y", 17) + "\n", "{}\n"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("lines (-want +got):\n%s", diff)
	}
}
