// node validate.js JOBS loads phonemigrate deploy-cli exports the way
// 'a0deploy import' does and runs auth0-deploy-cli's own validation.
//
// JOBS is a JSON file: [{"input": "tenant.yaml or directory", "config":
// "config.snippet.json", "output": "result.json"}, ...]. For each job it
// builds deploy-cli's YAML or directory context (keyword replacement with
// the names of the config's AUTH0_KEYWORD_REPLACE_MAPPINGS, each mapped to
// "value-of-NAME"), loads the files (Action code included) and runs
// Auth0.validate(): the JSON schema of every handler, then each handler's
// validate stage. No request is sent: the Management API client is a stub
// that fails any use. It writes {"assets": {...the phone sections...}} or
// {"error": "..."} to the job's output and exits 0 (2 on bad usage).
//
// deploy-cli compiles its whole schema (8 MB) with a new Ajv instance on
// every validate, about 15 s each; sharedajv.js makes all validations here
// share one Ajv instance with the same options, so it is compiled once per
// run, and keeps that compilation on disk for the next runs. The
// validation itself is unchanged.
'use strict';
const fs = require('fs');
const path = require('path');

const [jobsPath] = process.argv.slice(2);
if (!jobsPath) {
  console.error('usage: node validate.js JOBS');
  process.exit(2);
}

const lib = path.join(path.dirname(require.resolve('auth0-deploy-cli/package.json')), 'lib');

// One Ajv for every `new Ajv(opts)` deploy-cli makes (always the same
// options), its compiled schema cached on disk (sharedajv.js).
require('./sharedajv').install(lib);

const { Auth0 } = require(path.join(lib, 'tools'));
const { toConfigFn } = require(path.join(lib, 'utils'));
const YAMLContext = require(path.join(lib, 'context/yaml')).default;
const DirectoryContext = require(path.join(lib, 'context/directory')).default;

// A Management API client that must not be used.
const client = new Proxy({}, {
  get(_, prop) {
    if (prop === 'then') return undefined;
    return new Proxy(() => {}, {
      get() { throw new Error(`unexpected Management API use: ${String(prop)}`); },
      apply() { throw new Error(`unexpected Management API call: ${String(prop)}`); },
    });
  },
});

const sections = ['tenant', 'phoneProviders', 'phoneTemplates', 'actions', 'triggers', 'connections', 'guardianPhoneFactorMessageTypes'];

async function load(job) {
  const snippet = JSON.parse(fs.readFileSync(job.config, 'utf8'));
  const mappings = {};
  for (const k of Object.keys(snippet.AUTH0_KEYWORD_REPLACE_MAPPINGS || {})) {
    mappings[k] = `value-of-${k}`;
  }
  const config = {
    AUTH0_DOMAIN: 'tenant.example.auth0.com',
    AUTH0_ACCESS_TOKEN: 'unused',
    AUTH0_INPUT_FILE: job.input,
    AUTH0_KEYWORD_REPLACE_MAPPINGS: mappings,
    EXCLUDED_PROPS: snippet.EXCLUDED_PROPS,
  };
  const ctx = fs.lstatSync(job.input).isDirectory() ? new DirectoryContext(config, client) : new YAMLContext(config, client);
  await ctx.loadAssetsFromLocal();
  await new Auth0(client, ctx.assets, toConfigFn(config)).validate();
  const assets = {};
  for (const k of sections) assets[k] = ctx.assets[k] === undefined ? null : ctx.assets[k];
  return assets;
}

async function main() {
  const jobs = JSON.parse(fs.readFileSync(jobsPath, 'utf8'));
  for (const job of jobs) {
    let result;
    try {
      result = { assets: await load(job) };
    } catch (err) {
      result = { error: String((err && err.message) || err) };
    }
    fs.writeFileSync(job.output, JSON.stringify(result, null, 2) + '\n');
  }
}

main().catch((err) => {
  console.error(String((err && err.stack) || err));
  process.exit(2);
});
