// Shared helpers of the integration tests: the running stack's addresses,
// seeding, PostgreSQL's own view (as the superuser), and HTTP requests.
import { execFileSync, execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const run = promisify(execFile);
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BASE_URL = process.env.BASE_URL ?? 'http://127.0.0.1:8088';
const dbUrl = new URL(process.env.DATABASE_URL ?? 'postgresql://app@127.0.0.1:55432/app');
export const PG_PORT = dbUrl.port || '5432';

// Runs scripts/seed and returns its JSON document.
export function seed(users, personas, videos = 0, extra = []) {
  const out = execFileSync(path.join(ROOT, 'scripts/seed'),
    ['--users', String(users), '--personas', String(personas), '--videos', String(videos), ...extra],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return JSON.parse(out);
}

// One SQL statement as the superuser over TCP; rows as arrays of text.
export async function sql(query) {
  const { stdout } = await run('psql', ['-h', '127.0.0.1', '-p', PG_PORT, '-U', 'postgres',
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
  const { stdout } = await run(path.join(ROOT, 'scripts/stack'), args,
    { env: process.env, timeout: 60000 });
  return stdout;
}

// A request; returns { status, headers, body (parsed JSON or null), ms }.
export async function api(pathname, { token, quick = false, method = 'GET', headers = {}, body } = {}) {
  const h = { ...headers };
  if (token !== undefined) h.authorization = `Bearer ${token}`;
  if (quick) h['x-quick-check'] = 'true';
  const t0 = performance.now();
  const res = await fetch(BASE_URL + pathname, { method, headers: h, body, signal: AbortSignal.timeout(15000) });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, headers: res.headers, body: json, text, ms: performance.now() - t0 };
}

export const idleVideo = (id) => `/api/personas/${id}/idle-video`;

// Live worker pids of one executable: children of its multiwatch.
export function workerPids(exe) {
  try {
    const out = execFileSync('pgrep', ['-x', exe.slice(0, 15)], { encoding: 'utf8' });
    return out.split('\n').filter(Boolean).map(Number).sort((a, b) => a - b);
  } catch { return []; }
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Polls fn until it returns a truthy value or the time is up.
export async function until(fn, ms, step = 50) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) return v;
    await sleep(step);
  }
}
