#!/usr/bin/env node
// budget: 300
// The laboratory's tools on a small real run (TAP): a stack of its own
// (var/lab/test, ports LABTEST_* of scripts/lib/ports), build/lab/delay-proxy in front
// of PostgreSQL, build/lab/gallery-load with 2 browsers x 2 galleries,
// build/lab/pg-sampler, build/lab/connect-probe, and scripts/lab-report, the
// parsing scripts/repro uses; then a small cgi-cold (the stack switched to
// FRONT=apache-cgi, caches off): a PostgreSQL connection per request,
// counted by PostgreSQL's own log. The numbers are checked against each
// other and against PostgreSQL's own count of statements
// (pg_stat_statements), and so are the workers' own counts (GET
// /api/metrics before and after a load, as scripts/repro takes them: the
// "metrics vs PG" of lab-report, within 1 %; a disagreement is flagged).
// Builds nothing: make test has built the tools (mk/lab.mk adds them to
// `all`).
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync, spawn } = require('node:child_process');

const ROOT = path.resolve(__dirname, '../..');
const BIN = path.join(ROOT, 'build/lab');
// The services' users must reach the stack's state: from a private
// checkout (a folder above it not traversable), keep it under /tmp.
function reachable(dir) {
  try {
    for (const u of ['postgres', 'www-data']) execFileSync('runuser', ['-u', u, '--', 'test', '-x', dir], { stdio: 'ignore' });
    return true;
  } catch { return false; }
}
const WORK = reachable(ROOT) ? path.join(ROOT, 'var/lab/test')
  : execFileSync(path.join(ROOT, 'scripts/lib/state-dir'), ['labtest'], { encoding: 'utf8' }).trim();
const VAR = path.join(WORK, 'stack');
// The ports of scripts/lib/ports, the one table that keeps the tools apart.
const PORTS = Object.fromEntries([...fs.readFileSync(path.join(ROOT, 'scripts/lib/ports'), 'utf8')
  .matchAll(/^([A-Z_]+)=(\d+)$/gm)].map((m) => [m[1], Number(m[2])]));
const PORT = PORTS.LABTEST_PORT;
const PG_PORT = PORTS.LABTEST_PG_PORT;
const PROXY_PORT = PORTS.LABTEST_PROXY_PORT;
const DELAY_MS = 5;
const BASE = `http://127.0.0.1:${PORT}`;
const PROXY_URL = `host=127.0.0.1 port=${PROXY_PORT} dbname=app user=app`;

let n = 0;
let failed = 0;
function ok(cond, desc, diag) {
  n++;
  if (!cond) failed++;
  console.log(`${cond ? 'ok' : 'not ok'} ${n} - ${desc}`);
  if (!cond && diag !== undefined) {
    for (const l of String(typeof diag === 'string' ? diag : JSON.stringify(diag)).split('\n')) console.log(`# ${l}`);
  }
  return cond;
}

function stack(cmd, env = {}) {
  return execFileSync(path.join(ROOT, 'scripts/stack'), [cmd], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME || '/root', VAR_DIR: VAR, ...env },
    encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 90000,
  });
}

function psql(query) {
  return execFileSync('psql', ['-X', '-q', '-tA', '-v', 'ON_ERROR_STOP=1', '-h', path.join(VAR, 'pg/sock'),
    '-p', String(PG_PORT), '-U', 'postgres', '-d', 'app', '-c', query],
  { encoding: 'utf8', env: { PATH: process.env.PATH } }).trim();
}

// The app's own statements (pg_stat_statements), without a pooler's SETs.
const appQueries = () => Number(psql(`SELECT coalesce(sum(calls), 0) FROM pg_stat_statements s
  JOIN pg_roles r ON r.oid = s.userid WHERE r.rolname = 'app' AND s.query NOT ILIKE 'SET %'`));

// Runs gallery-load; returns { summary, lines } (lines: the parsed JSONL).
function load(name, args, url = BASE) {
  const out = path.join(WORK, `${name}.jsonl`);
  const stdout = execFileSync(path.join(BIN, 'gallery-load'), ['--url', url, '--tokens', path.join(WORK, 'tokens.txt'),
    '--out', out, ...args], { encoding: 'utf8', timeout: 60000 });
  fs.writeFileSync(path.join(WORK, `${name}.summary.json`), stdout);
  const lines = fs.readFileSync(out, 'utf8').split('\n').filter((l) => l).map((l) => JSON.parse(l));
  return { summary: JSON.parse(stdout), lines, out };
}

const sleep = (ms) => new Promise((r) => { setTimeout(r, ms); });

// The stack's metrics into WORK/metrics-NAME.txt, as scripts/repro keeps
// a host's (metrics_snapshot, with curl: a new connection each time, the
// front end may have changed): "# lab-host URL", then the exposition.
function metricsSnapshot(name) {
  const file = path.join(WORK, `metrics-${name}.txt`);
  const body = path.join(WORK, 'metrics.body');
  const status = execFileSync('curl', ['-s', '-o', body, '-w', '%{http_code}', '--max-time', '5', `${BASE}/api/metrics`],
    { encoding: 'utf8' });
  fs.writeFileSync(file, status === '200' ? `# lab-host ${BASE}\n${fs.readFileSync(body, 'utf8')}`
    : `# lab-host ${BASE} unavailable: GET /api/metrics answered ${status}\n`);
  return file;
}

// A scenario's "metrics vs PG" agrees: both counts as expected, both
// disagreements within 1 %, nothing flagged.
function metricsAgree(m, requests, queries) {
  return m !== null && m.unavailable === undefined && m.requests === requests && m.load_answers === requests
    && m.queries === queries && m.pg_queries === queries && m.requests_off_pct <= 1 && m.queries_off_pct <= 1
    && m.requests_verdict === 'agree' && m.queries_verdict === 'agree';
}

async function waitPort(port) {
  for (let i = 0; i < 100; i++) {
    try {
      execFileSync('bash', ['-c', `exec 3<>/dev/tcp/127.0.0.1/${port}`], { stdio: 'ignore' });
      return true;
    } catch {
      await sleep(50);
    }
  }
  return false;
}

const children = [];
function start(bin, args, env = process.env) {
  const c = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
  let out = '';
  c.stdout.on('data', (d) => { out += d; });
  c.stderr.on('data', () => {});
  c.done = new Promise((resolve) => { c.on('exit', () => resolve(out)); });
  children.push(c);
  return c;
}

async function main() {
  for (const t of ['gallery-load', 'pg-sampler', 'delay-proxy', 'connect-probe']) {
    if (!ok(fs.existsSync(path.join(BIN, t)), `build/lab/${t} is built`)) throw new Error('run make first');
  }
  // Arguments: the repro script refuses what it does not know.
  let rc = 0;
  try {
    execFileSync(path.join(ROOT, 'scripts/repro'), ['no-such-scenario'], { stdio: 'ignore' });
  } catch (e) {
    rc = e.status;
  }
  ok(rc === 2, 'scripts/repro refuses an unknown scenario with exit status 2', `status ${rc}`);
  const list = execFileSync(path.join(ROOT, 'scripts/repro'), ['--list'], { encoding: 'utf8' }).trim().split('\n');
  ok(list.join(' ') === 'before-pooler before-direct bigger-pool after pgbouncer hosts cgi-cold cgi-pgbouncer',
    'scripts/repro --list names the eight scenarios', list);

  fs.rmSync(WORK, { recursive: true, force: true });
  fs.mkdirSync(WORK, { recursive: true });
  const up = stack('up', { PORT: String(PORT), PG_PORT: String(PG_PORT), PG_MAX_CONNECTIONS: '20', PROVIDER: '0',
    WORKERS: '2', WORKERS_VIDEO_COMPLETE: '1', DATABASE_URL: PROXY_URL, CACHE_URLS: '1', CACHE_SESSIONS: '1' });
  ok(new RegExp(`^base_url=http://127\\.0\\.0\\.1:${PORT}$`, 'm').test(up),
    'a stack of its own is up (PROVIDER=0) and says where', up.trim().split('\n').slice(-3));

  start(path.join(BIN, 'delay-proxy'), ['--listen', `127.0.0.1:${PROXY_PORT}`, '--target', `127.0.0.1:${PG_PORT}`,
    '--delay-ms', String(DELAY_MS), '--user', 'nobody']);
  ok(await waitPort(PROXY_PORT), `delay-proxy listens on ${PROXY_PORT}`);

  const seed = JSON.parse(execFileSync(path.join(ROOT, 'scripts/seed'), ['--users', '2', '--personas', '5', '--videos', '2'],
    { encoding: 'utf8', env: { PATH: process.env.PATH, VAR_DIR: VAR }, stdio: ['ignore', 'pipe', 'ignore'] }));
  fs.writeFileSync(path.join(WORK, 'tokens.txt'), `${seed.users.map((u) => u.token).join('\n')}\n`);

  // --- after: caches on, quick check; one query per gallery load.
  load('warmup', ['--browsers', '2', '--galleries', '1', '--list-only']);
  psql('SELECT pg_stat_statements_reset()');
  const metricsBefore = metricsSnapshot('after-before');
  const csv = path.join(WORK, 'connections.csv');
  const sampler = start(path.join(BIN, 'pg-sampler'), ['--conninfo',
    `host=${path.join(VAR, 'pg/sock')} port=${PG_PORT} dbname=postgres user=postgres`,
    '--interval-ms', '20', '--max-seconds', '60', '--out', csv]);
  await sleep(100);
  const after = load('after', ['--browsers', '2', '--galleries', '2', '--quick-check']);
  await sleep(100);
  const metricsAfter = metricsSnapshot('after-after');
  sampler.kill('SIGTERM');
  const samplerSummary = JSON.parse(await sampler.done);
  const s = after.summary;
  ok(s.galleries === 4 && s.galleries_ok === 4, 'after: 2 browsers x 2 galleries, all OK', s);
  ok(s.requests === 24 && s.requests_ok === 24 && Object.keys(s.errors).length === 0,
    'after: 24 requests (a list and 5 idle videos per load), all OK, no errors', s);
  const reqLines = after.lines.filter((l) => l.kind !== 'gallery');
  const galLines = after.lines.filter((l) => l.kind === 'gallery');
  ok(reqLines.length === s.requests && galLines.length === s.galleries
    && reqLines.filter((l) => l.kind === 'list').length === 4 && reqLines.every((l) => l.status === 200 && l.ok),
  'after: the JSONL holds one line per request and per gallery load, as the summary counts', after.lines.slice(0, 3));
  const maxMs = Math.max(...galLines.map((l) => l.ms));
  ok(Math.abs(maxMs - s.gallery_ms.max) < 0.06, `after: summary's gallery max ${s.gallery_ms.max} ms is the JSONL's ${maxMs}`);
  const lists = reqLines.filter((l) => l.kind === 'list');
  ok(lists.every((l) => l.ms >= 2 * DELAY_MS), `after: every list took at least one round trip through the proxy (2 x ${DELAY_MS} ms)`,
    lists.map((l) => l.ms));
  const q = appQueries();
  ok(q === 4, 'after: PostgreSQL counted exactly 1 query per gallery load (pg_stat_statements)', `${q} queries`);
  ok(samplerSummary.samples >= 3 && samplerSummary.max_connections === 20 && samplerSummary.peak_app >= 1
    && samplerSummary.peak_app <= 4, 'pg-sampler saw the app\'s connections (1..4) and max_connections 20', samplerSummary);
  const rec = JSON.parse(execFileSync(path.join(ROOT, 'scripts/lab-report'), ['scenario', '--name', 'after',
    '--summary', path.join(WORK, 'after.summary.json'), '--requests', after.out, '--connections', csv,
    '--queries', String(q), '--pooler-sets', '0', '--metrics-before', metricsBefore, '--metrics-after', metricsAfter,
    '--meta', '{"title":"test","workers_per_exe":2,"hosts":1}'],
  { encoding: 'utf8' }));
  ok(s.answered === 24 && s.worker_answers === 24 && after.lines.filter((l) => l.worker).length === 24,
    'after: gallery-load says every request was answered, by a worker', s);
  ok(metricsAgree(rec.metrics, 24, 4),
    'after: metrics vs PG: the workers counted 24 requests (gallery-load\'s 24) and 4 statements (PostgreSQL\'s 4)',
    rec.metrics);
  fs.writeFileSync(path.join(WORK, 'scenario-after.json'), JSON.stringify(rec));
  const line = execFileSync(path.join(ROOT, 'scripts/lab-report'), ['metrics', path.join(WORK, 'scenario-after.json')],
    { encoding: 'utf8' }).trim();
  ok(line === 'metrics vs PG: requests Δ 24 (gallery-load: 24 answers from workers), queries Δ 4 (PostgreSQL: 4), '
    + 'disagreement 0 % / 0 %', 'lab-report metrics: the scenario\'s "metrics vs PG" line, no flag', line);
  ok(rec.consistent && rec.pg_queries_per_gallery === 1 && rec.success_rate === 1
    && rec.connections.peak_pg_connections === samplerSummary.peak_app && rec.connections.max_connections === 20
    && rec.connections.reserved === 3, 'lab-report: the record agrees with the summary, the JSONL, the CSV and PostgreSQL', rec);

  // --- before: caches off, no quick check; a query per request.
  stack('restart-workers', { WORKERS: '2', WORKERS_VIDEO_COMPLETE: '1', DATABASE_URL: PROXY_URL,
    CACHE_URLS: '0', CACHE_SESSIONS: '0' });
  psql('SELECT pg_stat_statements_reset()');
  const before = load('before', ['--browsers', '2', '--galleries', '2']);
  ok(before.summary.galleries_ok === 4 && before.summary.requests === 24, 'before: 4 gallery loads OK', before.summary);
  const qb = appQueries();
  ok(qb === 24, 'before: PostgreSQL counted 6 queries per gallery load (1 + 5 personas)', `${qb} queries`);

  // --- failures, by kind.
  const slow = load('timeout', ['--browsers', '2', '--galleries', '1', '--list-only', '--timeout-ms', String(DELAY_MS)]);
  ok(slow.summary.galleries_ok === 0 && slow.summary.errors['0 timeout'] === 2,
    'an abort timeout shorter than a round trip is reported as "0 timeout"', slow.summary);
  const refused = load('connect', ['--browsers', '2', '--galleries', '1'], `http://127.0.0.1:${PORT + 7}`);
  ok(refused.summary.galleries_ok === 0 && refused.summary.errors['0 connect'] === 2,
    'no server is reported as "0 connect"', refused.summary);
  stack('pg-stop');
  const down = load('pgdown', ['--browsers', '2', '--galleries', '1']);
  ok(down.summary.galleries === 2 && down.summary.galleries_ok === 0 && down.summary.requests === 2
    && down.summary.errors['503 db_unavailable/unavailable'] === 2,
  'PostgreSQL stopped, cache off: every list fails as "503 db_unavailable/unavailable"', down.summary);
  stack('pg-start');

  // --- the table and the plot, from results.json as scripts/repro writes it.
  const recBefore = JSON.parse(execFileSync(path.join(ROOT, 'scripts/lab-report'), ['scenario', '--name', 'pgdown',
    '--summary', path.join(WORK, 'pgdown.summary.json'), '--requests', down.out, '--connections', csv,
    '--queries', '0', '--meta', '{"title":"PostgreSQL down","workers_per_exe":2,"hosts":1}'], { encoding: 'utf8' }));
  // The same load's record against counts that disagree: the metrics of
  // before as after (the workers counted nothing), and PostgreSQL's count
  // halved with PgBouncer said to have refused the other half.
  const scenarioOf = (name, extra) => JSON.parse(execFileSync(path.join(ROOT, 'scripts/lab-report'), ['scenario',
    '--name', name, '--summary', path.join(WORK, 'after.summary.json'), '--requests', after.out, '--connections', csv,
    ...extra, '--meta', '{"title":"test","workers_per_exe":2,"hosts":1}'], { encoding: 'utf8' }));
  const recLost = scenarioOf('lost', ['--queries', String(q), '--metrics-before', metricsBefore,
    '--metrics-after', metricsBefore]);
  ok(recLost.metrics.requests === 0 && recLost.metrics.requests_off_pct === 100
    && recLost.metrics.requests_verdict === 'unexplained' && recLost.metrics.queries_verdict === 'unexplained',
  'metrics vs PG: counts that did not move against a load that ran are flagged as unexplained', recLost.metrics);
  const recRefused = scenarioOf('refused', ['--queries', '2', '--pooler-refused', '2', '--metrics-before', metricsBefore,
    '--metrics-after', metricsAfter]);
  ok(recRefused.metrics.queries_off_pct === 100 && recRefused.metrics.queries_residual_pct === 0
    && recRefused.metrics.queries_verdict === 'expected' && recRefused.metrics.requests_verdict === 'agree',
  'metrics vs PG: statements PgBouncer refused explain the workers\' surplus (flagged as expected)', recRefused.metrics);
  const results = path.join(WORK, 'results.json');
  fs.writeFileSync(results, JSON.stringify({ machine: {}, knobs: {}, scenarios: [rec, recBefore, recLost, recRefused] }));
  for (const name of ['after', 'pgdown', 'lost', 'refused']) {
    fs.copyFileSync(csv, path.join(WORK, `connections-${name}.csv`));
  }
  const table = execFileSync(path.join(ROOT, 'scripts/lab-report'), ['table', results], { encoding: 'utf8' });
  const rows = table.trim().split('\n');
  ok(/^\| `after` \| 2 per exe \| 4 \| .* \| 1 \| \d+ \/ 20 \(17 open to the app\) \| – \| – · – \| – \(direct\) \| 100 % \(requests: 100 %\) \| none \| 24 \/ 24 · 4 \/ 4 · 0 % \/ 0 % \|$/.test(rows[2])
    && /^\| `pgdown` .*\| 0 % \(requests: 0 %\) \| 2 × 503 db_unavailable\/unavailable \| – \|$/.test(rows[3])
    && / \| 0 \/ 24 · 0 \/ 4 · 100 % \/ 100 % ⚠ unexplained \|$/.test(rows[4])
    && / \| 24 \/ 24 · 4 \/ 2 · 0 % \/ 100 % ⚠ expected \|$/.test(rows[5]),
  'lab-report table: one row per scenario with the measured numbers and "metrics vs PG" (⚠ over 1 %)', table);
  ok(rows.includes('* `after`: metrics vs PG: requests Δ 24 (gallery-load: 24 answers from workers), queries Δ 4 (PostgreSQL: 4), disagreement 0 % / 0 %')
    && rows.some((l) => l.startsWith('* `lost`: metrics vs PG: requests Δ 0 ') && l.includes('⚠ requests 100 % over 1 %: UNEXPLAINED'))
    && rows.some((l) => l.startsWith('* `refused`: ') && l.includes('⚠ queries 100 % over 1 %: expected, 2 statements refused by PgBouncer'))
    && !rows.some((l) => l.startsWith('* `pgdown`')),
  'lab-report table: below it, a "metrics vs PG" line per scenario with metrics, flags and their reasons', table);
  execFileSync(path.join(ROOT, 'scripts/lab-report'), ['plot', results, WORK], { encoding: 'utf8' });
  const png = path.join(WORK, 'connections.png');
  ok(fs.existsSync(png) && fs.readFileSync(png).subarray(1, 4).toString() === 'PNG', 'lab-report plot: connections.png');

  // --- cgi-cold, small: plain CGI under Apache mod_cgi, caches off. Every
  // request is a process with a PostgreSQL connection of its own, which
  // PostgreSQL's log counts (log_connections, as scripts/repro turns it on).
  for (const q of ['ALTER SYSTEM SET log_connections = on', "ALTER SYSTEM SET log_timezone = 'UTC'",
    'SELECT pg_reload_conf()']) psql(q);
  const upCgi = stack('up', { FRONT: 'apache-cgi', PORT: String(PORT), PG_PORT: String(PG_PORT),
    PG_MAX_CONNECTIONS: '20', PROVIDER: '0', WORKERS: '1', WORKERS_VIDEO_COMPLETE: '1', DATABASE_URL: PROXY_URL,
    CACHE_URLS: '0', CACHE_SESSIONS: '0' });
  ok(/^front=apache-cgi$/m.test(upCgi), 'the same stack switched to FRONT=apache-cgi', upCgi.trim().split('\n').slice(-4));
  const pgLog = path.join(VAR, 'pg/server.log');
  const off = fs.statSync(pgLog).size;
  psql('SELECT pg_stat_statements_reset()');
  // Every CGI process maps the stack's one metrics file (beside the cache).
  const cgiBefore = metricsSnapshot('cgi-before');
  // What a login costs a client, through the proxy, as app_engine (not app).
  const probe = start(path.join(BIN, 'connect-probe'), ['--conninfo', PROXY_URL.replace('user=app', 'user=app_engine'),
    '--out', path.join(WORK, 'probe.csv'), '--interval-ms', '20', '--max-seconds', '60'],
  { PATH: process.env.PATH, PGPASSFILE: path.join(VAR, 'secrets/pgpass') });
  const cgi = load('cgi-cold', ['--browsers', '2', '--galleries', '2']);
  await sleep(100);
  const cgiAfter = metricsSnapshot('cgi-after');
  probe.kill('SIGTERM');
  const probeOut = await probe.done;
  fs.writeFileSync(path.join(WORK, 'probe.json'), probeOut);
  ok(cgi.summary.galleries_ok === 4 && cgi.summary.requests === 24 && cgi.summary.requests_ok === 24,
    'cgi-cold: 4 gallery loads of 6 requests, all OK through Apache mod_cgi', cgi.summary);
  const qc = appQueries();
  ok(qc === 24, 'cgi-cold: PostgreSQL counted 6 queries per gallery load', `${qc} queries`);
  const slice = fs.readFileSync(pgLog).subarray(off).toString('utf8');
  fs.writeFileSync(path.join(WORK, 'pg-connections.log'), slice);
  const recCgi = JSON.parse(execFileSync(path.join(ROOT, 'scripts/lab-report'), ['scenario', '--name', 'cgi-cold',
    '--summary', path.join(WORK, 'cgi-cold.summary.json'), '--requests', cgi.out, '--connections', csv,
    '--queries', String(qc), '--pg-log', path.join(WORK, 'pg-connections.log'), '--probe', path.join(WORK, 'probe.json'),
    '--metrics-before', cgiBefore, '--metrics-after', cgiAfter, '--meta', '{"title":"test","front":"apache-cgi","workers_per_exe":null,"hosts":1}'], { encoding: 'utf8' }));
  const o = recCgi.opened;
  ok(o && o.opened === 24 && o.refused === 0 && o.handshake_ms.p50 >= 2 * DELAY_MS,
    'cgi-cold: PostgreSQL\'s log has one connection of app per request (24), none refused, each login at least a round trip', o);
  ok(metricsAgree(recCgi.metrics, 24, 24),
    'cgi-cold: metrics vs PG: the CGI processes counted 24 requests and 24 statements in the shared file, as gallery-load and PostgreSQL',
    recCgi.metrics);
  const pr = recCgi.probe;
  ok(pr && pr.ok >= 1 && pr.failed === 0 && pr.ms.p50 >= 2 * DELAY_MS,
    'connect-probe: logins through the proxy, each at least a round trip', pr);
  fs.writeFileSync(path.join(WORK, 'results-cgi.json'), JSON.stringify({ machine: {}, knobs: {}, scenarios: [recCgi] }));
  const rowsCgi = execFileSync(path.join(ROOT, 'scripts/lab-report'), ['table', path.join(WORK, 'results-cgi.json')],
    { encoding: 'utf8' }).trim().split('\n');
  ok(/^\| `cgi-cold` \| CGI: a process per request \| 4 \| .* \| 6 \| \d+ \/ 20 \(17 open to the app\) \| [\d.]+ \/ 0 \| [\d.]+ ms \/ [\d.]+ ms · [\d.]+ ms \/ [\d.]+ ms \| – \(direct\) \| 100 % /.test(rowsCgi[2]),
    'lab-report table: the cgi-cold row with the connections opened per second and the connect times', rowsCgi);
}

main().catch((e) => {
  ok(false, `the run went through: ${e.message}`, e.stderr ? e.stderr.toString() : e.stack);
}).finally(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  try {
    stack('down', {});
  } catch (e) {
    console.log(`# scripts/stack down: ${e.message}`);
  }
  fs.rmSync(VAR, { recursive: true, force: true });
  console.log(`1..${n}`);
  process.exitCode = failed > 0 ? 1 : 0;
});
