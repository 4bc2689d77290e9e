// The persona page (/personas/{id}) in a real browser against the real
// stack: generation through the real C workers, the local provider
// (scripts/provider) and its signed webhook, until the video plays; a
// failed generation and its retry; not found and bad addresses.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BASE_URL, cardStatuses, launch, openPage, providerAvailable, providerConfig, requireStack,
  screenshotPath, seed,
} from './lib.mjs';

let browser;
let user;

before(async () => {
  await requireStack();
  user = seed(1, 3, 0).users[0];
  browser = await launch();
});

after(async () => {
  await browser?.close();
});

const personaUrl = (id, token) => `${BASE_URL}/personas/${id}${token ? `#token=${encodeURIComponent(token)}` : ''}`;

// Records every data-status the persona section takes, in order.
async function recordStatuses(context) {
  await context.addInitScript(() => {
    window.__statuses = [];
    new MutationObserver((mutations) => {
      for (const m of mutations) {
        const el = m.target;
        if (el.dataset && el.dataset.testid === 'persona' && el.dataset.status &&
            window.__statuses[window.__statuses.length - 1] !== el.dataset.status) {
          window.__statuses.push(el.dataset.status);
        }
      }
    }).observe(document, { subtree: true, attributes: true, attributeFilter: ['data-status'] });
  });
}

// Waits until the page's generation ends: 'completed', 'failed', or
// 'error:<kind>:<text>' when starting it was refused.
async function generationOutcome(page, timeout) {
  const handle = await page.waitForFunction(() => {
    const section = document.querySelector('[data-testid="persona"]');
    const status = section && section.dataset.status;
    if (status === 'completed' || status === 'failed') return status;
    const err = document.querySelector('[data-testid="error-message"]');
    const button = document.querySelector('[data-testid="generate-button"]');
    if (err && button && !button.hidden && !button.disabled) {
      return `error:${err.dataset.error}:${err.textContent}`;
    }
    return false;
  }, null, { timeout, polling: 100 });
  return handle.jsonValue();
}

function failOnRefusal(outcome) {
  if (outcome.startsWith('error:not_implemented')) {
    assert.fail('POST /api/personas/{id}/idle-video answered 501 Not Implemented: the server side of generation is not built yet');
  }
  if (outcome.startsWith('error:')) assert.fail(`starting the generation failed: ${outcome}`);
}

async function waitPlaying(page, selector) {
  await page.waitForFunction((sel) => {
    const v = document.querySelector(sel);
    return v && v.readyState >= 2;
  }, selector, { timeout: 20000 });
  const t1 = await page.$eval(selector, (v) => v.currentTime);
  await page.waitForFunction(([sel, t]) => {
    const v = document.querySelector(sel);
    return !v.paused && v.currentTime > t + 0.3;
  }, [selector, t1], { timeout: 10000 });
}

test('generate: starting/processing, then completed, the video plays, and the gallery shows it', async () => {
  const id = user.personas[0];
  const { context, page, record } = await openPage(browser);
  await recordStatuses(context);
  try {
    await page.goto(personaUrl(id, user.token));
    await page.waitForSelector('body[data-loaded="true"]');
    assert.ok(!page.url().includes('token'), 'the token left the address bar');
    assert.equal(await page.locator('[data-testid="persona-name"]').textContent(), 'Persona 1');
    assert.equal(await page.locator('[data-testid="persona"]').getAttribute('data-status'), 'not_started');
    const button = page.locator('[data-testid="generate-button"]');
    assert.equal((await button.textContent()).trim(), 'Generate idle video');

    await button.click();
    const outcome = await generationOutcome(page, 90000);
    failOnRefusal(outcome);
    assert.equal(outcome, 'completed');

    const seen = await page.evaluate(() => window.__statuses);
    assert.equal(seen[0], 'not_started', `statuses: ${seen}`);
    assert.equal(seen[seen.length - 1], 'completed', `statuses: ${seen}`);
    assert.ok(seen.includes('starting') || seen.includes('processing'), `went through starting/processing: ${seen}`);
    assert.ok(seen.every((s) => ['not_started', 'starting', 'processing', 'completed'].includes(s)), `statuses: ${seen}`);

    const video = '[data-testid="persona-video"]';
    await waitPlaying(page, video);
    // Our own copy, not the provider's (short-lived) URL.
    assert.match(await page.$eval(video, (v) => v.currentSrc),
      new RegExp(`^${BASE_URL}/media/idle/[^/]+\\.mp4$`));
    assert.ok(await button.isHidden(), 'no generate button once completed');
    await page.screenshot({ path: screenshotPath('persona-completed.png'), fullPage: true });

    // The gallery, with the token from storage (no #token= this time).
    await page.goto(`${BASE_URL}/video-gallery`);
    await page.waitForSelector('body[data-loaded="true"]');
    const statuses = await cardStatuses(page);
    assert.equal(statuses[id], 'completed');
    await waitPlaying(page, `[data-persona-id="${id}"] [data-testid="persona-video"]`);
    assert.deepEqual(record.pageErrors, []);
  } finally {
    await context.close();
  }
});

test('a failed generation shows a message and a retry button that works', async () => {
  // The stack always runs the local provider: its absence is a failure, never a skip.
  assert.ok(await providerAvailable(), 'the local provider (scripts/provider) answers on PROVIDER_URL');
  const id = user.personas[1];
  const { context, page, record } = await openPage(browser, { viewport: { width: 390, height: 844 }, isMobile: true });
  try {
    await providerConfig({ failRate: 1 });
    await page.goto(personaUrl(id, user.token));
    await page.waitForSelector('body[data-loaded="true"]');
    await page.locator('[data-testid="generate-button"]').click();
    let outcome = await generationOutcome(page, 90000);
    failOnRefusal(outcome);
    assert.equal(outcome, 'failed');
    assert.match(await page.locator('[data-testid="status-text"]').textContent(), /failed/);
    const retry = page.locator('[data-testid="generate-button"]');
    assert.equal((await retry.textContent()).trim(), 'Try again');
    assert.ok(await retry.isVisible());
    await page.screenshot({ path: screenshotPath('persona-failed-phone.png'), fullPage: true });

    await providerConfig({ failRate: 0 });
    await retry.click();
    // The old "failed" stays on screen until the new job is accepted.
    await page.waitForFunction(() => document.querySelector('[data-testid="persona"]')?.dataset.status !== 'failed',
      null, { timeout: 15000, polling: 50 });
    outcome = await generationOutcome(page, 90000);
    failOnRefusal(outcome);
    assert.equal(outcome, 'completed');
    await waitPlaying(page, '[data-testid="persona-video"]');
    assert.deepEqual(record.pageErrors, []);
  } finally {
    await providerConfig({ failRate: 0 }).catch(() => {});
    await context.close();
  }
});

test('the gallery follows a generation in progress without a reload', async () => {
  const other = seed(1, 2, 0).users[0];
  const id = other.personas[1];
  const res = await fetch(`${BASE_URL}/api/personas/${id}/idle-video`, {
    method: 'POST', headers: { authorization: `Bearer ${other.token}`, 'content-type': 'application/json' },
    body: '{}', signal: AbortSignal.timeout(15000),
  });
  if (res.status === 501) assert.fail('POST /api/personas/{id}/idle-video answered 501 Not Implemented');
  assert.equal(res.status, 202, await res.text());
  const { context, page, record } = await openPage(browser);
  try {
    await page.goto(`${BASE_URL}/video-gallery#token=${encodeURIComponent(other.token)}`);
    await page.waitForSelector('body[data-loaded="true"]');
    const card = `[data-testid="persona-card"][data-persona-id="${id}"]`;
    assert.match(await page.locator(card).getAttribute('data-status'), /^(starting|processing|completed)$/);
    await page.evaluate(() => { window.__sameDocument = true; });
    await page.waitForSelector(`${card}[data-status="completed"]`, { timeout: 60000 });
    await waitPlaying(page, `${card} [data-testid="persona-video"]`);
    assert.equal(await page.evaluate(() => window.__sameDocument), true, 'no reload');
    assert.match(await page.locator('[data-testid="summary"]').textContent(), /2 personas · 1 ready/);
    assert.deepEqual(record.pageErrors, []);
  } finally {
    await context.close();
  }
});

test('an unknown persona, another user\'s persona, and an address without a persona id', async () => {
  const stranger = seed(1, 1, 0).users[0];
  const { context, page, record } = await openPage(browser);
  try {
    for (const id of ['00000000-0000-4000-8000-000000000000', stranger.personas[0]]) {
      await page.goto(personaUrl(id, user.token));
      const box = page.locator('[data-testid="error-message"]');
      await box.waitFor();
      assert.equal(await box.getAttribute('data-error'), 'not_found', id);
      assert.equal(await page.locator('[data-testid="generate-button"]').count(), 0);
    }
    await page.goto(`${BASE_URL}/personas/not-a-uuid`);
    const box = page.locator('[data-testid="error-message"]');
    await box.waitFor();
    assert.equal(await box.getAttribute('data-error'), 'bad_address');
    assert.deepEqual(record.pageErrors, []);
  } finally {
    await context.close();
  }
});

test('a bad token on the persona page shows the unauthorized message', async () => {
  const { context, page } = await openPage(browser);
  try {
    await page.goto(personaUrl(user.personas[2], 'not-a-valid-token-at-all'));
    const box = page.locator('[data-testid="error-message"]');
    await box.waitFor();
    assert.equal(await box.getAttribute('data-error'), 'unauthorized');
    assert.match(await box.textContent(), /invalid or has expired/);
  } finally {
    await context.close();
  }
});
