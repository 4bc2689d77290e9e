// PG_PREPARE (issue 12): the two hot reads as named prepared statements or
// as unnamed ones give the same answers, byte for byte; PostgreSQL's own
// record (pg_stat_statements) says which were sent, one per request; and
// through a real PgBouncer 1.18 in transaction mode, auto sends unnamed
// ones, and even on keeps answering (a server connection that never saw
// the statement turns named statements off for that connection). The
// caches are off here, so that every answer comes from PostgreSQL.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdirSync, writeFileSync, readFileSync, rmSync, chownSync, statSync, existsSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import {
  TREE, VAR_DIR, api, idleVideo, seed, sql, resetQueryCount, stackSetting, until, sleep, scaled, workerPids,
} from './lib.mjs';

const run = promisify(execFile);

// Restarts the worker sets with these settings (DATABASE_URL included,
// which lib.mjs's stack() keeps from the workers), runs fn, then restarts
// them with the settings they had.
async function withWorkers(overrides, fn) {
  const saved = Object.fromEntries(Object.keys(overrides).map((k) => [k, stackSetting(k, '')]));
  const restart = (vars) => run(path.join(TREE, 'scripts/stack'), ['restart-workers'],
    { env: { ...process.env, ...vars }, timeout: scaled(60000) });
  await restart(overrides);
  try {
    return await fn();
  } finally {
    await restart(saved);
  }
}

let u;
let other;
const NOCACHE = { CACHE_URLS: '0', CACHE_SESSIONS: '0' };

before(async () => {
  u = seed(1, 13, 5).users[0];
  other = seed(1, 2, 1).users[0];
  // Jobs of each kind the answers tell apart (none that the engine would
  // move within the test: the terminal ones, and one active with news).
  await sql(`INSERT INTO jobs (persona_id, status, prediction_id) VALUES
    ('${u.personas[7]}', 'failed', 'prep-${u.personas[7]}'), ('${u.personas[8]}', 'succeeded', 'prep-${u.personas[8]}'),
    ('${u.personas[9]}', 'processing', 'prep-${u.personas[9]}'), ('${u.personas[10]}', 'canceled', NULL),
    ('${u.personas[0]}', 'processing', 'prep-${u.personas[0]}')`);	// and a video
  await sql(`UPDATE personas SET name = E'Quote " back \\\\ tab\\t \\u00e9' WHERE id = '${u.personas[1]}'`);
});

// The requests whose answers are compared: pages of the list, every
// persona's idle video, another user's, one that does not exist.
function requests() {
  return [
    '/api/personas', '/api/personas?limit=5', `/api/personas?limit=5&after=${u.personas[4]}`,
    `/api/personas?limit=3&after=${u.personas[11]}`, '/api/personas?limit=1000',
    ...u.personas.map(idleVideo), idleVideo(other.personas[0]), idleVideo('00000000-0000-4000-8000-000000000000'),
  ];
}

// Every answer, as text: status and body (the request id aside, each
// request's own).
async function answers(token = u.token) {
  const out = [];
  for (const p of requests()) {
    const r = await api(p, { token, headers: { 'x-request-id': 'prepare-test' } });
    out.push(`${p} ${r.status} ${r.text}`);
  }
  return out;
}

// The app role's statements since the reset, by text: { text: calls }.
async function statements() {
  const rows = await sql(`SELECT s.query, s.calls FROM pg_stat_statements s
    JOIN pg_roles r ON r.oid = s.userid WHERE r.rolname = 'app' AND s.query NOT ILIKE 'SET %'`);
  return Object.fromEntries(rows.map(([q, c]) => [q, Number(c)]));
}
const sum = (st) => Object.values(st).reduce((a, b) => a + b, 0);
const sent = (st, re) => Object.entries(st).filter(([q]) => re.test(q)).reduce((a, [, c]) => a + c, 0);
const NAMED = /FROM (personas_page|idle_video_state)\(/;
const UNNAMED = /FROM (personas_page|idle_video_state)_pl\(/;

let reference;

test('PG_PREPARE=off: unnamed statements through the PL/pgSQL wrappers, one per request', async () => {
  await withWorkers({ ...NOCACHE, PG_PREPARE: 'off' }, async () => {
    await answers();	// the connections are opened: none is counted below
    await resetQueryCount();
    reference = await answers();
    const st = await statements();
    assert.equal(sum(st), requests().length, JSON.stringify(st));
    assert.equal(sent(st, UNNAMED), requests().length, JSON.stringify(st));
  });
  assert.ok(reference.some((a) => a.includes('"status":"failed"')) && reference.some((a) => a.includes('"status":"processing"')));
  assert.ok(reference.some((a) => / 404 /.test(a)));
});

test('PG_PREPARE=on and auto, direct: named statements, the same answers byte for byte', async () => {
  for (const mode of ['on', 'auto']) {
    await withWorkers({ ...NOCACHE, PG_PREPARE: mode }, async () => {
      // A worker sends a read unnamed the first time on its connection (a
      // connection that serves one request never pays for a prepare),
      // named from then on: at most one unnamed read per worker here.
      const workers = workerPids('personas').length + workerPids('idle-video').length;
      await resetQueryCount();
      const got = await answers();
      assert.deepEqual(got, reference, `PG_PREPARE=${mode}`);
      const again = await answers();
      assert.deepEqual(again, reference, `PG_PREPARE=${mode}, again`);
      const st = await statements();
      // One statement per request; the prepares are not counted.
      assert.equal(sum(st), 2 * requests().length, JSON.stringify(st));
      assert.equal(sent(st, NAMED) + sent(st, UNNAMED), 2 * requests().length, JSON.stringify(st));
      assert.ok(workers >= 2 && sent(st, UNNAMED) <= workers,
        `PG_PREPARE=${mode}: ${sent(st, UNNAMED)} unnamed reads for ${workers} workers: ${JSON.stringify(st)}`);
    });
  }
});

// ----------------------------------------------------------- PgBouncer ---

let bouncer = null;	// { pid, port, dir }

// A free loopback port, for PgBouncer's short life.
const freePort = () => new Promise((resolve, reject) => {
  const s = net.createServer();
  s.once('error', reject);
  s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
});

// The password of a role from the stack's passfile (*:*:app:ROLE:password).
function password(role) {
  const file = stackSetting('PGPASSFILE', path.join(VAR_DIR, 'secrets/pgpass'));
  const line = readFileSync(file, 'utf8').split('\n').find((l) => l.split(':')[3] === role);
  return line ? line.split(':').slice(4).join(':') : null;
}

async function startBouncer() {
  const pgPort = stackSetting('PG_PORT', '15432');
  const port = await freePort();
  const dir = path.join(VAR_DIR, 'pgbouncer-prepare');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { mode: 0o700 });
  const pw = password('app');
  assert.ok(pw, 'the app role\'s password in the stack\'s passfile');
  writeFileSync(path.join(dir, 'userlist.txt'), `"app" "${pw}"\n`, { mode: 0o600 });
  // Transaction pooling with two server connections for four workers, as
  // scripts/repro's pgbouncer scenario (no reset query, as 1.18 does not
  // run one in transaction mode anyway).
  writeFileSync(path.join(dir, 'pgbouncer.ini'), `[databases]
app = host=127.0.0.1 port=${pgPort} dbname=app
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = ${port}
unix_socket_dir =
auth_type = scram-sha-256
auth_file = ${dir}/userlist.txt
pool_mode = transaction
default_pool_size = 2
max_db_connections = 2
server_reset_query =
ignore_startup_parameters = extra_float_digits,options
logfile = ${dir}/pgbouncer.log
pidfile = ${dir}/pgbouncer.pid
`);
  const { uid, gid } = statSync(path.join(VAR_DIR, 'pg/data'));
  for (const f of ['', 'userlist.txt', 'pgbouncer.ini']) chownSync(path.join(dir, f), uid, gid);
  execFileSync('pgbouncer', ['-q', '-d', '-u', 'postgres', path.join(dir, 'pgbouncer.ini')], { cwd: '/' });
  const pidFile = path.join(dir, 'pgbouncer.pid');
  assert.ok(await until(() => existsSync(pidFile), scaled(5000)), 'PgBouncer wrote its pid file');
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  // Where scripts/stack down finds it too, should this test die first.
  writeFileSync(path.join(VAR_DIR, 'run/pgbouncer-prepare.pid'), `${pid}\n`);
  bouncer = { pid, port, dir };
  const url = `postgresql://app@127.0.0.1:${port}/app?passfile=${path.join(VAR_DIR, 'secrets/pgpass')}`;
  return url;
}

after(() => {
  if (bouncer === null) return;
  try { process.kill(bouncer.pid, 'SIGTERM'); } catch { /* gone */ }
  rmSync(path.join(VAR_DIR, 'run/pgbouncer-prepare.pid'), { force: true });
});

// What the workers logged about named statements since offset.
function workerLog(offsets) {
  return ['personas', 'idle-video'].map((e, i) => {
    const f = path.join(VAR_DIR, 'log', `${e}.log`);
    return existsSync(f) ? readFileSync(f).subarray(offsets[i]).toString('utf8') : '';
  }).join('');
}
const logSizes = () => ['personas', 'idle-video'].map((e) => {
  const f = path.join(VAR_DIR, 'log', `${e}.log`);
  return existsSync(f) ? statSync(f).size : 0;
});

test('through PgBouncer (transaction mode), auto sends unnamed statements, on falls back: the same answers', async () => {
  const url = await startBouncer();
  await withWorkers({ ...NOCACHE, DATABASE_URL: url, PG_PREPARE: 'auto' }, async () => {
    await resetQueryCount();
    assert.deepEqual(await answers(), reference, 'PG_PREPARE=auto through PgBouncer');
    const st = await statements();
    assert.equal(sent(st, NAMED), 0, `auto saw the pooler: ${JSON.stringify(st)}`);
    assert.equal(sent(st, UNNAMED), requests().length, JSON.stringify(st));
  });
  // on: the first named statement runs on whichever of the two server
  // connections is free; on the other, "prepared statement does not
  // exist" (or "already exists", prepared there by another worker) turns
  // them off for that client connection, and the read goes again unnamed.
  const offsets = logSizes();
  await withWorkers({ ...NOCACHE, DATABASE_URL: url, PG_PREPARE: 'on' }, async () => {
    for (let round = 0; round < 3; round++) {
      const got = await Promise.all([0, 1, 2].map(() => answers()));
      for (const g of got) assert.deepEqual(g, reference, `PG_PREPARE=on through PgBouncer, round ${round}`);
    }
  });
  await sleep(100);
  const log = workerLog(offsets);
  assert.match(log, /unnamed statements on this connection/, 'a worker fell back to unnamed statements');
});
