// @ts-check
/**
 * Dead-letter queue: the events that failed all their attempts. List, show a record, redrive one or all (an
 * asynchronous Invoke with the original event, then the message is deleted), purge.
 */
import { $, apiGet, apiPost, describeError, describeSource, h, showGlobalError, utc } from './dom.js';
import { showTab } from './tabs.js';

/** @typedef {import('../contract').DeadLetterSummary} DeadLetterSummary */
/** @typedef {import('../contract').RedriveOutcome} RedriveOutcome */

const queueSelect = () => $('#dlq-queue', HTMLSelectElement);
const tableBody = () => $('#dlq-table tbody', HTMLTableSectionElement);

/**
 * @param {string} text
 * @param {boolean} [isError]
 */
function dlqMessage(text, isError = false) {
  $('#dlq-message').textContent = text;
  $('#dlq-message').className = isError ? 'error' : 'muted';
}

/**
 * Runs an action on the queue, says how it went, and shows the queue as it is now.
 * @param {() => Promise<string>} action resolves to what to say
 */
async function dlqAction(action) {
  try {
    dlqMessage(await action());
  } catch (error) {
    dlqMessage(describeError(error), true);
  }
  await refreshDlq();
}

/** @param {{ outcomes: RedriveOutcome[] }} result */
function redriveText({ outcomes }) {
  const redriven = outcomes.flatMap((o) => (o.status === 'redriven' ? [o] : []));
  const skipped = outcomes.flatMap((o) => (o.status === 'skipped' ? [o] : []));
  return `${redriven.length} message(s) redriven${redriven.map((r) => ` (${r.functionName})`).join('')}${
    skipped.length ? `; ${skipped.length} skipped: ${skipped.map((s) => s.explanation).join('; ')}` : ''
  }.`;
}

/** @param {string} [messageId] one message, or all of the queue */
const redrive = async (messageId) =>
  redriveText(
    await apiPost('/api/dlq/redrive', {
      queue: queueSelect().value,
      ...(messageId === undefined ? {} : { messageId }),
    }),
  );

/** @param {string} messageId */
async function showRecord(messageId) {
  try {
    const record = await apiGet('/api/dlq/message', { queue: queueSelect().value, id: messageId });
    $('#dlq-record-title').textContent = `Record ${messageId}`;
    $('#dlq-record').textContent = typeof record === 'string' ? record : JSON.stringify(record, null, 2);
    $('#dlq-record-view').hidden = false;
    $('#dlq-record').focus();
  } catch (error) {
    dlqMessage(describeError(error), true);
  }
}

/** @param {DeadLetterSummary} m */
function messageRow(m) {
  return h(
    'tr',
    { 'data-message-id': m.messageId, 'data-request-id': m.requestId },
    h('td', {}, utc(m.sentAt)),
    h('td', {}, m.functionName ?? '(not a Lambda destination record)'),
    h('td', {}, m.condition ?? ''),
    h('td', {}, m.attempts === undefined ? '' : String(m.attempts)),
    h('td', {}, m.errorType ? `${m.errorType}: ${m.errorMessage ?? ''}` : ''),
    h('td', {}, m.source ? describeSource(m.source) : ''),
    h('td', {}, h('code', {}, m.requestId ?? '')),
    h(
      'td',
      {},
      h(
        'div',
        { class: 'row' },
        h(
          'button',
          {
            type: 'button',
            onclick: () => showRecord(m.messageId),
            'aria-label': `Show record ${m.messageId}`,
          },
          'Show',
        ),
        h(
          'button',
          {
            type: 'button',
            'data-action': 'redrive',
            'aria-label': `Redrive ${m.messageId}`,
            onclick: () => dlqAction(() => redrive(m.messageId)),
          },
          'Redrive',
        ),
      ),
    ),
  );
}

/** The messages last drawn, as JSON. */
let lastDlq = '';

export async function refreshDlq() {
  const queue = queueSelect().value;
  if (!queue) {
    tableBody().replaceChildren(
      h('tr', {}, h('td', { colspan: 8 }, 'No function has an SQS onFailure destination.')),
    );
    return;
  }
  const { messages } = await apiGet('/api/dlq', { queue });
  $('#panel-dlq').dataset.ready = 'true';
  $('#panel-dlq').dataset.count = String(messages.length);
  const json = JSON.stringify(messages);
  if (json === lastDlq) return;
  lastDlq = json;
  $('#dlq-redrive-all', HTMLButtonElement).disabled = messages.length === 0;
  $('#dlq-purge', HTMLButtonElement).disabled = messages.length === 0;
  tableBody().replaceChildren(
    ...(messages.length
      ? messages.map(messageRow)
      : [h('tr', {}, h('td', { colspan: 8, class: 'muted' }, 'The queue is empty.'))]),
  );
}

/**
 * Shows a message of the dead-letter queue: its tab, its queue, its record.
 * @param {{ queue: string, messageId: string }} letter
 */
export function openDeadLetter({ queue, messageId }) {
  showTab('dlq');
  queueSelect().value = queue;
  refreshDlq()
    .then(() => showRecord(messageId))
    .catch(showGlobalError);
}

/** @param {readonly string[]} queues the dead-letter queues of serverless.yml */
export function listQueues(queues) {
  queueSelect().replaceChildren(...queues.map((q) => h('option', { value: q }, q)));
}

export function setUpDlqTab() {
  $('#dlq-refresh').addEventListener('click', () => refreshDlq().catch(showGlobalError));
  queueSelect().addEventListener('change', () => refreshDlq().catch(showGlobalError));
  $('#dlq-redrive-all').addEventListener('click', () => {
    if (confirm('Redrive every message of this queue (invoke each function again, then delete the message)?'))
      void dlqAction(() => redrive());
  });
  $('#dlq-purge').addEventListener('click', () => {
    if (confirm('Delete every message of this queue? This cannot be undone.'))
      void dlqAction(
        async () =>
          `${(await apiPost('/api/dlq/purge', { queue: queueSelect().value })).deleted} message(s) deleted.`,
      );
  });
}
