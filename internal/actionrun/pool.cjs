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
//   {"op":"stop","id":N}      end run N now (timeout, cancelled context)
//
// and one JSON line per run goes to file descriptor 3 when its worker has
// ended: {"id":N,"report":{...}|null,"exit":CODE,"stderr":TEXT,"error":TEXT}.
// The pool exits when its stdin ends, that is when the Go process does.
'use strict';

const { Worker } = require('node:worker_threads');
const fs = require('node:fs');
const readline = require('node:readline');

const runs = new Map();

function reply(obj) {
  fs.writeSync(3, JSON.stringify(obj) + '\n');
}

// Ctrl-C in a terminal reaches the whole process group: the Go program
// decides what an interrupt means and stops its runs itself.
process.on('SIGINT', () => {});

function start(m) {
  const env = Object.assign({}, process.env);
  if (m.node_path) env.NODE_PATH = m.node_path;
  else delete env.NODE_PATH;
  let worker;
  try {
    worker = new Worker(HARNESS, {
      eval: true,
      env,
      workerData: { input: m.input, action: m.action },
      stdout: true,
      stderr: true,
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
    if (r.stderr.length < 8192) r.stderr += s.slice(0, 8192 - r.stderr.length);
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
    setImmediate(() => reply({ id: m.id, report: r.report, exit: code, stderr: r.stderr, error: r.error }));
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
  if (!r) return;
  if (m.op === 'release') r.worker.postMessage({ release: true });
  else if (m.op === 'stop') r.worker.terminate();
});
rl.on('close', () => process.exit(0));
