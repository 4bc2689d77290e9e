// Shared code of the pages: the session token, API requests with a bound,
// error messages for people, and small DOM builders. API data only ever
// reaches the page as text (textContent), never as markup.

const TOKEN_KEY = 'fcgi-pool-lab.token';
export const REQUEST_TIMEOUT_MS = 10000;
export const ACTIVE = new Set(['starting', 'processing']);

let memoryToken = null;	// when localStorage is unavailable (private mode, policy)

// Moves a token from the address (#token=...) into storage and removes it
// from the address bar and the history entry. Call once at start.
export function takeTokenFromUrl() {
  const raw = location.hash.replace(/^#/, '');
  if (!raw) return;
  const params = new URLSearchParams(raw);
  if (!params.has('token')) return;
  const token = (params.get('token') || '').trim();
  if (token) setToken(token);
  params.delete('token');
  const rest = params.toString();
  history.replaceState(history.state, '', location.pathname + location.search + (rest ? `#${rest}` : ''));
}

// Calls onNewToken when a link with another #token= is opened while the
// page is already showing (a fragment change does not reload the page).
export function watchTokenLinks(onNewToken) {
  window.addEventListener('hashchange', () => {
    const before = getToken();
    takeTokenFromUrl();
    if (getToken() !== before) onNewToken();
  });
}

export function getToken() {
  try {
    return localStorage.getItem(TOKEN_KEY) || memoryToken;
  } catch {
    return memoryToken;
  }
}

function setToken(token) {
  memoryToken = token;
  try {
    localStorage.setItem(TOKEN_KEY, token);
  } catch {
    /* kept in memory for this page only */
  }
}

export function clearToken() {
  memoryToken = null;
  try {
    localStorage.removeItem(TOKEN_KEY);
  } catch {
    /* nothing stored */
  }
}

export class ApiError extends Error {
  constructor({ status, code, message, retryAfter = null, serverMessage = null }) {
    super(message);
    this.name = 'ApiError';
    this.status = status;	// HTTP status, 0 when there was no answer
    this.code = code;	// the API's error code, or timeout / network / no_token / bad_response
    this.retryAfter = retryAfter;	// seconds, from Retry-After
    this.serverMessage = serverMessage;
  }
}

function parseRetryAfter(value) {
  if (!value) return null;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, Math.round((at - Date.now()) / 1000));
}

// One API request with the bearer token and a time bound (the whole
// exchange, body included). Resolves to { status, data } for a 2xx JSON
// answer; rejects with an ApiError otherwise, or with the caller's
// AbortError when the caller's signal aborts.
export async function api(path, { method = 'GET', body, timeoutMs = REQUEST_TIMEOUT_MS, signal } = {}) {
  const token = getToken();
  if (!token) {
    throw new ApiError({ status: 0, code: 'no_token', message: 'No sign-in token.' });
  }
  const ctrl = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    ctrl.abort();
  }, timeoutMs);
  const onAbort = () => ctrl.abort();
  if (signal) {
    if (signal.aborted) ctrl.abort();
    else signal.addEventListener('abort', onAbort, { once: true });
  }
  const headers = { Accept: 'application/json', Authorization: `Bearer ${token}` };
  const init = { method, headers, signal: ctrl.signal, cache: 'no-store', credentials: 'omit' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  let text;
  try {
    res = await fetch(path, init);
    text = await res.text();
  } catch (e) {
    if (timedOut) {
      throw new ApiError({ status: 0, code: 'timeout',
        message: `The server did not answer within ${Math.round(timeoutMs / 1000)} seconds.` });
    }
    if (signal && signal.aborted) throw e;
    throw new ApiError({ status: 0, code: 'network', message: 'The server could not be reached.' });
  } finally {
    clearTimeout(timer);
    if (signal) signal.removeEventListener('abort', onAbort);
  }
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!res.ok) {
    const serverMessage = data && typeof data.message === 'string' ? data.message : null;
    throw new ApiError({
      status: res.status,
      code: data && typeof data.error === 'string' ? data.error : `http_${res.status}`,
      message: serverMessage || `The server answered ${res.status}.`,
      retryAfter: parseRetryAfter(res.headers.get('Retry-After')),
      serverMessage,
    });
  }
  if (data === null || typeof data !== 'object') {
    throw new ApiError({ status: res.status, code: 'bad_response', message: 'The server sent an answer that is not JSON.' });
  }
  return { status: res.status, data };
}

// What to tell a person about an error: { kind, title, text, retry }.
export function describeError(err) {
  const e = err instanceof ApiError ? err : new ApiError({ status: 0, code: 'internal', message: String(err && err.message) });
  if (e.code === 'no_token') {
    return { kind: 'no_token', retry: false, title: 'You are not signed in',
      text: 'Open this page with your personal link (the one that ends in #token=…).' };
  }
  switch (e.status) {
  case 401:
    return { kind: 'unauthorized', retry: false, title: 'Your sign-in link is invalid or has expired',
      text: 'Ask for a new link and open it to see your personas.' };
  case 404:
    return { kind: 'not_found', retry: false, title: 'Not found',
      text: 'This persona does not exist, or it belongs to another account.' };
  case 503:
    return { kind: 'db_unavailable', retry: true, title: 'The database is busy',
      text: `Nothing is lost: please retry ${e.retryAfter > 1 ? `in ${e.retryAfter} seconds` : 'in a moment'}.` };
  case 502:
    return { kind: 'provider_unavailable', retry: true, title: 'The video service is not answering',
      text: 'Please try again in a moment.' };
  case 400:
    return { kind: 'bad_request', retry: false, title: 'This request was not understood', text: e.message };
  default:
    break;
  }
  if (e.code === 'timeout') {
    return { kind: 'timeout', retry: true, title: 'The server is taking too long', text: `${e.message} Please retry.` };
  }
  if (e.code === 'network') {
    return { kind: 'network', retry: true, title: 'Cannot reach the server',
      text: 'Check your connection, then retry.' };
  }
  return { kind: e.code || 'error', retry: true, title: 'Something went wrong', text: e.message };
}

// ------------------------------------------------------------------ DOM ---

// h('a', { href, class, text, dataset: {...}, onclick }, ...children):
// children are nodes or strings (strings become text nodes).
export function h(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key === 'text') node.textContent = value;
    else if (key === 'dataset') Object.assign(node.dataset, value);
    else if (key.startsWith('on') && typeof value === 'function') node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child);
  }
  return node;
}

export const STATUS_LABELS = {
  completed: 'Ready',
  processing: 'Generating',
  starting: 'Starting',
  failed: 'Failed',
  not_started: 'No video yet',
  unknown: 'Unknown',
};

export function normalStatus(status) {
  return Object.prototype.hasOwnProperty.call(STATUS_LABELS, status) ? status : 'unknown';
}

export function badge(status) {
  const s = normalStatus(status);
  return h('span', { class: 'badge', dataset: { testid: 'status-badge', status: s } }, STATUS_LABELS[s]);
}

export function spinner(label) {
  return h('span', { class: 'spinner', role: 'img', 'aria-label': label || 'Working' });
}

// A same-site or http(s) video address from the API, or null.
export function safeMediaUrl(url) {
  if (typeof url !== 'string' || url === '') return null;
  try {
    const u = new URL(url, location.href);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.href : null;
  } catch {
    return null;
  }
}

// A looping, muted idle video. With lazy, the source is set only when the
// element comes near the viewport (a gallery of hundreds stays light).
export function idleVideo(url, { label, testid = 'persona-video', lazy = false } = {}) {
  const video = h('video', {
    muted: true, loop: true, playsinline: true, autoplay: true, preload: 'auto',
    'aria-label': label, dataset: { testid },
  });
  video.muted = true;	// the attribute alone does not mute a video created by script
  video.defaultMuted = true;
  video.addEventListener('error', () => {
    video.dataset.error = 'true';
    const box = video.parentElement;
    if (box && !box.querySelector('.video-error')) {
      box.append(h('p', { class: 'video-error', role: 'status' }, 'The video could not be loaded.'));
    }
  });
  if (lazy && 'IntersectionObserver' in window) {
    video.dataset.src = url;
    lazyVideos().observe(video);
  } else {
    video.src = url;
  }
  return video;
}

let observer = null;
function lazyVideos() {
  if (!observer) {
    observer = new IntersectionObserver((entries) => {
      for (const entry of entries) {
        if (!entry.isIntersecting) continue;
        const v = entry.target;
        observer.unobserve(v);
        if (v.dataset.src) {
          v.src = v.dataset.src;
          delete v.dataset.src;
        }
      }
    }, { rootMargin: '400px 0px' });
  }
  return observer;
}

// An error box: <div data-testid="error-message" data-error="kind">, with a
// retry button when retrying can help and onRetry is given.
export function errorBox(err, { onRetry, compact = false } = {}) {
  const d = describeError(err);
  const box = h('div', {
    class: compact ? 'inline-error' : 'notice',
    role: 'alert',
    dataset: { testid: 'error-message', error: d.kind },
  });
  box.append(compact ? h('strong', {}, d.title) : h('h2', {}, d.title), h('p', {}, d.text));
  if (d.retry && onRetry) {
    const actions = h('div', { class: 'actions' });
    actions.append(h('button', { type: 'button', class: compact ? 'button small secondary' : 'button',
      dataset: { testid: 'retry-button' }, onclick: onRetry }, 'Retry'));
    box.append(actions);
  }
  return box;
}

// Wires the "forget my link" button of a page, if it has one.
export function wireSignOut() {
  const button = document.querySelector('[data-testid="sign-out"]');
  if (!button) return;
  const sync = () => { button.hidden = !getToken(); };
  sync();
  button.addEventListener('click', () => {
    clearToken();
    location.reload();
  });
}

export const sleep = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });
