// The watcher of the workers' memory checks (issue 9): after a restart of
// the worker sets, a worker that reads out of bounds (tests/faulty, built
// with AddressSanitizer only for this) leaves a report where scripts/stack
// sends every worker's reports, and tests/sanitizer-reports, which decides
// whether the suite fails, says that the run failed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, renameSync, mkdirSync, symlinkSync, rmSync } from 'node:fs';
import { promisify } from 'node:util';
import path from 'node:path';
import { api, ROOT, VAR_DIR, until, withWorkerEnv } from './lib.mjs';

const exec = promisify(execFile);
const SAN_DIR = path.join(VAR_DIR, 'log/sanitizer');
const FAULTY = path.join(ROOT, 'build/asan/faulty/faulty-worker');

// Runs the watcher (check or mark) on the stack's logs: { code, out }.
async function watcher(cmd = 'check') {
  try {
    const { stdout } = await exec(path.join(ROOT, 'tests/sanitizer-reports'), [cmd, path.join(VAR_DIR, 'log')],
      { timeout: 10000 });
    return { code: 0, out: stdout };
  } catch (e) {
    return { code: e.code, out: e.stdout ?? '' };
  }
}

const faultyReports = () => readdirSync(SAN_DIR).filter((f) => f.startsWith('asan.'))
  .filter((f) => readFileSync(path.join(SAN_DIR, f), 'utf8').includes('faulty-worker'));

test('a sanitizer error after a worker restart fails the run', async () => {
  readFileSync(FAULTY);	// built by make asan; missing is a failure, not a skip
  // Clean so far (else the run has failed already, and this says so).
  const before = await watcher();
  assert.equal(before.code, 0, `no finding before the faulty worker:\n${before.out}`);
  const bin = mkdtempSync('/tmp/fpl-faulty-');
  const real = process.env.BIN_DIR ?? path.join(ROOT, 'build/bin');
  symlinkSync(FAULTY, path.join(bin, 'personas'));
  for (const e of ['idle-video', 'video-complete']) symlinkSync(path.join(real, e), path.join(bin, e));
  try {
    await withWorkerEnv({ BIN_DIR: bin }, async () => {
      const r = await api('/api/personas');
      assert.ok(r.status >= 500, `the faulty worker died instead of answering (${r.status} ${r.text.slice(0, 80)})`);
      const w = await until(async () => { const x = await watcher(); return x.code === 1 ? x : null; }, 10000, 200);
      assert.ok(w, 'the watcher says the run failed');
      assert.match(w.out, /faulty-worker\.c:\d+.*runtime error|heap-buffer-overflow/);
    });
  } finally {
    // The expected finding is set apart (its report files moved, the
    // logs marked past it), so that the suite judges the rest of the run.
    const kept = path.join(VAR_DIR, 'log/sanitizer-expected');
    mkdirSync(kept, { recursive: true });
    for (const f of faultyReports()) renameSync(path.join(SAN_DIR, f), path.join(kept, f));
    await watcher('mark');
    rmSync(bin, { recursive: true, force: true });
  }
  assert.equal((await watcher()).code, 0, 'nothing else was found');
  assert.equal((await api('/api/personas')).status, 401, 'the real workers answer again');
});
