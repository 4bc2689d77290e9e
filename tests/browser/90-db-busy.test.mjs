// With PostgreSQL stopped, a session the cache does not know yet cannot be
// checked: the API answers 503 db_unavailable within its bound, and the
// gallery says so with a retry button; once PostgreSQL is back, Retry loads
// the personas. Runs last: it stops and restarts the stack's PostgreSQL.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { BASE_URL, launch, openPage, requireStack, screenshotPath, seed, stack } from './lib.mjs';

let browser;
let pgStopped = false;

before(async () => {
  await requireStack();
  browser = await launch();
});

after(async () => {
  if (pgStopped) await stack('pg-start').catch(() => {});
  await browser?.close();
});

test('database down: "the database is busy" with a retry button, and Retry works once it is back', async () => {
  const user = seed(1, 3, 1).users[0];
  const { context, page, record } = await openPage(browser);
  try {
    await stack('pg-stop');
    pgStopped = true;
    const t0 = Date.now();
    await page.goto(`${BASE_URL}/video-gallery#token=${encodeURIComponent(user.token)}`);
    const box = page.locator('[data-testid="error-message"]');
    await box.waitFor({ timeout: 20000 });
    assert.equal(await box.getAttribute('data-error'), 'db_unavailable');
    assert.match(await box.textContent(), /database is busy/i);
    assert.ok(Date.now() - t0 < 15000, 'the answer came within the page\'s bound');
    const retry = page.locator('[data-testid="retry-button"]');
    assert.ok(await retry.isVisible());
    await page.screenshot({ path: screenshotPath('gallery-db-busy.png') });

    await stack('pg-start');
    pgStopped = false;
    await retry.click();
    await page.waitForSelector('body[data-loaded="true"]', { timeout: 20000 });
    assert.equal(await page.locator('[data-testid="persona-card"]').count(), 3);
    assert.equal(await page.locator('[data-testid="error-message"]').count(), 0);
    assert.deepEqual(record.pageErrors, []);
  } finally {
    await context.close();
  }
});
