// GET /api/personas and GET /api/personas/{id}/idle-video against the real
// stack: every case of API.md, with PostgreSQL's own counters as the truth.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import {
  api, idleVideo, seed, sql, appQueryCount, resetQueryCount, appConnections, workerPids,
  enginePids, front,
} from './lib.mjs';

let alice, bob;	// 13 personas each, the first 5 with a completed video

before(() => {
  const s = seed(2, 13, 5);
  [alice, bob] = s.users;
  assert.equal(alice.personas.length, 13);
});

test('the list needs a valid session', async () => {
  for (const token of [undefined, 'short', 'x'.repeat(300), 'unknowntokenunknowntokenunknown']) {
    const r = await api('/api/personas', { token });
    assert.equal(r.status, 401, `token ${token}`);
    assert.equal(r.body.error, 'unauthorized');
    assert.equal(typeof r.body.message, 'string');
  }
});

test('the list shows the caller\'s personas in order, with their videos', async () => {
  const r = await api('/api/personas', { token: alice.token });
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /^application\/json/);
  assert.deepEqual(r.body.personas.map((p) => p.id), alice.personas);
  assert.equal(r.body.next, null);
  r.body.personas.forEach((p, i) => {
    if (i < 5) {
      assert.equal(p.idleVideo.status, 'completed');
      assert.equal(p.idleVideo.videoUrl, `/media/idle/${p.id}.mp4`);
    } else {
      assert.deepEqual(p.idleVideo, { status: 'not_started', videoUrl: null });
    }
    assert.match(p.name, /\S/);
  });
  const other = await api('/api/personas', { token: bob.token });
  assert.deepEqual(other.body.personas.map((p) => p.id), bob.personas);
});

test('the list pages with limit and after', async () => {
  const seen = [];
  let after = null;
  for (let page = 0; page < 5; page++) {
    const q = `?limit=5${after ? `&after=${after}` : ''}`;
    const r = await api(`/api/personas${q}`, { token: alice.token });
    assert.equal(r.status, 200);
    seen.push(...r.body.personas.map((p) => p.id));
    after = r.body.next;
    if (!after) break;
    assert.equal(after, r.body.personas.at(-1).id);
  }
  assert.deepEqual(seen, alice.personas);
  // Another user's persona as a cursor reveals nothing.
  const r = await api(`/api/personas?after=${bob.personas[0]}`, { token: alice.token });
  assert.equal(r.status, 200);
  assert.deepEqual(r.body.personas, []);
});

test('the list refuses bad parameters and methods', async () => {
  for (const q of ['limit=0', 'limit=1001', 'limit=abc', 'limit=-1', 'after=nope', 'limit=1&limit=2', 'after=%zz']) {
    const r = await api(`/api/personas?${q}`, { token: alice.token });
    assert.equal(r.status, 400, q);
    assert.equal(r.body.error, 'bad_request');
  }
  const r = await api('/api/personas', { token: alice.token, method: 'DELETE' });
  assert.equal(r.status, 405);
  assert.equal(r.body.error, 'method_not_allowed');
  assert.equal(r.headers.get('allow'), 'GET');
  const nothing = await api('/api/nothing-here', { token: alice.token });
  assert.equal(nothing.status, 404);
  assert.equal(nothing.body.error, 'not_found');
});

test('idle-video: authentication first, for every path', async () => {
  const id = alice.personas[0];
  for (const quick of [false, true]) {
    for (const token of [undefined, 'bad', 'unknowntokenunknowntokenunknown']) {
      const r = await api(idleVideo(id), { token, quick });
      // An unknown but well-formed token may only get the quick check's
      // "unknown", which reveals nothing.
      if (quick && token === 'unknowntokenunknowntokenunknown') {
        assert.equal(r.status, 200);
        assert.deepEqual(r.body, { status: 'unknown', videoUrl: null, jobId: null, source: 'quick-check' });
      } else {
        assert.equal(r.status, 401, `quick=${quick} token=${token}`);
        assert.equal(r.body.error, 'unauthorized');
      }
    }
  }
  const bad = await api(idleVideo('not-a-uuid'), { token: alice.token });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error, 'bad_request');
  const badNoAuth = await api(idleVideo('not-a-uuid'));
  assert.equal(badNoAuth.status, 401);
});

test('idle-video: the four-step path priority', async () => {
  const [done, notStarted] = [alice.personas[0], alice.personas[7]];
  // The database path, whose answer goes into the cache.
  await resetQueryCount();
  const first = await api(idleVideo(notStarted), { token: alice.token });
  assert.equal(first.status, 200);
  assert.deepEqual(first.body, { status: 'not_started', videoUrl: null, jobId: null, source: 'db' });
  assert.equal(await appQueryCount(), 1);
  // The URL cache: no PostgreSQL at all.
  await api(idleVideo(done), { token: alice.token });	// warms it if the list did not
  await resetQueryCount();
  const cached = await api(idleVideo(done), { token: alice.token });
  assert.equal(cached.status, 200);
  assert.deepEqual(cached.body, { status: 'completed', videoUrl: `/media/idle/${done}.mp4`, jobId: null, source: 'cache' });
  // Quick check for what the cache does not know: never PostgreSQL.
  const quick = await api(idleVideo(notStarted), { token: alice.token, quick: true });
  assert.deepEqual(quick.body, { status: 'unknown', videoUrl: null, jobId: null, source: 'quick-check' });
  assert.equal(await appQueryCount(), 0);
});

// An error body but for its request id, which is each request's own.
const sansId = ({ requestId, ...rest }) => rest;

test('idle-video: another user\'s persona is exactly like a missing one', async () => {
  const theirs = bob.personas[0];	// completed, and cached by bob below
  await api('/api/personas', { token: bob.token });
  await api('/api/personas', { token: alice.token });
  for (const quick of [false, true]) {
    // A plain request answers 404 for both; a quick check, which never
    // asks PostgreSQL, answers unknown for both (API.md: no oracle).
    const missing = await api(idleVideo('00000000-0000-4000-8000-000000000000'), { token: alice.token, quick });
    assert.equal(missing.status, quick ? 200 : 404, `quick=${quick}`);
    if (quick) assert.equal(missing.body.status, 'unknown');
    const r = await api(idleVideo(theirs), { token: alice.token, quick });
    assert.equal(r.status, missing.status, `quick=${quick}`);
    assert.deepEqual(sansId(r.body), sansId(missing.body));
    assert.ok(!r.text.includes(theirs));
  }
  const missing = await api(idleVideo('00000000-0000-4000-8000-000000000000'), { token: alice.token });
  // And through PostgreSQL, for a persona the cache does not hold.
  const r = await api(idleVideo(bob.personas[10]), { token: alice.token });
  assert.equal(r.status, 404);
  assert.deepEqual(sansId(r.body), sansId(missing.body));
});

test('idle-video: an expired session is refused, also from the cache', async () => {
  const s = seed(1, 2, 1, ['--expires-in', '2']);
  const u = s.users[0];
  assert.equal((await api('/api/personas', { token: u.token })).status, 200);	// caches the session
  await new Promise((r) => setTimeout(r, 2300));
  await resetQueryCount();
  const quick = await api(idleVideo(u.personas[0]), { token: u.token, quick: true });
  assert.equal(quick.status, 401);
  assert.equal(await appQueryCount(), 0);
  const list = await api('/api/personas', { token: u.token });
  assert.equal(list.status, 401);
});

test('a gallery load makes exactly one PostgreSQL query once the session is cached', async () => {
  const s = seed(1, 13, 5);
  const u = s.users[0];
  await api(idleVideo(u.personas[12]), { token: u.token });	// caches the session only
  await resetQueryCount();
  const [list, ...videos] = await Promise.all([
    api('/api/personas', { token: u.token }),
    ...u.personas.map((id) => api(idleVideo(id), { token: u.token, quick: true })),
  ]);
  assert.equal(list.status, 200);
  assert.equal(list.body.personas.length, 13);
  videos.forEach((r, i) => {
    assert.equal(r.status, 200);
    if (r.body.source === 'cache') {
      assert.equal(i < 5, true);
      assert.equal(r.body.videoUrl, `/media/idle/${u.personas[i]}.mp4`);
    } else {
      assert.deepEqual(r.body, { status: 'unknown', videoUrl: null, jobId: null, source: 'quick-check' });
    }
  });
  assert.equal(await appQueryCount(), 1, 'PostgreSQL saw one statement');
  // Again, now that the list has warmed the URL cache: all five from it.
  await resetQueryCount();
  const again = await Promise.all(u.personas.map((id) => api(idleVideo(id), { token: u.token, quick: true })));
  assert.deepEqual(again.slice(0, 5).map((r) => r.body.source), Array(5).fill('cache'));
  assert.equal(await appQueryCount(), 0);
});

// Plain CGI (FRONT=apache-cgi) keeps no worker, and so no connection,
// between requests: nothing to count.
test('at most one PostgreSQL connection per worker, each named', {
  skip: front() === 'apache-cgi' && 'plain CGI: no worker lives between requests',
}, async () => {
  const s = seed(1, 13, 0);
  const u = s.users[0];
  // Enough parallel database work to touch every worker.
  await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2
    ? api(idleVideo(u.personas[i % 13]), { token: u.token })
    : api('/api/personas', { token: u.token }))));
  const conns = await appConnections();
  assert.ok(conns.length > 0);
  const byName = new Map();
  for (const [, name] of conns) {
    assert.match(name, /^(personas|idle-video|video-complete|engine):\d+$/);
    byName.set(name, (byName.get(name) ?? 0) + 1);
  }
  for (const [name, n] of byName) assert.equal(n, 1, `${name} holds ${n} connections`);
  const live = new Set([...workerPids('personas'), ...workerPids('idle-video'), ...workerPids('video-complete'),
    ...enginePids()]);
  for (const name of byName.keys()) assert.ok(live.has(Number(name.split(':')[1])), `${name} is a live worker`);
  const su = await sql(`SELECT rolsuper FROM pg_roles WHERE rolname = 'app'`);
  assert.equal(su[0][0], 'f', 'the workers connect as an unprivileged role');
});
