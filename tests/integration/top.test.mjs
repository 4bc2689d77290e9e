// scripts/top, the live view (issue 11, item 7): its parsing of the
// exposition and its quantile math on fixed texts (known buckets, known
// p50 and p99), then the script itself against the stack under load
// (requests/s of the idle-video route > 0 and within what the load really
// sent during its interval), and against addresses where nothing answers
// well: a refused connection, a server that never answers, a 401 (--once
// exits 1 with the reason; the live view keeps going, no escape codes on a
// pipe, 130 on Ctrl-C).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import http from 'node:http';
import path from 'node:path';
import { ROOT, BASE_URL, api, idleVideo, seed, scaled } from './lib.mjs';
import { parse, histogramQuantile, summarize } from '../../scripts/lib/metrics-text.mjs';

const TOP = path.join(ROOT, 'scripts/top');
// Its bound on a scrape of the stack, 2 s, grows with the workers' slowness.
const STACK_TIMEOUT = ['--timeout', String(scaled(2000) / 1000)];
const VIDEO = '/api/personas/{id}/idle-video';

// ------------------------------------------------------- pure functions ---

// One route's histogram, cumulative counts for the bounds of lib/metrics.c.
const LES = ['0.0005', '0.001', '0.0025', '0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '2.5', '5', '10', '+Inf'];
function histogram(route, cum) {
  return LES.map((le, i) => `fpl_request_duration_seconds_bucket{route="${route}",le="${le}"} ${cum[i]}`).join('\n') +
    `\nfpl_request_duration_seconds_sum{route="${route}"} 0.5\nfpl_request_duration_seconds_count{route="${route}"} ${cum.at(-1)}\n`;
}
// Increases over the interval, per bucket (not cumulative): 20 observations
// up to 1 ms, 100 in (1, 2.5] ms, 60 in (2.5, 5], 16 in (5, 10], 4 in
// (10, 25] ms. Cumulative: 20 120 180 196 200 of 200.
//   p50: rank 100, bucket (1, 2.5] ms holds ranks 21..120: 1 + 1.5 * 80/100 = 2.2 ms
//   p99: rank 198, bucket (10, 25] ms holds ranks 197..200: 10 + 15 * 2/4 = 17.5 ms
const PREV_CUM = [2, 5, 5, 7, 7, 7, 7, 7, 7, 7, 7, 8, 8, 8, 8];
const D_CUM = [0, 20, 120, 180, 196, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200];
const CUR_CUM = PREV_CUM.map((n, i) => n + D_CUM[i]);

const PREV = `# HELP fpl_requests_total Requests answered, by route, status and answer source.
# TYPE fpl_requests_total counter
fpl_requests_total{route="${VIDEO}",status="200",source="cache"} 100
fpl_requests_total{route="${VIDEO}",status="404",source="db"} 4
fpl_requests_total{route="/api/metrics",status="200",source="-"} 7
# TYPE fpl_request_duration_seconds histogram
${histogram(VIDEO, PREV_CUM)}${histogram('/api/metrics', LES.map(() => 7))}
fpl_pg_queries_total{statement="idle_video_get",process="worker"} 10
fpl_pg_connects_total{process="worker"} 3
fpl_pg_connects_total{process="engine"} 1
fpl_pg_connections 3
fpl_cache_hits_total 100
fpl_cache_misses_total 4
fpl_quick_checks_total 0
fpl_outbox_pending 2
fpl_outbox_dead 1
fpl_workers{exe="personas"} 2
fpl_workers{exe="idle-video"} 3
`;
// Two seconds later: idle-video 150 more from the cache, 6 more 404s and 44
// 200s from PostgreSQL (a series new since PREV); the metrics route 2 more.
const CUR = `fpl_requests_total{route="${VIDEO}",status="200",source="cache"} 250
fpl_requests_total{route="${VIDEO}",status="404",source="db"} 10
fpl_requests_total{route="${VIDEO}",status="200",source="db"} 44
fpl_requests_total{route="/api/metrics",status="200",source="-"} 9
${histogram(VIDEO, CUR_CUM)}${histogram('/api/metrics', LES.map(() => 9))}
fpl_pg_queries_total{statement="idle_video_get",process="worker"} 60
fpl_pg_queries_total{statement="jobs_sweep",process="engine"} 20
fpl_pg_connects_total{process="worker"} 4
fpl_pg_connects_total{process="engine"} 2
fpl_pg_connect_failures_total{reason="too_many_clients",process="worker"} 4
fpl_pg_connections 5
fpl_cache_hits_total 250
fpl_cache_misses_total 54
fpl_quick_checks_total 0
fpl_outbox_pending 0
fpl_outbox_dead 1
fpl_workers{exe="personas"} 2
fpl_workers{exe="idle-video"} 3
`;

const near = (a, b, what) => assert.ok(a !== null && Math.abs(a - b) < 1e-9, `${what}: ${a}, expected ${b}`);

test('top: parse reads samples, labels with escapes, special values, and refuses what is not a sample', () => {
  const s = parse('# HELP x A help text, {with} "quotes".\n# TYPE x counter\n\n' +
    'x{a="b",c="q\\"uo\\\\te\\n"} 12 1700000000000\n' +
    'y_bucket{le="+Inf"} +Inf\ny 1.5e3\nz{} -Inf\nw NaN\nv{a="x,y",} 3\n');
  assert.equal(s.length, 6);
  assert.deepEqual(s[0], { name: 'x', labels: { a: 'b', c: 'q"uo\\te\n' }, value: 12 });
  assert.deepEqual(s[1], { name: 'y_bucket', labels: { le: '+Inf' }, value: Infinity });
  assert.equal(s[2].value, 1500);
  assert.deepEqual(s[3].labels, {});
  assert.equal(s[3].value, -Infinity);
  assert.ok(Number.isNaN(s[4].value));
  assert.deepEqual(s[5].labels, { a: 'x,y' });
  assert.equal(parse(PREV).filter((x) => x.name === 'fpl_request_duration_seconds_bucket').length, 30);
  for (const bad of ['x 12 apples', 'x{a="b" 1', 'x{a=b} 1', '<html>', 'x{a="b"}', 'x one']) {
    assert.throws(() => parse(`# ok\nfine 1\n${bad}\n`), /line 3 is not a sample/, bad);
  }
});

test('top: histogramQuantile interpolates as histogram_quantile does', () => {
  const b = (cum) => LES.map((le, i) => ({ le: le === '+Inf' ? Infinity : Number(le), count: cum[i] }));
  near(histogramQuantile(0.5, b(D_CUM)), 0.0022, 'p50');
  near(histogramQuantile(0.99, b(D_CUM)), 0.0175, 'p99');
  near(histogramQuantile(1, b(D_CUM)), 0.025, 'p100: the top of the highest bucket with observations');
  // Bucket order does not matter.
  near(histogramQuantile(0.5, b(D_CUM).reverse()), 0.0022, 'p50 of reversed buckets');
  // The lowest bucket starts at 0: 10 observations up to 1 ms, p50 = 0.5 ms.
  near(histogramQuantile(0.5, [{ le: 0.001, count: 10 }, { le: Infinity, count: 10 }]), 0.0005, 'lowest bucket');
  // A rank in +Inf: the highest finite bound.
  near(histogramQuantile(0.99, [{ le: 0.001, count: 0 }, { le: 10, count: 1 }, { le: Infinity, count: 10 }]), 10, '+Inf');
  // Not monotonic (a scrape across a worker's adds): made so.
  // 2 2 8 8 after the fix: rank 4 is the 2nd of 6 in (2, 4] ms (as read, 3rd of 7).
  near(histogramQuantile(0.5, [{ le: 0.001, count: 2 }, { le: 0.002, count: 1 }, { le: 0.004, count: 8 }, { le: Infinity, count: 8 }]),
    0.002 + 0.002 * (2 / 6), 'non-monotonic');
  assert.equal(histogramQuantile(0.5, b(LES.map(() => 0))), null, 'no observations');
  assert.equal(histogramQuantile(0.5, [{ le: 0.001, count: 1 }, { le: 0.01, count: 2 }]), null, 'no +Inf bucket');
  assert.equal(histogramQuantile(0.5, []), null);
});

test('top: summarize, rates and quantiles over the interval between two scrapes', () => {
  const prev = { t: 10000, samples: parse(PREV) };
  const cur = { t: 12000, samples: parse(CUR) };
  const s = summarize(prev, cur);
  assert.equal(s.dt, 2);
  near(s.requests.rate, 101, 'all requests/s ((150 + 6 + 44 + 2) / 2)');
  near(s.requests.non2xx, 6 / 202, 'non-2xx share');
  assert.equal(s.requests.total, 313);
  assert.deepEqual(s.routes.map((r) => r.route), ['/api/metrics', VIDEO]);
  const v = s.routes[1];
  near(v.rate, 100, 'idle-video requests/s');
  near(v.non2xx, 0.03, 'idle-video non-2xx');
  near(v.p50, 0.0022, 'idle-video p50 from the bucket increases');
  near(v.p99, 0.0175, 'idle-video p99 from the bucket increases');
  assert.equal(v.total, 304);
  near(s.routes[0].rate, 1, 'metrics requests/s');
  near(s.routes[0].p50, 0.00025, 'metrics p50: 2 observations in the lowest bucket');
  const src = Object.fromEntries(s.sources.map((x) => [x.source, x]));
  near(src.cache.rate, 75, 'cache source');
  near(src.cache.non2xx, 0, 'cache source non-2xx');
  near(src.db.rate, 25, 'db source');
  near(src.db.non2xx, 6 / 50, 'db source non-2xx');
  assert.equal(s.pg.connections, 5);
  near(s.pg.queriesRate, 35, 'queries/s');
  near(s.pg.connectsRate, 1, 'connects/s');
  near(s.pg.failuresRate, 2, 'connect failures/s');
  assert.deepEqual(s.pg.failureReasons, [{ reason: 'too_many_clients', total: 4, rate: 2 }]);
  assert.deepEqual(s.pg.statements, [{ statement: 'idle_video_get', rate: 25 }, { statement: 'jobs_sweep', rate: 10 }]);
  near(s.cache.hitRate, 0.75, 'hit rate: 150 hits, 50 misses');
  near(s.cache.hitsRate, 75, 'hits/s');
  assert.deepEqual(s.outbox, { pending: 0, dead: 1 });
  assert.deepEqual(s.workers, [{ exe: 'personas', n: 2 }, { exe: 'idle-video', n: 3 }]);

  // The first frame: gauges and totals, no rates, no quantiles.
  const f = summarize(null, cur);
  assert.equal(f.dt, null);
  assert.equal(f.requests.rate, null);
  assert.equal(f.routes[1].rate, null);
  assert.equal(f.routes[1].p50, null);
  assert.equal(f.pg.queriesRate, null);
  assert.equal(f.cache.hitRate, null);
  assert.equal(f.pg.connections, 5);
  near(f.requests.non2xx, 10 / 313, 'first frame: the non-2xx share over all time');

  // Counters made anew between the scrapes (a reset): the value now is the
  // increase, never a negative rate; a histogram likewise.
  const reset = summarize(cur, { t: 13000, samples: parse(PREV) });
  near(reset.cache.hitsRate, 100, 'hits after a reset');
  near(reset.routes[1].rate, 104, 'requests after a reset');
  near(reset.routes[1].p50, histogramQuantile(0.5, LES.map((le, i) => ({ le: le === '+Inf' ? Infinity : Number(le), count: PREV_CUM[i] }))),
    'p50 after a reset');
  assert.ok(reset.pg.queriesRate >= 0 && reset.requests.rate >= 0);
});

// ------------------------------------------------------- the script ---

// The frames of the live view's output (each begins with its title line).
const framesOf = (out) => out.split(/\n(?=fpl top )/).filter((f) => f.trim() !== '');

// Runs scripts/top with args; resolves { code, signal, stdout, stderr, ms }.
// opts.stopAfterMs: send SIGINT then (the live view).
function top(args, { stopAfterMs = null, timeoutMs = 20000 } = {}) {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const env = { ...process.env };
    delete env.METRICS_TOKEN;
    const child = spawn(process.execPath, [TOP, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => { stdout += c; });
    child.stderr.on('data', (c) => { stderr += c; });
    // The last resort comes after the Ctrl-C (under memcheck the stop is scaled).
    const kill = setTimeout(() => child.kill('SIGKILL'), Math.max(scaled(timeoutMs), (stopAfterMs ?? 0) + 5000));
    const stop = stopAfterMs === null ? null : setTimeout(() => child.kill('SIGINT'), stopAfterMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(kill);
      clearTimeout(stop);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - t0 });
    });
  });
}

// A loopback port where nothing listens (taken, then given back).
async function freePort() {
  const srv = createServer();
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address();
  await new Promise((r) => srv.close(r));
  return port;
}

// A local HTTP server that answers with handler; closed by the test.
async function server(handler) {
  const sockets = new Set();
  const srv = http.createServer(handler);
  srv.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${srv.address().port}`,
    close: () => { for (const s of sockets) s.destroy(); return new Promise((r) => srv.close(r)); },
  };
}

test('top --once under load: requests/s of the route > 0 and within what was sent, PostgreSQL\'s line', async () => {
  // 2 personas with a cached video, 2 without (each of those a query).
  const { users: [u] } = seed(1, 4, 2);
  const stamps = [];
  let running = true;
  let sent = 0;
  const worker = async (i) => {
    while (running || sent < 300) {
      const id = u.personas[(sent++ + i) % u.personas.length];
      const r = await api(idleVideo(id), { token: u.token });
      assert.equal(r.status, 200, r.text);
      stamps.push(performance.now());
    }
  };
  let failure = null;
  const load = Promise.all([0, 1, 2, 3].map(worker));
  load.catch((e) => { failure = e; running = false; });
  // Let the load reach its pace, then watch it.
  while (stamps.length < 50 && failure === null) await new Promise((r) => setTimeout(r, 20));
  if (failure) throw failure;
  const t0 = performance.now();
  const r = await top(['--once', '--interval', '1', '--url', BASE_URL, ...STACK_TIMEOUT]);
  const t1 = performance.now();
  running = false;
  await load;
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  assert.doesNotMatch(r.stdout, /\x1b/, 'no escape codes from --once');
  console.log(r.stdout);

  const dt = Number(r.stdout.match(/^rates over the last (\d+\.\d+) s$/m)?.[1]);
  assert.ok(dt >= 0.9 && dt < scaled(4), `the interval: ${dt} s`);
  const m = r.stdout.match(/^ {2}\/api\/personas\/\{id\}\/idle-video +(\d+\.\d+|\d+) +(\d+\.\d %|-) +(\S+ m?s|-) +(\S+ m?s|-) +(\d+)$/m);
  assert.ok(m, 'a row for the idle-video route');
  const rate = Number(m[1]);
  // What the load completed while top ran: top's interval lies inside it
  // (a request counted by a worker is complete at the client a moment later:
  // at most one per load worker in flight).
  const during = stamps.filter((t) => t >= t0 && t <= t1).length;
  assert.ok(rate > 0, `requests/s ${rate}`);
  assert.ok(rate * dt <= during + 4 + 1, `${rate}/s over ${dt} s against ${during} requests completed while top ran`);
  const pace = during / ((t1 - t0) / 1000);
  assert.ok(rate >= pace * 0.2, `${rate}/s against the load's ${pace.toFixed(1)}/s while top ran`);
  assert.equal(m[2], '0.0 %', 'every answer 200');
  assert.notEqual(m[3], '-', 'a p50');
  assert.notEqual(m[4], '-', 'a p99');
  assert.match(r.stdout, /^POSTGRESQL {2}connections \d+ open {3}queries \d+\.\d\/s {3}connects \d+\.\d\/s/m);
  assert.match(r.stdout, /^ {2}cache +\d+\.\d +\d/m, 'the cache source');
  assert.match(r.stdout, /^CACHE {7}hit rate \d+\.\d %/m);
  assert.match(r.stdout, /^OUTBOX {6}pending \d+ {3}dead \d+/m);
  assert.match(r.stdout, /^WORKERS {5}personas \d+ {3}idle-video [1-9]/m);
  const cached = Number(r.stdout.match(/^ {2}cache +(\d+\.\d)/m)[1]);
  assert.ok(cached > 0, 'cached answers per second');
  assert.ok(r.stdout.split('\n').every((l) => l.length <= 100), 'fits 100 columns');
  assert.ok(r.stdout.trimEnd().split('\n').length <= 30, 'fits 30 lines');
});

test('top --once: exits 1 with the reason where nothing listens, nothing answers, or a token is wanted', async () => {
  const port = await freePort();
  const refused = await top(['--once', '--url', `http://127.0.0.1:${port}`]);
  assert.equal(refused.code, 1);
  assert.equal(refused.stdout, '');
  assert.match(refused.stderr, new RegExp(`^top: cannot read the metrics at http://127\\.0\\.0\\.1:${port}/api/metrics: connection refused`));

  const silent = await server(() => { /* never answers */ });
  try {
    const hung = await top(['--once', '--url', silent.url]);
    assert.equal(hung.code, 1);
    assert.match(hung.stderr, /cannot read the metrics at .*: no answer within 2 s/);
    assert.ok(hung.ms < 5000, `bounded: ${hung.ms} ms`);
  } finally { await silent.close(); }

  const locked = await server((req, res) => {
    res.writeHead(req.headers.authorization === 'Bearer sesame' ? 200 : 401, { 'content-type': 'application/json' });
    res.end(req.headers.authorization === 'Bearer sesame' ? 'fpl_pg_connections 7\n'
      : '{"error":"unauthorized","message":"Send the metrics token."}');
  });
  try {
    const no = await top(['--once', '--interval', '0.2', '--url', locked.url]);
    assert.equal(no.code, 1);
    assert.match(no.stderr, /HTTP 401: Send the metrics token\. Give the token: --token, or METRICS_TOKEN/);
    const yes = await top(['--once', '--interval', '0.2', '--url', locked.url, '--token', 'sesame']);
    assert.equal(yes.code, 0, yes.stderr);
    assert.match(yes.stdout, /^POSTGRESQL {2}connections 7 open/m);
  } finally { await locked.close(); }

  const bad = await top(['--once', '--interval', 'soon']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--interval must be seconds/);
});

test('top, the live view on a pipe: frames one after another without escape codes, going on past failures; 130 on Ctrl-C', async () => {
  const port = await freePort();
  const refused = await top(['--interval', '0.3', '--url', `http://127.0.0.1:${port}`], { stopAfterMs: 1500 });
  assert.equal(refused.code, 130, refused.stderr);
  assert.doesNotMatch(refused.stdout, /\x1b/);
  const frames = framesOf(refused.stdout);
  assert.ok(frames.length >= 3, `frames: ${frames.length}`);
  assert.ok(frames.every((f) => /^!! connection refused/m.test(f)), refused.stdout);

  const silent = await server(() => { /* never answers */ });
  try {
    const hung = await top(['--interval', '0.5', '--url', silent.url], { stopAfterMs: 5000 });
    assert.equal(hung.code, 130);
    assert.match(hung.stdout, /^!! no answer within 2 s; trying again every 0\.5 s$/m);
  } finally { await silent.close(); }

  // Against the stack: the first frame waits for a second sample, the next have rates.
  const live = await top(['--interval', '0.5', '--url', BASE_URL, ...STACK_TIMEOUT], { stopAfterMs: scaled(2500) });
  assert.equal(live.code, 130, live.stderr);
  const f = framesOf(live.stdout);
  assert.ok(f.length >= 3, `frames: ${f.length}`);
  assert.match(f[0], /^rates: waiting for a second sample$/m);
  assert.match(f[0], /^REQUESTS {4}waiting for a second sample/m);
  assert.match(f[1], /^rates over the last 0\.\d\d s$/m);
  assert.match(f[1], /^ {2}\/api\/metrics +\d+\.\d/m, 'its own scrapes');
});
