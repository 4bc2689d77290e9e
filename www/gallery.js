// /video-gallery: every persona of the user with its idle video, from one
// GET /api/personas?limit=1000 (following "next" when there are more).
import {
  ACTIVE, ApiError, api, badge, errorBox, h, idleVideo, normalStatus, safeMediaUrl, spinner,
  takeTokenFromUrl, watchTokenLinks, wireSignOut, sleep,
} from '/app.js';

const PAGE_LIMIT = 1000;
const MAX_PAGES = 100;	// a bound on "next" links followed, whatever the server says
const REFRESH_MS = [3000, 4000, 6000, 8000, 10000];	// while some video is being generated
const REFRESH_FOR_MS = 3 * 60 * 1000;

const content = document.getElementById('content');
const summary = document.querySelector('[data-testid="summary"]');
const cards = new Map();	// persona id -> { key, li }
let generation = 0;	// bumps on every (re)load, so stale work stops

async function fetchAll(signal) {
  const personas = [];
  let after = null;
  for (let page = 0; page < MAX_PAGES; page++) {
    const query = new URLSearchParams({ limit: String(PAGE_LIMIT) });
    if (after) query.set('after', after);
    const { data } = await api(`/api/personas?${query}`, { signal });
    if (!Array.isArray(data.personas)) {
      throw new ApiError({ status: 200, code: 'bad_response', message: 'The server sent an unexpected answer.' });
    }
    personas.push(...data.personas);
    if (typeof data.next !== 'string' || data.next === '' || data.next === after || data.personas.length === 0) break;
    after = data.next;
  }
  return personas.filter((p) => p && typeof p.id === 'string');
}

function personaHref(id) {
  return `/personas/${encodeURIComponent(id)}`;
}

function mediaFor(p, status, name) {
  const box = h('div', { class: 'media' });
  const url = safeMediaUrl(p.idleVideo && p.idleVideo.videoUrl);
  if (status === 'completed' && url) {
    box.append(idleVideo(url, { label: `Idle video of ${name}`, lazy: true }));
  } else if (ACTIVE.has(status)) {
    box.append(h('div', { class: 'placeholder' },
      spinner(status === 'starting' ? 'Starting' : 'Generating'),
      h('span', {}, status === 'starting' ? 'Starting…' : 'Generating the video…')));
  } else if (status === 'failed') {
    box.append(h('div', { class: 'placeholder failed' },
      h('span', { class: 'icon', 'aria-hidden': 'true' }, '!'),
      h('span', {}, 'Generation failed'),
      h('a', { href: personaHref(p.id), dataset: { testid: 'persona-link' }, 'aria-label': `Try again for ${name}` }, 'Try again')));
  } else {
    box.append(h('div', { class: 'placeholder' },
      h('span', { class: 'icon', 'aria-hidden': 'true' }, '+'),
      h('span', {}, 'No idle video yet'),
      h('a', { href: personaHref(p.id), dataset: { testid: 'persona-link' }, 'aria-label': `Create an idle video for ${name}` }, 'Create one')));
  }
  return box;
}

function card(p) {
  const status = normalStatus(p.idleVideo && p.idleVideo.status);
  const name = typeof p.name === 'string' && p.name !== '' ? p.name : p.id;
  const titleId = `t-${p.id}`;
  const article = h('article', {
    class: 'card',
    'aria-labelledby': titleId,
    dataset: { testid: 'persona-card', status, personaId: p.id },
  });
  article.append(
    mediaFor(p, status, name),
    h('div', { class: 'card-body' },
      h('h2', { class: 'card-title', id: titleId },
        h('a', { href: personaHref(p.id), dataset: { testid: 'persona-name' }, title: name }, name)),
      badge(status)));
  return h('li', {}, article);
}

const cardKey = (p) => `${p.name}\u0000${p.idleVideo && p.idleVideo.status}\u0000${p.idleVideo && p.idleVideo.videoUrl}`;

function describeCounts(personas) {
  const count = (s) => personas.filter((p) => normalStatus(p.idleVideo && p.idleVideo.status) === s).length;
  const parts = [`${personas.length} persona${personas.length === 1 ? '' : 's'}`];
  const ready = count('completed');
  const busy = count('starting') + count('processing');
  const failed = count('failed');
  parts.push(`${ready} ready`);
  if (busy) parts.push(`${busy} in progress`);
  if (failed) parts.push(`${failed} failed`);
  return parts.join(' · ');
}

function render(personas) {
  summary.textContent = describeCounts(personas);
  if (personas.length === 0) {
    cards.clear();
    content.replaceChildren(h('div', { class: 'empty', dataset: { testid: 'empty-state' } },
      h('h2', {}, 'No personas yet'),
      h('p', {}, 'Personas you create will appear here with their idle videos.')));
    return;
  }
  let list = content.querySelector('ul[data-testid="persona-list"]');
  if (!list) {
    list = h('ul', { class: 'grid', 'aria-label': 'Personas', dataset: { testid: 'persona-list' } });
    content.replaceChildren(list);
    cards.clear();
  }
  // Only cards whose data changed are rebuilt, so playing videos keep playing.
  const seen = new Set();
  let previous = null;
  for (const p of personas) {
    seen.add(p.id);
    const key = cardKey(p);
    let entry = cards.get(p.id);
    if (!entry || entry.key !== key) {
      const li = card(p);
      if (entry) entry.li.replaceWith(li);
      entry = { key, li };
      cards.set(p.id, entry);
    }
    const atPosition = previous ? previous.nextSibling : list.firstChild;
    if (atPosition !== entry.li) {
      if (previous) previous.after(entry.li);
      else list.prepend(entry.li);
    }
    previous = entry.li;
  }
  for (const [id, entry] of cards) {
    if (!seen.has(id)) {
      entry.li.remove();
      cards.delete(id);
    }
  }
}

function skeleton() {
  const list = h('ul', { class: 'grid', 'aria-hidden': 'true' });
  for (let i = 0; i < 8; i++) {
    list.append(h('li', {}, h('div', { class: 'card skeleton' },
      h('div', { class: 'media' }),
      h('div', { class: 'card-body' }, h('div', { class: 'line' }), h('div', { class: 'line short' })))));
  }
  return list;
}

function showError(err) {
  cards.clear();
  summary.textContent = '';
  content.setAttribute('aria-busy', 'false');
  content.replaceChildren(errorBox(err, { onRetry: () => load() }));
  const box = content.firstChild;
  if (box) box.setAttribute('tabindex', '-1');
}

// Refreshes the list while videos are being generated, for a bounded time.
async function refreshWhileActive(gen, personas) {
  const until = Date.now() + REFRESH_FOR_MS;
  let current = personas;
  for (let i = 0; gen === generation && Date.now() < until; i++) {
    if (!current.some((p) => ACTIVE.has(p.idleVideo && p.idleVideo.status))) return;
    await sleep(REFRESH_MS[Math.min(i, REFRESH_MS.length - 1)]);
    if (gen !== generation || document.visibilityState === 'hidden') continue;
    try {
      current = await fetchAll();
      if (gen !== generation) return;
      render(current);
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) {
        if (gen === generation) showError(e);
        return;
      }
      /* transient: keep showing what we have, try again later */
    }
  }
}

async function load() {
  const gen = ++generation;
  content.setAttribute('aria-busy', 'true');
  content.replaceChildren(skeleton());
  summary.textContent = '';
  let personas;
  try {
    personas = await fetchAll();
  } catch (e) {
    if (gen === generation) showError(e);
    return;
  }
  if (gen !== generation) return;
  content.replaceChildren();
  cards.clear();
  render(personas);
  content.setAttribute('aria-busy', 'false');
  document.body.dataset.loaded = 'true';
  refreshWhileActive(gen, personas);
}

takeTokenFromUrl();
wireSignOut();
watchTokenLinks(() => location.reload());
load();
