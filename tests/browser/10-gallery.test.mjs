// The gallery page (/video-gallery) in a real browser against the real
// stack: statuses of 13 personas, videos that actually load, the token's
// way from the address into storage, error and empty states, and a phone.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BASE_URL, cardStatuses, launch, openPage, requireStack, screenshotPath, seed, setJobStatus, sql,
} from './lib.mjs';

let browser;
let user;
const expected = {};	// persona id -> status the page must show

before(async () => {
  await requireStack();
  // 13 personas, the first 5 with a completed video; then one in each other
  // state, set directly in PostgreSQL.
  user = seed(1, 13, 5).users[0];
  const ids = user.personas;
  assert.equal(ids.length, 13);
  ids.forEach((id, i) => { expected[id] = i < 5 ? 'completed' : 'not_started'; });
  await setJobStatus(ids[5], 'starting');
  expected[ids[5]] = 'starting';
  await setJobStatus(ids[6], 'processing');
  expected[ids[6]] = 'processing';
  await setJobStatus(ids[7], 'failed');
  expected[ids[7]] = 'failed';
  browser = await launch();
});

after(async () => {
  await browser?.close();
});

const gallery = (token) => `${BASE_URL}/video-gallery#token=${encodeURIComponent(token)}`;

test('the gallery shows 13 personas with their statuses, and 5 videos that load and play', async () => {
  const { context, page, record } = await openPage(browser);
  try {
    await page.goto(gallery(user.token));
    await page.waitForSelector('body[data-loaded="true"]');
    const cards = page.locator('[data-testid="persona-card"]');
    assert.equal(await cards.count(), 13);
    assert.deepEqual(await cardStatuses(page), expected);

    // One request loaded the whole list.
    const lists = record.apiRequests.filter((r) => r.startsWith('GET /api/personas'));
    assert.deepEqual(lists, ['GET /api/personas?limit=1000']);

    // Names in creation order; each badge agrees with its card.
    const names = await page.$$eval('[data-testid="persona-name"]', (els) => els.map((e) => e.textContent));
    assert.deepEqual(names, Array.from({ length: 13 }, (_, i) => `Persona ${i + 1}`));
    const badges = await page.$$eval('[data-testid="persona-card"]', (cs) => cs.map((c) =>
      [c.dataset.status, c.querySelector('[data-testid="status-badge"]').dataset.status]));
    for (const [card, badge] of badges) assert.equal(badge, card);

    // The token left the address bar and went into storage.
    assert.ok(!page.url().includes('token'), `token still in the address: ${page.url()}`);
    const stored = await page.evaluate(() => Object.keys(localStorage).map((k) => localStorage.getItem(k)));
    assert.deepEqual(stored, [user.token]);

    // The 5 completed videos really load (readyState >= HAVE_CURRENT_DATA) and play.
    await page.waitForFunction(() => {
      const vs = [...document.querySelectorAll('[data-testid="persona-video"]')];
      return vs.length === 5 && vs.every((v) => v.readyState >= 2);
    }, null, { timeout: 20000 });
    const videos = await page.$$eval('[data-testid="persona-video"]', (vs) => vs.map((v) => ({
      status: v.closest('[data-testid="persona-card"]').dataset.status,
      src: v.currentSrc, muted: v.muted, loop: v.loop, playsInline: v.playsInline, autoplay: v.autoplay,
    })));
    for (const v of videos) {
      assert.equal(v.status, 'completed');
      assert.match(v.src, new RegExp(`^${BASE_URL}/media/idle/[0-9a-f-]{36}\\.mp4$`));
      assert.ok(v.muted && v.loop && v.playsInline && v.autoplay, JSON.stringify(v));
    }
    await page.waitForFunction(() => [...document.querySelectorAll('[data-testid="persona-video"]')]
      .every((v) => !v.paused && v.currentTime > 0.3), null, { timeout: 10000 });

    // The other states are explained, with a way to the persona page.
    for (const [id, status] of Object.entries(expected)) {
      const card = page.locator(`[data-testid="persona-card"][data-persona-id="${id}"]`);
      if (status === 'starting' || status === 'processing') {
        assert.equal(await card.locator('.spinner').count(), 1, `${status} card has a spinner`);
      } else if (status === 'failed' || status === 'not_started') {
        assert.equal(await card.locator('[data-testid="persona-link"]').getAttribute('href'), `/personas/${id}`);
      }
      assert.equal(await card.locator('[data-testid="persona-name"]').getAttribute('href'), `/personas/${id}`);
    }
    assert.match(await page.locator('[data-testid="summary"]').textContent(), /13 personas · 5 ready · 2 in progress · 1 failed/);

    await page.screenshot({ path: screenshotPath('gallery-desktop.png'), fullPage: true });
    assert.deepEqual(record.pageErrors, []);
    assert.deepEqual(record.consoleErrors, []);
  } finally {
    await context.close();
  }
});

test('a bad or expired token shows the unauthorized message', async () => {
  const expired = seed(1, 2, 0, ['--expires-in', '0']).users[0].token;
  for (const [label, token] of [['bad', 'not-a-valid-token-at-all'], ['expired', expired]]) {
    const { context, page, record } = await openPage(browser);
    try {
      await page.goto(gallery(token));
      const box = page.locator('[data-testid="error-message"]');
      await box.waitFor();
      assert.equal(await box.getAttribute('data-error'), 'unauthorized', label);
      assert.match(await box.textContent(), /invalid or has expired/, label);
      assert.equal(await page.locator('[data-testid="retry-button"]').count(), 0, `${label}: no retry for a bad token`);
      assert.equal(await page.locator('[data-testid="persona-card"]').count(), 0, label);
      if (label === 'bad') await page.screenshot({ path: screenshotPath('gallery-unauthorized.png') });
      assert.deepEqual(record.pageErrors, [], label);
    } finally {
      await context.close();
    }
  }
  // No token at all: says how to sign in, and asks the server nothing.
  const { context, page, record } = await openPage(browser);
  try {
    await page.goto(`${BASE_URL}/video-gallery`);
    const box = page.locator('[data-testid="error-message"]');
    await box.waitFor();
    assert.equal(await box.getAttribute('data-error'), 'no_token');
    assert.deepEqual(record.apiRequests, []);
  } finally {
    await context.close();
  }
});

test('an empty account shows the empty state; names are shown as text, never as markup', async () => {
  const empty = seed(1, 0, 0).users[0];
  const other = seed(1, 1, 0).users[0];
  const nasty = '<img src=x onerror="window.__pwned=1"> & <b>bold</b> "Ünïcödé" 🎬';
  await sql(`UPDATE personas SET name = '${nasty.replaceAll("'", "''")}' WHERE id = '${other.personas[0]}'`);
  const { context, page, record } = await openPage(browser);
  try {
    await page.goto(gallery(empty.token));
    await page.locator('[data-testid="empty-state"]').waitFor();
    assert.equal(await page.locator('[data-testid="persona-card"]').count(), 0);

    await page.evaluate(() => localStorage.clear());
    await page.goto(gallery(other.token));
    await page.waitForSelector('body[data-loaded="true"]');
    assert.equal(await page.locator('[data-testid="persona-name"]').textContent(), nasty);
    assert.equal(await page.locator('[data-testid="persona-card"] img, [data-testid="persona-card"] b').count(), 0);
    assert.equal(await page.evaluate(() => window.__pwned), undefined);
    assert.deepEqual(record.pageErrors, []);
  } finally {
    await context.close();
  }
});

test('on a phone (390x844, dark) the gallery fits the screen without horizontal scrolling', async () => {
  const { context, page, record } = await openPage(browser, {
    viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true, colorScheme: 'dark',
  });
  try {
    await page.goto(gallery(user.token));
    await page.waitForSelector('body[data-loaded="true"]');
    assert.equal(await page.locator('[data-testid="persona-card"]').count(), 13);
    await page.waitForFunction(() => [...document.querySelectorAll('[data-testid="persona-video"]')]
      .filter((v) => v.readyState >= 2).length >= 4, null, { timeout: 20000 });
    const layout = await page.evaluate(() => ({
      inner: window.innerWidth,
      scroll: document.documentElement.scrollWidth,
      body: document.body.scrollWidth,
      widest: Math.max(...[...document.querySelectorAll('body *')].map((e) => e.getBoundingClientRect().right)),
      columns: new Set([...document.querySelectorAll('[data-testid="persona-card"]')]
        .map((c) => Math.round(c.getBoundingClientRect().left))).size,
    }));
    assert.equal(layout.inner, 390);
    assert.ok(layout.scroll <= layout.inner, `page is ${layout.scroll}px wide on a ${layout.inner}px screen`);
    assert.ok(layout.body <= layout.inner, `body is ${layout.body}px wide`);
    assert.ok(layout.widest <= layout.inner + 0.5, `an element reaches ${layout.widest}px`);
    assert.equal(layout.columns, 2, 'two columns of cards on a phone');
    await page.screenshot({ path: screenshotPath('gallery-phone.png'), fullPage: true });
    assert.deepEqual(record.pageErrors, []);
  } finally {
    await context.close();
  }
});
