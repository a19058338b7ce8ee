// sharedajv.js makes auth0-deploy-cli's schema validation cheap to repeat
// without changing what it validates. validate.js and run.js install it
// before they load deploy-cli: require('./sharedajv').install(lib).
//
// deploy-cli validates every import with `new Ajv(opts).validate(schema,
// assets)` over its whole schema (8 MB, most of it the prompts' custom
// text). Ajv 6 turns that schema into 116 MB of JavaScript and V8 compiles
// it: ~12 CPU-seconds, every time. Two things make it once:
//
//  1. One Ajv instance per options for the whole process (deploy-cli always
//     passes the same options), so the compiled schema is kept across the
//     validations of one run.
//  2. A cache on disk of that one compilation: the code Ajv generated for
//     deploy-cli's schema and V8's code cache for it, in
//     ${XDG_CACHE_HOME:-~/.cache}/unifiedphone/deploycli-ajv (the 3 most
//     recently used entries, ~230 MB each). An entry is keyed by
//     everything the code depends on (Ajv's and deploy-cli's versions, the
//     options, the formats and keywords Ajv knows, the schema itself,
//     Node.js' and V8's versions); a hit skips Ajv's code generation and
//     runs the very code Ajv generated, made into a function with the same
//     parameters and arguments as Ajv makes it (in the global scope, as
//     `new Function` does), and V8 reuses its compiled bytecode. Both files
//     are checked against the SHA-256 the entry recorded; anything amiss is
//     a miss, which compiles as Ajv always does and rewrites the entry. A
//     compilation is cached only when its code refers to nothing Ajv builds
//     while generating (referenced schemas, shared defaults, custom
//     keywords) and Ajv logged nothing while generating it; otherwise every
//     run compiles it. SHAREDAJV_DEBUG=1 reports hits and misses on stderr.
//
// Every other schema (Ajv's meta-schema, which still checks deploy-cli's
// schema on every run) compiles as usual. A cache that cannot be written
// costs time, not correctness: the run compiles, warns once on stderr and
// goes on.
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const os = require('os');
const path = require('path');
const vm = require('vm');

// The parameters of the function Ajv 6 makes from a schema's generated code
// (ajv/lib/compile/index.js, localCompile), in order.
const PARAMS = ['self', 'RULES', 'formats', 'root', 'refVal', 'defaults', 'customRules', 'equal', 'ucs2length', 'ValidationError', 'regExp'];

// LOAD names the global function the stub code calls (see process below).
const LOAD = Symbol.for('unifiedphone.deploycli.sharedajv');

// FORMAT changes when what an entry holds changes.
const FORMAT = 'sharedajv-2';

function cacheDir() {
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'unifiedphone', 'deploycli-ajv');
}

function sha256(data) {
  return crypto.createHash('sha256').update(data).digest('hex');
}

// keyOf is the SHA-256 of everything the generated code depends on.
// Values JSON cannot tell apart (undefined, functions) are spelled out, so
// two schemas that differ never share a key.
function keyOf(versions, opts, schema) {
  const exact = (k, v) => {
    if (v === undefined) return '\u0000undefined';
    if (typeof v === 'function') return `\u0000function ${v.toString()}`;
    if (typeof v === 'symbol' || typeof v === 'bigint') throw new Error(`sharedajv: ${typeof v} in a schema at ${k}`);
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      const proto = Object.getPrototypeOf(v);
      if (proto !== Object.prototype && proto !== null) throw new Error(`sharedajv: a ${v.constructor && v.constructor.name} in a schema at ${k}`);
    }
    return v;
  };
  return sha256(JSON.stringify([FORMAT, versions, opts, schema], exact));
}

let warned = false;
function warn(err) {
  if (warned) return;
  warned = true;
  console.error(`sharedajv: deploy-cli's compiled schema is not cached (${err.message}); every run compiles it`);
}

// SHAREDAJV_DEBUG=1 reports on stderr whether the cache served the schema.
function debug(msg) {
  if (process.env.SHAREDAJV_DEBUG) console.error(`sharedajv: ${msg}`);
}

// An entry is three files: KEY.json, the manifest, names the SHA-256 of
// the code (KEY.SHA.js) and of V8's code cache for it (KEY.SHA.v8). Files
// are named by their content and the manifest is replaced last, so a
// reader never pairs files of two writers.

// read returns the entry for key ({source, code}) or null.
function read(dir, key) {
  const manifestPath = path.join(dir, `${key}.json`);
  let manifest;
  try {
    manifest = JSON.parse(fs.readFileSync(manifestPath, 'utf8'));
  } catch (err) {
    debug(`miss: no entry ${key}`);
    return null;
  }
  try {
    const source = fs.readFileSync(path.join(dir, `${key}.${manifest.source}.js`));
    const code = fs.readFileSync(path.join(dir, `${key}.${manifest.code}.v8`));
    if (manifest.source !== sha256(source) || manifest.code !== sha256(code)) {
      debug(`miss: entry ${key} does not match its checksums`);
      return null;
    }
    const now = new Date();
    fs.utimesSync(manifestPath, now, now); // recently used: kept by prune
    prune(dir, key, manifest);
    return { source: source.toString('utf8'), code };
  } catch (err) {
    debug(`miss: entry ${key}: ${err.message}`);
    return null;
  }
}

function writeAtomic(file, data) {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, data, { mode: 0o600 });
  fs.renameSync(tmp, file);
}

// write stores the entry for key, the manifest last, then prunes (as a
// hit does).
function write(dir, key, source, code) {
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const entry = { source: sha256(source), code: sha256(code) };
    writeAtomic(path.join(dir, `${key}.${entry.source}.js`), source);
    writeAtomic(path.join(dir, `${key}.${entry.code}.v8`), code);
    writeAtomic(path.join(dir, `${key}.json`), JSON.stringify(entry) + '\n');
    debug(`wrote entry ${key}`);
    prune(dir, key, entry);
  } catch (err) {
    warn(err);
  }
}

// KEEP is how many entries prune keeps (the most recently used), so that
// two versions in use on one machine do not evict each other. STALE is the
// age after which a file no manifest names is removed (younger ones may be
// a concurrent writer's, about to be named).
const KEEP = 3;
const STALE = 10 * 60 * 1000;

function prune(dir, key, entry) {
  const files = fs.readdirSync(dir).map((name) => {
    const st = fs.statSync(path.join(dir, name), { throwIfNoEntry: false });
    return { name, key: name.split('.')[0], mtime: st ? st.mtimeMs : 0 };
  });
  const manifests = files.filter((f) => f.name === `${f.key}.json`).sort((a, b) => b.mtime - a.mtime);
  const kept = new Set([key, ...manifests.filter((m) => m.key !== key).slice(0, KEEP - 1).map((m) => m.key)]);
  const named = new Set([`${key}.json`, `${key}.${entry.source}.js`, `${key}.${entry.code}.v8`]);
  for (const m of manifests) {
    if (m.key === key || !kept.has(m.key)) continue;
    try {
      const other = JSON.parse(fs.readFileSync(path.join(dir, m.name), 'utf8'));
      named.add(m.name).add(`${m.key}.${other.source}.js`).add(`${m.key}.${other.code}.v8`);
    } catch (err) {
      // unreadable: its files go
    }
  }
  const now = Date.now();
  for (const f of files) {
    if (named.has(f.name)) continue;
    if (kept.has(f.key) && now - f.mtime < STALE) continue;
    fs.rmSync(path.join(dir, f.name), { force: true });
  }
}

// install makes deploy-cli (its lib directory) share one Ajv per options,
// with the disk cache for deploy-cli's schema. It must run before anything
// loads Ajv.
function install(lib) {
  const ajvPath = require.resolve('ajv', { paths: [lib] });
  const ajvLib = path.dirname(ajvPath);
  const compilePath = path.join(ajvLib, 'compile', 'index.js');
  const generatorPath = path.join(ajvLib, 'dotjs', 'validate.js');
  if (require.cache[compilePath] || require.cache[ajvPath]) {
    throw new Error('sharedajv: install must run before Ajv is loaded');
  }
  const versions = {
    ajv: require(path.join(ajvLib, '..', 'package.json')).version,
    deployCLI: require(path.join(lib, '..', 'package.json')).version,
    node: process.version,
    v8: process.versions.v8,
  };
  const dir = cacheDir();
  let deployCLISchema;
  const schemaOf = () => {
    if (deployCLISchema === undefined) deployCLISchema = require(path.join(lib, 'tools', 'auth0', 'schema.js')).default;
    return deployCLISchema;
  };

  // Ajv's code generator for a whole schema; ajv/lib/compile/index.js
  // takes it from here when it loads, below.
  const generate = require(generatorPath);
  require.cache[generatorPath].exports = function generateOrReuse(it) {
    const compilation = it.opts.processCode && it.opts.processCode.compilation;
    if (!compilation || !it.isTop || it.schema !== schemaOf()) return generate.call(this, it);
    return compilation.generate(it, generate);
  };

  const Ajv = require(ajvPath);
  const loads = new Map(); // id → compilation, for LOAD
  globalThis[LOAD] = (id, ...args) => loads.get(id).load(args);

  // A compilation of deploy-cli's schema by one Ajv instance.
  class Compilation {
    constructor(id, opts) {
      this.id = id;
      this.opts = opts;
    }

    // generate runs in place of Ajv's generator for deploy-cli's schema.
    generate(it, generator) {
      // The formats and keywords Ajv knows decide the code as well.
      const known = { formats: Object.keys(it.formats), keywords: Object.keys(it.RULES.keywords) };
      this.key = keyOf(versions, [this.opts, known], it.schema);
      this.schema = it.schema;
      const entry = read(dir, this.key);
      if (entry) {
        debug(`hit: entry ${this.key}`);
        this.entry = entry;
        return '';
      }
      let logged = false;
      const logger = it.logger;
      it.logger = {
        log: (...a) => { logged = true; logger.log(...a); },
        warn: (...a) => { logged = true; logger.warn(...a); },
        error: (...a) => { logged = true; logger.error(...a); },
      };
      try {
        const code = generator(it);
        this.cacheable = !logged;
        return code;
      } finally {
        it.logger = logger;
      }
    }

    // process is Ajv's processCode: it gets a schema's code (Ajv's
    // declarations of what it built while generating, then the generated
    // code) right before Ajv makes it a function with PARAMS.
    process(code, schema) {
      if (schema !== this.schema) return code;
      if (!this.entry) {
        if (!this.cacheable || /\b(refVal|defaults|customRules)\[/.test(code)) return code;
        this.source = code;
      }
      loads.set(this.id, this);
      return `return globalThis[Symbol.for(${JSON.stringify(LOAD.description)})](${this.id}, ${PARAMS.join(', ')});`;
    }

    // load makes the function Ajv would have made from the code and calls
    // it with Ajv's arguments: the validation function.
    load(args) {
      loads.delete(this.id);
      const source = this.entry ? this.entry.source : this.source;
      const script = new vm.Script(`(function (${PARAMS.join(', ')}) {\n${source}\n})`, {
        filename: 'deploy-cli-schema.js',
        cachedData: this.entry ? this.entry.code : undefined,
      });
      const validate = script.runInThisContext()(...args);
      if (this.entry && script.cachedDataRejected) debug(`V8 rejected the code cache of entry ${this.key}`);
      if (!this.entry || script.cachedDataRejected) {
        // V8 compiles a function when it is first called, and Ajv calls
        // this one as soon as it has it: once that has happened, the
        // code cache holds its bytecode.
        const key = this.key;
        setImmediate(() => write(dir, key, source, script.createCachedData()));
      }
      this.entry = undefined;
      this.source = undefined;
      return validate;
    }
  }

  const shared = new Map();
  let ids = 0;
  function SharedAjv(opts) {
    const key = JSON.stringify(opts || {});
    if (!shared.has(key) && opts && opts.processCode) {
      shared.set(key, new Ajv(opts)); // code processed by the caller: not cached
    } else if (!shared.has(key)) {
      const compilation = new Compilation(++ids, opts || {});
      const processCode = (code, schema) => compilation.process(code, schema);
      processCode.compilation = compilation;
      shared.set(key, new Ajv({ ...opts, processCode }));
    }
    return shared.get(key);
  }
  require.cache[ajvPath].exports = SharedAjv;
}

module.exports = { install };
