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
      `${summary.galleries} galleries, slowest ${Math.round(summary.request_ms.max)} ms; ` +
      `errors ${JSON.stringify(summary.errors)}`);
    if (front() === 'apache-fcgid') {
      // mod_fcgid ends its processes in Apache's graceful restart, and a
      // request then waits, in whole seconds, for one of the next
      // generation: seconds, and sometimes without a bound of ours (make
      // test saw 5 of 56 past 10 s, and 3 of 126 past 94 s, mod_fcgid's
      // own tries; README, Front ends). Nothing may fail but by waiting
      // (no 5xx, no refused or cut connection), most may not wait, and
      // each browser loads at least a gallery.
      const { '0 timeout': late = 0, ...others } = summary.errors;
      assert.deepEqual(others, {}, 'no request failed but by waiting');
      assert.ok(late <= summary.requests / 4, `${late} late of ${summary.requests}`);
      assert.ok(summary.requests >= 3 * 14, `enough load to mean something: ${summary.requests} requests`);
    } else {
      assert.ok(summary.requests >= 100, `enough load to mean something: ${summary.requests} requests`);
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
