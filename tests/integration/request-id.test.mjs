// Request ids: a well-formed X-Request-Id is kept, anything else replaced
// by one of ours; the id is in the answer's X-Request-Id, in an error's
// body ("requestId") and in every log line the worker writes about it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { VAR_DIR, api, seed, idleVideo, until } from './lib.mjs';

const logLines = (set, id) => readFileSync(path.join(VAR_DIR, 'log', `${set}.log`), 'utf8')
  .split('\n').filter((l) => l.endsWith(` req=${id}`));

test('a given X-Request-Id is in the header, the error body and the log line', async () => {
  const id = `t.${randomBytes(6).toString('hex')}_A-z`;
  const r = await api('/api/personas', { headers: { 'x-request-id': id } });
  assert.equal(r.status, 401);
  assert.equal(r.headers.get('x-request-id'), id);
  assert.equal(r.body.requestId, id);
  const lines = await until(() => { const l = logLines('personas', id); return l.length ? l : null; }, 5000);
  assert.ok(lines, 'a log line of the request names it');
  assert.match(lines[0], /access route="GET \/api\/personas" status=401 .* req=/);
});

test('a malformed X-Request-Id is replaced, and every answer has one', async () => {
  const { users: [u] } = seed(1, 1, 1);
  for (const bad of ['x'.repeat(65), 'has space', 'semi;colon', '']) {
    const r = await api(idleVideo(u.personas[0]), { token: u.token, headers: { 'x-request-id': bad } });
    assert.equal(r.status, 200);
    const got = r.headers.get('x-request-id');
    assert.match(got, /^[A-Za-z0-9._-]{1,64}$/);
    assert.notEqual(got, bad);
  }
  const a = await api('/api/nothing');
  const b = await api('/api/nothing');
  assert.equal(a.status, 404);
  assert.equal(a.body.requestId, a.headers.get('x-request-id'));
  assert.notEqual(a.headers.get('x-request-id'), b.headers.get('x-request-id'));
});
