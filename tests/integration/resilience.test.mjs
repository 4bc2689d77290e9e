// Failure paths against the real stack: PostgreSQL stopped, workers killed,
// workers restarted, the cache file removed, idle connections closed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, existsSync, mkdtempSync, chownSync } from 'node:fs';
import { spawn, execFileSync } from 'node:child_process';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {
  ROOT, VAR_DIR, api, idleVideo, seed, stack, appQueryCount, resetQueryCount, appConnections, workerPids, until, sleep,
  withWorkerEnv, scaled, stackSetting, fcgiRecord, fcgiParams,
} from './lib.mjs';

let u;

before(async () => {
  u = seed(1, 13, 5).users[0];
  assert.equal((await api('/api/personas', { token: u.token })).status, 200);	// warms the cache
});

after(async () => {
  await stack('pg-start');	// leave the stack whole for the next suite
});

test('with PostgreSQL stopped, cached videos answer and the rest is a quick 503', async () => {
  await stack('pg-stop');
  try {
    for (let i = 0; i < 5; i++) {
      const r = await api(idleVideo(u.personas[i]), { token: u.token });
      assert.equal(r.status, 200);
      assert.equal(r.body.source, 'cache');
      assert.equal(r.body.status, 'completed');
    }
    const quick = await api(idleVideo(u.personas[9]), { token: u.token, quick: true });
    assert.equal(quick.status, 200);
    assert.equal(quick.body.source, 'quick-check');
    for (const p of ['/api/personas', idleVideo(u.personas[9])]) {
      const r = await api(p, { token: u.token });
      assert.equal(r.status, 503, p);
      assert.equal(r.body.error, 'db_unavailable');
      assert.equal(r.headers.get('retry-after'), '1');
      assert.ok(r.ms < scaled(2500), `answered in ${r.ms.toFixed(0)} ms, within the connect timeout`);
    }
  } finally {
    await stack('pg-start');
  }
  // The next request reconnects.
  const r = await api(idleVideo(u.personas[9]), { token: u.token });
  assert.equal(r.status, 200);
  assert.equal(r.body.source, 'db');
});

test('a killed worker is back within a second and nothing fails for long', async () => {
  const pids = workerPids('idle-video');
  assert.ok(pids.length >= 1);
  const victim = pids[0];
  process.kill(victim, 'SIGKILL');
  const back = await until(() => {
    const now = workerPids('idle-video');
    return now.length === pids.length && !now.includes(victim) ? now : null;
  }, 1000, 20);
  assert.ok(back, `respawned within 1 s (have ${workerPids('idle-video')})`);
  const results = await Promise.all(u.personas.map((id) => api(idleVideo(id), { token: u.token, quick: true })));
  assert.deepEqual(results.map((r) => r.status), Array(13).fill(200));
});

test('restarting every worker keeps the cache', async () => {
  await stack('restart-workers');
  await resetQueryCount();
  const r = await api(idleVideo(u.personas[0]), { token: u.token, quick: true });
  assert.equal(r.status, 200);
  assert.equal(r.body.source, 'cache');
  assert.equal(await appQueryCount(), 0);
});

test('a removed cache file is recreated and PostgreSQL answers meanwhile', async () => {
  const file = path.join(VAR_DIR, 'cache/cache.sqlite');
  for (const sfx of ['', '-wal', '-shm']) rmSync(file + sfx, { force: true });
  await sleep(1100);	// workers re-check the file at most once a second
  const first = await Promise.all(u.personas.slice(0, 5).map((id) => api(idleVideo(id), { token: u.token })));
  for (const r of first) {
    assert.equal(r.status, 200);
    assert.equal(r.body.status, 'completed');
  }
  assert.ok(existsSync(file), 'the cache file exists again');
  // Every worker serves from the new file again within its re-check (1 s).
  const cached = await until(async () => (await api(idleVideo(u.personas[0]), { token: u.token })).body.source === 'cache',
    2000, 100);
  assert.ok(cached, 'answered from the recreated cache');
});

test('an idle connection is closed after PG_IDLE_TIMEOUT_S, even in accept', async () => {
  await withWorkerEnv({ PG_IDLE_TIMEOUT_S: '1' }, async () => {
    await api('/api/personas', { token: u.token });
    const during = await appConnections();
    assert.ok(during.some(([, n]) => n.startsWith('personas:')), 'the list opened a connection');
    const gone = await until(async () => !(await appConnections()).some(([, n]) => n.startsWith('personas:')), 4000, 200);
    assert.ok(gone, 'closed by the idle timeout');
    // And the next request simply reconnects.
    assert.equal((await api('/api/personas', { token: u.token })).status, 200);
  });
});

// multiwatch stops a set it has just spawned (a restart, a reload) with
// SIGUSR1: a worker still opening its cache must end as asked, not be killed
// half-open by the signal's default action. Its start is held here by
// another process's write lock on its cache file.
test('a FastCGI worker asked to stop while it starts answers the request it was handed, then ends cleanly', async () => {
  const uid = Number(execFileSync('id', ['-u', 'www-data'], { encoding: 'utf8' }));
  const gid = Number(execFileSync('id', ['-g', 'www-data'], { encoding: 'utf8' }));
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fpl-start-'));
  chownSync(dir, uid, gid);
  const cache = path.join(dir, 'cache.sqlite');
  const locker = spawn('sqlite3', [cache], { uid, gid, stdio: ['pipe', 'pipe', 'pipe'] });
  let lout = '';
  locker.stdout.on('data', (c) => { lout += c; });
  locker.stderr.on('data', (c) => { lout += c; });
  locker.stdin.write("BEGIN EXCLUSIVE;\nCREATE TABLE held (x);\nSELECT 'locked';\n");
  try {
    assert.ok(await until(() => lout.includes('locked'), 5000, 20), `the cache is locked (${lout.trim()})`);
    const env = { PATH: '/usr/bin:/bin', LOG_LEVEL: 'info', METRICS_PATH: 'off',
      DATABASE_URL: stackSetting('DATABASE_URL', ''), PGPASSFILE: stackSetting('PGPASSFILE', ''),
      CACHE_PATH: cache, OUTBOX_PATH: path.join(dir, 'outbox.sqlite'), CACHE_BUSY_TIMEOUT_MS: String(scaled(3000)) };
    const bin = path.join(stackSetting('RUN_BIN_DIR', path.join(ROOT, 'build/bin')), 'idle-video');
    const sock = path.join(dir, 'w.sock');
    const worker = spawn('spawn-fcgi', ['-n', '-s', sock, '--', bin],
      { uid, gid, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    worker.stderr.on('data', (c) => { log += c; });
    const exited = new Promise((resolve) => worker.on('exit', (code, signal) => resolve({ code, signal })));
    await sleep(scaled(500));	// spawn-fcgi has become the worker, which waits for the cache
    assert.ok(!log.includes('started'), `the worker is still starting (${log.trim()})`);
    // A front end hands it a request (the socket's backlog holds it), then
    // stops it, as mod_fcgid's graceful restart does: it is answered, not
    // reset when the worker closes its socket.
    const answer = new Promise((resolve) => {
      const c = net.connect(sock);
      const chunks = [];
      c.on('connect', () => c.write(Buffer.concat([fcgiRecord(1, Buffer.from([0, 1, 0, 0, 0, 0, 0, 0])),
        fcgiRecord(4, fcgiParams({ REQUEST_METHOD: 'GET', REQUEST_URI: idleVideo(u.personas[0]), QUERY_STRING: '' })),
        fcgiRecord(4), fcgiRecord(5)])));
      c.on('data', (d) => chunks.push(d));
      c.on('error', (e) => resolve(`error: ${e.code}`));
      c.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
    });
    await sleep(scaled(100));
    process.kill(worker.pid, 'SIGUSR1');
    const end = await Promise.race([exited, sleep(scaled(10000)).then(() => null)]);
    if (end === null) worker.kill('SIGKILL');
    assert.deepEqual(end, { code: 0, signal: null }, `how it ended; its log: ${log.trim()}`);
    assert.match(log, /stopping \(asked to\)/);
    assert.match(await answer, /Status: 401[^]*"error":"unauthorized"/, 'the request handed to it was answered');
  } finally {
    locker.stdin.end('COMMIT;\n.quit\n');
    await new Promise((resolve) => locker.on('exit', resolve));
    rmSync(dir, { recursive: true, force: true });
  }
});
