// Shared helpers of the browser tests: the running stack (started by
// tests/t/40-browser.t, or by hand with scripts/stack up), seeding, SQL as
// PostgreSQL's superuser, and Debian's Chromium driven by playwright-core.
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';

const run = promisify(execFile);
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BASE_URL = (process.env.BASE_URL ?? 'http://127.0.0.1:8088').replace(/\/+$/, '');
const dbUrl = new URL(process.env.DATABASE_URL ?? 'postgresql://app@127.0.0.1:15432/app');
export const PG_PORT = dbUrl.port || '5432';
export const PG_HOST = dbUrl.hostname || '127.0.0.1';
// The local provider's admin API (scripts/provider), for tests that change
// its behaviour; the stack starts it on PROVIDER_PORT (8089 by default).
export const PROVIDER_URL = (process.env.PROVIDER_URL ??
  `http://127.0.0.1:${process.env.PROVIDER_PORT ?? '8089'}`).replace(/\/+$/, '');
export const RESULTS = path.join(ROOT, 'test-results');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

// Runs scripts/seed and returns its JSON document.
export function seed(users, personas, videos = 0, extra = []) {
  const out = execFileSync(path.join(ROOT, 'scripts/seed'),
    ['--users', String(users), '--personas', String(personas), '--videos', String(videos), ...extra],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60000 });
  return JSON.parse(out);
}

// The stack's state directory (scripts/stack's VAR_DIR).
const VAR_DIR = process.env.VAR_DIR ?? path.join(ROOT, 'var');

// One SQL statement as the superuser (over the unix socket: the only way
// in for it); rows as arrays of text.
export async function sql(query) {
  const { stdout } = await run('psql', ['-h', path.join(VAR_DIR, 'pg/sock'), '-p', PG_PORT, '-U', 'postgres', '-d', 'app',
    '-XAtq', '-F', '\t', '-v', 'ON_ERROR_STOP=1', '-c', query], { timeout: 20000 });
  return stdout.split('\n').filter((l) => l !== '').map((l) => l.split('\t'));
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

// Puts a persona in a job state directly in PostgreSQL, as if a generation
// had started (starting, processing) or ended (failed).
export async function setJobStatus(personaId, status) {
  if (!UUID.test(personaId)) throw new Error(`not a persona id: ${personaId}`);
  if (!['starting', 'processing', 'failed', 'canceled'].includes(status)) throw new Error(`bad status ${status}`);
  await sql(`INSERT INTO jobs (persona_id, status) VALUES ('${personaId}', '${status}')`);
}

export async function stack(...args) {
  const { stdout } = await run(path.join(ROOT, 'scripts/stack'), args, { env: process.env, timeout: 90000 });
  return stdout;
}

// Fails early, with a clear message, when the stack is not up.
export async function requireStack() {
  try {
    const res = await fetch(`${BASE_URL}/video-gallery.html`, { signal: AbortSignal.timeout(5000) });
    if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
  } catch (e) {
    throw new Error(`the stack does not serve ${BASE_URL}/video-gallery.html (${e.message}): run scripts/stack up`);
  }
}

// The provider's admin API: change its settings (delayMs, failRate, ...).
export async function providerConfig(settings) {
  const res = await fetch(`${PROVIDER_URL}/admin/config`, {
    method: 'POST', body: JSON.stringify(settings), headers: { 'content-type': 'application/json' },
    signal: AbortSignal.timeout(5000),
  });
  if (!res.ok) throw new Error(`provider /admin/config answered ${res.status}: ${await res.text()}`);
  return res.json();
}

export async function providerAvailable() {
  try {
    const res = await fetch(`${PROVIDER_URL}/health`, { signal: AbortSignal.timeout(2000) });
    return res.ok;
  } catch {
    return false;
  }
}

// Headless Debian Chromium. Playwright gives every launch a new, empty
// profile directory of its own (its --user-data-dir), removed on close.
export async function launch() {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    timeout: 60000,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

// A page in a fresh context (its own storage), recording uncaught errors,
// console errors and the API requests it makes.
export async function openPage(browser, options = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, ...options });
  const page = await context.newPage();
  page.setDefaultTimeout(15000);
  const record = { pageErrors: [], consoleErrors: [], apiRequests: [] };
  page.on('pageerror', (e) => record.pageErrors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') record.consoleErrors.push(m.text()); });
  page.on('request', (r) => {
    const u = new URL(r.url());
    if (u.pathname.startsWith('/api/')) record.apiRequests.push(`${r.method()} ${u.pathname}${u.search}`);
  });
  return { context, page, record };
}

export function screenshotPath(name) {
  mkdirSync(RESULTS, { recursive: true });
  return path.join(RESULTS, name);
}

// The data-status of every persona card, by persona id.
export async function cardStatuses(page) {
  return page.$$eval('[data-testid="persona-card"]', (cards) =>
    Object.fromEntries(cards.map((c) => [c.dataset.personaId, c.dataset.status])));
}

export const sleep = (ms) => new Promise((r) => { setTimeout(r, ms); });
