// The service's promises under faults, one test per way they used to
// break (issue 8): nothing accepted is lost, no job stays active forever,
// no request waits on the provider or on a signal, revoked sessions end.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { readFileSync, rmSync, statSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import {
  api, idleVideo, seed, sql, stack, deliver, providerAdmin, until, sleep, withWorkerEnv,
  finishedPredictions, predictionOf, startGeneration, videoComplete, VAR_DIR, WEBHOOK_SECRET,
  PROVIDER_URL, scaled, fcgiRecord, fcgiParams,
} from './lib.mjs';

const auth = (u) => ({ token: u.token });
const cacheFile = path.join(VAR_DIR, 'cache/cache.sqlite');
const idleVideos = async (user) => Number((await sql(`SELECT count(*) FROM idle_videos v
  JOIN personas p ON p.id = v.persona_id WHERE p.user_id = '${user.id}'`))[0][0]);
const jobOf = async (jobId) => (await sql(`SELECT status, coalesce(error, '') FROM jobs WHERE id = '${jobId}'`))[0];

// A signed delivery of raw bytes (the body need not be valid UTF-8).
function deliverRaw(bytes) {
  const id = `msg_${randomBytes(8).toString('hex')}`;
  const ts = String(Math.floor(Date.now() / 1000));
  const key = Buffer.from(WEBHOOK_SECRET.replace(/^whsec_/, ''), 'base64');
  const sig = createHmac('sha256', key).update(Buffer.concat([Buffer.from(`${id}.${ts}.`), bytes])).digest('base64');
  return fetch(`${process.env.BASE_URL ?? 'http://127.0.0.1:8088'}/api/video-complete`, {
    method: 'POST', body: bytes, signal: AbortSignal.timeout(scaled(15000)),
    headers: { 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': ts,
      'webhook-signature': `v1,${sig}` },
  });
}

// Starts a generation whose prediction never ends by itself.
async function pendingJob(u, id) {
  await providerAdmin({ dropWebhooks: true, delayMs: 600000 });
  const r = await startGeneration(u, id);
  assert.equal(r.status, 202, r.text);
  return { job: r.body.jobId, prediction: await predictionOf(r.body.jobId) };
}

after(async () => {
  await providerAdmin({ dropWebhooks: false, delayMs: 3000, failRate: 0, apiDelayMs: 0,
    mediaCorrupt: false, mediaBps: 0 });
});

test('lost: completions accepted while PostgreSQL is down survive the deleted cache file', async () => {
  const v = seed(1, 6, 0).users[0];
  const preds = await finishedPredictions(v, v.personas);
  await stack('pg-stop');
  try {
    const answers = await Promise.all(preds.map((p) => deliver(p)));
    assert.deepEqual(answers.map((r) => r.status), [200, 200, 200, 200, 200, 200]);
    const ino = statSync(cacheFile).ino;
    for (const sfx of ['', '-wal', '-shm']) rmSync(cacheFile + sfx, { force: true });
    // The workers notice within a second and make a new file.
    assert.ok(await until(async () => {
      await api(idleVideo(v.personas[0]), auth(v));
      try { return statSync(cacheFile).ino !== ino; } catch { return false; }
    }, 5000, 200), 'the cache file was recreated');
  } finally {
    await stack('pg-start');
  }
  assert.ok(await until(async () => (await idleVideos(v)) === 6, 30000, 300), 'all 6 reached PostgreSQL');
});

test('stuck: poison events end their job, and the persona can start again', async () => {
  const u = seed(1, 3, 0).users[0];
  const jobs = [];
  for (const id of u.personas) jobs.push(await pendingJob(u, id));
  const accents = { id: jobs[0].prediction, status: 'failed', output: null, error: 'é'.repeat(300) };
  assert.equal((await deliver(accents)).status, 200);
  // JSON whose text is not (bytes that are not UTF-8 are refused at the
  // door: bad-input.test.mjs): a lone surrogate.
  const raw = Buffer.from(`{"id":"${jobs[1].prediction}","status":"failed","error":"bad \\udc00 bytes"}`);
  const r = await deliverRaw(raw);
  assert.equal(r.status, 200, 'a lone surrogate');
  assert.equal((await deliver({ id: jobs[2].prediction, status: 'exploded', output: null })).status, 200);
  const ended = await until(async () => {
    const rows = await Promise.all(jobs.map((j) => jobOf(j.job)));
    return rows.every(([st]) => st === 'failed') ? rows : null;
  }, 15000, 200);
  assert.ok(ended, 'every poisoned job ended as failed');
  assert.ok(ended[0][1].startsWith('éé'), 'the provider\'s text is kept, cut on a character');
  assert.match(ended[1][1], /bad \uFFFD/);
  const again = await startGeneration(u, u.personas[0]);
  assert.equal(again.status, 202);
  assert.notEqual(again.body.jobId, jobs[0].job, 'a new job');
});

test('stuck: a job without a prediction, or without news, is swept and can start again', async () => {
  const u = seed(1, 2, 0).users[0];
  const [a] = await sql(`INSERT INTO jobs (persona_id, status, created_at, updated_at)
    VALUES ('${u.personas[0]}', 'starting', now() - interval '2 minutes', now() - interval '2 minutes')
    RETURNING id`);
  const [b] = await sql(`INSERT INTO jobs (persona_id, status, prediction_id, created_at, updated_at)
    VALUES ('${u.personas[1]}', 'processing', 'gone${randomBytes(6).toString('hex')}',
    now() - interval '3 hours', now() - interval '2 hours') RETURNING id`);
  // Still active, unless the engine's sweep (every 5 s) got there first.
  const first = await startGeneration(u, u.personas[0]);
  if (first.body.jobId !== a[0]) {
    assert.equal((await jobOf(a[0]))[0], 'failed', `a new job (${first.status}) only once the stuck one was swept`);
  }
  const swept = await until(async () => (await jobOf(a[0]))[0] === 'failed' && (await jobOf(b[0]))[0] === 'failed',
    15000, 250);
  assert.ok(swept, 'both swept by the engine');
  if (first.body.jobId === a[0]) {
    const poll = await api(idleVideo(u.personas[0]), auth(u));
    assert.equal(poll.body.status, 'failed');
  }
  const again = await startGeneration(u, u.personas[0]);
  assert.ok([200, 202].includes(again.status), `a persona can start again (${again.status})`);
  assert.notEqual(again.body.jobId, a[0]);
});

test('held: with the provider hanging, polls of stale jobs and cached answers do not wait', async () => {
  const u = seed(1, 3, 0).users[0];
  const w = seed(1, 1, 1).users[0];
  await withWorkerEnv({ RECONCILE_AFTER_S: '1' }, async () => {
    const jobs = [];
    for (const id of u.personas) jobs.push(await pendingJob(u, id));
    await api(idleVideo(w.personas[0]), auth(w));	// cached from now on
    const provider = Number(readFileSync(path.join(VAR_DIR, 'run/provider.pid'), 'utf8'));
    await sleep(1100);	// every job is stale now
    process.kill(provider, 'SIGSTOP');
    try {
      const polls = [];
      for (let i = 0; i < 4; i++) for (const id of u.personas) polls.push(api(idleVideo(id), auth(u)));
      const cached = api(idleVideo(w.personas[0]), auth(w));
      const answers = await Promise.all(polls);
      const c = await cached;
      for (const p of answers) {
        assert.equal(p.status, 200);
        assert.ok(p.ms < 1500, `a poll took ${Math.round(p.ms)} ms`);
      }
      assert.equal(c.body.source, 'cache');
      assert.ok(c.ms < 1000, `the cached answer took ${Math.round(c.ms)} ms`);
    } finally {
      process.kill(provider, 'SIGCONT');
    }
  });
});

test('dropped: a request read slowly by a worker with an idle connection is served', async () => {
  const u = seed(1, 1, 1).users[0];
  await withWorkerEnv({ PG_IDLE_TIMEOUT_S: '1', WORKERS_IDLE_VIDEO: '1' }, async () => {
    // An uncached request: the worker opens its connection and keeps it idle.
    assert.equal((await api(idleVideo(u.personas[0]), auth(u))).status, 200);
    const out = await new Promise((resolve, reject) => {
      const sock = net.connect(path.join(VAR_DIR, 'run/idle-video.sock'));
      const chunks = [];
      const timer = setTimeout(() => { sock.destroy(); reject(new Error(`no answer in ${scaled(10000)} ms`)); },
        scaled(10000));
      sock.on('data', (d) => chunks.push(d));
      sock.on('error', reject);
      sock.on('close', () => { clearTimeout(timer); resolve(Buffer.concat(chunks)); });
      sock.on('connect', async () => {
        sock.write(fcgiRecord(1, Buffer.from([0, 1, 0, 0, 0, 0, 0, 0])));	// BEGIN_REQUEST, responder
        await sleep(1600);	// the idle connection expires meanwhile
        sock.write(fcgiRecord(4, fcgiParams({ REQUEST_METHOD: 'GET', REQUEST_URI: idleVideo(u.personas[0]),
          QUERY_STRING: '', HTTP_AUTHORIZATION: `Bearer ${u.token}` })));
        sock.write(fcgiRecord(4));
        sock.write(fcgiRecord(5));
      });
    });
    assert.match(out.toString('latin1'), /Status: 200 OK/, 'the worker answered the request');
  });
});

test('a revoked session stops working on cached paths at its next uncached request', async () => {
  const u = seed(1, 2, 1).users[0];	// personas[0] has a video
  assert.equal((await api(idleVideo(u.personas[0]), auth(u))).status, 200);
  assert.equal((await api(idleVideo(u.personas[0]), auth(u))).body.source, 'cache');
  await sql(`DELETE FROM sessions WHERE user_id = '${u.id}'`);
  assert.equal((await api(idleVideo(u.personas[1]), auth(u))).status, 401, 'PostgreSQL says no');
  const cached = await api(idleVideo(u.personas[0]), auth(u));
  assert.equal(cached.status, 401, 'and the cache forgot the session');
});

test('generations are limited per user and hour', async () => {
  const u = seed(1, 3, 0).users[0];
  await withWorkerEnv({ GENERATIONS_PER_HOUR: '2' }, async () => {
    await providerAdmin({ dropWebhooks: true, delayMs: 600000 });
    assert.equal((await startGeneration(u, u.personas[0])).status, 202);
    assert.equal((await startGeneration(u, u.personas[1])).status, 202);
    const third = await startGeneration(u, u.personas[2]);
    assert.equal(third.status, 429);
    assert.equal(third.body.error, 'rate_limited');
    assert.ok(Number(third.headers.get('retry-after')) > 0);
    const rows = await sql(`SELECT count(*) FROM jobs WHERE persona_id = '${u.personas[2]}'`);
    assert.equal(rows[0][0], '0', 'no job for the refused start');
  });
});

test('downloads: a file that is not a video fails the job; nothing is kept', async () => {
  const u = seed(1, 1, 0).users[0];
  await providerAdmin({ dropWebhooks: false, delayMs: 300, failRate: 0, mediaCorrupt: true });
  try {
    const r = await startGeneration(u, u.personas[0]);
    assert.equal(r.status, 202);
    const end = await until(async () => {
      const [st, err] = await jobOf(r.body.jobId);
      return st === 'failed' ? err : null;
    }, 15000, 200);
    assert.ok(end, 'the job failed');
    assert.match(end, /not an MP4/);
    const left = await sql(`SELECT count(*) FROM idle_videos WHERE persona_id = '${u.personas[0]}'`);
    assert.equal(left[0][0], '0');
  } finally {
    await providerAdmin({ mediaCorrupt: false });
  }
});

test('dead letters: a copy that keeps failing ends after OUTBOX_MAX_ATTEMPTS, is listed, can be retried', async () => {
  const u = seed(1, 1, 0).users[0];
  await withWorkerEnv({ OUTBOX_MAX_ATTEMPTS: '2' }, async () => {
    const { job, prediction } = await pendingJob(u, u.personas[0]);
    const id = `msg_dead_${prediction}`;
    const gone = `${PROVIDER_URL}/files/nosuchfile000.mp4`;
    assert.equal((await deliver({ id: prediction, status: 'succeeded', output: gone }, { id })).status, 200);
    assert.ok(await until(async () => (await jobOf(job))[0] === 'failed', 20000, 250), 'the job failed');
    const listed = await videoComplete('--outbox');
    assert.match(listed, new RegExp(`^dead +${id} prediction=${prediction} status=succeeded attempts=2`, 'm'));
    assert.match(await videoComplete('--outbox', 'retry', id), /pending again/);
    // No longer dead: pending, or already taken by the engine (its job
    // has ended, so there is nothing left to copy).
    assert.doesNotMatch(await videoComplete('--outbox'), new RegExp(`^dead +${id} `, 'm'));
    assert.match(await videoComplete('--outbox', 'retry', 'msg_no_such_event').catch((e) => e.stderr ?? String(e)),
      /no dead event|not found|no such/i);
  });
});

test('a late copy of a success for an ended job does not copy the video again', async () => {
  const v = seed(1, 1, 0).users[0];
  const [pred] = await finishedPredictions(v, v.personas);
  const served = async () => (await (await fetch(`${PROVIDER_URL}/admin/outputs`)).json())[pred.id] ?? 0;
  assert.equal((await deliver(pred)).status, 200);
  assert.ok(await until(async () => await idleVideos(v) === 1, 20000, 200), 'the video was stored');
  assert.equal(await served(), 1, 'copied once');
  const id = `msg_late_${randomBytes(6).toString('hex')}`;
  assert.equal((await deliver(pred, { id })).status, 200);
  // Its event ends (it leaves the outbox's listing) without a second copy.
  assert.ok(await until(async () => !(await videoComplete('--outbox')).includes(id), 20000, 250),
    'the late event ended');
  assert.equal(await served(), 1, 'not copied again');
  assert.equal(await idleVideos(v), 1);
});

test('upgrade: events pending in an old cache file\'s outbox reach PostgreSQL', async () => {
  const v = seed(1, 2, 0).users[0];
  const preds = await finishedPredictions(v, v.personas);
  const rows = preds.map((p) => `('msg_old_${p.id}', '${p.id}', 'succeeded', '${p.output}', NULL, NULL,
    ${Math.floor(Date.now() / 1000)}, 0, 0, NULL)`).join(',');
  const { execFileSync } = await import('node:child_process');
  execFileSync('runuser', ['-u', 'www-data', '--', 'sqlite3', cacheFile], {
    input: `.timeout 5000
CREATE TABLE IF NOT EXISTS outbox (webhook_id TEXT PRIMARY KEY, prediction_id TEXT NOT NULL,
  status TEXT NOT NULL, output_url TEXT, error TEXT, video_url TEXT, received_at INTEGER NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0, next_try_at INTEGER NOT NULL, done_at INTEGER);
INSERT INTO outbox VALUES ${rows};
`,
  });
  await stack('restart-workers');	// the new engine's first start moves them
  assert.ok(await until(async () => (await idleVideos(v)) === 2, 20000, 250), 'both reached PostgreSQL');
});
