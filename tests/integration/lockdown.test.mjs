// The local stack, seen by another user of the machine (issue 9): the
// unprivileged OS user `nobody` can neither log in to PostgreSQL (not as
// the superuser, not as a service role without its password) nor read or
// use the logs, the cache, the outbox, the secrets, the generated
// configuration or the FastCGI sockets; and no secret is on a command line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import path from 'node:path';
import { api, PG_PORT, VAR_DIR, WEBHOOK_SECRET, stackSetting } from './lib.mjs';

const exec = promisify(execFile);

// Runs a command as nobody, from /; returns { code, out } (never throws).
async function asNobody(cmd, ...args) {
  try {
    const { stdout, stderr } = await exec('/usr/sbin/runuser', ['-u', 'nobody', '--', cmd, ...args],
      { cwd: '/', timeout: 15000, env: { PATH: '/usr/bin:/bin', PGCONNECT_TIMEOUT: '5' } });
    return { code: 0, out: stdout + stderr };
  } catch (e) {
    return { code: e.code ?? 1, out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

const sock = path.join(VAR_DIR, 'pg/sock');

test('nobody cannot log in to PostgreSQL', async () => {
  const tries = [
    ['the superuser over TCP', ['-h', '127.0.0.1', '-U', 'postgres', '-d', 'postgres']],
    ['the superuser over the socket', ['-h', sock, '-U', 'postgres', '-d', 'postgres']],
    ['app over TCP without its password', ['-h', '127.0.0.1', '-U', 'app', '-d', 'app']],
    ['app_engine over TCP without its password', ['-h', '127.0.0.1', '-U', 'app_engine', '-d', 'app']],
    ['app over the socket', ['-h', sock, '-U', 'app', '-d', 'app']],
  ];
  for (const [what, args] of tries) {
    const r = await asNobody('psql', '-X', '-w', '-At', '-p', PG_PORT, ...args, '-c', 'SELECT 1');
    assert.notEqual(r.code, 0, `${what}: psql succeeded`);
    assert.match(r.out, /no pg_hba\.conf entry|password|Permission denied|authentication failed/,
      `${what}: refused for the right reason (${r.out.trim()})`);
  }
  // The same psql, as root with the passfile, does get in: the refusals
  // above are the lock, not a broken cluster.
  const { stdout } = await exec('psql', ['-X', '-w', '-At', '-c', 'SELECT current_user',
    `postgresql://app@127.0.0.1:${PG_PORT}/app?passfile=${encodeURIComponent(stackSetting('PGPASSFILE', ''))}`],
  { timeout: 15000 });
  assert.equal(stdout.trim(), 'app');
});

test('nobody cannot read the logs, the cache, the outbox, the secrets or the configuration', async () => {
  const logs = readdirSync(path.join(VAR_DIR, 'log')).filter((f) => f.endsWith('.log'))
    .map((f) => path.join(VAR_DIR, 'log', f));
  assert.ok(logs.length >= 6, `the stack's logs are there (${logs.length})`);
  const secrets = readdirSync(path.join(VAR_DIR, 'secrets')).map((f) => path.join(VAR_DIR, 'secrets', f));
  assert.ok(secrets.length >= 3, `the secret files are there (${secrets.length})`);
  const files = [...logs, ...secrets, path.join(VAR_DIR, 'cache/cache.sqlite'),
    path.join(VAR_DIR, 'state/outbox.sqlite'), path.join(VAR_DIR, 'lighttpd.conf'),
    path.join(VAR_DIR, 'run/stack.env')];
  for (const f of files) {
    readFileSync(f);	// root can: the file is there
    const r = await asNobody('cat', f);
    assert.notEqual(r.code, 0, `nobody read ${f}`);
    assert.match(r.out, /Permission denied/, `${f}: ${r.out.trim()}`);
  }
  const ls = await asNobody('ls', VAR_DIR);
  assert.notEqual(ls.code, 0, `nobody listed ${VAR_DIR}`);
});

test('nobody cannot use the FastCGI sockets', async () => {
  for (const exe of ['personas', 'idle-video', 'video-complete']) {
    const s = path.join(VAR_DIR, 'run', `${exe}.sock`);
    const r = await asNobody('curl', '-sS', '--max-time', '5', '--unix-socket', s, 'http://x/');
    assert.equal(r.code, 7, `curl as nobody on ${s}: exit ${r.code} (${r.out.trim()})`);
    assert.match(r.out, /Permission denied|Couldn't connect/);
  }
  // The service still answers through lighttpd.
  assert.equal((await api('/api/personas')).status, 401);
});

test('no secret is on a command line', () => {
  const secrets = [WEBHOOK_SECRET, stackSetting('PROVIDER_TOKEN', ''),
    ...readFileSync(stackSetting('PGPASSFILE', ''), 'utf8').split('\n').filter(Boolean)
      .map((l) => l.split(':')[4])].filter((x) => x && x.length >= 16);
  assert.ok(secrets.length >= 4, `the secrets are known (${secrets.length})`);
  let seen = 0;
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    let cmd;
    try { cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8'); } catch { continue; }
    seen++;
    for (const s of secrets) assert.ok(!cmd.includes(s), `pid ${pid} has a secret on its command line: ${cmd.split('\0')[0]}`);
  }
  assert.ok(seen > 20, `command lines read (${seen})`);
});
