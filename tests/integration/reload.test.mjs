// scripts/stack reload under load: every worker set and the front end are
// replaced while gallery-load's browsers load galleries, and not one
// request fails (issue 11, item 5). The laboratory's own client counts:
// any refused connection, reset, 5xx or cut answer is a failed request.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { BASE_URL, ROOT, VAR_DIR, front, enginePids, scaled, seed, sleep, stack, workerPids } from './lib.mjs';

const run = promisify(execFile);
const GALLERY_LOAD = process.env.LAB_BIN ?? path.join(ROOT, 'build/lab/gallery-load');

// The pid in run/NAME.pid (a worker set's multiwatch, the front end).
const pidOf = (name) => {
  try { return Number(readFileSync(path.join(VAR_DIR, 'run', `${name}.pid`), 'utf8').trim()); } catch { return 0; }
};

test('reload under gallery-load: new workers and front end, no request lost', async () => {
  const { users } = seed(3, 13, 5);
  const dir = mkdtempSync(path.join(tmpdir(), 'fpl-reload-'));
  try {
    const tokens = path.join(dir, 'tokens');
    writeFileSync(tokens, users.map((u) => u.token).join('\n') + '\n');
    const sets = front() === 'apache-cgi' ? [] : ['personas', 'idle-video', 'video-complete'];
    const before = Object.fromEntries(sets.map((e) => [e, workerPids(e)]));
    const engineBefore = enginePids();
    const seconds = Math.round(scaled(8000) / 1000);
    const load = run(GALLERY_LOAD, ['--url', BASE_URL, '--tokens', tokens, '--browsers', '3',
      '--duration', String(seconds), '--timeout-ms', String(scaled(10000))],
    { maxBuffer: 1 << 24, timeout: scaled(60000) });
    // Two reloads in the middle of the load, each of everything.
    await sleep(scaled(1500));
    await stack('reload');
    await sleep(scaled(1000));
    await stack('reload');
    const summary = JSON.parse((await load).stdout);
    console.log(`# gallery-load: ${summary.requests} requests, ${summary.requests_ok} OK, ` +
      `${summary.galleries} galleries; errors ${JSON.stringify(summary.errors)}`);
    assert.ok(summary.requests >= 100, `enough load to mean something: ${summary.requests} requests`);
    if (front() === 'apache-fcgid') {
      // mod_fcgid's own limit (README, Front ends; its spawn score, which
      // conf/apache-fcgid.conf.in keeps): after Apache's graceful restart,
      // a request that waits for a process of the new generation may pass
      // gallery-load's 10 s (make test saw 2 of 196 and 7 of 154). Nothing
      // else may fail: no 5xx, no refused or cut connection.
      const { '0 timeout': late = 0, ...others } = summary.errors;
      assert.deepEqual(others, {}, 'no request failed but by waiting');
      assert.ok(late <= summary.requests * 0.1, `${late} late of ${summary.requests}`);
    } else {
      assert.deepEqual(summary.errors, {}, 'no request failed');
      assert.equal(summary.requests_ok, summary.requests);
      assert.equal(summary.galleries_ok, summary.galleries);
    }
    // Every worker that served before the reloads has gone; new ones serve.
    for (const e of sets) {
      const now = workerPids(e);
      assert.ok(now.length > 0, `${e} has workers`);
      for (const pid of before[e]) assert.ok(!now.includes(pid), `${e} worker ${pid} was replaced`);
      assert.ok(!before[e].some((pid) => { try { process.kill(pid, 0); return true; } catch { return false; } }),
        `the old ${e} workers exited`);
    }
    if (engineBefore.length > 0) assert.notDeepEqual(enginePids(), engineBefore, 'the engine was replaced');
    assert.ok(pidOf(front()) > 0, 'the front end runs');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
