// GET /api/health: ok with everything up; degraded (200, not a 5xx) while
// PostgreSQL is down; ok again once it is back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { api, stack, until, scaled } from './lib.mjs';

test('health: ok, then degraded with PostgreSQL stopped, then ok again', async () => {
  const ok = await api('/api/health');
  assert.equal(ok.status, 200, ok.text);
  assert.equal(ok.body.status, 'ok');
  assert.equal(ok.body.cache, 'ok');
  assert.equal(ok.body.postgres, 'ok');
  assert.ok(Number.isInteger(ok.body.outbox.pending) && Number.isInteger(ok.body.outbox.dead), ok.text);
  assert.match(ok.headers.get('x-request-id') ?? '', /^[A-Za-z0-9._-]+$/);
  const post = await api('/api/health', { method: 'POST', body: '' });
  assert.equal(post.status, 405);
  await stack('pg-stop');
  try {
    const down = await api('/api/health');
    assert.equal(down.status, 200, down.text);
    assert.equal(down.body.status, 'degraded');
    assert.equal(down.body.cache, 'ok');
    assert.notEqual(down.body.postgres, 'ok');
    assert.ok(down.ms < scaled(5000), `answered in ${down.ms} ms`);
  } finally {
    await stack('pg-start');
  }
  const back = await until(async () => { const r = await api('/api/health'); return r.body?.status === 'ok' ? r : null; },
    scaled(20000), 200);
  assert.ok(back, 'ok again once PostgreSQL is back');
});
