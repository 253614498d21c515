// @ts-check
/**
 * Test: invoke a function with an event of events/ or one saved here under a name, synchronously or as Event,
 * and show the result, the error, the summary and the invocation's log, as the Lambda console's Test does.
 */
import { $, apiGet, apiPost, describeError, fill, h } from './dom.js';

/** @typedef {import('../contract').InvokeView} InvokeView */
/** @typedef {import('../contract').TestEventEntry} TestEventEntry */
/** @typedef {import('../contract').StreamLine} StreamLine */

/**
 * Lists events/ and the saved events in the event picker, and picks one (`fixture:hello.json`, `saved:name`).
 * @param {string} [select]
 */
export async function loadEventList(select = '') {
  const events = await apiGet('/api/events', {});
  const fixtures = events.filter((e) => e.kind === 'fixture');
  const saved = events.filter((e) => e.kind === 'saved');
  /** @param {TestEventEntry} e */
  const option = (e) => h('option', { value: `${e.kind}:${e.name}` }, e.name);
  const picker = $('#test-event', HTMLSelectElement);
  fill(
    picker,
    h('option', { value: '' }, '— new event —'),
    h('optgroup', { label: 'events/' }, fixtures.map(option)),
    saved.length ? h('optgroup', { label: 'Saved events' }, saved.map(option)) : null,
  );
  picker.value = select;
}

/** The first event of events/, the one the page starts with. */
export async function firstFixture() {
  return (await apiGet('/api/events', {})).find((e) => e.kind === 'fixture');
}

/** Puts the picked event in the editor (and its name, for a saved one). */
export async function loadEvent() {
  const value = $('#test-event', HTMLSelectElement).value;
  if (!value) return;
  const [kind = '', ...rest] = value.split(':');
  const event = await apiGet('/api/event', { kind, name: rest.join(':') });
  $('#test-editor', HTMLTextAreaElement).value = event.text;
  $('#test-name', HTMLInputElement).value = kind === 'saved' ? event.name : '';
}

/**
 * @param {string} text
 * @param {boolean} [isError]
 */
function testMessage(text, isError = false) {
  $('#test-message').textContent = text;
  $('#test-message').className = isError ? 'error' : 'muted';
}

/**
 * A definition list; an entry without a value is left out.
 * @param {Array<[string, unknown]>} entries
 */
function summaryList(entries) {
  return h(
    'dl',
    { class: 'summary' },
    entries
      .filter(([, value]) => value !== undefined)
      .map(([label, value]) =>
        h('div', {}, h('dt', {}, label), h('dd', {}, value === null ? null : String(value))),
      ),
  );
}

/**
 * A property of a JSON payload, when the payload is an object.
 * @param {unknown} payload
 * @param {string} name
 * @returns {unknown}
 */
const field = (payload, name) =>
  typeof payload === 'object' && payload !== null
    ? /** @type {Record<string, unknown>} */ (payload)[name]
    : undefined;

/** @param {InvokeView} result */
function renderResult(result) {
  const failed = Boolean(result.functionError) || result.statusCode >= 300;
  const isEvent = result.invocationType === 'Event';
  const { payload } = result;
  const headline = isEvent
    ? failed
      ? `Executing function: not accepted (${result.statusCode})`
      : `Event accepted (${result.statusCode}): the function runs asynchronously — see Async events`
    : failed
      ? 'Executing function: failed'
      : 'Executing function: succeeded';
  const section = $('#test-result');
  section.hidden = false;
  section.dataset.status = failed ? 'failed' : 'succeeded';
  fill(
    section,
    h('div', { class: `banner${failed ? ' failed' : ''}`, role: 'status' }, h('strong', {}, headline)),
    failed && typeof payload === 'object'
      ? summaryList([
          ['errorType', field(payload, 'errorType') ?? result.functionError],
          ['errorMessage', field(payload, 'errorMessage') ?? field(payload, 'message')],
        ])
      : null,
    h('h3', {}, isEvent ? 'Response' : 'Result'),
    h(
      'pre',
      { id: 'test-payload', tabindex: 0 },
      isEvent && payload === null ? '(no payload: 202 Accepted)' : JSON.stringify(payload, null, 2),
    ),
    h('h3', {}, 'Summary'),
    summaryList([
      ['Function', result.functionKey],
      ['Status code', String(result.statusCode)],
      ['Duration', result.durationMs === undefined ? undefined : `${result.durationMs} ms`],
      ['Round trip', `${result.roundTripMs} ms`],
      ['Request id', result.requestId ?? 'not reported by the offline Invoke API'],
    ]),
    h('h3', {}, 'Log output'),
    h(
      'pre',
      { id: 'test-log', tabindex: 0 },
      result.log ??
        (isEvent
          ? 'An asynchronous invocation returns no log; its attempts are on the Async events tab.'
          : 'The Invoke API returned no log for this invocation; the handler’s output is in the npm start terminal.'),
    ),
  );
}

/**
 * A streamed Test: the response grows in the result as the function writes it (one ndjson line an event), then
 * the summary and the log once the run is over.
 * @param {string} functionKey
 * @param {string} event
 */
async function streamTest(functionKey, event) {
  const answer = await fetch('/api/invoke-stream', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ functionKey, event }),
  });
  if (!answer.ok || !answer.body) {
    const refusal = /** @type {{ message?: string }} */ (await answer.json().catch(() => ({})));
    throw new Error(refusal.message ?? `HTTP ${answer.status}`);
  }
  const section = $('#test-result');
  section.hidden = false;
  section.dataset.status = 'streaming';
  const banner = h(
    'div',
    { class: 'banner', role: 'status' },
    h('strong', {}, 'Executing function: streaming…'),
  );
  const output = h('pre', { id: 'test-payload', tabindex: 0 }, '');
  const details = h('div', {});
  fill(section, banner, h('h3', {}, 'Response stream'), output, details);
  const reader = answer.body.pipeThrough(new TextDecoderStream()).getReader();
  let pending = '';
  for (let read = await reader.read(); !read.done; read = await reader.read()) {
    pending += read.value;
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const text of lines.filter(Boolean)) {
      const line = /** @type {StreamLine} */ (JSON.parse(text));
      if (line.kind === 'chunk') output.append(line.text);
      else renderStreamEnd(section, banner, details, functionKey, line);
    }
  }
}

/**
 * @param {HTMLElement} section
 * @param {HTMLElement} banner
 * @param {HTMLElement} details
 * @param {string} functionKey
 * @param {Extract<StreamLine, { kind: 'end' }>} end
 */
function renderStreamEnd(section, banner, details, functionKey, end) {
  const failed = Boolean(end.errorCode ?? end.error) || end.statusCode >= 300;
  section.dataset.status = failed ? 'failed' : 'succeeded';
  banner.className = `banner${failed ? ' failed' : ''}`;
  fill(banner, h('strong', {}, failed ? 'Executing function: failed' : 'Executing function: succeeded'));
  fill(
    details,
    failed
      ? summaryList([
          ['ErrorCode', end.errorCode],
          ['ErrorDetails', end.errorDetails ?? end.error],
        ])
      : null,
    h('h3', {}, 'Summary'),
    summaryList([
      ['Function', functionKey],
      ['Status code', String(end.statusCode)],
      ['First chunk', end.firstChunkMs === undefined ? undefined : `${end.firstChunkMs} ms`],
      ['Round trip', `${end.roundTripMs} ms`],
      ['Request id', end.requestId],
    ]),
    h('h3', {}, 'Log output'),
    h(
      'pre',
      { id: 'test-log', tabindex: 0 },
      end.log ?? 'The Invoke API returned no log for this invocation.',
    ),
  );
}

export function setUpTestTab() {
  $('#test-event').addEventListener('change', () =>
    loadEvent().catch((e) => testMessage(describeError(e), true)),
  );

  $('#test-save').addEventListener('click', async () => {
    try {
      const saved = await apiPost('/api/events', {
        name: $('#test-name', HTMLInputElement).value,
        text: $('#test-editor', HTMLTextAreaElement).value,
      });
      await loadEventList(`saved:${saved.name}`);
      testMessage(`Saved as "${saved.name}".`);
    } catch (error) {
      testMessage(describeError(error), true);
    }
  });

  const form = $('#test-form', HTMLFormElement);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const run = $('#test-run', HTMLButtonElement);
    run.disabled = true;
    testMessage('Executing…');
    try {
      const type = new FormData(form).get('invocationType');
      const functionKey = $('#test-function', HTMLSelectElement).value;
      const event = $('#test-editor', HTMLTextAreaElement).value;
      if (type === 'Stream') {
        testMessage('');
        await streamTest(functionKey, event);
        return;
      }
      const result = await apiPost('/api/invoke', {
        functionKey,
        invocationType: type === 'Event' ? 'Event' : 'RequestResponse',
        event,
      });
      renderResult(result);
      testMessage('');
    } catch (error) {
      testMessage(describeError(error), true);
    } finally {
      run.disabled = false;
    }
  });
}
