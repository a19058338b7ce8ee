package actionrun

import (
	"bufio"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"
)

//go:embed pool.cjs
var poolSource string

// poolFlags are node's flags for the pool. --liftoff-only compiles
// WebAssembly with V8's baseline compiler only: the first fetch of every
// worker compiles undici's HTTP parser (llhttp, WebAssembly), and tiering
// it up costs more CPU than an Action's whole execution. It changes how
// fast WebAssembly runs, never what it does.
var poolFlags = []string{"--liftoff-only"}

// A pool is one long-lived node process that runs each execution in a
// fresh worker thread (pool.cjs). Starting a worker costs a fraction of
// starting node, and undici's parser is compiled at baseline: on a small
// machine an Action that calls fetch costs ~60 ms of CPU in the pool
// against ~160 ms in a node process of its own.
type pool struct {
	node string
	pid  int
	in   io.WriteCloser

	mu      sync.Mutex // guards what follows and writes to in
	pending map[uint64]chan poolReply
	nextID  uint64
	dead    bool
	// secrets holds the secret values of every run the pool was given:
	// the pool's own stderr, which any worker can write to (fd 2), is
	// redacted with all of them, since it ends up in the errors of
	// whichever runs the pool's exit fails.
	secrets map[string]string

	// stderr is the pool process's own stderr, written by exec's copying
	// goroutine only and read once Wait has returned, which waits for it.
	stderr limitedBuffer

	done chan struct{} // closed once the process has exited
	err  error         // why it exited, set before done is closed
}

// poolReply is what the pool writes when a run's worker has ended.
type poolReply struct {
	ID     uint64         `json:"id"`
	Report *harnessReport `json:"report"`
	Exit   int            `json:"exit"`
	Stderr string         `json:"stderr"`
	Error  string         `json:"error"`
}

// poolRequest is one line the Go side writes to the pool.
type poolRequest struct {
	Op       string        `json:"op"` // "run", "release" or "stop"
	ID       uint64        `json:"id"`
	Action   string        `json:"action,omitempty"`
	NodePath string        `json:"node_path,omitempty"`
	Input    *harnessInput `json:"input,omitempty"`

	secrets map[string]string // the run's secrets (not sent: they are in Input)
}

// errPoolExited is the error of runs the pool could not finish because its
// process ended.
var errPoolExited = errors.New("node exited without a result")

// errPoolWrite: a request could not be written to the pool, which is
// exiting.
var errPoolWrite = errors.New("write to node")

var pools struct {
	sync.Mutex
	m map[string]*pool // by node executable
}

// poolFor returns the running pool of node, starting one when there is none
// or the last one has exited.
func poolFor(node string) (*pool, error) {
	pools.Lock()
	defer pools.Unlock()
	if p := pools.m[node]; p != nil && !p.exited() {
		return p, nil
	}
	p, err := startPool(node)
	if err != nil {
		return nil, err
	}
	if pools.m == nil {
		pools.m = map[string]*pool{}
	}
	pools.m[node] = p
	return p, nil
}

func startPool(node string) (*pool, error) {
	src, err := json.Marshal(string(harness))
	if err != nil {
		return nil, err
	}
	args := append(append([]string{}, poolFlags...), "-e", "const HARNESS = "+string(src)+";\n"+poolSource)
	p := &pool{node: node, pending: map[uint64]chan poolReply{}, secrets: map[string]string{}, done: make(chan struct{})}
	cmd := exec.Command(node, args...)
	cmd.Env = nodeEnv(nil)
	cmd.Dir = os.TempDir()
	cmd.SysProcAttr = poolProcAttr()
	cmd.Stdout = io.Discard
	cmd.Stderr = &p.stderr
	// A process an Action left behind holding stderr must not keep Wait,
	// and so every pending run, waiting once node has exited.
	cmd.WaitDelay = time.Second
	resR, resW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	cmd.ExtraFiles = []*os.File{resW} // fd 3 in node
	if p.in, err = cmd.StdinPipe(); err != nil {
		resR.Close()
		resW.Close()
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		resR.Close()
		resW.Close()
		return nil, fmt.Errorf("start node: %w", err)
	}
	resW.Close()
	p.pid = cmd.Process.Pid
	go p.read(resR)
	go func() {
		werr := cmd.Wait()
		// An Action may have left a process behind holding fd 3: the
		// replies of a pool that has exited are over either way.
		resR.Close()
		stderr := strings.TrimSpace(p.stderr.String())
		p.mu.Lock()
		p.dead = true
		p.err = fmt.Errorf("%w (%v)%s", errPoolExited, werr, colon(redactor(p.secrets).Replace(stderr)))
		pending := p.pending
		p.pending = nil
		p.mu.Unlock()
		close(p.done)
		for _, c := range pending {
			close(c)
		}
	}()
	return p, nil
}

// maxReplyLine bounds one line read from fd 3. The harness keeps its
// report to a few MB; longer lines are not replies.
const maxReplyLine = 32 << 20

// read hands each reply to the run waiting for it. Lines that are not
// replies (an Action writing to fd 3) are ignored, however long: the
// reader must outlive them, or no run of the pool would ever end.
func (p *pool) read(r io.Reader) {
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		line, err := readLine(br, maxReplyLine)
		if err != nil {
			return
		}
		var rep poolReply
		if json.Unmarshal(line, &rep) != nil {
			continue
		}
		p.mu.Lock()
		c := p.pending[rep.ID]
		delete(p.pending, rep.ID)
		p.mu.Unlock()
		if c != nil {
			c <- rep
		}
	}
}

// readLine reads one line of br; a line longer than limit is read to its
// end and returned as nil.
func readLine(br *bufio.Reader, limit int) ([]byte, error) {
	var line []byte
	tooLong := false
	for {
		frag, err := br.ReadSlice('\n')
		if !tooLong {
			if len(line)+len(frag) > limit {
				tooLong, line = true, nil
			} else {
				line = append(line, frag...)
			}
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			return nil, err
		}
		return line, nil
	}
}

func (p *pool) exited() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.dead
}

// startRun starts req on node's pool. A pool found running may be on its
// way out (killed by the last run's Action): once it has exited, the run
// starts on a new one.
func startRun(ctx context.Context, node string, req poolRequest) (*pool, uint64, <-chan poolReply, error) {
	for attempt := 0; ; attempt++ {
		p, err := poolFor(node)
		if err != nil {
			return nil, 0, nil, err
		}
		id, c, err := p.start(req)
		if !errors.Is(err, errPoolWrite) || attempt > 0 {
			return p, id, c, err
		}
		select {
		case <-p.done:
		case <-ctx.Done():
			return nil, 0, nil, err
		}
	}
}

// start asks the pool to run one execution. The returned channel receives
// the run's reply, or is closed without one if the pool exits first. An
// error writing to the pool (it is exiting), or a pool that has exited,
// is errPoolWrite.
func (p *pool) start(req poolRequest) (uint64, <-chan poolReply, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.dead {
		// Exited since poolFor found it running: startRun tries a new one.
		return 0, nil, fmt.Errorf("%w: %w", errPoolWrite, p.err)
	}
	p.nextID++
	req.ID, req.Op = p.nextID, "run"
	b, err := json.Marshal(req)
	if err != nil {
		return 0, nil, fmt.Errorf("encode event: %w", err)
	}
	for _, v := range req.secrets {
		p.secrets[v] = v
	}
	c := make(chan poolReply, 1)
	p.pending[req.ID] = c
	if _, err := p.in.Write(append(b, '\n')); err != nil {
		delete(p.pending, req.ID)
		return 0, nil, fmt.Errorf("%w: %w", errPoolWrite, err)
	}
	return req.ID, c, nil
}

// wait returns run id's reply. It releases the run's held timers when
// release is closed and stops the run when runCtx is done (the worker is
// ended at once, even in a busy loop; its reply comes when it has). The
// error is the pool's exit, when it exits before replying.
func (p *pool) wait(runCtx context.Context, id uint64, replyc <-chan poolReply, release <-chan struct{}) (poolReply, error) {
	done := runCtx.Done()
	for {
		select {
		case rep, ok := <-replyc:
			if ok {
				return rep, nil
			}
			<-p.done
			return poolReply{}, p.err
		case <-release:
			p.send("release", id)
			release = nil
		case <-done:
			p.send("stop", id)
			done = nil
		}
	}
}

// send writes a release or stop for run id; a pool that has exited needs
// neither.
func (p *pool) send(op string, id uint64) {
	b, _ := json.Marshal(poolRequest{Op: op, ID: id})
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.dead {
		_, _ = p.in.Write(append(b, '\n'))
	}
}
