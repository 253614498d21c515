// @ts-check
/**
 * What every tab of the console's page uses: finding and building elements, the calls to the console's server,
 * and the formats of times. Everything shown is built with textContent (never innerHTML), since keys, events,
 * messages and logs are user data.
 */

/**
 * The element the selector finds, of the given type (HTMLElement by default); a missing one or one of another
 * type is a mistake in index.html or here, said at once.
 * @overload
 * @param {string} selector
 * @returns {HTMLElement}
 */
/**
 * @template {HTMLElement} T
 * @overload
 * @param {string} selector
 * @param {{ new (): T }} type
 * @returns {T}
 */
/**
 * @param {string} selector
 * @param {{ new (): HTMLElement }} [type]
 * @returns {HTMLElement}
 */
export function $(selector, type = HTMLElement) {
  const element = document.querySelector(selector);
  if (!(element instanceof type)) throw new Error(`The page has no ${type.name} ${selector}.`);
  return element;
}

/**
 * What an element holds: nodes and text; null, undefined and false are left out (as in `cond ? x : null`).
 * @typedef {Node | string | number | null | undefined | false} Child
 */
/**
 * An attribute's value: true for an empty attribute; undefined, null and false leave it out. A function is the
 * listener of the event its `on…` name says (`onclick`).
 * @typedef {string | number | boolean | null | undefined | ((event: Event) => void)} AttributeValue
 */

/**
 * Builds an element; children are nodes or text (text is never parsed as HTML).
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Record<string, AttributeValue>} [attributes]
 * @param {Array<Child | readonly Child[]>} children a list (`items.map(...)`) stands for its items
 * @returns {HTMLElementTagNameMap[K]}
 */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'class') element.className = String(value);
    else if (typeof value === 'function') element.addEventListener(name.slice(2), value);
    else element.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : String(child));
  }
  return element;
}

/**
 * Replaces an element's children (text and nodes; null, undefined and false are left out).
 * @param {Element} element
 * @param {Array<Child | readonly Child[]>} children
 */
export function fill(element, ...children) {
  element.replaceChildren(...h('div', {}, ...children).childNodes);
}

/** A refusal of the console's server: the message of its answer's ErrorBody (contract.ts). */
class ApiError extends Error {}

/**
 * @param {string} path
 * @param {RequestInit} init
 * @returns {Promise<unknown>}
 */
async function request(path, init) {
  const response = await fetch(path, init);
  /** @type {unknown} */
  const body = await response.json().catch(() => ({ message: `HTTP ${response.status}` }));
  if (!response.ok) {
    const message =
      typeof body === 'object' && body !== null && 'message' in body ? String(body.message) : undefined;
    throw new ApiError(message ?? `HTTP ${response.status}`);
  }
  return body;
}

/**
 * GET of a route of the console's server; its answer is the route's response type (server.ts checks it).
 * @template {import('../contract').GetPath} P
 * @param {P} path
 * @param {import('../contract').GetQuery<P>} query
 * @returns {Promise<import('../contract').GetResponse<P>>}
 */
export async function apiGet(path, query) {
  // Assigned, not cast: the checker makes sure every query of the contract is a record of strings.
  /** @type {Record<string, string>} */
  const values = query;
  const search = new URLSearchParams(values).toString();
  const answer = await request(search ? `${path}?${search}` : path, { cache: 'no-store' });
  return /** @type {import('../contract').GetResponse<P>} */ (answer);
}

/**
 * An action: a same-origin POST of a JSON body, the only kind the server takes actions from.
 * @template {import('../contract').PostPath} P
 * @param {P} path
 * @param {import('../contract').PostBody<P>} body
 * @returns {Promise<import('../contract').PostResponse<P>>}
 */
export async function apiPost(path, body) {
  const answer = await request(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return /** @type {import('../contract').PostResponse<P>} */ (answer);
}

/**
 * An instant as the console shows it: UTC to the millisecond, or – when there is none.
 * @param {number | null | undefined} ms epoch ms
 */
export const utc = (ms) =>
  ms === undefined || ms === null ? '–' : new Date(ms).toISOString().replace('T', ' ').slice(0, 23);

/** @param {number} ms */
export const seconds = (ms) => (ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`);

/**
 * Where an asynchronous event came from, in words.
 * @param {import('../contract').EventSource | undefined} source
 */
export function describeSource(source) {
  if (!source) return 'source not reported';
  if (source.kind === 's3') return `S3 ${source.eventName || 'event'} s3://${source.bucket}/${source.key}`;
  if (source.kind === 'schedule') return `schedule rule ${source.rule}`;
  return 'Invoke (InvocationType=Event)';
}

/** @param {unknown} error */
export const describeError = (error) => (error instanceof Error ? error.message : String(error));

/**
 * A failed refresh (the offline stack stopped, say) is said on the page, and cleared by the next success.
 * @param {unknown} error
 */
export function showGlobalError(error) {
  const message =
    error instanceof TypeError
      ? 'Cannot reach the offline stack: is `npm start` still running?'
      : describeError(error);
  document.body.dataset.error = message;
  $('#global-error').textContent = message;
  $('#global-error').hidden = false;
}

export function clearGlobalError() {
  delete document.body.dataset.error;
  $('#global-error').hidden = true;
}
