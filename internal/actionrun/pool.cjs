// The pool: one long-lived node process that runs every Action execution
// of a Go process in a fresh worker thread (a new V8 isolate, with its own
// globals, module cache, api.cache and timers) running the harness.
//
// Started by the Go package actionrun as:  node --liftoff-only -e <this>
// with HARNESS, the harness's source, defined before this text. Requests
// arrive as JSON lines on stdin:
//
//   {"op":"run","id":N,"action":PATH,"node_path":DIRS,"input":{...}}
//   {"op":"release","id":N}   the held timers of run N may fire
//   {"op":"stop","id":N}      end run N now (timeout, cancelled context);
//                            answered at once with {"id":N,"report":null,...}
//
// and one JSON line per run goes to file descriptor 3 when its worker has
// ended: {"id":N,"report":{...}|null,"exit":CODE,"stderr":TEXT,"error":TEXT}.
// The pool exits when its stdin ends, that is when the Go process does.
'use strict';

const { Worker } = require('node:worker_threads');
const fs = require('node:fs');
const readline = require('node:readline');

const runs = new Map();

// reply writes one reply line on fd 3. The leading newline ends whatever
// an Action may have written to fd 3 without one, which would otherwise
// glue itself to this reply and lose it; the loop finishes a write a
// signal cut short.
function reply(obj) {
  const b = Buffer.from('\n' + JSON.stringify(obj) + '\n');
  for (let off = 0; off < b.length; ) off += fs.writeSync(3, b, off);
}

// keep returns s, or its first n UTF-16 code units or fewer when longer,
// never cutting through one of the secret values (the caller redacts
// secrets whole: half of one would survive redaction). Text that is cut
// must be given with at least the longest secret's length beyond n. The
// worker gets this function with the harness.
function keep(s, n, secrets) {
  if (s.length <= n) return s;
  let end = n;
  for (let moved = true; moved; ) {
    moved = false;
    for (const v of secrets) {
      if (!v) continue;
      const i = s.lastIndexOf(v, end - 1);
      if (i >= 0 && i + v.length > end) {
        end = i;
        moved = true;
      }
    }
  }
  return s.slice(0, end);
}

// secretValues are the values of event.secrets, the strings keep must not
// cut through.
function secretValues(event) {
  const s = event && event.secrets;
  return s && typeof s === 'object' ? Object.values(s).filter((v) => typeof v === 'string' && v !== '') : [];
}

// What a worker runs: the harness, with keep.
const WORKER_SOURCE = HARNESS + '\n' + keep.toString() + '\n' + secretValues.toString() + '\n';

// The heap of each worker. Enough for any Action (a generated one uses a
// few MB); one that allocates without end fails its own run when it
// reaches this, in seconds and without taking gigabytes (V8's default on
// a large machine) from a machine the tests share.
const WORKER_HEAP_MB = 256;

// The first STDERR_KEEP characters of a worker's stderr are kept for the
// error of a run that ends without a report.
const STDERR_KEEP = 8192;

// Ctrl-C in a terminal reaches the whole process group: the Go program
// decides what an interrupt means and stops its runs itself.
process.on('SIGINT', () => {});

function start(m) {
  const env = Object.assign({}, process.env);
  if (m.node_path) env.NODE_PATH = m.node_path;
  else delete env.NODE_PATH;
  const secrets = secretValues(m.input && m.input.event);
  // Enough of stderr to cut it at STDERR_KEEP without cutting a secret.
  const stderrMax = STDERR_KEEP + Math.max(0, ...secrets.map((v) => v.length));
  let worker;
  try {
    worker = new Worker(WORKER_SOURCE, {
      eval: true,
      env,
      workerData: { input: m.input, action: m.action },
      stdout: true,
      stderr: true,
      resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB },
    });
  } catch (e) {
    reply({ id: m.id, report: null, error: String(e && e.message) });
    return;
  }
  const r = { worker, report: null, stderr: '', error: '' };
  runs.set(m.id, r);
  worker.stdout.resume();
  worker.stderr.setEncoding('utf8');
  worker.stderr.on('data', (s) => {
    if (r.stderr.length < stderrMax) r.stderr += s.slice(0, stderrMax - r.stderr.length);
  });
  worker.on('message', (msg) => {
    if (msg && msg.report && !r.report) {
      r.report = msg.report;
      worker.terminate();
    }
  });
  worker.on('error', (e) => {
    r.error = String(e && e.message);
  });
  worker.on('exit', (code) => {
    runs.delete(m.id);
    // Let the worker's last stderr writes arrive before answering.
    setImmediate(() =>
      reply({ id: m.id, report: r.report, exit: code, stderr: keep(r.stderr, STDERR_KEEP, secrets), error: keep(r.error, STDERR_KEEP, secrets) })
    );
  });
}

const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
rl.on('line', (line) => {
  let m;
  try {
    m = JSON.parse(line);
  } catch (_) {
    return;
  }
  if (m.op === 'run') {
    start(m);
    return;
  }
  const r = runs.get(m.id);
  if (m.op === 'stop') {
    // Answered at once, whether the run is still going or its reply was
    // lost: a worker blocked in a system call (execSync, a blocking read)
    // ends only when the call returns, and its caller must not wait for
    // that. A reply that comes later is ignored.
    if (r) r.worker.terminate();
    reply({ id: m.id, report: null, error: 'stopped' });
    return;
  }
  if (r && m.op === 'release') r.worker.postMessage({ release: true });
});
// The Go process is gone. The pool leads a process group of its own (on
// Unix): ending the group ends the processes Actions started too (a node
// an Action spawned and left running, say). Otherwise process.exit waits
// for every worker to end, and one blocked in a system call ends only when
// the call returns: with runs left, the pool ends at once.
rl.on('close', () => {
  try {
    process.kill(-process.pid, 'SIGKILL');
  } catch (_) {
    // not a process group leader
  }
  if (runs.size > 0) process.kill(process.pid, 'SIGKILL');
  process.exit(0);
});
