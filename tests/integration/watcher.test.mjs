// The watcher of the workers' memory checks (issue 9): after a restart of
// the worker sets, a worker that reads out of bounds and leaks
// (tests/faulty) leaves a report where scripts/stack sends every worker's
// reports, and tests/sanitizer-reports, which decides whether the suite
// fails, says that the run failed. In the normal runs the faulty worker is
// built with AddressSanitizer (make asan), which aborts it at the read;
// when the stack runs its workers under memcheck (VALGRIND=1, make
// valgrind) it is the plain build (make faulty): memcheck lets it answer,
// reports the invalid read at once and the definite leak when the worker
// exits (the restart back to the real workers stops it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, renameSync, mkdirSync, symlinkSync, rmSync } from 'node:fs';
import { promisify } from 'node:util';
import path from 'node:path';
import { api, ROOT, VAR_DIR, until, withWorkerEnv } from './lib.mjs';

const exec = promisify(execFile);
const SAN_DIR = path.join(VAR_DIR, 'log/sanitizer');
const MEMCHECK = process.env.VALGRIND === '1';
const FAULTY = path.join(ROOT, MEMCHECK ? 'build/faulty/faulty-worker' : 'build/asan/faulty/faulty-worker');

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

// The report files of the faulty worker: ASan's, or memcheck's that name it.
const faultyReports = () => readdirSync(SAN_DIR).filter((f) => f.startsWith(MEMCHECK ? 'valgrind.' : 'asan.'))
  .filter((f) => readFileSync(path.join(SAN_DIR, f), 'utf8').includes('faulty-worker'));

test(`a ${MEMCHECK ? 'memcheck' : 'sanitizer'} error after a worker restart fails the run`, async () => {
  readFileSync(FAULTY);	// built by make asan (make faulty for memcheck); missing is a failure, not a skip
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
      if (MEMCHECK) {
        assert.deepEqual([r.status, r.body], [200, { faulty: true }], 'the faulty worker answered under memcheck');
      } else {
        assert.ok(r.status >= 500, `the faulty worker died instead of answering (${r.status} ${r.text.slice(0, 80)})`);
      }
      const w = await until(async () => { const x = await watcher(); return x.code === 1 ? x : null; }, 10000, 200);
      assert.ok(w, 'the watcher says the run failed');
      assert.match(w.out, MEMCHECK ? /Invalid read of size 1[^]*faulty-worker\.c:\d+/ :
        /faulty-worker\.c:\d+.*runtime error|heap-buffer-overflow/);
    });
    if (MEMCHECK) {
      // The restart stopped the faulty worker: its leak check at exit.
      const w = await watcher();
      assert.equal(w.code, 1, 'the watcher still says the run failed');
      assert.match(w.out, /definitely lost: [1-9][\d,]* bytes/);
      assert.match(w.out, /ERROR SUMMARY: [1-9]/);
    }
  } finally {
    // The expected finding is set apart (its report files moved, the
    // logs marked past it), so that the suite judges the rest of the run.
    const kept = path.join(VAR_DIR, 'log/sanitizer-expected');
    mkdirSync(kept, { recursive: true });
    for (const f of faultyReports()) renameSync(path.join(SAN_DIR, f), path.join(kept, f));
    await watcher('mark');
    rmSync(bin, { recursive: true, force: true });
  }
  const after = await watcher();
  assert.equal(after.code, 0, `nothing else was found:\n${after.out}`);
  assert.equal((await api('/api/personas')).status, 401, 'the real workers answer again');
});
