// Video generation end to end: POST idle-video through the real provider
// client, the signed webhook, the durable outbox, reconciliation.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  api, idleVideo, seed, sql, stack, deliver, signedHeaders, providerAdmin, providerPrediction,
  workerPids, until, sleep, withWorkerEnv, WEBHOOK_SECRET, finishedPredictions, predictionOf,
  startGeneration, scaled,
} from './lib.mjs';

const auth = (u) => ({ token: u.token });
const start = startGeneration;

let u;
before(async () => {
  u = seed(2, 40, 1).users[0];
});
after(async () => {
  await providerAdmin({ dropWebhooks: false, delayMs: 3000, failRate: 0, duplicate: false });
});

test('POST idle-video: authentication, ownership, idempotence, completed', async () => {
  const other = seed(1, 1, 0).users[0];
  assert.equal((await api(idleVideo(u.personas[1]), { method: 'POST', body: '' })).status, 401);
  assert.equal((await start(other, u.personas[1])).status, 404);
  const done = await start(u, u.personas[0]);	// seeded with a video
  assert.equal(done.status, 200);
  assert.equal(done.body.status, 'completed');
  assert.match(done.body.videoUrl, /^\/media\/idle\//);
  await providerAdmin({ dropWebhooks: true, delayMs: 600000 });
  const [a, b] = await Promise.all([start(u, u.personas[1]), start(u, u.personas[1])]);
  assert.equal(a.status, 202);
  assert.equal(b.status, 202);
  assert.equal(a.body.jobId, b.body.jobId, 'two workers at once: one job');
  const again = await start(u, u.personas[1]);
  assert.equal(again.body.jobId, a.body.jobId);
  const active = await sql(`SELECT count(*) FROM jobs WHERE persona_id = '${u.personas[1]}' AND status IN ('starting','processing')`);
  assert.equal(active[0][0], '1');
  // Polls are answered from the cache.
  const poll = await api(idleVideo(u.personas[1]), auth(u));
  assert.equal(poll.body.source, 'job');
  assert.equal(poll.body.jobId, a.body.jobId);
});

test('the provider\'s own signed webhook completes a generation, copied into our storage', async () => {
  await providerAdmin({ dropWebhooks: false, delayMs: 500 });
  const id = u.personas[2];
  const r = await start(u, id);
  assert.equal(r.status, 202);
  const done = await until(async () => {
    const p = await api(idleVideo(id), auth(u));
    return p.body.status === 'completed' ? p : null;
  }, 15000, 200);
  assert.ok(done, 'completed through the webhook');
  assert.match(done.body.videoUrl, new RegExp(`^/media/idle/${id}-[a-z0-9]+\\.mp4$`));
  const video = await fetch(new URL(done.body.videoUrl, process.env.BASE_URL ?? 'http://127.0.0.1:8088'));
  assert.equal(video.status, 200);
  assert.ok((await video.arrayBuffer()).byteLength > 1000, 'our copy is a real file');
  const row = await sql(`SELECT video_url FROM idle_videos WHERE persona_id = '${id}'`);
  assert.equal(row[0][0], done.body.videoUrl);
});

test('webhook signatures: tampered, wrong secret, old, missing, malformed', async () => {
  const [pred] = await finishedPredictions(u, [u.personas[3]]);
  const body = JSON.stringify(pred);
  const bad = [
    ['tampered body', { headers: signedHeaders(body), body: body.replace('succeeded', 'succeedee') }],
    ['wrong secret', { headers: signedHeaders(body, { secret: 'whsec_' + Buffer.alloc(32, 7).toString('base64') }), body }],
    ['old timestamp', { headers: signedHeaders(body, { timestamp: Math.floor(Date.now() / 1000) - 400 }), body }],
    ['future timestamp', { headers: signedHeaders(body, { timestamp: Math.floor(Date.now() / 1000) + 400 }), body }],
    ['no signature', { headers: { ...signedHeaders(body), 'webhook-signature': '' }, body }],
  ];
  for (const [what, req] of bad) {
    const r = await api('/api/video-complete', { method: 'POST', ...req });
    assert.equal(r.status, 401, what);
    assert.equal(r.body.error, 'unauthorized', what);
  }
  const notJson = 'this is not json';
  let r = await api('/api/video-complete', { method: 'POST', headers: signedHeaders(notJson), body: notJson });
  assert.equal(r.status, 400);
  r = await api('/api/video-complete', { method: 'GET' });
  assert.equal(r.status, 405);
  // Nothing of that changed anything.
  const job = await sql(`SELECT status FROM jobs WHERE prediction_id = '${pred.id}'`);
  assert.notEqual(job[0][0], 'succeeded');
  // Several signatures, one of them right: accepted.
  const h = signedHeaders(body);
  h['webhook-signature'] = `v1,${Buffer.alloc(32).toString('base64')} ${h['webhook-signature']}`;
  r = await api('/api/video-complete', { method: 'POST', headers: h, body });
  assert.equal(r.status, 200);
});

test('a repeated delivery changes nothing; no regression from a terminal state', async () => {
  const [pred] = await finishedPredictions(u, [u.personas[4]]);
  const id = `msg_repeat_${pred.id}`;
  const first = await deliver(pred, { id });
  assert.equal(first.status, 200);
  assert.equal(first.body.duplicate, false);
  const second = await deliver(pred, { id });
  assert.equal(second.status, 200);
  assert.equal(second.body.duplicate, true);
  await until(async () => (await sql(`SELECT 1 FROM idle_videos WHERE persona_id = '${u.personas[4]}'`)).length, 10000, 100);
  // A late "processing" and a "failed" for the same prediction move nothing.
  assert.equal((await deliver({ ...pred, status: 'processing', output: null })).status, 200);
  assert.equal((await deliver({ ...pred, status: 'failed', output: null, error: 'late' })).status, 200);
  await sleep(500);
  const rows = await sql(`SELECT j.status, count(v.*) FROM jobs j LEFT JOIN idle_videos v ON v.job_id = j.id
    WHERE j.prediction_id = '${pred.id}' GROUP BY j.status`);
  assert.deepEqual(rows, [['succeeded', '1']]);
  const poll = await api(idleVideo(u.personas[4]), auth(u));
  assert.equal(poll.body.status, 'completed');
});

test('failed, canceled and unknown statuses end the job as failed; an unknown prediction changes nothing', async () => {
  await providerAdmin({ dropWebhooks: true, delayMs: 600000 });
  for (const [i, status] of [[5, 'failed'], [6, 'canceled'], [7, 'aborted']]) {
    const r = await start(u, u.personas[i]);
    const pred = await predictionOf(r.body.jobId);
    const d = await deliver({ id: pred, status, output: null, error: status === 'failed' ? 'model error' : null });
    assert.equal(d.status, 200, status);
    const end = await until(async () => {
      const p = await api(idleVideo(u.personas[i]), auth(u));
      return p.body.status === 'failed' ? p : null;
    }, 10000, 100);
    assert.ok(end, `${status} shows as failed`);
    const job = await sql(`SELECT status FROM jobs WHERE id = '${r.body.jobId}'`);
    assert.equal(job[0][0], status === 'aborted' ? 'failed' : status);
  }
  const before = await sql('SELECT count(*), max(updated_at) FROM jobs');
  const d = await deliver({ id: 'nosuchprediction000', status: 'succeeded', output: 'http://127.0.0.1:1/x.mp4' });
  assert.equal(d.status, 200);
  await sleep(500);
  assert.deepEqual(await sql('SELECT count(*), max(updated_at) FROM jobs'), before);
});

test('a job whose webhook never comes is reconciled by the engine', async () => {
  await withWorkerEnv({ RECONCILE_AFTER_S: '2' }, async () => {
    const [pred] = await finishedPredictions(u, [u.personas[8]]);
    assert.equal(pred.status, 'succeeded');
    await sleep(2100);
    const done = await until(async () => {
      const p = await api(idleVideo(u.personas[8]), auth(u));
      return p.body.status === 'completed' ? p : null;
    }, 30000, 300);	// the engine reconciles every 5 s, ten jobs at a time
    assert.ok(done, 'the engine asked the provider and completed the job');
    const row = await sql(`SELECT count(*) FROM idle_videos WHERE persona_id = '${u.personas[8]}'`);
    assert.equal(row[0][0], '1');
  });
});

test('100 completions with PostgreSQL stopped, workers killed: all stored exactly once', async () => {
  const v = seed(1, 100, 0).users[0];
  const preds = await finishedPredictions(v, v.personas);
  await stack('pg-stop');
  try {
    const answers = await Promise.all(preds.map((p) => deliver(p, { id: `msg_bulk_${p.id}` })));
    assert.deepEqual([...new Set(answers.map((r) => r.status))], [200], 'every delivery accepted');
    // Completed videos are served from the cache while PostgreSQL is down.
    await until(async () => (await api(idleVideo(v.personas[99]), auth(v))).body.status === 'completed', 15000, 200);
    for (const pid of workerPids('video-complete')) process.kill(pid, 'SIGKILL');
    // And the provider repeats some deliveries meanwhile.
    await Promise.all(preds.slice(0, 10).map((p) => deliver(p, { id: `msg_bulk_${p.id}` })));
  } finally {
    await stack('pg-start');
  }
  const all = await until(async () => {
    const n = await sql(`SELECT count(*) FROM idle_videos v JOIN personas p ON p.id = v.persona_id WHERE p.user_id = '${v.id}'`);
    return n[0][0] === '100';
  }, 60000, 500);
  assert.ok(all, 'all 100 videos reached PostgreSQL');
  const jobs = await sql(`SELECT status, count(*) FROM jobs j JOIN personas p ON p.id = j.persona_id
    WHERE p.user_id = '${v.id}' GROUP BY status`);
  assert.deepEqual(jobs, [['succeeded', '100']]);
});

test('the provider unavailable is a quick 502, and the job is not left active', async () => {
  await withWorkerEnv({ PROVIDER_URL: 'http://127.0.0.1:1' }, async () => {
    const r = await start(u, u.personas[9]);
    assert.equal(r.status, 502);
    assert.equal(r.body.error, 'provider_unavailable');
    assert.ok(r.ms < scaled(6000), `answered in ${r.ms.toFixed(0)} ms`);
    const active = await sql(`SELECT count(*) FROM jobs WHERE persona_id = '${u.personas[9]}' AND status IN ('starting','processing')`);
    assert.equal(active[0][0], '0');
  });
});

test('bad request bodies and sizes', async () => {
  const big = 'x'.repeat(70 * 1024);
  const r = await api('/api/video-complete', { method: 'POST', headers: signedHeaders(big), body: big });
  assert.equal(r.status, 413);
  // Refused by lighttpd before any worker, and still JSON like every API error.
  assert.match(r.headers.get('content-type'), /^application\/json/);
  assert.equal(r.body.error, 'payload_too_large');
  assert.ok(WEBHOOK_SECRET.startsWith('whsec_'));
});
