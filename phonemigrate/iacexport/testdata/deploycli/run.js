// node run.js runs auth0-deploy-cli commands in one process, against the
// tenant its environment names (AUTH0_DOMAIN, AUTH0_ACCESS_TOKEN, ...), as
// 'a0deploy export' and 'a0deploy import' do.
//
// It reads batches from standard input, one JSON line each: [{"command":
// "export"|"import", "params": {...the a0deploy flags, e.g. "format",
// "output_folder", "input_file", "config_file"...}}, ...]. Each job runs
// with env: true (AUTH0_* from the environment), in order; a failed job
// does not stop the next. After each batch it writes one JSON line, [{"ok":
// true} | {"error": "..."}, ...], to file descriptor 3 (the caller's pipe;
// deploy-cli's own log goes to stdout and stderr). It exits 0 when standard
// input ends (2 on bad usage). A test sends a batch, reads its answer,
// changes the tenant, then sends the next batch to the same process.
//
// deploy-cli compiles its whole schema (8 MB) with a new Ajv instance on
// every import (~15 s each on an idle machine); the jobs share one Ajv
// instance with the same options, as validate.js does (sharedajv.js), so
// it is compiled once per process, however many batches it runs, and
// once per machine while its cache on disk holds. The commands themselves
// are unchanged.
//
// deploy-cli also paces itself for Auth0's real API: at most 8 requests a
// second (an export reads some 150 endpoints: ~20 s of waiting) and fixed
// sleeps of 2-2.5 s "to allow newly-deployed actions to register in
// backend" and between build-state retries. The fake needs no such pacing,
// so run.js lifts the request rate limit (the concurrency limit stays: the
// requests and their overlap are deploy-cli's own) and shortens each sleep
// to at most 250 ms: still longer than the fake's build and deploy (200 ms
// from the request that starts it, which is answered before the sleep
// begins), so what each sleep waits for has happened when it ends,
// however busy the machine.
'use strict';
const fs = require('fs');
const path = require('path');
const readline = require('readline');

const RESULTS_FD = 3;
try {
  fs.fstatSync(RESULTS_FD);
} catch (err) {
  console.error('usage: node run.js <BATCHES 3>RESULTS (file descriptor 3 is not open)');
  process.exit(2);
}

const lib = path.join(path.dirname(require.resolve('auth0-deploy-cli/package.json')), 'lib');
require('./sharedajv').install(lib);

const pool = require(require.resolve('promise-pool-executor', { paths: [lib] }));
const Pool = pool.PromisePoolExecutor;
pool.PromisePoolExecutor = class extends Pool {
  constructor(opts) {
    super({ ...opts, frequencyLimit: undefined, frequencyWindow: undefined });
  }
};
const utils = require(path.join(lib, 'tools', 'utils.js'));
const sleep = utils.sleep;
utils.sleep = (ms) => sleep(Math.min(ms, 250));

const cli = require(path.join(lib, 'index.js')).default;

async function main() {
  for await (const line of readline.createInterface({ input: process.stdin, crlfDelay: Infinity })) {
    if (!line.trim()) continue;
    const results = [];
    for (const job of JSON.parse(line)) {
      try {
        await cli[job.command]({ env: true, ...job.params });
        results.push({ ok: true });
      } catch (err) {
        results.push({ error: String((err && err.message) || err) });
      }
    }
    fs.writeSync(RESULTS_FD, JSON.stringify(results) + '\n');
  }
}

main().catch((err) => {
  console.error(String((err && err.stack) || err));
  process.exit(2);
});
