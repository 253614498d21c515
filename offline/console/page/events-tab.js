// @ts-check
/**
 * Async events: each asynchronous event from its arrival to its end — its source, every attempt with its
 * outcome, the wait before the next, and where its record went, with a link to it in the dead-letter queue.
 */
import { openDeadLetter } from './dlq-tab.js';
import { $, apiGet, describeSource, h, seconds, showGlobalError, utc } from './dom.js';

/** @typedef {import('../contract').AttemptStep} AttemptStep */
/** @typedef {import('../contract').EventStatus} EventStatus */
/** @typedef {import('../contract').EventTimeline} EventTimeline */

/** @param {AttemptStep} step */
function attemptText(step) {
  const parts = [
    `Attempt ${step.attempt}`,
    `started ${utc(step.startedAt)}`,
    `event age ${seconds(step.eventAgeMs)}`,
  ];
  const outcome =
    step.outcome === undefined
      ? 'running…'
      : step.outcome === 'success'
        ? 'succeeded'
        : step.outcome === 'throttled'
          ? 'throttled (reserved or account concurrency used up)'
          : `failed${step.errorType ? `: ${step.errorType}` : ''}${step.errorMessage ? ` — ${step.errorMessage}` : ''}`;
  return {
    head: parts.join(' · '),
    outcome,
    duration: step.durationMs === undefined ? '' : ` (${step.durationMs} ms)`,
  };
}

/** @type {Record<EventStatus, string>} */
const STATUS_NAMES = {
  'in-progress': 'in progress',
  succeeded: 'succeeded',
  failed: 'failed',
  dropped: 'dropped',
  undeliverable: 'record undeliverable',
};

/** @param {EventTimeline} event */
function timelineItem(event) {
  const steps = [h('li', {}, `Received ${utc(event.receivedAt)} from ${describeSource(event.source)}`)];
  event.attempts.forEach((step, index) => {
    const previous = event.attempts[index - 1];
    if (previous) {
      const endedAt = previous.startedAt + (previous.durationMs ?? 0);
      steps.push(
        h(
          'li',
          { class: 'wait' },
          `↓ waited ${seconds(Math.max(0, step.startedAt - endedAt))} before the next run`,
        ),
      );
    }
    const text = attemptText(step);
    steps.push(
      h(
        'li',
        { 'data-attempt': step.attempt, 'data-outcome': step.outcome ?? 'running' },
        `${text.head} — `,
        h('span', { class: `outcome-${step.outcome ?? 'running'}` }, text.outcome),
        text.duration,
      ),
    );
    if (step.nextAttemptAt && index === event.attempts.length - 1 && !event.end)
      steps.push(h('li', { class: 'wait' }, `next attempt at ${utc(step.nextAttemptAt)}`));
  });
  if (event.end) {
    const { end, deadLetter } = event;
    const where = end.destination
      ? ` → ${end.destination}`
      : end.condition === 'Success'
        ? ' (no onSuccess destination)'
        : '';
    steps.push(
      h(
        'li',
        { 'data-end': end.condition },
        h('strong', {}, `${end.condition}${where}`),
        ` at ${utc(end.at)}`,
        end.reason ? ` — ${end.reason}` : '',
        deadLetter
          ? [
              ' ',
              h(
                'button',
                { type: 'button', onclick: () => openDeadLetter(deadLetter) },
                'Show in dead-letter queue',
              ),
            ]
          : '',
      ),
    );
  }
  return h(
    'li',
    { class: 'timeline', 'data-request-id': event.requestId, 'data-status': event.status },
    h(
      'header',
      {},
      h('span', { class: 'badge' }, STATUS_NAMES[event.status]),
      h('span', {}, event.functionKey),
      h('span', {}, describeSource(event.source)),
      h('code', {}, event.requestId),
    ),
    h('ul', { class: 'steps' }, steps),
  );
}

/** The list last drawn, as JSON. */
let lastTimelines = '';

export async function refreshEvents() {
  const events = await apiGet('/api/timelines', {
    function: $('#events-function', HTMLSelectElement).value,
    status: $('#events-status', HTMLSelectElement).value,
  });
  const json = JSON.stringify(events);
  $('#events-count').textContent = `${events.length} event(s)`;
  $('#panel-events').dataset.ready = 'true';
  // Redrawn only when something changed, so that keyboard focus inside the list is not lost every second.
  if (json === lastTimelines) return;
  lastTimelines = json;
  $('#timelines').replaceChildren(
    ...(events.length
      ? events.map(timelineItem)
      : [h('li', { class: 'muted' }, 'No asynchronous event yet.')]),
  );
}

export function setUpEventsTab() {
  for (const id of ['#events-function', '#events-status']) {
    $(id).addEventListener('change', () => refreshEvents().catch(showGlobalError));
  }
}
