// @ts-check
/**
 * Monitor: the Lambda console's graphs of one function, per 10 seconds, 1 or 5 minutes, over a time range, each
 * with its sum (or extreme) over the range under it. Drawn with uPlot.
 */
import { $, apiGet, h, showGlobalError, utc } from './dom.js';

/** @typedef {import('../contract').TimePoint} TimePoint */
/** @typedef {import('uplot')} UPlot */
/** @typedef {import('uplot').Options} ChartOptions */

/** uPlot's IIFE build: index.html loads it before the page's modules run; the package brings its types. */
const uPlot = /** @type {Window & { uPlot: typeof import('uplot') }} */ (window).uPlot;

/**
 * One line of a graph.
 * @typedef {object} SeriesSpec
 * @property {Exclude<keyof TimePoint, 't'>} field the metric, as /api/metrics names it
 * @property {string} label
 * @property {string} color #rrggbb: a bar's fill is this colour with an alpha appended
 * @property {'%'} [scale] the right-hand axis, of percentages; else the left one
 */
/**
 * @typedef {object} ChartGraph
 * @property {string} id the metric's name (figure[data-metric])
 * @property {string} title
 * @property {undefined} [notApplicable]
 * @property {string} stat the CloudWatch statistic the graph shows
 * @property {string} [unit] of the left-hand axis; a count when absent
 * @property {[SeriesSpec, ...SeriesSpec[]]} series
 */
/** @typedef {{ id: string, title: string, notApplicable: true }} NotApplicableGraph */
/** @typedef {ChartGraph | NotApplicableGraph} Graph */
/**
 * A graph on the page, and its uPlot once it has data.
 * @typedef {object} Chart
 * @property {ChartGraph} graph
 * @property {HTMLDivElement} chartBox
 * @property {HTMLParagraphElement} stat
 * @property {HTMLElement} figure
 * @property {UPlot | undefined} plot
 */

const SUM = 'Sum';
/** @type {readonly Graph[]} */
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

/** @type {Record<number, string>} */
const PERIOD_NAMES = { 10: '10 seconds', 60: '1 minute', 300: '5 minutes' };

/** The graphs on the page, for the function, period and range of `chartKey`. */
const monitor = {
  /** @type {Chart[]} */
  charts: [],
  chartKey: '',
  /** @type {[number, number]} the time axis, in seconds */
  xRange: [0, 1],
};

/**
 * What the line under a graph says: the total of a Sum, the extreme of the others, over the range shown.
 * @param {ChartGraph} graph
 * @param {TimePoint[]} points
 * @returns {{ label: string, value: number | string }}
 */
function rangeStat(graph, points) {
  /** @param {keyof TimePoint} field */
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

/**
 * @param {ChartGraph} graph
 * @param {number} width px
 * @param {number} periodSeconds
 * @returns {ChartOptions}
 */
function chartOptions(graph, width, periodSeconds) {
  const hasPercent = graph.series.some((s) => s.scale === '%');
  const bars = uPlot.paths.bars;
  // Optional in uPlot's types, as a custom build may leave it out; the full build served here has it.
  if (!bars) throw new Error('This build of uPlot cannot draw bars.');
  return {
    width,
    height: 190,
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
    legend: { show: true, live: true },
    cursor: { focus: { prox: 16 } },
    scales: {
      x: { time: true, range: () => monitor.xRange },
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
          ? { paths: bars({ size: [0.7, 40] }), fill: `${s.color}55`, points: { show: false } }
          : { points: { show: true, size: 5 } }),
        /** @type {(u: UPlot, v: number | null) => string} the legend's text of a value */
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

/** @param {number} periodSeconds */
function buildGraphs(periodSeconds) {
  for (const chart of monitor.charts) chart.plot?.destroy();
  monitor.charts = [];
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
    monitor.charts.push({ graph, chartBox, stat, figure, plot: undefined });
    return figure;
  });
  $('#graphs').replaceChildren(...figures);
}

export async function refreshMonitor() {
  const fn = $('#monitor-function', HTMLSelectElement).value;
  const period = $('#monitor-period', HTMLSelectElement).value;
  const range = $('#monitor-range', HTMLSelectElement).value;
  const data = await apiGet('/api/metrics', { period, range });
  const points = data.functions[fn] ?? [];
  const key = `${fn}|${period}|${range}`;
  if (monitor.chartKey !== key) {
    buildGraphs(Number(period));
    monitor.chartKey = key;
  }
  const xs = points.map((p) => p.t / 1000);
  const first = xs.at(0);
  const last = xs.at(-1);
  // The time axis spans the periods of the range, with half a period of room on each side for whole bars.
  monitor.xRange =
    first !== undefined && last !== undefined
      ? [first - Number(period) / 2, last + Number(period) / 2]
      : [data.from / 1000, data.to / 1000];
  for (const chart of monitor.charts) {
    /** @type {import('uplot').AlignedData} */
    const series = [xs, ...chart.graph.series.map((s) => points.map((p) => p[s.field]))];
    const stat = rangeStat(chart.graph, points);
    chart.stat.replaceChildren(`${stat.label}: `, h('strong', { 'data-total': '' }, String(stat.value)));
    chart.figure.dataset.total = String(stat.value);
    if (!chart.plot) {
      const width = Math.max(300, chart.chartBox.clientWidth);
      chart.plot = new uPlot(chartOptions(chart.graph, width, Number(period)), series, chart.chartBox);
    } else {
      chart.plot.setData(series);
    }
  }
  $('#monitor-updated').textContent = `updated ${utc(Date.now())} UTC`;
  $('#panel-monitor').dataset.function = fn;
  $('#panel-monitor').dataset.ready = 'true';
}

/** Whether the graphs follow the clock (the Live box). */
export const monitorIsLive = () => $('#monitor-live', HTMLInputElement).checked;

export function setUpMonitorTab() {
  const resizer = new ResizeObserver(() => {
    for (const chart of monitor.charts) {
      const width = Math.max(300, chart.chartBox.clientWidth);
      if (chart.plot && Math.abs(chart.plot.width - width) > 4) chart.plot.setSize({ width, height: 190 });
    }
  });
  resizer.observe($('#graphs'));

  for (const id of ['#monitor-function', '#monitor-period', '#monitor-range']) {
    $(id).addEventListener('change', () => refreshMonitor().catch(showGlobalError));
  }
  $('#monitor-refresh').addEventListener('click', () => refreshMonitor().catch(showGlobalError));
}
