// Shared helpers of the integration tests: the running stack's addresses,
// seeding, PostgreSQL's own view (as the superuser), and HTTP requests.
import { execFileSync, execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const run = promisify(execFile);
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
// The tree whose scripts/seed and scripts/stack the tests run: the checkout,
// or FPL_ROOT (a `make install` tree, PREFIX/lib/fcgi-pool-lab: tests/t/26-install.t).
export const TREE = process.env.FPL_ROOT || ROOT;
export const BASE_URL = process.env.BASE_URL ?? 'http://127.0.0.1:8088';
const dbUrl = new URL(process.env.DATABASE_URL ?? 'postgresql://app@127.0.0.1:15432/app');
export const PG_PORT = dbUrl.port || '5432';
// The stack's state directory (scripts/stack's VAR_DIR).
export const VAR_DIR = process.env.VAR_DIR ?? path.join(ROOT, 'var');
// How many times slower than plain builds the workers are: every bound on
// waiting for them is multiplied by it (until(), request timeouts, the
// "answers quickly" limits). 1 by default; the memcheck run (make
// valgrind, tests/integration/valgrind) sets TIME_SCALE in the environment.
export const TIME_SCALE = (() => {
  const v = Number(process.env.TIME_SCALE ?? '1');
  if (!Number.isInteger(v) || v < 1) throw new Error(`TIME_SCALE must be an integer >= 1, not '${process.env.TIME_SCALE}'`);
  return v;
})();
// A bound of ms milliseconds on the workers, scaled.
export const scaled = (ms) => Math.round(ms * TIME_SCALE);

// Runs scripts/seed and returns its JSON document.
export function seed(users, personas, videos = 0, extra = []) {
  const out = execFileSync(path.join(TREE, 'scripts/seed'),
    ['--users', String(users), '--personas', String(personas), '--videos', String(videos), ...extra],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return JSON.parse(out);
}

// One SQL statement as the superuser (over the unix socket: the only way
// in for it); rows as arrays of text.
export async function sql(query) {
  const { stdout } = await run('psql', ['-h', path.join(VAR_DIR, 'pg/sock'), '-p', PG_PORT, '-U', 'postgres',
    '-d', 'app', '-XAtq', '-F', '\t', '-v', 'ON_ERROR_STOP=1', '-c', query]);
  return stdout.split('\n').filter((l) => l !== '').map((l) => l.split('\t'));
}

// Statements run by the app role since the last reset, from
// pg_stat_statements: ground truth from outside the code under test.
export async function appQueryCount() {
  const rows = await sql(`SELECT coalesce(sum(calls), 0) FROM pg_stat_statements s
    JOIN pg_roles r ON r.oid = s.userid WHERE r.rolname = 'app'`);
  return Number(rows[0][0]);
}

export async function resetQueryCount() {
  await sql('SELECT pg_stat_statements_reset()');
}

// The app role's connections: [pid of backend, application_name].
export async function appConnections() {
  return sql(`SELECT pid, application_name FROM pg_stat_activity WHERE usename = 'app'`);
}

export async function stack(...args) {
  // The tests' DATABASE_URL is theirs: not the workers'.
  const { DATABASE_URL: _, ...env } = process.env;
  const { stdout } = await run(path.join(TREE, 'scripts/stack'), args, { env, timeout: scaled(60000) });
  return stdout;
}

// A request, aborted after timeoutMs (scaled); returns { status, headers,
// body (parsed JSON or null), ms }.
export async function api(pathname, { token, quick = false, method = 'GET', headers = {}, body, timeoutMs = 15000 } = {}) {
  const h = { ...headers };
  if (token !== undefined) h.authorization = `Bearer ${token}`;
  if (quick) h['x-quick-check'] = 'true';
  const t0 = performance.now();
  const res = await fetch(BASE_URL + pathname, { method, headers: h, body, signal: AbortSignal.timeout(scaled(timeoutMs)) });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, headers: res.headers, body: json, text, ms: performance.now() - t0 };
}

export const idleVideo = (id) => `/api/personas/${id}/idle-video`;

// How long mod_fcgid (2.3.9) may make a request wait when no process of
// its class can take it: 32 tries to get one, each up to two one-second
// sleeps with a spawn request between (fcgid_bridge.c, FCGID_REQUEST_COUNT
// and FCGID_APPLY_TRY_COUNT), then a 503; or, connected to a process that
// never answers, FcgidIOTimeout (30 s in conf/apache-fcgid.conf.in), then
// a 500. Measured with a program that cannot start: 0 to 47 s.
export const MOD_FCGID_WAIT_MS = (32 * 2 + 30) * 1000;

// The stack's front end (scripts/stack's FRONT: lighttpd, nginx,
// apache-fcgid or apache-cgi), as its last up saved it.
export const front = () => stackSetting('FRONT', 'lighttpd');

// Live worker pids of one executable of this stack: children of its
// multiwatch (whose pid scripts/stack keeps in run/<set>.pid; the engine's
// set is 'engine', its process video-complete --engine), named after it,
// or memcheck-amd64- when they run under valgrind (VALGRIND=1). Under
// FRONT=apache-fcgid the workers are Apache's (mod_fcgid spawns them in
// Apache's session); under apache-cgi none lives between requests.
export function workerPids(exe, set = exe) {
  try {
    if (set === exe && front() === 'apache-fcgid') {
      const apache = readFileSync(path.join(VAR_DIR, 'run/apache-fcgid.pid'), 'utf8').trim();
      const out = execFileSync('pgrep', ['-s', apache, '-x', exe.slice(0, 15)], { encoding: 'utf8' });
      return out.split('\n').filter(Boolean).map(Number).sort((a, b) => a - b);
    }
    if (set === exe && front() === 'apache-cgi') return [];
    const watcher = readFileSync(path.join(VAR_DIR, 'run', `${set}.pid`), 'utf8').trim();
    const out = execFileSync('pgrep', ['-P', watcher, '-x', `${exe.slice(0, 15)}|memcheck-amd64-`],
      { encoding: 'utf8' });
    return out.split('\n').filter(Boolean).map(Number).sort((a, b) => a - b);
  } catch { return []; }
}

export const enginePids = () => workerPids('video-complete', 'engine');

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Polls fn until it returns a truthy value or the time is up (ms, scaled
// by TIME_SCALE: what is awaited is the workers' doing).
export async function until(fn, ms, step = 50) {
  const end = Date.now() + scaled(ms);
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) return v;
    await sleep(step);
  }
}

// --- the provider and its webhooks -------------------------------------

import { createHmac, randomBytes } from 'node:crypto';

export const WEBHOOK_SECRET = process.env.WEBHOOK_SECRET ?? '';
export function stackSetting(key, fallback) {
  try {
    const env = readFileSync(path.join(VAR_DIR, 'run/stack.env'), 'utf8');
    const m = env.match(new RegExp(`^${key}='([^']*)'`, 'm'));
    return m ? m[1] : fallback;
  } catch { return fallback; }
}
export const PROVIDER_URL = process.env.PROVIDER_URL ?? stackSetting('PROVIDER_URL', 'http://127.0.0.1:8089');
const providerToken = () => stackSetting('PROVIDER_TOKEN', '');

// Standard Webhooks headers for a body, signed with secret.
export function signedHeaders(body, { secret = WEBHOOK_SECRET, id = `msg_${randomBytes(8).toString('hex')}`,
  timestamp = Math.floor(Date.now() / 1000) } = {}) {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const sig = createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64');
  return { 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': String(timestamp),
    'webhook-signature': `v1,${sig}` };
}

export async function deliver(prediction, opts = {}) {
  const body = typeof prediction === 'string' ? prediction : JSON.stringify(prediction);
  return api('/api/video-complete', { method: 'POST', headers: signedHeaders(body, opts), body });
}

export async function providerAdmin(config) {
  const res = await fetch(`${PROVIDER_URL}/admin/config`, { method: 'POST',
    headers: { 'content-type': 'application/json' }, body: JSON.stringify(config) });
  if (!res.ok) throw new Error(`provider admin: HTTP ${res.status}`);
}

export async function providerPrediction(id) {
  const res = await fetch(`${PROVIDER_URL}/v1/predictions/${id}`, { headers: { authorization: `Bearer ${providerToken()}` } });
  if (!res.ok) throw new Error(`provider GET ${id}: HTTP ${res.status}`);
  return res.json();
}

// Runs fn with the worker sets restarted under overrides of their
// configuration, then restarts them as they were. (restart-workers saves
// what it is given, so the previous values are given back explicitly; an
// empty value means "the built-in default" to the workers.)
export async function withWorkerEnv(overrides, fn) {
  const saved = Object.fromEntries(Object.keys(overrides).map((k) => [k, stackSetting(k, '')]));
  Object.assign(process.env, overrides);
  try {
    await stack('restart-workers');
    return await fn();
  } finally {
    Object.assign(process.env, saved);
    await stack('restart-workers');
    for (const k of Object.keys(overrides)) delete process.env[k];
  }
}

// Starts generation for a persona (POST idle-video).
export const startGeneration = (u, id) => api(idleVideo(id), { token: u.token, method: 'POST', body: '' });
export const predictionOf = async (jobId) => (await sql(`SELECT prediction_id FROM jobs WHERE id = '${jobId}'`))[0][0];

// Starts generation for personas, with the provider's own webhooks off,
// and waits until the provider has finished them: returns their final
// prediction bodies, which the tests then deliver themselves.
export async function finishedPredictions(u, ids) {
  await providerAdmin({ dropWebhooks: true, delayMs: 200, failRate: 0 });
  const jobs = [];
  for (const id of ids) {
    const r = await startGeneration(u, id);
    if (r.status !== 202) throw new Error(`POST idle-video: ${r.status} ${r.text}`);
    jobs.push(r.body.jobId);
  }
  const preds = [];
  for (const job of jobs) preds.push(await predictionOf(job));
  const done = await until(async () => {
    const all = await Promise.all(preds.map(providerPrediction));
    return all.every((p) => p.status === 'succeeded') ? all : null;
  }, 20000, 200);
  if (!done) throw new Error('the provider did not finish the predictions');
  return done;
}

// Runs build/bin/video-complete with arguments as the workers' user, with
// the stack's paths; returns its standard output.
export async function videoComplete(...args) {
  const env = { PATH: '/usr/bin:/bin', CACHE_PATH: path.join(VAR_DIR, 'cache/cache.sqlite'),
    OUTBOX_PATH: path.join(VAR_DIR, 'state/outbox.sqlite'), LOG_LEVEL: 'error',
    DATABASE_URL: stackSetting('DATABASE_URL', ''), PGPASSFILE: stackSetting('PGPASSFILE', ''),
    PROVIDER_URL: PROVIDER_URL };
  const bin = path.join(stackSetting('RUN_BIN_DIR', path.join(ROOT, 'build/bin')), 'video-complete');
  const { stdout } = await run('runuser', ['-u', 'www-data', '--', 'env', '-i',
    ...Object.entries(env).map(([k, v]) => `${k}=${v}`), bin, ...args], { timeout: 30000 });
  return stdout;
}

// A FastCGI record of request 1, and a PARAMS record's body (each name and
// value under 128 bytes): for talking to a worker's socket directly.
export function fcgiRecord(type, body = Buffer.alloc(0)) {
  const h = Buffer.alloc(8);
  h.writeUInt8(1, 0); h.writeUInt8(type, 1); h.writeUInt16BE(1, 2); h.writeUInt16BE(body.length, 4);
  return Buffer.concat([h, body]);
}
export function fcgiParams(kv) {
  const parts = [];
  for (const [k, v] of Object.entries(kv)) {
    parts.push(Buffer.from([k.length, Buffer.byteLength(v)]), Buffer.from(k), Buffer.from(v));
  }
  return Buffer.concat(parts);
}
