// @ts-check
/**
 * Logs: each invocation's log as Lambda writes it (START, the handler's lines, END, REPORT), by function,
 * request id or log stream.
 */
import { $, apiGet, h, showGlobalError, utc } from './dom.js';
import { showTab } from './tabs.js';

/** @typedef {import('../contract').InvocationLogEntry} InvocationLogEntry */

const functionSelect = () => $('#logs-function', HTMLSelectElement);
const requestInput = () => $('#logs-request', HTMLInputElement);
const streamInput = () => $('#logs-stream', HTMLInputElement);

/** @param {InvocationLogEntry} entry */
function logItem(entry) {
  return h(
    'li',
    { 'data-request-id': entry.requestId },
    h(
      'div',
      { class: 'muted' },
      `${utc(entry.startedAt)} UTC · ${entry.functionKey} · `,
      h('code', {}, entry.requestId),
      ' · ',
      h('code', { class: 'stream' }, entry.logStream),
    ),
    h('pre', { tabindex: 0 }, entry.lines.join('\n')),
  );
}

export async function refreshLogs() {
  const result = await apiGet('/api/logs', {
    function: functionSelect().value,
    requestId: requestInput().value.trim(),
    logStream: streamInput().value.trim(),
  });
  $('#panel-logs').dataset.ready = 'true';
  const notice = $('#logs-notice');
  notice.hidden = result.connected;
  notice.textContent = result.connected
    ? ''
    : 'No log source is connected: the handlers’ output is in the npm start terminal.';
  $('#logs-count').textContent = result.connected ? `${result.entries.length} invocation(s)` : '';
  $('#logs').replaceChildren(...result.entries.map(logItem));
}

/**
 * The Logs tab, on one log stream of a function alone.
 * @param {{ functionKey: string, logStream: string }} stream
 */
export function showStreamLogs({ functionKey, logStream }) {
  functionSelect().value = functionKey;
  requestInput().value = '';
  streamInput().value = logStream;
  showTab('logs');
}

export function setUpLogsTab() {
  $('#logs-form').addEventListener('submit', (event) => {
    event.preventDefault();
    refreshLogs().catch(showGlobalError);
  });
  functionSelect().addEventListener('change', () => refreshLogs().catch(showGlobalError));
}
