// GET /api/metrics: the host's counters agree with the requests answered
// and with PostgreSQL's own count of the app role's statements
// (pg_stat_statements), also when workers are killed by -9 under load.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { api, seed, idleVideo, sql, workerPids, resetQueryCount, appQueryCount, sleep } from './lib.mjs';

// The sums of the exposition's series: { name: total }, and the lines.
async function scrape() {
  const r = await api('/api/metrics');
  assert.equal(r.status, 200, r.text);
  assert.match(r.headers.get('content-type'), /^text\/plain; version=0\.0\.4/);
  const sums = {};
  for (const line of r.text.split('\n')) {
    const m = line.match(/^([a-z_]+)(\{.*\})? (\d+(\.\d+)?)$/);
    if (!m) continue;
    const key = m[1] + (m[1] === 'fpl_pg_queries_total' && /process="engine"/.test(m[2] ?? '') ? ':engine' : '');
    sums[key] = (sums[key] ?? 0) + Number(m[3]);
  }
  return { sums, text: r.text };
}

const within = (a, b, pct, what) =>
  assert.ok(Math.abs(a - b) <= Math.max(1, (b * pct) / 100), `${what}: ${a} against ${b}`);

test('metrics: only for loopback here, and in the exposition format', async () => {
  const { text } = await scrape();
  for (const name of ['fpl_requests_total', 'fpl_request_duration_seconds', 'fpl_pg_queries_total',
    'fpl_pg_connects_total', 'fpl_pg_connect_failures_total', 'fpl_pg_connections', 'fpl_cache_hits_total',
    'fpl_cache_misses_total', 'fpl_quick_checks_total', 'fpl_outbox_pending', 'fpl_outbox_dead',
    'fpl_provider_calls_total', 'fpl_downloads_total', 'fpl_workers']) {
    assert.match(text, new RegExp(`^# TYPE ${name} `, 'm'), name);
  }
  assert.match(text, /^fpl_workers\{exe="personas"\} [1-9]/m);
  const post = await api('/api/metrics', { method: 'POST', body: '' });
  assert.equal(post.status, 405);
});

test('metrics agree with the answers and with pg_stat_statements, workers killed by -9 meanwhile', async () => {
  const { users } = seed(4, 13, 5);
  const before = await scrape();
  await resetQueryCount();
  let answered = 0, fromFront = 0, killed = 0;
  const one = async (p, opts) => {
    try {
      const r = await api(p, opts);
      if (r.headers.get('x-request-id')) answered++; else fromFront++;
    } catch { fromFront++; }
  };
  const load = async (u, round) => {
    await one('/api/personas', { token: u.token });
    for (const id of u.personas) await one(idleVideo(id), { token: u.token, quick: round % 2 === 1 });
    await one('/api/nothing');
  };
  const rounds = [];
  for (let round = 0; round < 6; round++) {
    rounds.push(...users.map((u) => load(u, round)));
    if (round === 2 || round === 4) {
      // Kill a worker of each set in the middle of the load.
      await sleep(20);
      for (const exe of ['personas', 'idle-video']) {
        const [pid] = workerPids(exe);
        if (pid) { process.kill(Number(pid), 'SIGKILL'); killed++; }
      }
    }
  }
  await Promise.all(rounds);
  await sleep(300);
  const after = await scrape();
  const pg = await appQueryCount();
  assert.ok(killed >= 2, 'workers were killed');
  // The first scrape counted itself once it had answered.
  within(after.sums.fpl_requests_total - before.sums.fpl_requests_total, answered + 1, 1, 'requests');
  within(after.sums.fpl_pg_queries_total - before.sums.fpl_pg_queries_total, pg, 1, 'statements');
  assert.ok(pg > 0, 'PostgreSQL saw the load');
  assert.ok(after.sums.fpl_cache_hits_total > before.sums.fpl_cache_hits_total);
  assert.ok(after.sums.fpl_quick_checks_total > before.sums.fpl_quick_checks_total);
  // What is open now, as PostgreSQL sees it, within the live workers' own view.
  const open = Number((await sql(`SELECT count(*) FROM pg_stat_activity WHERE usename = 'app'`))[0][0]);
  assert.ok(Math.abs(after.sums.fpl_pg_connections - open) <= 1, `connections ${after.sums.fpl_pg_connections} against ${open}`);
  console.log(`# answered ${answered}, by the front end ${fromFront}, killed ${killed}, statements ${pg}`);
});
