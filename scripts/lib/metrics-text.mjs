// scripts/lib/metrics-text.mjs: reading GET /api/metrics (the Prometheus
// text exposition format, version 0.0.4) and what scripts/top computes from
// two scrapes of it: counter rates, the share of answers that were not 2xx,
// and quantiles of the duration histograms over the interval between the
// scrapes. Pure functions, no I/O: tests/integration/top.test.mjs tests
// them on fixed texts.
//
//   parse(text)                -> [{ name, labels: {k: v}, value }]; throws
//                                 on a line that is neither a comment nor a
//                                 sample (with its line number)
//   histogramQuantile(q, buckets)  buckets [{ le, count }] (cumulative, in
//                                 any order, +Inf among them) -> the q-th
//                                 quantile, as Prometheus' histogram_quantile
//                                 computes it; null when there is nothing
//   summarize(prev, cur)       prev, cur: { t (ms), samples } -> what one
//                                 frame of scripts/top shows (see below);
//                                 prev null: the first frame, gauges and
//                                 totals only

// One sample line: name, optional {labels}, value, optional timestamp.
const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?[ \t]+(\S+)(?:[ \t]+-?\d+)?$/;
const LABEL = /\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*(,|$)/y;

// A sample's value: a decimal or one of the special values of the format.
function parseValue(s) {
  if (s === '+Inf' || s === 'Inf') return Infinity;
  if (s === '-Inf') return -Infinity;
  if (s === 'NaN') return NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(s)) return undefined;
  return Number(s);
}

const unescape = (v) => v.replace(/\\(.)/g, (_, c) => (c === 'n' ? '\n' : c));

// The labels between the braces of a sample ("{a="x",b="y"}"), or null
// when they are malformed.
function parseLabels(braces) {
  const labels = {};
  const body = braces.slice(1, -1);
  LABEL.lastIndex = 0;
  while (LABEL.lastIndex < body.length) {
    const at = LABEL.lastIndex;
    const m = LABEL.exec(body);
    if (!m || m.index !== at) return body.slice(at).trim() === '' ? labels : null;
    labels[m[1]] = unescape(m[2]);
    if (m[3] === '') break;
  }
  return labels;
}

export function parse(text) {
  const samples = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = line.match(SAMPLE);
    const labels = m ? (m[2] ? parseLabels(m[2]) : {}) : null;
    const value = m ? parseValue(m[3]) : undefined;
    if (!m || labels === null || value === undefined) {
      throw new Error(`line ${i + 1} is not a sample: ${JSON.stringify(line.slice(0, 80))}`);
    }
    samples.push({ name: m[1], labels, value });
  }
  return samples;
}

// A series' identity: its name and its labels, sorted.
const seriesKey = (s) => s.name + JSON.stringify(Object.entries(s.labels).sort(([a], [b]) => (a < b ? -1 : 1)));

// The q-th quantile (0 <= q <= 1) of a histogram's cumulative buckets, as
// Prometheus' histogram_quantile: the bucket that holds the rank, then
// linear interpolation inside it (the lowest bucket starts at 0 when its
// bound is positive); a rank in the +Inf bucket answers the highest finite
// bound. Buckets that decrease (a scrape taken across a worker's adds) are
// made monotonic, as Prometheus does. null: no observations, or no +Inf.
export function histogramQuantile(q, buckets) {
  if (Number.isNaN(q)) return null;
  if (q < 0) return -Infinity;
  if (q > 1) return Infinity;
  const b = [...buckets].sort((x, y) => x.le - y.le);
  if (b.length < 2 || b[b.length - 1].le !== Infinity) return null;
  let max = 0;
  const cum = b.map(({ le, count }) => ({ le, count: (max = Math.max(max, count)) }));
  const total = cum[cum.length - 1].count;
  if (!(total > 0)) return null;
  let rank = q * total;
  let i = cum.findIndex((x) => x.count >= rank);
  if (i === cum.length - 1) return cum[cum.length - 2].le;
  if (i === 0 && cum[0].le <= 0) return cum[0].le;
  let start = 0;
  let count = cum[i].count;
  if (i > 0) {
    start = cum[i - 1].le;
    count -= cum[i - 1].count;
    rank -= cum[i - 1].count;
  }
  // Every bucket below i is empty (rank 0 with q 0): the bucket's start.
  if (count === 0) return start;
  return start + (cum[i].le - start) * (rank / count);
}

// The increase of every counter series between two scrapes: Map key ->
// { name, labels, delta }. A series whose value went down was reset (the
// counters were made anew): its increase is its value now, as Prometheus'
// rate() takes it. A series new in cur increased from 0 (the service
// leaves zero series out).
function increases(prev, cur) {
  const before = new Map(prev.map((s) => [seriesKey(s), s.value]));
  const out = new Map();
  for (const s of cur) {
    const was = before.get(seriesKey(s)) ?? 0;
    out.set(seriesKey(s), { name: s.name, labels: s.labels, delta: s.value >= was ? s.value - was : s.value });
  }
  return out;
}

// Sums of the series named name, grouped by the value of label (or all
// together when label is null); values are a sample's value or delta.
function sumBy(series, name, label, field = 'value') {
  const out = new Map();
  for (const s of series) {
    if (s.name !== name) continue;
    const k = label === null ? '' : (s.labels[label] ?? '');
    out.set(k, (out.get(k) ?? 0) + s[field]);
  }
  return out;
}

const total = (series, name, field = 'value') => sumBy(series, name, null, field).get('') ?? null;
const byName = (a, b) => (a === 'other' ? 1 : b === 'other' ? -1 : a < b ? -1 : a > b ? 1 : 0);
const non2xx = (status) => !/^2\d\d$/.test(status);

// Per route, the histogram buckets' increases between two scrapes: Map
// route -> [{ le, count }]. A route whose count went down was reset: its
// buckets now are its increase.
function bucketIncreases(prev, cur, name) {
  const count = (samples) => sumBy(samples, `${name}_count`, 'route');
  const [before, now] = [count(prev), count(cur)];
  const reset = new Set([...now].filter(([r, n]) => n < (before.get(r) ?? 0)).map(([r]) => r));
  const was = new Map(prev.filter((s) => s.name === `${name}_bucket`).map((s) => [seriesKey(s), s.value]));
  const out = new Map();
  for (const s of cur) {
    if (s.name !== `${name}_bucket`) continue;
    const route = s.labels.route ?? '';
    const le = parseValue(s.labels.le ?? '');
    if (le === undefined || Number.isNaN(le)) continue;
    const delta = reset.has(route) ? s.value : s.value - (was.get(seriesKey(s)) ?? 0);
    if (!out.has(route)) out.set(route, []);
    out.get(route).push({ le, count: Math.max(delta, 0) });
  }
  return out;
}

// What one frame shows. prev null (one scrape so far): rates are null.
//   dt              seconds between the scrapes (null on the first frame)
//   requests        { total, rate, non2xx (share 0..1 or null) }
//   routes          [{ route, total, rate, non2xx, p50, p99 (seconds) }]
//   sources         [{ source, total, rate, non2xx }]
//   pg              { connections, queries, queriesRate, connects,
//                     connectsRate, failures, failuresRate,
//                     failureReasons [{ reason, total, rate }],
//                     statements [{ statement, rate }] (busiest first) }
//   cache           { hits, misses, hitRate (0..1 over the interval, null
//                     without lookups), hitsRate, missesRate,
//                     quickChecksRate }
//   outbox          { pending, dead } (null: the service could not read it)
//   provider        { callsRate, downloadsRate, calls, downloads }
//   workers         [{ exe, n }]
// Totals are the counters' values now; rates are per second.
export function summarize(prev, cur) {
  const S = cur.samples;
  const dt = prev ? (cur.t - prev.t) / 1000 : null;
  const inc = prev && dt > 0 ? [...increases(prev.samples, S).values()] : null;
  const rate = (n) => (inc === null ? null : n / dt);
  const share = (bad, all) => (all > 0 ? bad / all : null);

  // Requests by route and by source, with their non-2xx share over the
  // interval (over all time on the first frame).
  const groups = (label) => {
    const keys = new Set(S.filter((s) => s.name === 'fpl_requests_total').map((s) => s.labels[label] ?? ''));
    return [...keys].sort(byName).map((k) => {
      const mine = (list) => list.filter((s) => s.name === 'fpl_requests_total' && (s.labels[label] ?? '') === k);
      const now = mine(S);
      const all = now.reduce((a, s) => a + s.value, 0);
      const d = inc === null ? null : mine(inc);
      const dAll = d === null ? null : d.reduce((a, s) => a + s.delta, 0);
      const bad = d === null ? now.filter((s) => non2xx(s.labels.status)).reduce((a, s) => a + s.value, 0)
        : d.filter((s) => non2xx(s.labels.status)).reduce((a, s) => a + s.delta, 0);
      return { key: k, total: all, rate: rate(dAll), non2xx: share(bad, d === null ? all : dAll) };
    });
  };
  const hist = prev ? bucketIncreases(prev.samples, S, 'fpl_request_duration_seconds') : new Map();
  const routes = groups('route').map(({ key, ...g }) => {
    const b = hist.get(key);
    return { route: key, ...g, p50: b ? histogramQuantile(0.5, b) : null, p99: b ? histogramQuantile(0.99, b) : null };
  });
  const sources = groups('source').map(({ key, ...g }) => ({ source: key, ...g }));
  const reqTotal = total(S, 'fpl_requests_total') ?? 0;
  const reqDelta = inc && total(inc, 'fpl_requests_total', 'delta');
  const badNow = S.filter((s) => s.name === 'fpl_requests_total' && non2xx(s.labels.status))
    .reduce((a, s) => a + s.value, 0);
  const badDelta = inc && inc.filter((s) => s.name === 'fpl_requests_total' && non2xx(s.labels.status))
    .reduce((a, s) => a + s.delta, 0);

  const d = (name) => (inc === null ? null : total(inc, name, 'delta') ?? 0);
  const failureReasons = [...sumBy(S, 'fpl_pg_connect_failures_total', 'reason')].sort(([a], [b]) => byName(a, b))
    .map(([reason, n]) => ({ reason, total: n,
      rate: inc === null ? null : rate(sumBy(inc, 'fpl_pg_connect_failures_total', 'reason', 'delta').get(reason) ?? 0) }));
  const statements = inc === null ? [] : [...sumBy(inc, 'fpl_pg_queries_total', 'statement', 'delta')]
    .filter(([, n]) => n > 0).sort(([a, x], [b, y]) => y - x || byName(a, b))
    .map(([statement, n]) => ({ statement, rate: rate(n) }));
  const hits = d('fpl_cache_hits_total');
  const misses = d('fpl_cache_misses_total');
  const gauge = (name) => total(S, name);

  return {
    dt,
    requests: { total: reqTotal, rate: rate(reqDelta ?? 0), non2xx: inc ? share(badDelta, reqDelta) : share(badNow, reqTotal) },
    routes,
    sources,
    pg: {
      connections: gauge('fpl_pg_connections'),
      queries: total(S, 'fpl_pg_queries_total') ?? 0,
      queriesRate: rate(d('fpl_pg_queries_total')),
      connects: total(S, 'fpl_pg_connects_total') ?? 0,
      connectsRate: rate(d('fpl_pg_connects_total')),
      failures: total(S, 'fpl_pg_connect_failures_total') ?? 0,
      failuresRate: rate(d('fpl_pg_connect_failures_total')),
      failureReasons,
      statements,
    },
    cache: {
      hits: total(S, 'fpl_cache_hits_total'),
      misses: total(S, 'fpl_cache_misses_total'),
      hitRate: inc === null ? null : share(hits, hits + misses),
      hitsRate: rate(hits),
      missesRate: rate(misses),
      quickChecksRate: rate(d('fpl_quick_checks_total')),
    },
    outbox: { pending: gauge('fpl_outbox_pending'), dead: gauge('fpl_outbox_dead') },
    provider: {
      calls: total(S, 'fpl_provider_calls_total') ?? 0,
      callsRate: rate(d('fpl_provider_calls_total')),
      downloads: total(S, 'fpl_downloads_total') ?? 0,
      downloadsRate: rate(d('fpl_downloads_total')),
    },
    workers: [...sumBy(S, 'fpl_workers', 'exe')].map(([exe, n]) => ({ exe, n })),
  };
}
