// /personas/{id}: one persona's idle video; a button starts generation,
// then the page polls the status (with backoff, for a bounded time) until
// the video is completed (it plays) or failed (message and retry).
import {
  ACTIVE, ApiError, api, badge, errorBox, h, idleVideo, normalStatus, safeMediaUrl, spinner,
  takeTokenFromUrl, watchTokenLinks, wireSignOut, sleep,
} from '/app.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const POLL_FIRST_MS = 1000;
const POLL_FACTOR = 1.5;
const POLL_MAX_MS = 5000;
const POLL_FOR_MS = 3 * 60 * 1000;
const NAME_PAGES = 20;	// pages of 1000 searched for the persona's name

const content = document.getElementById('content');
const state = { id: null, name: null, status: 'unknown', videoUrl: null, jobId: null };
const ui = {};
let pollRun = 0;	// bumps to stop a running poll loop

const STATUS_TEXT = {
  completed: 'The idle video is ready.',
  starting: 'Starting the generation…',
  processing: 'Generating the video… this usually takes a few seconds.',
  failed: 'The last generation failed.',
  not_started: 'This persona has no idle video yet.',
  unknown: 'The status of the video is not known yet.',
};

function personaIdFromPath() {
  const m = /^\/personas\/([^/]+)\/?$/.exec(location.pathname);
  if (!m) return null;
  try {
    const id = decodeURIComponent(m[1]);
    return UUID.test(id) ? id.toLowerCase() : null;
  } catch {
    return null;
  }
}

const idleVideoPath = () => `/api/personas/${encodeURIComponent(state.id)}/idle-video`;

// The persona's name from the list API (the contract has no single-persona
// endpoint); null when it cannot be found.
async function findName(id) {
  let after = null;
  for (let page = 0; page < NAME_PAGES; page++) {
    const query = new URLSearchParams({ limit: '1000' });
    if (after) query.set('after', after);
    const { data } = await api(`/api/personas?${query}`);
    const list = Array.isArray(data.personas) ? data.personas : [];
    const found = list.find((p) => p && p.id === id);
    if (found) return typeof found.name === 'string' && found.name !== '' ? found.name : null;
    if (typeof data.next !== 'string' || data.next === '' || data.next === after || list.length === 0) return null;
    after = data.next;
  }
  return null;
}

function showPageError(err, onRetry) {
  pollRun++;
  content.setAttribute('aria-busy', 'false');
  const box = errorBox(err, { onRetry });
  if (!(err instanceof ApiError) || err.status === 404 || err.code === 'no_token' || err.status === 401) {
    const actions = box.querySelector('.actions') || box.appendChild(h('div', { class: 'actions' }));
    actions.append(h('a', { class: 'button secondary', href: '/video-gallery' }, 'All personas'));
  }
  content.replaceChildren(box);
}

function buildView() {
  ui.section = h('section', { class: 'persona', 'aria-labelledby': 'persona-name', dataset: { testid: 'persona' } });
  ui.media = h('div', { class: 'media', dataset: { testid: 'persona-media' } });
  ui.name = h('h1', { id: 'persona-name', dataset: { testid: 'persona-name' } });
  ui.badgeSlot = h('div', { class: 'status-line' });
  ui.statusText = h('p', { class: 'status-text', dataset: { testid: 'status-text' }, 'aria-live': 'polite' });
  ui.button = h('button', { type: 'button', class: 'button', dataset: { testid: 'generate-button' }, onclick: generate });
  ui.checkButton = h('button', { type: 'button', class: 'button secondary', hidden: true,
    dataset: { testid: 'check-button' }, onclick: () => poll() }, 'Check again');
  ui.error = h('div', { class: 'error-slot' });
  ui.section.append(ui.media, h('div', { class: 'persona-info' },
    ui.name,
    h('p', { class: 'persona-id' }, `ID ${state.id}`),
    ui.badgeSlot, ui.statusText,
    h('div', { class: 'actions' }, ui.button, ui.checkButton),
    ui.error,
    h('p', { class: 'hint' }, 'An idle video is a short silent loop shown while the persona is waiting.')));
  content.replaceChildren(ui.section);
  content.setAttribute('aria-busy', 'false');
}

function setName(name) {
  state.name = name;
  ui.name.textContent = name || 'Unnamed persona';
  document.title = `${name || 'Persona'} · Idle videos`;
}

function renderMedia() {
  const status = state.status;
  const url = safeMediaUrl(state.videoUrl);
  const current = ui.media.querySelector('video');
  if (status === 'completed' && url) {
    if (current && current.src === url) return;
    ui.media.replaceChildren(idleVideo(url, { label: `Idle video of ${state.name || 'this persona'}` }));
    return;
  }
  let placeholder;
  if (ACTIVE.has(status)) {
    placeholder = h('div', { class: 'placeholder' }, spinner(status === 'starting' ? 'Starting' : 'Generating'),
      h('span', {}, status === 'starting' ? 'Starting…' : 'Generating…'));
  } else if (status === 'failed') {
    placeholder = h('div', { class: 'placeholder failed' }, h('span', { class: 'icon', 'aria-hidden': 'true' }, '!'),
      h('span', {}, 'Generation failed'));
  } else if (status === 'completed') {
    placeholder = h('div', { class: 'placeholder failed' }, h('span', { class: 'icon', 'aria-hidden': 'true' }, '!'),
      h('span', {}, 'The video address is not valid'));
  } else {
    placeholder = h('div', { class: 'placeholder' }, h('span', { class: 'icon', 'aria-hidden': 'true' }, '+'),
      h('span', {}, 'No idle video yet'));
  }
  ui.media.replaceChildren(placeholder);
}

// Shows a status answer: { status, videoUrl, jobId }.
function apply(answer) {
  const status = normalStatus(answer.status);
  const changed = status !== state.status;
  state.status = status;
  if ('videoUrl' in answer) state.videoUrl = answer.videoUrl;
  if ('jobId' in answer) state.jobId = answer.jobId;
  ui.section.dataset.status = status;
  ui.badgeSlot.replaceChildren(badge(status));
  if (changed || !ui.statusText.textContent) ui.statusText.textContent = STATUS_TEXT[status];
  renderMedia();
  const canStart = status === 'not_started' || status === 'failed' || status === 'unknown';
  ui.button.hidden = !canStart;
  ui.button.textContent = status === 'failed' ? 'Try again' : 'Generate idle video';
  if (!ACTIVE.has(status)) ui.checkButton.hidden = true;
}

function setBusy(busy) {
  ui.button.disabled = busy;
  ui.button.setAttribute('aria-busy', String(busy));
  if (busy) ui.button.replaceChildren(spinner('Sending'), 'Starting…');
}

async function generate() {
  ui.error.replaceChildren();
  setBusy(true);
  try {
    const { data } = await api(idleVideoPath(), { method: 'POST', body: {} });
    setBusy(false);
    apply({ status: data.status, videoUrl: data.videoUrl ?? null, jobId: data.jobId ?? null });
    if (ACTIVE.has(state.status)) poll();
  } catch (e) {
    setBusy(false);
    apply({ status: state.status });
    ui.error.replaceChildren(errorBox(e, { compact: true, onRetry: generate }));
  }
}

// Polls GET idle-video until the status is final, with backoff (1 s, x1.5,
// at most 5 s) and an overall bound; transient errors do not stop it.
async function poll() {
  const run = ++pollRun;
  const deadline = Date.now() + POLL_FOR_MS;
  let delay = POLL_FIRST_MS;
  ui.checkButton.hidden = true;
  ui.error.replaceChildren();
  for (;;) {
    await sleep(delay);
    if (run !== pollRun) return;
    try {
      const { data } = await api(idleVideoPath());
      if (run !== pollRun) return;
      ui.error.replaceChildren();
      apply(data);
      if (!ACTIVE.has(state.status)) return;
    } catch (e) {
      if (run !== pollRun) return;
      const fatal = e instanceof ApiError && (e.status === 401 || e.status === 404 || e.code === 'no_token');
      ui.error.replaceChildren(errorBox(e, { compact: true }));
      if (fatal) return;
      const note = h('p', {}, 'Still checking…');
      ui.error.firstChild.append(note);
    }
    if (Date.now() + delay > deadline) {
      ui.statusText.textContent = 'This is taking longer than expected. You can check again, or come back later.';
      ui.checkButton.hidden = false;
      return;
    }
    delay = Math.min(POLL_MAX_MS, delay * POLL_FACTOR);
  }
}

async function load() {
  content.setAttribute('aria-busy', 'true');
  content.replaceChildren(h('p', { class: 'loading' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), 'Loading…'));
  const [nameResult, videoResult] = await Promise.allSettled([findName(state.id), api(idleVideoPath())]);
  if (videoResult.status === 'rejected') {
    showPageError(videoResult.reason, () => load());
    return;
  }
  buildView();
  setName(nameResult.status === 'fulfilled' && nameResult.value ? nameResult.value : null);
  if (!state.name) {
    ui.name.textContent = 'Persona';
    ui.name.append(h('span', { class: 'visually-hidden' }, ` ${state.id}`));
  }
  state.status = null;
  apply(videoResult.value.data);
  document.body.dataset.loaded = 'true';
  if (ACTIVE.has(state.status)) poll();
}

takeTokenFromUrl();
wireSignOut();
watchTokenLinks(() => location.reload());
state.id = personaIdFromPath();
if (!state.id) {
  content.setAttribute('aria-busy', 'false');
  content.replaceChildren(h('div', { class: 'notice info', role: 'alert', dataset: { testid: 'error-message', error: 'bad_address' } },
    h('h2', {}, 'No persona in this address'),
    h('p', {}, 'Open a persona from the gallery.'),
    h('div', { class: 'actions' }, h('a', { class: 'button', href: '/video-gallery' }, 'All personas'))));
} else {
  load();
}
