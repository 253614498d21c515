/**
 * The local Lambda console's page: plain DOM code, no framework. Everything shown is built with textContent
 * (never innerHTML), since keys, events, messages and logs are user data. Graphs are uPlot (window.uPlot).
 */
const $ = (selector) => document.querySelector(selector);

/** Builds an element; children are nodes or text (text is never parsed as HTML). */
function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'class') element.className = value;
    else if (name.startsWith('on')) element.addEventListener(name.slice(2), value);
    else element.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : String(child));
  }
  return element;
}

/** Replaces an element's children (text and nodes; null, undefined and false are left out). */
function fill(element, ...children) {
  element.replaceChildren(...h('div', {}, ...children).childNodes);
}

class ApiError extends Error {}

async function api(path, body) {
  const response = await fetch(
    path,
    body === undefined
      ? { cache: 'no-store' }
      : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) },
  );
  const result = await response.json().catch(() => ({ message: `HTTP ${response.status}` }));
  if (!response.ok) throw new ApiError(result.message ?? `HTTP ${response.status}`);
  return result;
}

const utc = (ms) =>
  ms === undefined || ms === null ? '–' : new Date(ms).toISOString().replace('T', ' ').slice(0, 23);
const seconds = (ms) => (ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`);
const describeError = (error) => (error instanceof Error ? error.message : String(error));

const state = { overview: undefined, tab: 'test', charts: [], chartKey: '', xRange: [0, 1] };

// ---------------------------------------------------------------------------------------------------- tabs

const TABS = ['test', 'monitor', 'events', 'dlq', 'environments', 'logs'];

function showTab(name, { focus = false } = {}) {
  const tab = TABS.includes(name) ? name : 'test';
  state.tab = tab;
  for (const id of TABS) {
    const button = $(`#tab-${id}`);
    button.setAttribute('aria-selected', String(id === tab));
    $(`#panel-${id}`).hidden = id !== tab;
  }
  if (focus) $(`#tab-${tab}`).focus();
  if (location.hash !== `#${tab}`) history.replaceState(null, '', `#${tab}`);
  refreshTab().catch(showGlobalError);
}

$('#tabs').addEventListener('click', (event) => {
  const button = event.target.closest('[role="tab"]');
  if (button) showTab(button.dataset.tab);
});
$('#tabs').addEventListener('keydown', (event) => {
  if (event.key !== 'ArrowRight' && event.key !== 'ArrowLeft') return;
  const index = TABS.indexOf(state.tab) + (event.key === 'ArrowRight' ? 1 : -1);
  showTab(TABS[(index + TABS.length) % TABS.length], { focus: true });
  event.preventDefault();
});
window.addEventListener('hashchange', () => showTab(location.hash.slice(1)));

/** A failed refresh (the offline stack stopped, say) is said on the page, and cleared by the next success. */
function showGlobalError(error) {
  const message =
    error instanceof TypeError
      ? 'Cannot reach the offline stack: is `npm start` still running?'
      : describeError(error);
  document.body.dataset.error = message;
  $('#global-error').textContent = message;
  $('#global-error').hidden = false;
}

function clearGlobalError() {
  delete document.body.dataset.error;
  $('#global-error').hidden = true;
}

function fillFunctions(select, { all = false } = {}) {
  const current = select.value;
  select.replaceChildren(
    ...(all ? [h('option', { value: '' }, 'all functions')] : []),
    ...state.overview.functions.map((fn) => h('option', { value: fn.key }, `${fn.key} (${fn.name})`)),
  );
  if (current) select.value = current;
}

// ---------------------------------------------------------------------------------------------------- Test

async function loadEventList(select = '') {
  const events = await api('/api/events');
  const fixtures = events.filter((e) => e.kind === 'fixture');
  const saved = events.filter((e) => e.kind === 'saved');
  const option = (e) => h('option', { value: `${e.kind}:${e.name}` }, e.name);
  fill(
    $('#test-event'),
    h('option', { value: '' }, '— new event —'),
    h('optgroup', { label: 'events/' }, fixtures.map(option)),
    saved.length ? h('optgroup', { label: 'Saved events' }, saved.map(option)) : null,
  );
  $('#test-event').value = select;
}

async function loadEvent() {
  const value = $('#test-event').value;
  if (!value) return;
  const [kind, ...rest] = value.split(':');
  const event = await api(
    `/api/event?kind=${encodeURIComponent(kind)}&name=${encodeURIComponent(rest.join(':'))}`,
  );
  $('#test-editor').value = event.text;
  $('#test-name').value = kind === 'saved' ? event.name : '';
}

function testMessage(text, isError = false) {
  $('#test-message').textContent = text;
  $('#test-message').className = isError ? 'error' : 'muted';
}

$('#test-event').addEventListener('change', () =>
  loadEvent().catch((e) => testMessage(describeError(e), true)),
);

$('#test-save').addEventListener('click', async () => {
  try {
    const saved = await api('/api/events', { name: $('#test-name').value, text: $('#test-editor').value });
    await loadEventList(`saved:${saved.name}`);
    testMessage(`Saved as "${saved.name}".`);
  } catch (error) {
    testMessage(describeError(error), true);
  }
});

function summaryList(entries) {
  return h(
    'dl',
    { class: 'summary' },
    entries
      .filter(([, value]) => value !== undefined)
      .map(([label, value]) => h('div', {}, h('dt', {}, label), h('dd', {}, value))),
  );
}

function renderResult(result) {
  const failed = Boolean(result.functionError) || result.statusCode >= 300;
  const isEvent = result.invocationType === 'Event';
  const payload = result.payload ?? {};
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
          ['errorType', payload.errorType ?? result.functionError],
          ['errorMessage', payload.errorMessage ?? payload.message],
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

$('#test-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const run = $('#test-run');
  run.disabled = true;
  testMessage('Executing…');
  try {
    const result = await api('/api/invoke', {
      functionKey: $('#test-function').value,
      invocationType: new FormData($('#test-form')).get('invocationType'),
      event: $('#test-editor').value,
    });
    renderResult(result);
    testMessage('');
  } catch (error) {
    testMessage(describeError(error), true);
  } finally {
    run.disabled = false;
  }
});

// ---------------------------------------------------------------------------------------------------- Monitor

const SUM = 'Sum';
const GRAPHS = [
  {
    id: 'Invocations',
    title: 'Invocations',
    stat: SUM,
    series: [{ field: 'Invocations', label: 'Invocations', color: '#0972d3' }],
  },
  {
    id: 'Duration',
    title: 'Duration',
    stat: 'Minimum, Average, Maximum',
    unit: 'ms',
    series: [
      { field: 'DurationMin', label: 'Minimum', color: '#037f0c' },
      { field: 'DurationAvg', label: 'Average', color: '#0972d3' },
      { field: 'DurationMax', label: 'Maximum', color: '#d91515' },
    ],
  },
  {
    id: 'Errors',
    title: 'Error count and success rate (%)',
    stat: 'Errors: Sum; success rate: 100 × (1 − Errors / Invocations)',
    series: [
      { field: 'Errors', label: 'Errors', color: '#d91515' },
      { field: 'SuccessRate', label: 'Success rate (%)', color: '#037f0c', scale: '%' },
    ],
  },
  {
    id: 'Throttles',
    title: 'Throttles',
    stat: SUM,
    series: [{ field: 'Throttles', label: 'Throttles', color: '#8d6605' }],
  },
  { id: 'IteratorAge', title: 'IteratorAge', notApplicable: true },
  {
    id: 'ConcurrentExecutions',
    title: 'Concurrent executions',
    stat: 'Maximum',
    series: [{ field: 'ConcurrentExecutions', label: 'ConcurrentExecutions', color: '#7d2105' }],
  },
  {
    id: 'AsyncEventsReceived',
    title: 'AsyncEventsReceived',
    stat: SUM,
    series: [{ field: 'AsyncEventsReceived', label: 'AsyncEventsReceived', color: '#0972d3' }],
  },
  {
    id: 'AsyncEventAge',
    title: 'AsyncEventAge',
    stat: 'Maximum',
    unit: 'ms',
    series: [{ field: 'AsyncEventAge', label: 'AsyncEventAge', color: '#8456ce' }],
  },
  {
    id: 'AsyncEventsDropped',
    title: 'AsyncEventsDropped',
    stat: SUM,
    series: [{ field: 'AsyncEventsDropped', label: 'AsyncEventsDropped', color: '#d91515' }],
  },
  {
    id: 'DestinationDeliveryFailures',
    title: 'DestinationDeliveryFailures',
    stat: SUM,
    series: [
      { field: 'DestinationDeliveryFailures', label: 'DestinationDeliveryFailures', color: '#d91515' },
    ],
  },
];

const PERIOD_NAMES = { 10: '10 seconds', 60: '1 minute', 300: '5 minutes' };

/** What the line under a graph says: the total of a Sum, the extreme of the others, over the range shown. */
function rangeStat(graph, points) {
  const values = (field) => points.map((p) => p[field]).filter((v) => v !== null && v !== undefined);
  if (graph.stat === SUM)
    return { label: 'Sum in range', value: values(graph.series[0].field).reduce((a, b) => a + b, 0) };
  if (graph.id === 'Duration') {
    const min = values('DurationMin');
    const max = values('DurationMax');
    return {
      label: 'Min / max in range (ms)',
      value: min.length ? `${Math.min(...min)} / ${Math.max(...max)}` : '–',
    };
  }
  if (graph.id === 'Errors') {
    const invocations = values('Invocations').reduce((a, b) => a + b, 0);
    const errors = values('Errors').reduce((a, b) => a + b, 0);
    const rate = invocations ? Math.round(((invocations - errors) / invocations) * 10000) / 100 : '–';
    return { label: 'Errors / success rate (%) in range', value: `${errors} / ${rate}` };
  }
  const all = values(graph.series[0].field);
  return {
    label: `Maximum in range${graph.unit ? ` (${graph.unit})` : ''}`,
    value: all.length ? Math.max(...all) : '–',
  };
}

function chartOptions(graph, width, periodSeconds) {
  const hasPercent = graph.series.some((s) => s.scale === '%');
  return {
    width,
    height: 190,
    tzDate: (ts) => window.uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
    legend: { show: true, live: true },
    cursor: { focus: { prox: 16 } },
    scales: {
      x: { time: true, range: () => state.xRange },
      y: { range: (u, min, max) => [0, Math.max(graph.unit ? 1 : 2, max ?? 0) * 1.1] },
      ...(hasPercent ? { '%': { range: [0, 105] } } : {}),
    },
    axes: [
      {
        label: 'time (UTC)',
        labelSize: 18,
        size: 34,
        values: (u, splits) =>
          splits.map((ts) => new Date(ts * 1000).toISOString().slice(11, periodSeconds < 60 ? 19 : 16)),
      },
      { label: graph.unit ?? 'count', labelSize: 18, size: 50 },
      ...(hasPercent
        ? [{ scale: '%', side: 1, label: '%', labelSize: 18, size: 40, grid: { show: false } }]
        : []),
    ],
    series: [
      { label: 'time' },
      ...graph.series.map((s) => ({
        label: s.label,
        stroke: s.color,
        width: 2,
        scale: s.scale ?? 'y',
        spanGaps: false,
        // A Sum per period is a bar, as CloudWatch's "Sum per 5 minutes"; the other statistics are lines.
        ...(graph.stat === SUM
          ? {
              paths: window.uPlot.paths.bars({ size: [0.7, 40] }),
              fill: `${s.color}55`,
              points: { show: false },
            }
          : { points: { show: true, size: 5 } }),
        value: (u, v) =>
          v === null || v === undefined
            ? '–'
            : s.scale === '%'
              ? `${v} %`
              : `${v}${graph.unit ? ` ${graph.unit}` : ''}`,
      })),
    ],
  };
}

function buildGraphs(periodSeconds) {
  for (const chart of state.charts) chart.plot?.destroy();
  state.charts = [];
  const figures = GRAPHS.map((graph) => {
    if (graph.notApplicable) {
      return h(
        'figure',
        { 'data-metric': graph.id },
        h('figcaption', {}, graph.title, ' ', h('small', {}, 'not applicable')),
        h(
          'div',
          { class: 'na' },
          'IteratorAge is reported only for functions with a stream event source (Kinesis, DynamoDB Streams); these functions have none.',
        ),
      );
    }
    const chartBox = h('div', { class: 'chart' });
    const stat = h('p', { class: 'stat' });
    const figure = h(
      'figure',
      { 'data-metric': graph.id },
      h(
        'figcaption',
        {},
        graph.title,
        ' ',
        h('small', {}, `${graph.stat}, per ${PERIOD_NAMES[periodSeconds]}`),
      ),
      chartBox,
      stat,
    );
    state.charts.push({ graph, chartBox, stat, figure, plot: undefined });
    return figure;
  });
  $('#graphs').replaceChildren(...figures);
}

async function refreshMonitor() {
  const fn = $('#monitor-function').value;
  const period = $('#monitor-period').value;
  const range = $('#monitor-range').value;
  const data = await api(`/api/metrics?period=${period}&range=${encodeURIComponent(range)}`);
  const points = data.functions[fn] ?? [];
  const key = `${fn}|${period}|${range}`;
  if (state.chartKey !== key) {
    buildGraphs(Number(period));
    state.chartKey = key;
  }
  const xs = points.map((p) => p.t / 1000);
  // The time axis spans the periods of the range, with half a period of room on each side for whole bars.
  state.xRange = xs.length
    ? [xs[0] - Number(period) / 2, xs[xs.length - 1] + Number(period) / 2]
    : [data.from / 1000, data.to / 1000];
  for (const chart of state.charts) {
    const series = [xs, ...chart.graph.series.map((s) => points.map((p) => p[s.field]))];
    const stat = rangeStat(chart.graph, points);
    chart.stat.replaceChildren(`${stat.label}: `, h('strong', { 'data-total': '' }, String(stat.value)));
    chart.figure.dataset.total = String(stat.value);
    if (!chart.plot) {
      const width = Math.max(300, chart.chartBox.clientWidth);
      chart.plot = new window.uPlot(chartOptions(chart.graph, width, Number(period)), series, chart.chartBox);
    } else {
      chart.plot.setData(series);
    }
  }
  $('#monitor-updated').textContent = `updated ${utc(Date.now())} UTC`;
  $('#panel-monitor').dataset.function = fn;
  $('#panel-monitor').dataset.ready = 'true';
}

const resizer = new ResizeObserver(() => {
  for (const chart of state.charts) {
    const width = Math.max(300, chart.chartBox.clientWidth);
    if (chart.plot && Math.abs(chart.plot.width - width) > 4) chart.plot.setSize({ width, height: 190 });
  }
});
resizer.observe($('#graphs'));

for (const id of ['#monitor-function', '#monitor-period', '#monitor-range']) {
  $(id).addEventListener('change', () => refreshMonitor().catch(showGlobalError));
}
$('#monitor-refresh').addEventListener('click', () => refreshMonitor().catch(showGlobalError));

// ---------------------------------------------------------------------------------------------------- Async events

function describeSource(source) {
  if (!source) return 'source not reported';
  if (source.kind === 's3') return `S3 ${source.eventName || 'event'} s3://${source.bucket}/${source.key}`;
  if (source.kind === 'schedule') return `schedule rule ${source.rule}`;
  return 'Invoke (InvocationType=Event)';
}

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
          ? 'throttled (reserved concurrency)'
          : `failed${step.errorType ? `: ${step.errorType}` : ''}${step.errorMessage ? ` — ${step.errorMessage}` : ''}`;
  return {
    head: parts.join(' · '),
    outcome,
    duration: step.durationMs === undefined ? '' : ` (${step.durationMs} ms)`,
  };
}

function timelineItem(event) {
  const steps = [
    h(
      'li',
      {},
      `Received ${utc(event.receivedAt)} from ${describeSource(event.source)}${event.sourceDerived ? ' (from its dead-letter record)' : ''}`,
    ),
  ];
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
    const end = event.end;
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
        event.deadLetter
          ? [
              ' ',
              h(
                'button',
                { type: 'button', onclick: () => openDeadLetter(event.deadLetter) },
                'Show in dead-letter queue',
              ),
            ]
          : '',
      ),
    );
  }
  const status = {
    'in-progress': 'in progress',
    succeeded: 'succeeded',
    failed: 'failed',
    dropped: 'dropped',
    undeliverable: 'record undeliverable',
  }[event.status];
  return h(
    'li',
    { class: 'timeline', 'data-request-id': event.requestId, 'data-status': event.status },
    h(
      'header',
      {},
      h('span', { class: 'badge' }, status),
      h('span', {}, event.functionKey),
      h('span', {}, describeSource(event.source)),
      h('code', {}, event.requestId),
    ),
    h('ul', { class: 'steps' }, steps),
  );
}

let lastTimelines = '';
async function refreshEvents() {
  const query = new URLSearchParams({
    function: $('#events-function').value,
    status: $('#events-status').value,
  });
  const events = await api(`/api/timelines?${query}`);
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
for (const id of ['#events-function', '#events-status']) {
  $(id).addEventListener('change', () => refreshEvents().catch(showGlobalError));
}

// ---------------------------------------------------------------------------------------------------- DLQ

function dlqMessage(text, isError = false) {
  $('#dlq-message').textContent = text;
  $('#dlq-message').className = isError ? 'error' : 'muted';
}

async function dlqAction(path, body, done) {
  try {
    const result = await api(path, { queue: $('#dlq-queue').value, ...body });
    dlqMessage(done(result));
  } catch (error) {
    dlqMessage(describeError(error), true);
  }
  await refreshDlq();
}

const redriveText = (result) =>
  `${result.redriven.length} message(s) redriven${result.redriven.map((r) => ` (${r.functionName})`).join('')}${
    result.skipped.length
      ? `; ${result.skipped.length} skipped: ${result.skipped.map((s) => s.reason).join('; ')}`
      : ''
  }.`;

async function showRecord(messageId) {
  try {
    const record = await api(
      `/api/dlq/message?queue=${encodeURIComponent($('#dlq-queue').value)}&id=${encodeURIComponent(messageId)}`,
    );
    $('#dlq-record-title').textContent = `Record ${messageId}`;
    $('#dlq-record').textContent = typeof record === 'string' ? record : JSON.stringify(record, null, 2);
    $('#dlq-record-view').hidden = false;
    $('#dlq-record').focus();
  } catch (error) {
    dlqMessage(describeError(error), true);
  }
}

let lastDlq = '';
async function refreshDlq() {
  const queue = $('#dlq-queue').value;
  if (!queue) {
    $('#dlq-table tbody').replaceChildren(
      h('tr', {}, h('td', { colspan: 8 }, 'No function has an SQS onFailure destination.')),
    );
    return;
  }
  const { messages } = await api(`/api/dlq?queue=${encodeURIComponent(queue)}`);
  $('#panel-dlq').dataset.ready = 'true';
  $('#panel-dlq').dataset.count = String(messages.length);
  const json = JSON.stringify(messages);
  if (json === lastDlq) return;
  lastDlq = json;
  $('#dlq-redrive-all').disabled = messages.length === 0;
  $('#dlq-purge').disabled = messages.length === 0;
  $('#dlq-table tbody').replaceChildren(
    ...(messages.length
      ? messages.map((m) =>
          h(
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
                    onclick: () => dlqAction('/api/dlq/redrive', { messageId: m.messageId }, redriveText),
                  },
                  'Redrive',
                ),
              ),
            ),
          ),
        )
      : [h('tr', {}, h('td', { colspan: 8, class: 'muted' }, 'The queue is empty.'))]),
  );
}

function openDeadLetter({ queue, messageId }) {
  showTab('dlq');
  $('#dlq-queue').value = queue;
  refreshDlq()
    .then(() => showRecord(messageId))
    .catch(showGlobalError);
}

$('#dlq-refresh').addEventListener('click', () => refreshDlq().catch(showGlobalError));
$('#dlq-queue').addEventListener('change', () => refreshDlq().catch(showGlobalError));
$('#dlq-redrive-all').addEventListener('click', () => {
  if (confirm('Redrive every message of this queue (invoke each function again, then delete the message)?'))
    void dlqAction('/api/dlq/redrive', {}, redriveText);
});
$('#dlq-purge').addEventListener('click', () => {
  if (confirm('Delete every message of this queue? This cannot be undone.'))
    void dlqAction('/api/dlq/purge', {}, (result) => `${result.deleted} message(s) deleted.`);
});

// ---------------------------------------------------------------------------------------------------- Environments

const ENVIRONMENT_STATES = {
  initializing: 'starting (Init)',
  idle: 'idle (warm)',
  busy: 'running',
  ended: 'ended',
};
const megabytes = (value) => (value === undefined || value === null ? '–' : String(value));

/** The log stream's own part, `[$LATEST]` and the first characters of its id; the whole name is its title. */
function streamLabel(logStream) {
  const id = logStream.slice(logStream.indexOf(']') + 1);
  return `${logStream.slice(0, logStream.indexOf('['))}…${id.slice(0, 8)}`;
}

function environmentRow(environment) {
  const openLogs = () => {
    $('#logs-function').value = environment.functionKey;
    $('#logs-request').value = '';
    $('#logs-stream').value = environment.logStream;
    showTab('logs');
  };
  const note = environment.state === 'ended' ? environment.endReason : (environment.endReason ?? '');
  return h(
    'tr',
    { 'data-environment': environment.id, 'data-state': environment.state },
    h('td', {}, environment.functionKey),
    h(
      'td',
      {},
      h(
        'button',
        { type: 'button', class: 'link', title: environment.logStream, onclick: openLogs },
        streamLabel(environment.logStream),
      ),
    ),
    h('td', {}, ENVIRONMENT_STATES[environment.state] ?? environment.state),
    h('td', {}, utc(environment.startedAt)),
    h('td', {}, String(environment.runs), environment.resets > 0 ? ` (${environment.resets} reset)` : ''),
    h('td', {}, utc(environment.lastRunAt)),
    h(
      'td',
      {},
      `${megabytes(environment.rssMb)} / ${megabytes(environment.maxMemoryUsedMb)} / ${environment.memorySizeMb}`,
    ),
    h(
      'td',
      {},
      environment.initDurationMs === undefined || environment.initDurationMs === null
        ? '–'
        : `${environment.initDurationMs.toFixed(2)} ms`,
    ),
    h(
      'td',
      { class: 'muted' },
      environment.state === 'ended' ? `${note} (${utc(environment.endedAt)})` : note,
    ),
  );
}

async function refreshEnvironments() {
  const result = await api('/api/environments');
  const live = result.environments.filter((environment) => environment.state !== 'ended');
  const count = (state) => live.filter((environment) => environment.state === state).length;
  $('#environments-summary').textContent =
    `${live.length} environment(s) alive: ${count('busy')} running, ${count('idle')} idle, ${count('initializing')} starting. ` +
    `An idle environment ends after ${seconds(result.idleMs)}.`;
  $('#environments-table tbody').replaceChildren(...result.environments.map(environmentRow));
  $('#panel-environments').dataset.ready = 'true';
}

// ---------------------------------------------------------------------------------------------------- Logs

async function refreshLogs() {
  const query = new URLSearchParams({
    function: $('#logs-function').value,
    requestId: $('#logs-request').value.trim(),
    logStream: $('#logs-stream').value.trim(),
  });
  const result = await api(`/api/logs?${query}`);
  $('#panel-logs').dataset.ready = 'true';
  const notice = $('#logs-notice');
  notice.hidden = result.connected;
  notice.textContent = result.connected
    ? ''
    : 'No log source is connected: the handlers’ output is in the npm start terminal.';
  $('#logs-count').textContent = result.connected ? `${result.entries.length} invocation(s)` : '';
  $('#logs').replaceChildren(
    ...result.entries.map((entry) =>
      h(
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
      ),
    ),
  );
}
$('#logs-form').addEventListener('submit', (event) => {
  event.preventDefault();
  refreshLogs().catch(showGlobalError);
});
$('#logs-function').addEventListener('change', () => refreshLogs().catch(showGlobalError));

// ---------------------------------------------------------------------------------------------------- start

async function refreshTab() {
  if (!state.overview) return;
  if (state.tab === 'monitor') await refreshMonitor();
  else if (state.tab === 'events') await refreshEvents();
  else if (state.tab === 'dlq') await refreshDlq();
  else if (state.tab === 'environments') await refreshEnvironments();
  else if (state.tab === 'logs') await refreshLogs();
}

async function start() {
  state.overview = await api('/api/overview');
  $('#since').textContent =
    `Offline stack started ${utc(state.overview.since)} UTC · every asset served locally`;
  fillFunctions($('#test-function'));
  fillFunctions($('#monitor-function'));
  fillFunctions($('#events-function'), { all: true });
  fillFunctions($('#logs-function'), { all: true });
  $('#dlq-queue').replaceChildren(
    ...state.overview.deadLetterQueues.map((q) => h('option', { value: q }, q)),
  );
  const first = (await api('/api/events')).find((e) => e.kind === 'fixture');
  await loadEventList(first ? `fixture:${first.name}` : '');
  await loadEvent();
  showTab(location.hash.slice(1) || 'test');
  document.body.dataset.ready = 'true';
  // Live refresh of the tab on screen; the Test tab and the Logs search only change on request.
  setInterval(() => {
    if (state.tab === 'monitor' && !$('#monitor-live').checked) return;
    if (state.tab === 'test' || state.tab === 'logs' || document.hidden) return;
    refreshTab().then(clearGlobalError, showGlobalError);
  }, 2000);
}

start().catch(showGlobalError);
