// node run.js JOBS runs auth0-deploy-cli commands in one process, against
// the tenant its environment names (AUTH0_DOMAIN, AUTH0_ACCESS_TOKEN, ...),
// as 'a0deploy export' and 'a0deploy import' do.
//
// JOBS is a JSON file: {"output": "results.json", "jobs": [{"command":
// "export"|"import", "params": {...the a0deploy flags, e.g. "format",
// "output_folder", "input_file", "config_file"...}}, ...]}. Each job runs
// with env: true (AUTH0_* from the environment), in order; a failed job
// does not stop the next. It writes [{"ok": true} | {"error": "..."}, ...]
// to output and exits 0 (2 on bad usage).
//
// deploy-cli compiles its whole schema (8 MB) with a new Ajv instance on
// every import (~15 s each on an idle machine); the jobs share one Ajv
// instance with the same options, as validate.js does, so it is compiled
// once per run. The commands themselves are unchanged.
'use strict';
const fs = require('fs');
const path = require('path');

const [jobsPath] = process.argv.slice(2);
if (!jobsPath) {
  console.error('usage: node run.js JOBS');
  process.exit(2);
}

const lib = path.join(path.dirname(require.resolve('auth0-deploy-cli/package.json')), 'lib');
const ajvPath = require.resolve('ajv', { paths: [lib] });
const Ajv = require(ajvPath);
const shared = new Map();
function SharedAjv(opts) {
  const key = JSON.stringify(opts || {});
  if (!shared.has(key)) shared.set(key, new Ajv(opts));
  return shared.get(key);
}
require.cache[ajvPath].exports = SharedAjv;

const cli = require(path.join(lib, 'index.js')).default;

async function main() {
  const spec = JSON.parse(fs.readFileSync(jobsPath, 'utf8'));
  const results = [];
  for (const job of spec.jobs) {
    try {
      await cli[job.command]({ env: true, ...job.params });
      results.push({ ok: true });
    } catch (err) {
      results.push({ error: String((err && err.message) || err) });
    }
  }
  fs.writeFileSync(spec.output, JSON.stringify(results, null, 2) + '\n');
}

main().catch((err) => {
  console.error(String((err && err.stack) || err));
  process.exit(2);
});
