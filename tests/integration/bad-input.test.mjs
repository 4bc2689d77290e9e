// Hostile and malformed input, one row per case (issue 9, item 5): the
// request, the status and `error` code that API.md gives it, and nothing
// changed: no new or changed row in PostgreSQL's personas, jobs and
// idle_videos for the test user, nothing new in the outbox's listing
// (video-complete --outbox), no new file in the media or download folders.
// Every request is sent on a raw socket (node's net), so that what fetch
// cannot send (two Authorization headers, bytes that are not UTF-8, a
// Content-Length that lies...) is sent exactly, each with a timeout.
// Where something can happen later (a POST: the engine applies an event
// that should not have been accepted), "nothing changed" is checked once
// every event that reached the outbox meanwhile has been applied, within a
// bound (settle()).
// The output URLs of a success are judged by the engine when it copies:
// those rows expect the job failed and no file kept.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import {
  BASE_URL, VAR_DIR, WEBHOOK_SECRET, PROVIDER_URL, seed, sql, deliver, providerAdmin, until,
  predictionOf, startGeneration, finishedPredictions, videoComplete, withWorkerEnv, scaled,
} from './lib.mjs';

const base = new URL(BASE_URL);
const provider = new URL(PROVIDER_URL);
const RAW_TIMEOUT_MS = scaled(10000);
const SETTLE_MS = 15000;	// until() scales it

// --- requests on a raw socket -------------------------------------------

// Sends one HTTP/1.1 request and reads the first answer. req: method, path
// (sent as is), headers ([[name, value]], values strings or Buffers),
// body (string or Buffer; Content-Length added unless `length` is given,
// or `chunked` is true: then sent in chunks), rawBody (sent as is after
// the head), halfClose (end our side after writing). Resolves { status,
// headers, text, body } (status null: closed without an answer), or fails
// after RAW_TIMEOUT_MS.
function send(req) {
  const head = [`${req.method} ${req.path} HTTP/1.1`, `Host: ${base.host}`, 'Connection: close'];
  const body = req.body === undefined ? null : Buffer.from(req.body);
  const parts = [];
  // Header values are bytes: a string's characters are taken as latin1.
  for (const [k, v] of req.headers ?? []) parts.push(Buffer.from(`${k}: `), Buffer.from(v, 'latin1'), Buffer.from('\r\n'));
  if (req.length !== undefined) head.push(`Content-Length: ${req.length}`);
  else if (req.chunked) head.push('Transfer-Encoding: chunked');
  else if (body !== null) head.push(`Content-Length: ${body.length}`);
  let payload = body ?? Buffer.alloc(0);
  if (req.chunked && req.rawBody === undefined) {
    const chunks = [];
    for (let off = 0; off < payload.length; off += 16384) {
      const c = payload.subarray(off, off + 16384);
      chunks.push(Buffer.from(`${c.length.toString(16)}\r\n`), c, Buffer.from('\r\n'));
    }
    payload = Buffer.concat([...chunks, Buffer.from('0\r\n\r\n')]);
  }
  if (req.rawBody !== undefined) payload = Buffer.from(req.rawBody);
  const data = Buffer.concat([Buffer.from(head.join('\r\n') + '\r\n'), ...parts, Buffer.from('\r\n'), payload]);
  return new Promise((resolve, reject) => {
    const sock = net.connect(Number(base.port), base.hostname);
    const got = [];
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`no answer within ${RAW_TIMEOUT_MS} ms`));
    }, RAW_TIMEOUT_MS);
    const done = (v) => { clearTimeout(timer); sock.destroy(); resolve(v); };
    sock.on('data', (d) => {
      got.push(d);
      const r = parseAnswer(Buffer.concat(got));
      if (r !== null) done(r);
    });
    // A reset after an answer (our unread bytes) still leaves the answer.
    sock.on('error', (e) => {
      const r = parseAnswer(Buffer.concat(got));
      if (r !== null) done(r);
      else if (e.code === 'ECONNRESET' || e.code === 'EPIPE') done({ status: null, headers: {}, text: '', body: null });
      else { clearTimeout(timer); reject(e); }
    });
    sock.on('close', () => done(parseAnswer(Buffer.concat(got)) ?? { status: null, headers: {}, text: '', body: null }));
    sock.write(data, () => { if (req.halfClose) sock.end(); });
  });
}

// The first whole answer in buf, or null.
function parseAnswer(buf) {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return null;
  const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
  const status = Number(lines[0].split(' ')[1]);
  const headers = {};
  for (const l of lines.slice(1)) {
    const i = l.indexOf(':');
    headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
  }
  let rest = buf.subarray(end + 4);
  if (headers['transfer-encoding'] === 'chunked') {
    const out = [];
    for (;;) {
      const nl = rest.indexOf('\r\n');
      if (nl < 0) return null;
      const n = parseInt(rest.subarray(0, nl).toString(), 16);
      if (n === 0) break;
      if (rest.length < nl + 2 + n + 2) return null;
      out.push(rest.subarray(nl + 2, nl + 2 + n));
      rest = rest.subarray(nl + 2 + n + 2);
    }
    rest = Buffer.concat(out);
  } else {
    const len = Number(headers['content-length'] ?? 0);
    if (rest.length < len) return null;
    rest = rest.subarray(0, len);
  }
  const text = rest.toString('utf8');
  let body = null;
  try { body = JSON.parse(text); } catch { /* not JSON */ }
  return { status, headers, text, body };
}

// Standard Webhooks headers for body (a Buffer), signed with the secret
// (over the bytes that send() puts in the headers).
function signed(body, { id = `msg_${randomBytes(8).toString('hex')}`, timestamp } = {}) {
  const ts = timestamp ?? String(Math.floor(Date.now() / 1000));
  const key = Buffer.from(WEBHOOK_SECRET.replace(/^whsec_/, ''), 'base64');
  const sig = createHmac('sha256', key).update(Buffer.concat([Buffer.from(`${id}.${ts}.`, 'latin1'),
    Buffer.from(body)])).digest('base64');
  return [['Content-Type', 'application/json'], ['webhook-id', id], ['webhook-timestamp', ts],
    ['webhook-signature', `v1,${sig}`]];
}

// --- what must not change ------------------------------------------------

let u;		// the test user: personas[0..1] with a video, the rest without
let pending;	// u's job that waits for its prediction (webhook rows name it)

const mediaDirs = [path.join(VAR_DIR, 'media/idle'), path.join(VAR_DIR, 'state/downloads')];
const listDir = (d) => { try { return readdirSync(d).sort(); } catch { return []; } };
// The webhook ids of the outbox's pending and dead events.
const outboxIds = async () => (await videoComplete('--outbox')).split('\n')
  .map((l) => (l.match(/^(?:pending|dead) +(\S+)/) ?? [])[1]).filter(Boolean);

async function snapshot() {
  const [[personas, jobs, videos]] = await sql(`SELECT
    (SELECT count(*) FROM personas WHERE user_id = '${u.id}'),
    (SELECT coalesce(string_agg(j.id || ' ' || j.status || ' ' || coalesce(j.prediction_id, '-'), ', '
      ORDER BY j.id), '') FROM jobs j JOIN personas p ON p.id = j.persona_id WHERE p.user_id = '${u.id}'),
    (SELECT count(*) FROM idle_videos v JOIN personas p ON p.id = v.persona_id WHERE p.user_id = '${u.id}')`);
  // The files of this user's personas: other tests' copies may still be
  // landing (their temporary .dl-* files cannot be told apart, and the
  // output-URL rows check those on their own).
  const mine = (f) => u.personas.some((id) => f.includes(id));
  return { personas, jobs, videos, outbox: await outboxIds(), files: mediaDirs.map((d) => listDir(d).filter(mine)) };
}

// Waits until every event that reached the outbox since the snapshot was
// has left its listing (the engine applied it, so that what it did shows),
// or the bound passes. An event is in the listing before the webhook
// answers 200, so a request that got its answer has left nothing unseen.
async function settle(was) {
  await until(async () => (await outboxIds()).every((id) => was.outbox.includes(id)), SETTLE_MS, 100);
}

// "Nothing changed": the same rows and files, nothing new in the outbox.
async function assertUnchanged(was) {
  const now = await snapshot();
  assert.deepEqual(now.outbox.filter((id) => !was.outbox.includes(id)), [], 'nothing new in the outbox');
  assert.deepEqual({ ...now, outbox: null }, { ...was, outbox: null }, 'nothing changed');
}

// Starts a generation whose prediction does not end by itself.
async function pendingJob(user, persona) {
  await providerAdmin({ dropWebhooks: true, delayMs: 600000, failRate: 0 });
  const r = await startGeneration(user, persona);
  assert.equal(r.status, 202, r.text);
  return { job: r.body.jobId, prediction: await predictionOf(r.body.jobId), persona };
}

before(async () => {
  u = seed(1, 16, 2).users[0];
  pending = await pendingJob(u, u.personas[15]);
  // The folders looked at are the stack's: its seeded videos are there.
  assert.ok(listDir(mediaDirs[0]).includes(`${u.personas[0]}.mp4`), `the media folder is ${mediaDirs[0]}`);
  assert.ok(readdirSync(mediaDirs[1]), `the download folder is ${mediaDirs[1]}`);
});

after(async () => {
  await providerAdmin({ dropWebhooks: false, delayMs: 3000, failRate: 0 });
});

// --- the table -------------------------------------------------------------

const bearer = () => [['Authorization', `Bearer ${u.token}`]];
const T = () => u.personas[2];	// no video, no job: a POST that passes would start one
const V = () => u.personas[0];	// a completed video
const idle = (id) => `/api/personas/${id}/idle-video`;
const nowS = () => Math.floor(Date.now() / 1000);
const failedOf = () => Buffer.from(JSON.stringify({ id: pending.prediction, status: 'failed', output: null,
  error: 'bad input' }));
// A signed webhook that would end the pending job if it were accepted.
const hook = (body, opts) => ({ method: 'POST', path: '/api/video-complete', headers: signed(body, opts), body });
const jsonBody = (text) => Buffer.from(text.replaceAll('PRED', pending.prediction));

// Each row: name; req() the request; status and error expected (status
// null: the connection closes without an answer); allow: the Allow header;
// check(r): more about an accepted answer.
const rows = [
  // Malformed and over-long ids.
  { name: 'id: NUL as %00 in the path', req: () => ({ method: 'GET', path: idle('%00'), headers: bearer() }),
    status: 400, error: 'bad_request' },
  { name: 'id: NUL after a valid id', req: () => ({ method: 'GET', path: idle(`${T()}%00`), headers: bearer() }),
    status: 400, error: 'bad_request' },
  { name: 'id: a raw NUL byte in the path', req: () => ({ method: 'GET', path: `/api/personas/a\0b/idle-video`,
    headers: bearer() }), status: 400, error: 'bad_request' },
  { name: 'id: NUL in POST idle-video', req: () => ({ method: 'POST', path: idle(`${T()}%00`), headers: bearer(),
    body: '' }), status: 400, error: 'bad_request' },
  { name: 'id: NUL in the list\'s after', req: () => ({ method: 'GET', path: '/api/personas?after=%00',
    headers: bearer() }), status: 400, error: 'bad_request' },
  { name: 'id: %2F inside the id', req: () => ({ method: 'GET', path: idle(`${T().slice(0, 8)}%2F${T().slice(9)}`),
    headers: bearer() }), status: 404, error: 'not_found' },
  { name: 'id: %2F inside the id of a POST', req: () => ({ method: 'POST',
    path: idle(`${T().slice(0, 8)}%2F${T().slice(9)}`), headers: bearer(), body: '' }), status: 404, error: 'not_found' },
  { name: 'id: .. as the id', req: () => ({ method: 'GET', path: '/api/personas/../idle-video', headers: bearer() }),
    status: 404, error: 'not_found' },
  { name: 'id: %2E%2E as the id', req: () => ({ method: 'GET', path: '/api/personas/%2E%2E/idle-video',
    headers: bearer() }), status: 404, error: 'not_found' },
  { name: 'id: .. climbing from an id to another', req: () => ({ method: 'POST',
    path: `/api/personas/${V()}/../${T()}/idle-video`, headers: bearer(), body: '' }), status: 404, error: 'not_found' },
  { name: 'id: .. in the list\'s after', req: () => ({ method: 'GET', path: '/api/personas?after=..',
    headers: bearer() }), status: 400, error: 'bad_request' },
  { name: 'id: 3000 characters (GET)', req: () => ({ method: 'GET', path: idle('a'.repeat(3000)), headers: bearer() }),
    status: 400, error: 'bad_request' },
  { name: 'id: 3000 characters (POST)', req: () => ({ method: 'POST', path: idle('a'.repeat(3000)), headers: bearer(),
    body: '' }), status: 400, error: 'bad_request' },
  { name: 'id: 3000 characters in the list\'s after', req: () => ({ method: 'GET',
    path: `/api/personas?after=${'a'.repeat(3000)}`, headers: bearer() }), status: 400, error: 'bad_request' },
  { name: 'id: 3000 characters without a token is 401 first', req: () => ({ method: 'GET', path: idle('a'.repeat(3000)) }),
    status: 401, error: 'unauthorized' },
  { name: 'id: upper-case UUID accepted by GET idle-video, as its lower-case form',
    req: () => ({ method: 'GET', path: idle(V().toUpperCase()), headers: bearer() }), status: 200,
    check: (r) => assert.equal(r.body.videoUrl, `/media/idle/${V()}.mp4`) },
  { name: 'id: upper-case UUID accepted by a quick check, from the cache',
    req: () => ({ method: 'GET', path: idle(V().toUpperCase()), headers: [...bearer(), ['X-Quick-Check', 'true']] }),
    status: 200, check: (r) => assert.deepEqual([r.body.status, r.body.source], ['completed', 'cache']) },
  { name: 'id: upper-case UUID accepted by POST idle-video (its video exists: 200, no job)',
    req: () => ({ method: 'POST', path: idle(V().toUpperCase()), headers: bearer(), body: '' }), status: 200,
    check: (r) => assert.equal(r.body.videoUrl, `/media/idle/${V()}.mp4`) },
  { name: 'id: upper-case UUID accepted by the list\'s after',
    req: () => ({ method: 'GET', path: `/api/personas?limit=1&after=${u.personas[0].toUpperCase()}`,
      headers: bearer() }), status: 200,
    check: (r) => assert.deepEqual(r.body.personas.map((p) => p.id), [u.personas[1]]) },

  // Repeated or odd Authorization.
  { name: 'auth: two Authorization headers', req: () => ({ method: 'GET', path: '/api/personas',
    headers: [...bearer(), ...bearer()] }), status: 401, error: 'unauthorized' },
  { name: 'auth: two Authorization headers on POST idle-video', req: () => ({ method: 'POST', path: idle(T()),
    headers: [...bearer(), ['Authorization', 'Bearer x']], body: '' }), status: 401, error: 'unauthorized' },
  { name: 'auth: Bearer<TAB>token', req: () => ({ method: 'GET', path: '/api/personas',
    headers: [['Authorization', `Bearer\t${u.token}`]] }), status: 401, error: 'unauthorized' },
  { name: 'auth: lower-case bearer accepted (RFC 9110: the scheme is case-insensitive)',
    req: () => ({ method: 'GET', path: '/api/personas', headers: [['Authorization', `bearer ${u.token}`]] }),
    status: 200, check: (r) => assert.equal(r.body.personas.length, 16) },
  { name: 'auth: upper-case BEARER accepted', req: () => ({ method: 'GET', path: idle(V()),
    headers: [['Authorization', `BEARER ${u.token}`]] }), status: 200,
    check: (r) => assert.equal(r.body.status, 'completed') },
  { name: 'auth: lower-case bearer accepted by POST idle-video (its video exists: 200, no job)',
    req: () => ({ method: 'POST', path: idle(V()), headers: [['Authorization', `bearer ${u.token}`]], body: '' }),
    status: 200, check: (r) => assert.equal(r.body.status, 'completed') },
  { name: 'auth: two spaces after the scheme accepted (1*SP)', req: () => ({ method: 'GET', path: '/api/personas',
    headers: [['Authorization', `Bearer  ${u.token}`]] }), status: 200 },
  { name: 'auth: Basic', req: () => ({ method: 'GET', path: '/api/personas',
    headers: [['Authorization', `Basic ${Buffer.from(`${u.id}:${u.token}`).toString('base64')}`]] }),
    status: 401, error: 'unauthorized' },
  { name: 'auth: Basic on POST idle-video', req: () => ({ method: 'POST', path: idle(T()),
    headers: [['Authorization', `Basic ${Buffer.from(`x:${u.token}`).toString('base64')}`]], body: '' }),
    status: 401, error: 'unauthorized' },
  { name: 'auth: the scheme without a token', req: () => ({ method: 'GET', path: '/api/personas',
    headers: [['Authorization', 'Bearer']] }), status: 401, error: 'unauthorized' },
  { name: 'auth: a 5000-character token', req: () => ({ method: 'GET', path: '/api/personas',
    headers: [['Authorization', `Bearer ${'A'.repeat(5000)}`]] }), status: 401, error: 'unauthorized' },
  { name: 'auth: a token with bytes that are not UTF-8', req: () => ({ method: 'GET', path: '/api/personas',
    headers: [['Authorization', Buffer.concat([Buffer.from(`Bearer ${u.token.slice(0, 10)}`),
      Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from(u.token.slice(10))])]] }), status: 401, error: 'unauthorized' },
  { name: 'auth: the valid token followed by bytes that are not UTF-8', req: () => ({ method: 'GET', path: idle(V()),
    headers: [['Authorization', Buffer.concat([Buffer.from(`Bearer ${u.token}`), Buffer.from([0xc3])])]] }),
    status: 401, error: 'unauthorized' },

  // Over-long headers (lighttpd's own answer, 8 KB of header fields).
  { name: 'headers: one 9000-byte header', req: () => ({ method: 'GET', path: '/api/personas',
    headers: [...bearer(), ['X-Padding', 'p'.repeat(9000)]] }), status: 431, error: 'bad_request' },
  { name: 'headers: a 9000-byte Authorization', req: () => ({ method: 'POST', path: idle(T()),
    headers: [['Authorization', `Bearer ${'A'.repeat(9000)}`]], body: '' }), status: 431, error: 'bad_request' },
  { name: 'headers: 200 headers of 60 bytes', req: () => ({ method: 'GET', path: '/api/personas',
    headers: [...bearer(), ...Array.from({ length: 200 }, (_, i) => [`X-H${i}`, 'h'.repeat(60)])] }),
    status: 431, error: 'bad_request' },
  { name: 'headers: a 9000-byte address', req: () => ({ method: 'GET', path: `/api/personas?x=${'x'.repeat(9000)}`,
    headers: bearer() }), status: 431, error: 'bad_request' },

  // Bodies: over the limit, chunked, lengths that lie.
  { name: 'body: 70 KiB with Content-Length', req: () => hook(Buffer.alloc(70 * 1024, 'x')),
    status: 413, error: 'payload_too_large' },
  { name: 'body: 70 KiB chunked, without Content-Length', req: () => ({ ...hook(Buffer.alloc(70 * 1024, 'x')),
    chunked: true }), status: 413, error: 'payload_too_large' },
  { name: 'body: 70 KiB chunked to POST idle-video', req: () => ({ method: 'POST', path: idle(T()), headers: bearer(),
    body: Buffer.alloc(70 * 1024, 'x'), chunked: true }), status: 413, error: 'payload_too_large' },
  { name: 'body: a Content-Length over the limit, no body sent', req: () => ({ method: 'POST', path: idle(T()),
    headers: bearer(), length: 10 * 1024 * 1024 }), status: 413, error: 'payload_too_large' },
  { name: 'body: a malformed chunk size', req: () => ({ ...hook(failedOf()), chunked: true,
    rawBody: 'zz\r\nabc\r\n0\r\n\r\n' }), status: 400, error: 'bad_request' },
  { name: 'body: chunked and Content-Length both', req: () => {
    const h = hook(failedOf());
    return { ...h, headers: [...h.headers, ['Content-Length', '3']], chunked: true };
  }, status: 400, error: 'bad_request' },
  { name: 'body: two different Content-Lengths', req: () => {
    const h = hook(failedOf());
    return { ...h, headers: [...h.headers, ['Content-Length', '4']] };
  }, status: 400, error: 'bad_request' },
  { name: 'body: a Content-Length that is not a number', req: () => ({ ...hook(failedOf()), length: '12abc' }),
    status: 400, error: 'bad_request' },
  { name: 'body: a negative Content-Length', req: () => ({ ...hook(failedOf()), length: '-1' }),
    status: 400, error: 'bad_request' },
  { name: 'body: a Content-Length longer than the body (then our side ends): closed, no answer',
    req: () => ({ ...hook(failedOf()), length: failedOf().length + 100, halfClose: true }), status: null },
  { name: 'body: a Content-Length shorter than the body: the signature no longer matches',
    req: () => ({ ...hook(failedOf()), length: 20 }), status: 401, error: 'unauthorized' },
  { name: 'body: a bodyless POST without Content-Length (curl -X POST) to the webhook',
    req: () => ({ method: 'POST', path: '/api/video-complete', headers: signed(Buffer.alloc(0)) }),
    status: 411, error: 'length_required' },
  { name: 'body: a bodyless POST without Content-Length to idle-video',
    req: () => ({ method: 'POST', path: idle(T()), headers: bearer() }), status: 411, error: 'length_required' },

  // Webhook bodies: JSON as RFC 8259 has it, and nothing else.
  { name: 'json: not JSON', req: () => hook(Buffer.from('this is not json')), status: 400, error: 'bad_request' },
  { name: 'json: cut short', req: () => hook(jsonBody('{"id":"PRED","status":"failed"')), status: 400, error: 'bad_request' },
  { name: 'json: bytes that are not UTF-8 in a string', req: () => hook(Buffer.concat([
    jsonBody('{"id":"PRED","status":"failed","error":"bad '), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from(' bytes"}')])),
    status: 400, error: 'bad_request' },
  { name: 'json: a surrogate\'s bytes (CESU-8) in a string', req: () => hook(Buffer.concat([
    jsonBody('{"id":"PRED","status":"failed","error":"'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('"}')])),
    status: 400, error: 'bad_request' },
  { name: 'json: 10000 nested [', req: () => hook(Buffer.from('['.repeat(10000))), status: 400, error: 'bad_request' },
  { name: 'json: 10000 nested [ ] inside a prediction', req: () => hook(jsonBody(
    `{"id":"PRED","status":"failed","error":${'['.repeat(10000)}${']'.repeat(10000)}}`)), status: 400, error: 'bad_request' },
  { name: 'json: a /* comment */', req: () => hook(jsonBody('{"id":"PRED",/* c */"status":"failed"}')),
    status: 400, error: 'bad_request' },
  { name: 'json: a // comment', req: () => hook(jsonBody('{"id":"PRED", // c\n"status":"failed"}')),
    status: 400, error: 'bad_request' },
  { name: 'json: single-quoted strings', req: () => hook(jsonBody('{"id":\'PRED\',"status":\'failed\'}')),
    status: 400, error: 'bad_request' },
  { name: 'json: single-quoted names', req: () => hook(jsonBody('{\'id\':"PRED",\'status\':"failed"}')),
    status: 400, error: 'bad_request' },
  { name: 'json: NaN', req: () => hook(jsonBody('{"id":"PRED","status":"failed","error":NaN}')),
    status: 400, error: 'bad_request' },
  { name: 'json: Infinity', req: () => hook(jsonBody('{"id":"PRED","status":"failed","error":-Infinity}')),
    status: 400, error: 'bad_request' },
  { name: 'json: a trailing comma', req: () => hook(jsonBody('{"id":"PRED","status":"failed",}')),
    status: 400, error: 'bad_request' },
  { name: 'json: a raw control character in a string', req: () => hook(jsonBody(
    '{"id":"PRED","status":"failed","error":"a\tb"}')), status: 400, error: 'bad_request' },
  { name: 'json: two documents', req: () => hook(jsonBody('{"id":"PRED","status":"failed"}{}')),
    status: 400, error: 'bad_request' },

  // Unknown routes and methods.
  { name: 'route: an unknown /api/ address', req: () => ({ method: 'GET', path: '/api/nothing-here', headers: bearer() }),
    status: 404, error: 'not_found' },
  { name: 'route: /api itself (lighttpd\'s own 404)', req: () => ({ method: 'GET', path: '/api' }),
    status: 404, error: 'not_found' },
  { name: 'route: idle-video without an id', req: () => ({ method: 'POST', path: '/api/personas//idle-video',
    headers: bearer(), body: '' }), status: 404, error: 'not_found' },
  { name: 'route: a POST to an unknown address', req: () => ({ method: 'POST', path: '/api/personas/x/start',
    headers: bearer(), body: '' }), status: 404, error: 'not_found' },
  { name: 'method: DELETE the list', req: () => ({ method: 'DELETE', path: '/api/personas', headers: bearer() }),
    status: 405, error: 'method_not_allowed', allow: 'GET' },
  { name: 'method: POST the list', req: () => ({ method: 'POST', path: '/api/personas', headers: bearer(), body: '' }),
    status: 405, error: 'method_not_allowed', allow: 'GET' },
  { name: 'method: PUT idle-video', req: () => ({ method: 'PUT', path: idle(T()), headers: bearer(), body: '{}' }),
    status: 405, error: 'method_not_allowed', allow: 'GET, POST' },
  { name: 'method: PATCH idle-video', req: () => ({ method: 'PATCH', path: idle(T()), headers: bearer(), body: '{}' }),
    status: 405, error: 'method_not_allowed', allow: 'GET, POST' },
  { name: 'method: GET the webhook', req: () => ({ method: 'GET', path: '/api/video-complete' }),
    status: 405, error: 'method_not_allowed', allow: 'POST' },
  { name: 'method: OPTIONS the webhook', req: () => ({ method: 'OPTIONS', path: '/api/video-complete' }),
    status: 405, error: 'method_not_allowed', allow: 'POST' },
  // A method lighttpd does not know is refused before any route: 501.
  { name: 'method: an unknown method (lighttpd\'s own 501)', req: () => ({ method: 'FROB', path: idle(T()),
    headers: bearer() }), status: 501, error: 'method_not_allowed' },

  // Webhook headers, each correctly signed.
  { name: 'webhook-id: with spaces', req: () => hook(failedOf(), { id: 'msg with spaces' }),
    status: 400, error: 'bad_request' },
  { name: 'webhook-id: a control character', req: () => hook(failedOf(), { id: 'msg_\x01ctl' }),
    status: 400, error: 'bad_request' },
  { name: 'webhook-id: DEL', req: () => hook(failedOf(), { id: 'msg_\x7fdel' }),
    status: 400, error: 'bad_request' },
  { name: 'webhook-id: bytes that are not UTF-8', req: () => hook(failedOf(), { id: 'msg_\xff\xfe' }),
    status: 400, error: 'bad_request' },
  { name: 'webhook-id: 1000 characters', req: () => hook(failedOf(), { id: `msg_${'i'.repeat(996)}` }),
    status: 400, error: 'bad_request' },
  { name: 'webhook-timestamp: a plus sign', req: () => hook(failedOf(), { timestamp: `+${nowS()}` }),
    status: 401, error: 'unauthorized' },
  { name: 'webhook-timestamp: a minus sign', req: () => hook(failedOf(), { timestamp: `-${nowS()}` }),
    status: 401, error: 'unauthorized' },
  { name: 'webhook-timestamp: a leading zero', req: () => hook(failedOf(), { timestamp: `0${nowS()}` }),
    status: 401, error: 'unauthorized' },
  { name: 'webhook-timestamp: a fraction', req: () => hook(failedOf(), { timestamp: `${nowS()}.0` }),
    status: 401, error: 'unauthorized' },
  { name: 'webhook-timestamp: an exponent', req: () => hook(failedOf(), { timestamp: `${nowS() / 1e9}e9` }),
    status: 401, error: 'unauthorized' },
];

for (const row of rows) {
  const what = row.status === null ? 'closed' : `${row.status} ${row.error ?? 'accepted'}`;
  test(`${row.name} → ${what}`, async () => {
    const req = row.req();
    const was = await snapshot();
    const r = await send(req);
    assert.equal(r.status, row.status, `status; body: ${r.text.slice(0, 300)}`);
    if (row.status !== null) {
      assert.match(r.headers['content-type'] ?? '', /^application\/json/, 'the answer is JSON');
      assert.ok(r.body !== null, `a JSON body: ${r.text.slice(0, 300)}`);
    }
    if (row.error !== undefined) {
      assert.equal(r.body.error, row.error);
      assert.equal(typeof r.body.message, 'string');
    }
    if (row.allow !== undefined) assert.equal(r.headers.allow, row.allow);
    if (row.check) row.check(r);
    if (req.method !== 'GET') await settle(was);
    await assertUnchanged(was);
  });
}

// --- output URLs, judged by the engine when it copies ---------------------

// Serves what the provider's media host must never be trusted with, from
// a host:port the workers are told to allow.
function hostileMedia() {
  return http.createServer((req, res) => {
    const pred = (req.url.match(/\/([A-Za-z0-9_-]+)\.mp4$/) ?? [])[1] ?? 'x';
    if (req.url.startsWith('/redirect/')) {
      res.writeHead(302, { location: `http://127.0.0.2:${provider.port}/files/${pred}.mp4` });
      res.end();
    } else if (req.url.startsWith('/empty/')) {
      res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': '0' });
      res.end();
    } else if (req.url.startsWith('/chunked/')) {
      // An MP4's first box, then 2 MiB in all, in chunks: no Content-Length.
      res.writeHead(200, { 'content-type': 'video/mp4' });
      const first = Buffer.alloc(65536);
      Buffer.from('00000018667479706d703432000000006d70343269736f6d', 'hex').copy(first);
      let left = 2 * 1024 * 1024;
      const more = () => {
        while (left > 0) {
          const chunk = left === 2 * 1024 * 1024 ? first : Buffer.alloc(65536);
          left -= chunk.length;
          if (!res.write(chunk)) {
            res.once('drain', more);
            return;
          }
        }
        res.end();
      };
      more();
    } else {
      res.writeHead(404);
      res.end();
    }
  });
}

const jobOf = async (job) => (await sql(`SELECT status, coalesce(error, '') FROM jobs WHERE id = '${job}'`))[0];
const videosOf = async (persona) => Number((await sql(`SELECT count(*) FROM idle_videos
  WHERE persona_id = '${persona}'`))[0][0]);
const filesOf = (persona) => mediaDirs.flatMap(listDir).filter((f) => f.includes(persona) || f.startsWith('.dl-'));

test('output URLs, judged by the engine when it copies', async (t) => {
  const server = hostileMedia();
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const m = `127.0.0.1:${server.address().port}`;
  const pp = provider.port;
  const urls = [
    // name, output URL (PRED: the prediction), what becomes of the job
    ['userinfo that names the provider: http://provider@other/', `http://127.0.0.1:${pp}@127.0.0.2:${pp}/files/PRED.mp4`,
      /userinfo/],
    ['an upper-case scheme to the provider (the same URL, RFC 3986)', `HTTP://127.0.0.1:${pp}/files/PRED.mp4`,
      'copied'],
    ['an upper-case scheme that is not http(s)', 'FILE:///etc/passwd', /not an http\(s\) URL/],
    ['an IPv6-mapped address of the provider', `http://[::ffff:127.0.0.1]:${pp}/files/PRED.mp4`, /is not allowed/],
    ['a redirect to another host', `http://${m}/redirect/PRED.mp4`, /redirects are not followed/],
    ['a 0-byte file', `http://${m}/empty/PRED.mp4`, /an empty file/],
    ['a chunked body over VIDEO_MAX_BYTES', `http://${m}/chunked/PRED.mp4`, /over 1048576 bytes/],
  ];
  let next = 3;	// u.personas[3..]: no video, no job
  try {
    await withWorkerEnv({ PROVIDER_MEDIA_HOSTS: `127.0.0.1:${pp},${m}`, VIDEO_MAX_BYTES: '1048576' }, async () => {
      for (const [name, template, outcome] of urls) {
        await t.test(`output URL: ${name} → ${outcome === 'copied' ? 'copied' : 'job failed, no file'}`, async () => {
          const persona = u.personas[next++];
          let job, prediction;
          if (outcome === 'copied') {
            const [p] = await finishedPredictions(u, [persona]);
            prediction = p.id;
            job = (await sql(`SELECT id FROM jobs WHERE prediction_id = '${p.id}'`))[0][0];
          } else {
            ({ job, prediction } = await pendingJob(u, persona));
          }
          const output = template.replaceAll('PRED', prediction);
          const id = `msg_url_${randomBytes(6).toString('hex')}`;
          const d = await deliver({ id: prediction, status: 'succeeded', output }, { id });
          assert.equal(d.status, 200, 'accepted into the outbox');
          const end = await until(async () => {
            const [st, err] = await jobOf(job);
            return st === 'failed' || st === 'succeeded' ? [st, err] : null;
          }, 20000, 200);
          assert.ok(end, 'the job ended');
          if (outcome === 'copied') {
            assert.equal(end[0], 'succeeded');
            assert.equal(await videosOf(persona), 1);
            assert.deepEqual(filesOf(persona), [`${persona}-${prediction}.mp4`]);
          } else {
            assert.equal(end[0], 'failed');
            assert.match(end[1], outcome);
            assert.equal(await videosOf(persona), 0, 'no video row');
            assert.deepEqual(filesOf(persona), [], 'no file kept, no temporary left');
          }
          assert.ok(!(await outboxIds()).includes(id), 'the event has ended');
        });
      }
    });
  } finally {
    server.close();
    server.closeAllConnections();
  }
});
