// What each front end promises (scripts/stack's FRONT: nginx, apache-fcgid,
// apache-cgi; lighttpd too), against the running stack: which front end
// serves and how it runs the workers, Authorization reaching them, the
// front end's own errors under /api/ as JSON (413, 411, 404, no worker
// reachable), the pages and /media/, and under apache-cgi the settings
// file and the timer. tests/integration/fronts runs it once per front end
// (with EXPECT_FRONT set), after api.test.mjs; the integration suite runs
// it under lighttpd with the other files of this folder.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync, existsSync, chmodSync, openSync, readSync, closeSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import {
  api, idleVideo, seed, sql, stack, deliver, until, sleep, front, stackSetting, providerAdmin,
  finishedPredictions, scaled, BASE_URL, VAR_DIR, MOD_FCGID_WAIT_MS,
} from './lib.mjs';

const FRONT = front();
const base = new URL(BASE_URL);
const runFile = (name) => path.join(VAR_DIR, 'run', name);
const readPid = (file) => { try { return Number(readFileSync(file, 'utf8').trim()); } catch { return null; } };
const comm = (pid) => { try { return readFileSync(`/proc/${pid}/comm`, 'utf8').trim(); } catch { return null; } };
const ppid = (pid) => Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[1]);
const alive = (pid) => { try { return !/^[ZX]$/.test(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1][0]); } catch { return false; } };
const apacheLog = path.join(VAR_DIR, 'log/apache-error.log');
const docroot = path.join(VAR_DIR, 'hosting/public_html');
// The command name of each front end's server process.
const serverOf = (f) => ({ lighttpd: 'lighttpd', nginx: 'nginx' }[f] ?? 'apache2');
const server = serverOf(FRONT);

// An API error as the contract has it: JSON {"error","message"} with the code.
function assertJsonError(r, status, codes, what) {
  const want = Array.isArray(status) ? status : [status];
  assert.ok(want.includes(r.status), `${what}: status ${r.status}, not ${want.join('/')}: ${r.text.slice(0, 200)}`);
  assert.match(r.headers.get?.('content-type') ?? r.headers['content-type'] ?? '', /^application\/json/, `${what}: JSON`);
  assert.ok(r.body && typeof r.body.message === 'string', `${what}: a message (${r.text.slice(0, 200)})`);
  assert.ok([codes].flat().includes(r.body.error), `${what}: error ${r.body.error}, not ${codes}`);
}

// One request written byte for byte (fetch would add a Content-Length to
// a bodyless POST); the answer until the server closes.
function raw(head) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(Number(base.port), base.hostname);
    const got = [];
    const timer = setTimeout(() => { sock.destroy(); reject(new Error('no answer within 10 s')); }, 10000);
    sock.on('data', (d) => got.push(d));
    sock.on('error', (e) => { clearTimeout(timer); reject(e); });
    sock.on('close', () => {
      clearTimeout(timer);
      const buf = Buffer.concat(got).toString('latin1');
      const end = buf.indexOf('\r\n\r\n');
      const lines = buf.slice(0, end).split('\r\n');
      const headers = {};
      for (const l of lines.slice(1)) headers[l.slice(0, l.indexOf(':')).trim().toLowerCase()] = l.slice(l.indexOf(':') + 1).trim();
      const text = buf.slice(end + 4);
      let body = null;
      try { body = JSON.parse(text); } catch { /* not JSON */ }
      resolve({ status: Number(lines[0].split(' ')[1]), headers, text, body });
    });
    sock.write(`${head}Host: ${base.host}\r\nConnection: close\r\n\r\n`);
  });
}

// The lines that the log FILE gained since offset.
function logSince(file, offset) {
  const fd = openSync(file, 'r');
  try {
    const size = statSync(file).size;
    const buf = Buffer.alloc(Math.max(0, size - offset));
    readSync(fd, buf, 0, buf.length, offset);
    return buf.toString('utf8');
  } finally { closeSync(fd); }
}

after(async () => {
  await providerAdmin({ dropWebhooks: false, delayMs: 3000, failRate: 0 }).catch(() => {});
});

test('the front end asked for is the one that serves', async () => {
  if (process.env.EXPECT_FRONT) assert.equal(FRONT, process.env.EXPECT_FRONT, 'stack.env names the front end');
  const pid = readPid(runFile(`${FRONT}.pid`));
  assert.ok(pid && alive(pid), `${FRONT}'s pid file names a live process (${pid})`);
  assert.equal(comm(pid), server);
  // The port belongs to it, and to no other front end.
  const ss = execFileSync('ss', ['-ltnpH', `sport = :${base.port}`], { encoding: 'utf8' });
  assert.match(ss, new RegExp(`"${server}",pid=`), `the port's listener is ${server}: ${ss}`);
  for (const other of ['lighttpd', 'nginx', 'apache-fcgid', 'apache-cgi']) {
    if (other === FRONT) continue;
    const p = readPid(runFile(`${other}.pid`));
    assert.ok(!(p && alive(p) && comm(p) === serverOf(other)), `${other} does not run too`);
  }
  const page = await api('/');
  assert.equal(page.status, 200);
  assert.match(page.headers.get('server') ?? '', { lighttpd: /^lighttpd/, nginx: /^nginx/ }[FRONT] ?? /^Apache/);
  // scripts/stack status names it.
  const status = await stack('status').catch((e) => e.stdout ?? '');
  assert.match(status, new RegExp(`^front +${FRONT}$`, 'm'));
});

test('apache-fcgid: Apache spawns the workers (no spawn-fcgi, no multiwatch)', {
  skip: FRONT !== 'apache-fcgid' && 'only under apache-fcgid',
}, async () => {
  const u = seed(1, 2, 1).users[0];
  const r = await api('/api/personas', { token: u.token });
  assert.equal(r.status, 200);
  // The worker that answered holds a connection named personas:PID.
  const rows = await sql(`SELECT application_name FROM pg_stat_activity
    WHERE usename = 'app' AND application_name LIKE 'personas:%'`);
  assert.ok(rows.length > 0, 'a personas worker holds a connection');
  const apache = readPid(runFile('apache-fcgid.pid'));
  for (const [name] of rows) {
    const pid = Number(name.split(':')[1]);
    assert.equal(comm(pid), 'personas');
    assert.equal(comm(ppid(pid)), 'apache2', `the parent of ${name} is Apache`);
    // mod_fcgid's process manager, a child of the Apache we started.
    assert.equal(ppid(ppid(pid)), apache, `${name} belongs to our Apache (pid ${apache})`);
  }
  for (const e of ['personas', 'idle-video', 'video-complete']) {
    assert.ok(!existsSync(runFile(`${e}.pid`)), `no ${e} worker set`);
  }
});

test('apache-cgi: every request is a process of its own', {
  skip: FRONT !== 'apache-cgi' && 'only under apache-cgi',
}, async () => {
  const u = seed(1, 2, 0).users[0];
  const from = statSync(apacheLog).size;
  for (let i = 0; i < 2; i++) assert.equal((await api('/api/personas', { token: u.token })).status, 200);
  // The workers' log lines land in Apache's error log (their stderr).
  const pids = await until(() => {
    const m = [...logSince(apacheLog, from).matchAll(/personas\[(\d+)\] info: access route="GET \/api\/personas"/g)];
    return m.length >= 2 ? m.map((x) => Number(x[1])) : null;
  }, 3000);
  assert.ok(pids, 'two access lines of personas in Apache\'s error log');
  assert.notEqual(pids[0], pids[1], 'two requests, two processes');
  for (const pid of pids) assert.ok(!alive(pid) || comm(pid) !== 'personas.cgi', `process ${pid} ended with its request`);
  assert.ok(!existsSync(runFile('engine.pid')), 'no engine process');
});

test('an authenticated request succeeds: Authorization reaches the workers', async () => {
  const u = seed(1, 3, 1).users[0];
  const r = await api('/api/personas', { token: u.token });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body.personas.map((p) => p.id), u.personas);
  const v = await api(idleVideo(u.personas[0]), { token: u.token });
  assert.equal(v.status, 200, v.text);
  assert.equal(v.body.status, 'completed');
  const none = await api('/api/personas');
  assertJsonError(none, 401, 'unauthorized', 'no token');
});

test('a 70 KiB POST to /api/video-complete is a JSON 413', async () => {
  const body = JSON.stringify({ id: 'x', status: 'succeeded', pad: 'a'.repeat(70 * 1024) });
  const r = await api('/api/video-complete', { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  assertJsonError(r, 413, 'payload_too_large', '70 KiB webhook');
});

test('a bodyless POST without Content-Length is a JSON 411, as under lighttpd', async () => {
  const u = seed(1, 1, 0).users[0];
  for (const p of ['/api/video-complete', idleVideo(u.personas[0]), '/api/personas', '/api/nothing']) {
    const id = `fronts.${Math.random().toString(36).slice(2)}`;
    const r = await raw(`POST ${p} HTTP/1.1\r\nAuthorization: Bearer ${u.token}\r\nX-Request-Id: ${id}\r\n`);
    assertJsonError(r, 411, 'length_required', `POST ${p}`);
    // The front end's own error page carries the request's id, the
    // given one as the workers keep it (lighttpd has none to give).
    if (FRONT !== 'lighttpd') assert.equal(r.headers['x-request-id'], id, `POST ${p}: X-Request-Id`);
  }
  if (FRONT !== 'lighttpd') {
    const r = await raw('POST /api/video-complete HTTP/1.1\r\nX-Request-Id: not valid!\r\n');
    assert.match(r.headers['x-request-id'] ?? '', /^[A-Za-z0-9._-]{1,64}$/, 'a malformed id is replaced');
  }
  // With its length (an empty body), the worker answers.
  const r = await api(idleVideo(u.personas[0]), { token: u.token, method: 'POST', body: '' });
  assert.equal(r.status, 202, r.text);
});

test('an unknown /api/ address is a JSON 404; the pages keep HTML errors', async () => {
  assertJsonError(await api('/api/x'), 404, 'not_found', '/api/x');
  assertJsonError(await api('/api/personas/x/y/z'), 404, 'not_found', '/api/personas/x/y/z');
  assertJsonError(await api('/api'), 404, 'not_found', '/api');
  const page = await api('/no-such-page');
  assert.equal(page.status, 404);
  assert.match(page.headers.get('content-type'), /^text\/html/);
});

test('the pages under their pretty URLs, and /media/ with Range', async () => {
  const u = seed(1, 1, 1).users[0];
  for (const [p, file] of [['/', 'video-gallery.html'], ['/video-gallery', 'video-gallery.html'],
    ['/video-gallery?x=1', 'video-gallery.html'], [`/personas/${u.personas[0]}`, 'persona.html'],
    ['/app.js', 'app.js']]) {
    const r = await api(p);
    assert.equal(r.status, 200, p);
    assert.equal(r.text, readFileSync(path.join(stackSetting('WWW_DIR', 'www'), file), 'utf8'), p);
  }
  const res = await fetch(`${BASE_URL}/media/idle/${u.personas[0]}.mp4`, { headers: { range: 'bytes=0-9' } });
  assert.equal(res.status, 206);
  assert.equal(res.headers.get('content-type'), 'video/mp4');
  assert.equal((await res.arrayBuffer()).byteLength, 10);
});

// Under lighttpd, nginx and apache-cgi the answer comes at once. mod_fcgid
// gives up on a program that cannot start only after its own waits
// (MOD_FCGID_WAIT_MS): the answer is bounded by those, and is JSON.
test('no worker reachable: the front end answers a JSON error, within a bound', async () => {
  const u = seed(1, 1, 0).users[0];
  const bound = FRONT === 'apache-fcgid' ? MOD_FCGID_WAIT_MS : 12000;
  const asU = { token: u.token, timeoutMs: bound + 5000 };	// a request may take the bound
  const t0 = Date.now();
  let r, slowest = 0;
  if (FRONT === 'lighttpd' || FRONT === 'nginx') {
    // The personas worker set stopped: nobody listens on its socket.
    const watcher = readPid(runFile('personas.pid'));
    process.kill(watcher, 'SIGTERM');
    assert.ok(await until(() => !alive(watcher), 5000), 'the personas set stopped');
    try {
      r = await api('/api/personas', asU);
      slowest = r.ms;
      assertJsonError(r, [502, 503], 'service_unavailable', 'personas set down');
    } finally {
      // With the settings of the last up (an up would take them from our
      // environment).
      await stack('restart-workers');
    }
  } else {
    // The executable cannot be run (mod_fcgid's spawn, mod_cgi's exec fail).
    const exe = FRONT === 'apache-fcgid'
      ? path.join(stackSetting('RUN_BIN_DIR', ''), 'personas') : path.join(docroot, 'cgi-bin/personas.cgi');
    assert.ok(exe.startsWith(VAR_DIR), `${exe} is the test's own copy (tests/integration/fronts)`);
    const mode = statSync(exe).mode & 0o7777;
    chmodSync(exe, 0o644);
    try {
      if (FRONT === 'apache-fcgid') {
        const apache = String(readPid(runFile('apache-fcgid.pid')));
        try { execFileSync('pkill', ['-KILL', '-s', apache, '-x', 'personas']); } catch { /* none */ }
        await sleep(300);
      }
      // Apache says 500 when the program fails to start or answer. Until
      // mod_fcgid gives up on the processes it had, a request may still
      // be served: each answer is bounded, not the number of tries.
      r = await until(async () => {
        const x = await api('/api/personas', asU);
        slowest = Math.max(slowest, x.ms);
        return x.status >= 500 ? x : null;
      }, 20000, 200);
      assert.ok(r, 'a 5xx from the front end');
      assertJsonError(r, [500, 502, 503], ['internal', 'service_unavailable'], 'personas cannot run');
    } finally {
      chmodSync(exe, mode);
    }
  }
  console.log(`# ${FRONT}: the slowest answer took ${Math.round(slowest)} ms (bound ${bound} ms)`);
  assert.ok(slowest < scaled(bound), `answered within ${bound} ms (the slowest answer ${Math.round(slowest)} ms, ` +
    `${Date.now() - t0} ms in all)`);
  // mod_fcgid may first wait out the processes that could not start.
  assert.ok(await until(async () => (await api('/api/personas', asU)).status === 200,
    FRONT === 'apache-fcgid' ? bound : 10000, 200), 'personas answers again');
});

test('apache-cgi: settings from the file alone; a completion accepted while PostgreSQL is down reaches idle_videos through the timer', {
  skip: FRONT !== 'apache-cgi' && 'only under apache-cgi',
}, async () => {
  // Nothing of the settings is in Apache's environment: only the file has them.
  const apache = readPid(runFile('apache-cgi.pid'));
  const environ = readFileSync(`/proc/${apache}/environ`, 'utf8').split('\0').map((kv) => kv.split('=')[0]);
  for (const k of ['DATABASE_URL', 'CACHE_PATH', 'WEBHOOK_SECRET', 'PGPASSFILE', 'FPL_CONFIG']) {
    assert.ok(!environ.includes(k), `Apache's environment has no ${k}`);
  }
  const settings = path.join(docroot, 'cgi-bin/fcgi-pool-lab.conf');
  const st = statSync(settings);
  assert.equal(st.mode & 0o777, 0o640, 'the settings file is 0640');
  assert.match(readFileSync(settings, 'utf8'), /^DATABASE_URL=/m);
  // ...and not served.
  assert.notEqual((await api('/cgi-bin/fcgi-pool-lab.conf')).status, 200);
  // No engine: the drain loop runs the shipped cron line's command.
  assert.ok(!existsSync(runFile('engine.pid')), 'no engine process');
  const drain = readPid(runFile('drain.pid'));
  assert.ok(drain && comm(drain) === 'fpl-drain', 'the drain loop runs');

  const u = seed(1, 1, 0).users[0];
  const [pred] = await finishedPredictions(u, [u.personas[0]]);
  const count = async () => Number((await sql(`SELECT count(*) FROM idle_videos WHERE persona_id = '${u.personas[0]}'`))[0][0]);
  await stack('pg-stop');
  try {
    const r = await deliver(pred);
    assert.equal(r.status, 200, `accepted while PostgreSQL is down: ${r.text}`);
  } finally {
    await stack('pg-start');
  }
  const interval = Number(stackSetting('DRAIN_INTERVAL_S', '60'));
  assert.ok(await until(async () => (await count()) === 1, (interval + 15) * 1000, 300),
    `idle_videos has the video within DRAIN_INTERVAL_S (${interval} s) + 15 s`);
  const v = await api(idleVideo(u.personas[0]), { token: u.token });
  assert.equal(v.body.status, 'completed');
  assert.match(readFileSync(path.join(VAR_DIR, 'hosting/logs/fcgi-pool-lab-drain.log'), 'utf8'), /\S/,
    'the timer\'s log (the cron line\'s) has its passes');
});
