// Logs that operators can rotate (issue 11, item 4): the shipped
// conf/fcgi-pool-lab.logrotate, run by the real logrotate against this
// stack's log folder, renames every log and has every writer open its own
// again; the request after the rotation lands in the new files, the one
// before it stays in the old, and no line is lost between them. The front
// end's access log ends each line with the answer's X-Request-Id.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { TREE, VAR_DIR, api, front, idleVideo, scaled, until } from './lib.mjs';

const run = promisify(execFile);
const LOG_DIR = path.join(VAR_DIR, 'log');
const read = (f) => (existsSync(f) ? readFileSync(f, 'utf8') : '');
const accessLog = () => path.join(LOG_DIR, {
  lighttpd: 'lighttpd-access.log', nginx: 'nginx-access.log',
}[front()] ?? 'apache-access.log');
// The worker sets of spawn-fcgi log to files of their own (LOG_PATH);
// under Apache the workers' lines are in Apache's error log.
const ownWorkerLogs = () => front() === 'lighttpd' || front() === 'nginx';

// The shipped file, its two paths made this stack's and this tree's.
function logrotateConf(dir) {
  const text = readFileSync(path.join(TREE, 'conf/fcgi-pool-lab.logrotate'), 'utf8')
    .replaceAll('/var/lib/fcgi-pool-lab', VAR_DIR)
    .replaceAll('/usr/local/bin/fcgi-pool-lab-stack', path.join(TREE, 'scripts/stack'));
  assert.ok(text.includes(`${VAR_DIR}/log/*.log`), 'the file names the logs of VAR_DIR');
  const conf = path.join(dir, 'logrotate.conf');
  writeFileSync(conf, text, { mode: 0o644 });
  return conf;
}

const hit = (id) => api(idleVideo('00000000-0000-4000-8000-00000000000a'), { headers: { 'x-request-id': id } });

test('logrotate renames the logs, and every writer opens its own again', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'fpl-logrotate-'));
  const tag = `${process.pid}-${Date.now()}`;
  const before = `rot-before-${tag}`, after = `rot-after-${tag}`;
  const worker = path.join(LOG_DIR, 'idle-video.log');
  try {
    const r = await hit(before);
    assert.equal(r.status, 401);
    assert.equal(r.headers.get('x-request-id'), before);
    // The front end writes its access log in batches: wait for the line.
    assert.ok(await until(() => read(accessLog()).includes(`req=${before}`), 5000), 'the access log has the id');
    const { stderr } = await run('logrotate', ['-f', '-v', '-s', path.join(dir, 'state'), logrotateConf(dir)],
      { timeout: scaled(60000) });
    assert.match(stderr, /running postrotate script/);
    assert.ok(existsSync(`${accessLog()}.1`), 'the access log was renamed');

    const r2 = await hit(after);
    assert.equal(r2.status, 401);
    assert.ok(await until(() => read(accessLog()).includes(`req=${after}`), 5000), 'the new access log has the new line');
    assert.ok(!read(accessLog()).includes(before), 'the old line stayed in the old file');
    assert.ok(read(`${accessLog()}.1`).includes(`req=${before}`));
    assert.ok(!read(`${accessLog()}.1`).includes(after), 'the new line went to the new file');
    if (ownWorkerLogs()) {
      // The worker and the engine said so in both files, and the request
      // after the rotation is in the new file only.
      assert.ok(await until(() => read(worker).includes(`req=${after}`), 5000), 'the worker writes to the new file');
      assert.ok(read(`${worker}.1`).includes(`req=${before}`));
      assert.ok(!read(`${worker}.1`).includes(after));
      assert.match(read(`${worker}.1`), /log: reopening .*idle-video\.log/);
      assert.match(read(worker), /log: reopened .*idle-video\.log/);
      assert.ok(await until(() => /log: reopened .*engine\.log/.test(read(path.join(LOG_DIR, 'engine.log'))), 5000),
        'the engine reopened its log');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
