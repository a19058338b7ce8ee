// Harness for one custom-phone-provider or send-phone-message Action
// execution, run in a fresh worker thread of the pool (pool.cjs), which
// appends its functions keep and secretValues to this source.
//
// workerData is {input: {trigger, event, redirect, holdTimers}, action}:
// action is the path of the Action's code, a CommonJS module. The event
// holds event.secrets: it travels in memory from the pool, never in argv or
// the environment. The outcome is posted once to the pool as {report}; the
// Action's own stdout/stderr writes can therefore never be mistaken for it.
'use strict';

const { parentPort, workerData } = require('node:worker_threads');
const util = require('node:util');

// The secret values as the event brought them, before the Action can
// change event.secrets: keep (from the pool) never cuts through one.
const secrets = secretValues(workerData.input.event);

// Bounds on the report, so that it stays a few MB whatever the Action
// logs or throws. The Go side keeps less (256 characters of a log line,
// 1024 of a retry/drop reason) after redacting secrets; these bounds only
// keep an Action that logs without end from filling memory and the pipe.
const LOG_LINE_KEEP = 4096; // characters of one console line
const LOGS_KEEP = 1 << 20; // characters of console output in all
const REASON_KEEP = 1 << 16; // characters of a reason or error message

let report = function (obj) {
  if (typeof obj.reason === 'string') obj.reason = keep(obj.reason, REASON_KEEP, secrets);
  if (typeof obj.message === 'string') obj.message = keep(obj.message, REASON_KEEP, secrets);
  if (dropped > 0) obj.logs = logs.concat(['[actionrun: ' + dropped + ' more console lines not kept]']);
  parentPort.postMessage({ report: obj });
};

const logs = [];
let logChars = 0;
let dropped = 0;
function capture(...args) {
  if (logChars >= LOGS_KEEP) {
    dropped++;
    return;
  }
  const line = keep(util.format(...args), LOG_LINE_KEEP, secrets);
  logChars += line.length;
  logs.push(line);
}
for (const m of ['log', 'info', 'warn', 'error', 'debug', 'trace']) {
  console[m] = capture;
}

function errorMessage(e) {
  if (e instanceof Error) return String(e.message);
  try {
    return String(e);
  } catch (_) {
    return 'non-printable thrown value';
  }
}

// api.cache: in memory for this execution, with Auth0's documented limits
// (20 entries, key 64 bytes, value 4 kB, 8 kB total, ttl at most 24 h).
function makeCache() {
  const store = new Map();
  const MAX_TTL = 24 * 60 * 60 * 1000;
  function live(key) {
    const rec = store.get(key);
    if (rec && rec.expires_at <= Date.now()) {
      store.delete(key);
      return undefined;
    }
    return rec;
  }
  return {
    get(key) {
      const rec = live(String(key));
      return rec ? { value: rec.value, expires_at: rec.expires_at } : undefined;
    },
    set(key, value, options) {
      key = String(key);
      value = String(value);
      const opts = options || {};
      let expires = Date.now() + MAX_TTL;
      if (typeof opts.ttl === 'number') expires = Date.now() + Math.min(opts.ttl, MAX_TTL);
      if (typeof opts.expires_at === 'number') expires = Math.min(opts.expires_at, Date.now() + MAX_TTL);
      if (Buffer.byteLength(key) > 64) return { type: 'error', code: 'KEY_TOO_LARGE' };
      if (Buffer.byteLength(value) > 4096) return { type: 'error', code: 'VALUE_TOO_LARGE' };
      let total = Buffer.byteLength(value);
      for (const [k, r] of store) if (k !== key) total += Buffer.byteLength(r.value);
      if (total > 8192) return { type: 'error', code: 'QUOTA_EXCEEDED' };
      if (!store.has(key) && store.size >= 20) return { type: 'error', code: 'TOO_MANY_ENTRIES' };
      const rec = { value, expires_at: expires };
      store.set(key, rec);
      return { type: 'success', record: { value: rec.value, expires_at: rec.expires_at } };
    },
    delete(key) {
      key = String(key);
      const rec = live(key);
      store.delete(key);
      return { type: 'success', record: rec ? { value: rec.value, expires_at: rec.expires_at } : undefined };
    },
  };
}

let reported = false;
const reportOnce = report;
report = function (obj) {
  if (reported) return;
  reported = true;
  reportOnce(obj);
};

// A rejection nobody awaits is logged, as Node would print it, but does not
// end the execution. An exception thrown outside the handler's promise chain
// (in a timer callback, say) ends it, the way an uncaught error does in Auth0.
process.on('unhandledRejection', (e) => {
  capture('Unhandled promise rejection: ' + errorMessage(e));
});
process.on('uncaughtException', (e) => {
  report({ outcome: 'threw', reason: errorMessage(e), logs });
  exitSoon();
});

// exitSoon ends the execution once the report has been posted: the pool
// ends the worker when it receives it, as Auth0 ends an execution whose
// handler has finished, whatever timers or sockets are left.
function exitSoon() {
  parentPort.ref();
}

// redirect sends every HTTP request the Action makes (global fetch, and
// node:http / node:https request and get) to the recording server at
// target, with the URL it called in the X-Phonemigrate-Original-Url header.
function redirect(target) {
  const http = require('node:http');
  const https = require('node:https');
  const to = new URL(target);
  const realFetch = globalThis.fetch;
  const realRequest = http.request;
  globalThis.fetch = async function (input, init) {
    const req = new Request(input, init);
    const headers = new Headers(req.headers);
    headers.set('x-phonemigrate-original-url', req.url);
    const body = req.method === 'GET' || req.method === 'HEAD' ? undefined : await req.arrayBuffer();
    return realFetch(to.href, { method: req.method, headers, body, redirect: 'manual', signal: init && init.signal });
  };
  for (const mod of [http, https]) {
    const scheme = mod === https ? 'https:' : 'http:';
    mod.request = function (...args) {
      let url = null;
      let opts = {};
      let cb;
      if (typeof args[0] === 'string' || args[0] instanceof URL) {
        url = new URL(String(args[0]));
        if (typeof args[1] === 'function') cb = args[1];
        else {
          opts = args[1] || {};
          cb = args[2];
        }
      } else {
        opts = args[0] || {};
        cb = args[1];
      }
      const proto = opts.protocol || (url ? url.protocol : scheme);
      const host = opts.hostname || (opts.host ? String(opts.host).replace(/:\d+$/, '') : url ? url.hostname : 'localhost');
      const port = opts.port || (url ? url.port : '');
      const path = opts.path || (url ? url.pathname + url.search : '/');
      const headers = Object.assign({}, opts.headers || {});
      headers['x-phonemigrate-original-url'] = `${proto}//${host}${port ? ':' + port : ''}${path}`;
      return realRequest({ hostname: to.hostname, port: to.port, path: to.pathname, method: opts.method || 'GET', headers }, cb);
    };
    mod.get = function (...args) {
      const req = mod.request(...args);
      req.end();
      return req;
    };
  }
}

// holdTimers makes the timers the Action's own code sets (setTimeout
// called from actionPath) wait for the pool's release message, which the
// Go side sends when the test releases them, instead of the wall clock.
// Timers set elsewhere (Node's, fetch's) are untouched. On release, the
// pending ones fire in the order of their delays; later ones are real.
function holdTimers(actionPath) {
  const realSetTimeout = globalThis.setTimeout;
  const realClearTimeout = globalThis.clearTimeout;
  let released = false;
  let seq = 0;
  const held = new Set();
  // The pool posts {release: true} when the test releases the timers.
  // The port is ref'd while a held timer is pending, as a real timer would
  // be (the worker is kept alive until it reports in any case).
  function sync() {
    if (held.size > 0 && !released) parentPort.ref();
    else parentPort.unref();
  }
  function release() {
    if (released) return;
    released = true;
    const pending = [...held].sort((a, b) => a.delay - b.delay || a.seq - b.seq);
    held.clear();
    for (const t of pending) t.real = realSetTimeout(t.fn, 0, ...t.args);
    sync();
  }
  parentPort.on('message', (m) => {
    if (m && m.release) release();
  });
  sync();
  function callerFile(fn) {
    const prepare = Error.prepareStackTrace;
    Error.prepareStackTrace = (_, callSites) => callSites;
    const o = {};
    Error.captureStackTrace(o, fn);
    const callSites = o.stack;
    Error.prepareStackTrace = prepare;
    return Array.isArray(callSites) && callSites.length > 0 ? callSites[0].getFileName() : '';
  }
  class HeldTimer {
    constructor(fn, delay, args) {
      this.fn = fn;
      this.delay = Number(delay) || 0;
      this.args = args;
      this.seq = seq++;
      this.real = null;
    }
    ref() {
      return this;
    }
    unref() {
      return this;
    }
    hasRef() {
      return true;
    }
    refresh() {
      return this;
    }
  }
  globalThis.setTimeout = function setTimeout(fn, delay, ...args) {
    if (released || typeof fn !== 'function' || callerFile(setTimeout) !== actionPath) {
      return realSetTimeout(fn, delay, ...args);
    }
    const t = new HeldTimer(fn, delay, args);
    held.add(t);
    sync();
    return t;
  };
  globalThis.clearTimeout = function clearTimeout(t) {
    if (t instanceof HeldTimer) {
      held.delete(t);
      if (t.real) realClearTimeout(t.real);
      sync();
      return;
    }
    realClearTimeout(t);
  };
}

async function main() {
  const input = workerData.input;
  const actionPath = workerData.action;
  const event = input.event;
  const legacy = input.trigger === 'send-phone-message';
  if (input.redirect) redirect(input.redirect);
  if (input.holdTimers) holdTimers(actionPath);

  let outcome = 'sent';
  let reason = '';
  const api = {
    notification: {
      retry(r) {
        outcome = 'retry';
        reason = r === undefined ? '' : String(r);
      },
      drop(r) {
        outcome = 'drop';
        reason = r === undefined ? '' : String(r);
      },
    },
    cache: makeCache(),
  };

  let mod;
  try {
    mod = require(actionPath);
  } catch (e) {
    report({ harness_error: 'load', message: errorMessage(e), logs });
    return;
  }
  const name = legacy ? 'onExecuteSendPhoneMessage' : 'onExecuteCustomPhoneProvider';
  const handler = mod && mod[name];
  if (typeof handler !== 'function') {
    report({ harness_error: 'export', message: 'module does not export a function ' + name, logs });
    return;
  }
  try {
    // send-phone-message has no api.notification: only api.cache.
    await handler(event, legacy ? { cache: api.cache } : api);
  } catch (e) {
    report({ outcome: 'threw', reason: errorMessage(e), logs });
    return;
  }
  report({ outcome, reason, logs });
}

// Auth0's runtime outlives the handler's promise: one that never settles
// runs into the time limit (ErrTimeout), and a timer the Action unrefs
// still fires. Without this handle the worker would end as soon as
// nothing kept its event loop alive, without a report.
setInterval(() => {}, 0x7fffffff);

main().then(exitSoon, (e) => {
  report({ harness_error: 'internal', message: errorMessage(e), logs });
  exitSoon();
});
