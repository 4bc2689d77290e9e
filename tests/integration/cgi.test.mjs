// Each executable as plain CGI/1.1, run from here as a web server would:
// the request in the environment and on stdin, the answer on stdout, one
// process per request, exit 0. Settings from a file alone (FPL_CONFIG, or
// fcgi-pool-lab.conf beside the executable), as on a shared host. The
// answers must be those of the FastCGI workers behind the running stack.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, copyFileSync, chmodSync, chownSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT, api, seed, idleVideo, sql, stackSetting, signedHeaders, finishedPredictions,
  providerAdmin, until, scaled } from './lib.mjs';

const BIN_DIR = stackSetting('RUN_BIN_DIR', path.join(ROOT, 'build/bin'));
const gid = Number(execFileSync('id', ['-g', 'www-data'], { encoding: 'utf8' }));
let dir;

// The workers' settings as a settings file: what a shared host's
// customer writes beside the programs.
function settingsFile() {
  const keys = ['DATABASE_URL', 'ENGINE_DATABASE_URL', 'CACHE_PATH', 'OUTBOX_PATH', 'DOWNLOAD_DIR',
    'WEBHOOK_SECRET', 'MEDIA_DIR', 'PUBLIC_BASE_URL', 'PROVIDER_URL', 'PROVIDER_TOKEN', 'PGPASSFILE',
    'GENERATIONS_PER_HOUR'];
  const lines = ['# written by tests/integration/cgi.test.mjs', 'LOG_LEVEL=warn'];
  for (const k of keys) {
    const v = stackSetting(k, '');
    if (v !== '') lines.push(`${k} = ${v}`);
  }
  return lines.join('\n') + '\n';
}

before(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'fpl-cgi-'));
  chmodSync(dir, 0o755);
  const conf = path.join(dir, 'fcgi-pool-lab.conf');
  writeFileSync(conf, settingsFile(), { mode: 0o640 });
  chownSync(conf, 0, gid);
  // A shared host's copy of the personas program, the file beside it.
  copyFileSync(path.join(BIN_DIR, 'personas'), path.join(dir, 'personas.cgi'));
  chmodSync(path.join(dir, 'personas.cgi'), 0o755);
});
after(() => rmSync(dir, { recursive: true, force: true }));

// Runs exe as CGI for one request; returns { status, headers, body, code, stderr }.
// length: the CONTENT_LENGTH to claim (the body's own by default).
function cgi(exe, { method = 'GET', uri, auth, headers = {}, body = '', length, useFile = true, extraEnv = {} } = {}) {
  const env = { PATH: '/usr/bin:/bin', GATEWAY_INTERFACE: 'CGI/1.1', SERVER_PROTOCOL: 'HTTP/1.1',
    REQUEST_METHOD: method, REQUEST_URI: uri, QUERY_STRING: uri.includes('?') ? uri.split('?')[1] : '',
    SCRIPT_NAME: '/cgi-bin/' + path.basename(exe), REMOTE_ADDR: '127.0.0.1', ...extraEnv };
  if (useFile) env.FPL_CONFIG = path.join(dir, 'fcgi-pool-lab.conf');
  if (auth !== undefined) env.HTTP_AUTHORIZATION = auth;
  if (method === 'POST') env.CONTENT_LENGTH = String(length ?? Buffer.byteLength(body));
  for (const [k, v] of Object.entries(headers)) {
    if (k === 'content-type') env.CONTENT_TYPE = v;
    else env['HTTP_' + k.toUpperCase().replace(/-/g, '_')] = v;
  }
  const args = ['-u', 'www-data', '--', 'env', '-i', ...Object.entries(env).map(([k, v]) => `${k}=${v}`), exe];
  return new Promise((resolve, reject) => {
    const child = execFile('runuser', args, { encoding: 'utf8', timeout: scaled(15000) }, (err, stdout, stderr) => {
      if (err && err.code === undefined) return reject(err);
      const code = err ? err.code : 0;
      const cut = stdout.indexOf('\r\n\r\n');
      const head = cut < 0 ? stdout : stdout.slice(0, cut);
      const text = cut < 0 ? '' : stdout.slice(cut + 4);
      const hdrs = Object.fromEntries(head.split('\r\n').map((l) => {
        const i = l.indexOf(':');
        return [l.slice(0, i).toLowerCase(), l.slice(i + 1).trim()];
      }));
      let json = null;
      try { json = JSON.parse(text); } catch { /* not JSON */ }
      resolve({ status: Number((hdrs.status ?? '').split(' ')[0]), headers: hdrs, body: json, text, code, stderr });
    });
    child.stdin.end(body);
  });
}

test('personas as CGI: the list as the FastCGI workers give it, settings from the file beside it', async () => {
  const { users: [u] } = seed(1, 3, 2);
  const fast = await api('/api/personas', { token: u.token });
  assert.equal(fast.status, 200);
  const r = await cgi(path.join(dir, 'personas.cgi'), { uri: '/api/personas', auth: `Bearer ${u.token}`, useFile: false });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.headers['content-type'], 'application/json');
  assert.equal(Number(r.headers['content-length']), Buffer.byteLength(r.text));
  assert.deepEqual(r.body, fast.body);
  // The front door, as CGI too: 401, 405 with Allow, 413, 404.
  assert.equal((await cgi(path.join(dir, 'personas.cgi'), { uri: '/api/personas', useFile: false })).status, 401);
  const m = await cgi(path.join(dir, 'personas.cgi'), { method: 'POST', uri: '/api/personas', body: '{}', useFile: false });
  assert.equal(m.status, 405);
  assert.equal(m.headers.allow, 'GET');
  assert.equal(m.body.error, 'method_not_allowed');
  const nf = await cgi(path.join(dir, 'personas.cgi'), { uri: '/api/nothing', useFile: false });
  assert.equal(nf.status, 404);
  assert.equal(nf.body.error, 'not_found');
});

test('idle-video as CGI: the same answer as FastCGI, its own 404 for another program\'s address', async () => {
  const { users: [u] } = seed(1, 2, 1);
  const ids = u.personas;
  for (const id of ids) {
    const fast = await api(idleVideo(id), { token: u.token });
    const r = await cgi(path.join(BIN_DIR, 'idle-video'), { uri: idleVideo(id), auth: `Bearer ${u.token}` });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.status, fast.status);
    assert.equal(r.body.status, fast.body.status);
    assert.equal(r.body.videoUrl, fast.body.videoUrl);
  }
  const other = await cgi(path.join(BIN_DIR, 'idle-video'), { uri: '/api/personas', auth: `Bearer ${u.token}` });
  assert.equal(other.status, 404);
  assert.match(other.body.message, /personas program/);
  const big = await cgi(path.join(BIN_DIR, 'idle-video'), { method: 'POST', uri: idleVideo(ids[0]),
    auth: `Bearer ${u.token}`, body: 'x'.repeat(2000) });
  assert.equal(big.status, 413);
  assert.equal(big.body.error, 'payload_too_large');
});

test('video-complete as CGI: a signed completion is accepted and reaches PostgreSQL', async () => {
  const { users: [u] } = seed(1, 1, 0);
  const [id] = u.personas;
  try {
    const [pred] = await finishedPredictions(u, [id]);
    const body = JSON.stringify(pred);
    const bad = await cgi(path.join(BIN_DIR, 'video-complete'), { method: 'POST', uri: '/api/video-complete',
      headers: signedHeaders(body, { secret: 'whsec_' + Buffer.from('not the secret, 32 bytes long!!!').toString('base64') }), body });
    assert.equal(bad.status, 401);
    const r = await cgi(path.join(BIN_DIR, 'video-complete'), { method: 'POST', uri: '/api/video-complete',
      headers: signedHeaders(body), body });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.status, 200, r.text);
    const done = await until(async () => (await sql(`SELECT video_url FROM idle_videos WHERE persona_id = '${id}'`))[0], scaled(20000), 100);
    assert.ok(done, 'the completion reached idle_videos');
  } finally {
    await providerAdmin({ dropWebhooks: false, delayMs: 3000, failRate: 0 });
  }
});

test('a CGI request whose body stops arriving is answered, not held', async () => {
  // Content-Length says 100, stdin closes after 2 bytes.
  const r = await cgi(path.join(BIN_DIR, 'video-complete'), { method: 'POST', uri: '/api/video-complete',
    headers: { 'content-type': 'application/json' }, body: '{}', length: 100 });
  assert.equal(r.code, 0);
  assert.equal(r.status, 400);
  assert.match(r.text, /shorter than its length/);
});

test('a settings file with an unknown key stops the program with its name and line', async () => {
  const bad = path.join(dir, 'bad.conf');
  writeFileSync(bad, 'CACHE_URLS=1\nNO_SUCH_KEY=1\n', { mode: 0o644 });
  const r = await cgi(path.join(BIN_DIR, 'personas'), { uri: '/api/personas', useFile: false,
    extraEnv: { FPL_CONFIG: bad } });
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /bad\.conf:2: unknown setting NO_SUCH_KEY/);
});
