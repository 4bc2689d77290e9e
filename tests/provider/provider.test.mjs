// scripts/provider, the local Replicate-compatible video provider, on its
// own: its API, its Standard Webhooks signatures (checked here with an
// independent implementation of the spec), retries of the final webhook
// only, duplicates, failures, cancel, output files, and state across a
// restart. Starts the provider on a free port; needs no stack.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const TOKEN = 'test-token-123';
const KEY = crypto.randomBytes(32);
const SECRET = `whsec_${KEY.toString('base64')}`;
const dir = mkdtempSync(path.join(os.tmpdir(), 'provider-test-'));
const VIDEO = path.join(dir, 'video.mp4');
const VIDEO_BYTES = crypto.randomBytes(5000);
const STATE = path.join(dir, 'state.json');

let provider;	// { child, base, log }
let receiver;	// { url, deliveries, respond }

const sleep = (ms) => new Promise((r) => { setTimeout(r, ms); });

function startProvider(extraEnv = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'scripts/provider')], {
      env: {
        PATH: process.env.PATH, PROVIDER_PORT: '0', PROVIDER_TOKEN: TOKEN, WEBHOOK_SECRET: SECRET,
        PROVIDER_VIDEO: VIDEO, PROVIDER_DELAY_MS: '300', PROVIDER_STATE: STATE, ...extraEnv,
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const p = { child, base: null, log: '' };
    const timer = setTimeout(() => reject(new Error(`provider did not start: ${p.log}`)), 10000);
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d) => {
      p.log += d;
      const m = /listening on 127\.0\.0\.1:(\d+)/.exec(p.log);
      if (m && !p.base) {
        p.base = `http://127.0.0.1:${m[1]}`;
        clearTimeout(timer);
        resolve(p);
      }
    });
    child.on('exit', (code) => { if (!p.base) { clearTimeout(timer); reject(new Error(`provider exited ${code}: ${p.log}`)); } });
  });
}

function stopProvider(p) {
  return new Promise((resolve) => {
    if (p.child.exitCode !== null) { resolve(); return; }
    p.child.on('exit', () => resolve());
    p.child.kill('SIGTERM');
  });
}

// Standard Webhooks verification, written from the spec: HMAC-SHA256 over
// "id.timestamp.body" keyed with the base64-decoded secret, signatures as a
// space-separated list of "v1,<base64>", timestamp within 5 minutes.
function verify(headers, body) {
  const id = headers['webhook-id'];
  const ts = headers['webhook-timestamp'];
  const sigs = headers['webhook-signature'];
  if (!id || !ts || !sigs) return 'missing headers';
  if (!/^\d+$/.test(ts) || Math.abs(Date.now() / 1000 - Number(ts)) > 300) return 'stale timestamp';
  const expected = crypto.createHmac('sha256', KEY).update(`${id}.${ts}.${body}`).digest();
  for (const s of sigs.split(' ')) {
    const [version, sig] = s.split(',');
    const got = Buffer.from(sig || '', 'base64');
    if (version === 'v1' && got.length === expected.length && crypto.timingSafeEqual(got, expected)) return 'ok';
  }
  return 'bad signature';
}

function startReceiver() {
  return new Promise((resolve) => {
    const r = { deliveries: [], respond: () => 204 };
    const server = http.createServer((req, res) => {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const d = { headers: req.headers, body, json: JSON.parse(body), verified: verify(req.headers, body), path: req.url };
        d.answer = r.respond(d);
        r.deliveries.push(d);
        res.writeHead(d.answer);
        res.end();
      });
    });
    server.listen(0, '127.0.0.1', () => {
      r.server = server;
      r.url = `http://127.0.0.1:${server.address().port}`;
      resolve(r);
    });
  });
}

async function call(method, p, { token = TOKEN, body, raw } = {}) {
  const headers = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined || raw !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(provider.base + p, {
    method, headers, body: raw ?? (body === undefined ? undefined : JSON.stringify(body)),
    signal: AbortSignal.timeout(5000),
  });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, headers: res.headers, json, text };
}

const admin = (settings) => call('POST', '/admin/config', { token: null, body: settings });

async function create(hookPath, extra = {}) {
  const r = await call('POST', '/v1/predictions', {
    body: { version: 'test', input: { persona: 'p1' }, webhook: `${receiver.url}${hookPath}`, ...extra },
  });
  assert.equal(r.status, 201, r.text);
  return r.json;
}

async function until(fn, ms = 8000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error('timed out waiting');
    await sleep(25);
  }
}

const deliveriesTo = (p) => receiver.deliveries.filter((d) => d.path === p);

before(async () => {
  writeFileSync(VIDEO, VIDEO_BYTES);
  receiver = await startReceiver();
  provider = await startProvider();
});

after(async () => {
  if (provider) await stopProvider(provider);
  receiver?.server.close();
  rmSync(dir, { recursive: true, force: true });
});

test('health, auth, and bad requests answer JSON', async () => {
  assert.equal((await call('GET', '/health', { token: null })).status, 200);
  for (const token of [null, 'wrong-token']) {
    const r = await call('POST', '/v1/predictions', { token, body: { input: {} } });
    assert.equal(r.status, 401);
    assert.equal(typeof r.json.detail, 'string');
  }
  assert.equal((await call('POST', '/v1/predictions', { raw: '{not json' })).status, 400);
  assert.equal((await call('POST', '/v1/predictions', { body: { input: 'x' } })).status, 400);
  assert.equal((await call('POST', '/v1/predictions', { body: { input: {}, webhook: 'nope' } })).status, 400);
  assert.equal((await call('POST', '/v1/predictions', { body: { input: {}, webhook_events_filter: ['bogus'] } })).status, 400);
  const big = await call('POST', '/v1/predictions', { raw: JSON.stringify({ input: { x: 'a'.repeat(70000) } }) });
  assert.equal(big.status, 413);
  assert.equal((await call('GET', '/v1/predictions/doesnotexist')).status, 404);
  assert.equal((await call('GET', '/files/doesnotexist.mp4', { token: null })).status, 404);
  assert.equal((await admin({ delayMs: -1 })).status, 400);
  assert.equal((await admin({ nope: true })).status, 400);
});

test('a prediction: 201 starting, a signed processing webhook, then a signed succeeded one with a working output URL', async () => {
  const pred = await create('/ok', { webhook_events_filter: ['start', 'completed'] });
  assert.match(pred.id, /^[a-z0-9]{20}$/);
  assert.equal(pred.status, 'starting');
  assert.equal(pred.output, null);
  assert.equal(pred.error, null);
  assert.deepEqual(pred.input, { persona: 'p1' });
  assert.ok(!Number.isNaN(Date.parse(pred.created_at)));
  assert.equal(pred.urls.get, `${provider.base}/v1/predictions/${pred.id}`);
  assert.equal(pred.urls.cancel, `${provider.base}/v1/predictions/${pred.id}/cancel`);

  await until(() => deliveriesTo('/ok').some((d) => d.json.id === pred.id && d.json.status === 'succeeded'));
  const mine = deliveriesTo('/ok').filter((d) => d.json.id === pred.id);
  assert.deepEqual(mine.map((d) => d.json.status), ['processing', 'succeeded']);
  for (const d of mine) {
    assert.equal(d.verified, 'ok');
    assert.equal(d.headers['content-type'], 'application/json');
    assert.match(d.headers['webhook-id'], /^msg_[a-z0-9]+$/);
  }
  assert.notEqual(mine[0].headers['webhook-id'], mine[1].headers['webhook-id']);
  const done = mine[1].json;
  assert.equal(done.output, `${provider.base}/files/${pred.id}.mp4`);

  const got = await call('GET', `/v1/predictions/${pred.id}`);
  assert.equal(got.json.status, 'succeeded');
  const file = await fetch(done.output);
  assert.equal(file.status, 200);
  assert.equal(file.headers.get('content-type'), 'video/mp4');
  assert.equal(file.headers.get('content-length'), String(VIDEO_BYTES.length));
  assert.ok(Buffer.from(await file.arrayBuffer()).equals(VIDEO_BYTES));
});

test('only the final webhook is retried, with the same webhook-id; intermediate ones are sent once', async () => {
  let finals = 0;
  receiver.respond = (d) => {
    if (d.path !== '/flaky') return 204;
    if (d.json.status === 'processing') return 500;
    finals++;
    return finals <= 2 ? 503 : 200;
  };
  try {
    const pred = await create('/flaky', { webhook_events_filter: ['start', 'completed'] });
    await until(() => deliveriesTo('/flaky').some((d) => d.json.id === pred.id && d.answer === 200), 10000);
    const mine = deliveriesTo('/flaky').filter((d) => d.json.id === pred.id);
    assert.deepEqual(mine.map((d) => `${d.json.status}:${d.answer}`),
      ['processing:500', 'succeeded:503', 'succeeded:503', 'succeeded:200']);
    const ids = new Set(mine.slice(1).map((d) => d.headers['webhook-id']));
    assert.equal(ids.size, 1, 'retries keep the webhook-id');
    assert.ok(mine.every((d) => d.verified === 'ok'));
  } finally {
    receiver.respond = () => 204;
  }
});

test('duplicate delivery, array output, failures, dropped webhooks and cancel', async () => {
  assert.equal((await admin({ duplicate: true, outputArray: true })).status, 200);
  try {
    const pred = await create('/dup', { webhook_events_filter: ['completed'] });
    await until(() => deliveriesTo('/dup').filter((d) => d.json.id === pred.id).length === 2);
    const two = deliveriesTo('/dup').filter((d) => d.json.id === pred.id);
    assert.equal(two[0].headers['webhook-id'], two[1].headers['webhook-id']);
    assert.deepEqual(two[0].json.output, [`${provider.base}/files/${pred.id}.mp4`]);
  } finally {
    await admin({ duplicate: false, outputArray: false });
  }

  await admin({ failRate: 1 });
  try {
    const pred = await create('/fail', { webhook_events_filter: ['completed'] });
    const d = await until(() => deliveriesTo('/fail').find((x) => x.json.id === pred.id));
    assert.equal(d.json.status, 'failed');
    assert.equal(typeof d.json.error, 'string');
    assert.equal(d.json.output, null);
    assert.equal((await fetch(`${provider.base}/files/${pred.id}.mp4`)).status, 404);
  } finally {
    await admin({ failRate: 0 });
  }

  await admin({ dropWebhooks: true });
  try {
    const pred = await create('/dropped');
    await until(async () => (await call('GET', `/v1/predictions/${pred.id}`)).json.status === 'succeeded');
    await sleep(200);
    assert.equal(deliveriesTo('/dropped').length, 0);
  } finally {
    await admin({ dropWebhooks: false });
  }

  await admin({ delayMs: 5000 });
  try {
    const pred = await create('/cancel');
    const r = await call('POST', `/v1/predictions/${pred.id}/cancel`);
    assert.equal(r.status, 200);
    assert.equal(r.json.status, 'canceled');
    const d = await until(() => deliveriesTo('/cancel').find((x) => x.json.status === 'canceled'));
    assert.equal(d.verified, 'ok');
  } finally {
    await admin({ delayMs: 300 });
  }

  const stats = (await call('GET', '/admin/stats', { token: null })).json;
  assert.ok(stats.predictions >= 6, JSON.stringify(stats));
  assert.ok(stats.webhooksSent >= 6, JSON.stringify(stats));
  assert.ok(stats.webhooksFailed >= 3, JSON.stringify(stats));
});

test('predictions survive a restart (PROVIDER_STATE), and one in flight still finishes', async () => {
  await admin({ delayMs: 1500 });
  const done = await create('/restart-a', { webhook_events_filter: ['completed'] });
  await until(() => deliveriesTo('/restart-a').length === 1, 5000);
  const inflight = await create('/restart-b', { webhook_events_filter: ['completed'] });
  await sleep(200);
  await stopProvider(provider);
  provider = await startProvider({ PROVIDER_DELAY_MS: '300' });
  const a = await call('GET', `/v1/predictions/${done.id}`);
  assert.equal(a.status, 200);
  assert.equal(a.json.status, 'succeeded');
  const d = await until(() => deliveriesTo('/restart-b').find((x) => x.json.id === inflight.id), 8000);
  assert.equal(d.json.status, 'succeeded');
  assert.equal(d.verified, 'ok');
  // Output URLs carry the new port; the file is served for the old prediction.
  assert.equal((await fetch(`${provider.base}/files/${done.id}.mp4`)).status, 200);
});
