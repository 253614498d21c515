/**
 * Prints the offline metrics of the running `npm start`, per function, as the Lambda console's Metrics tab
 * shows them (CloudWatch names). `--json`: one object keyed by function, nothing else on stdout.
 * The same numbers, charted over time: http://localhost:3004/ (OFFLINE_METRICS_PORT).
 */
import { parseArgs } from 'node:util';
import type { FunctionMetrics } from '../offline/observability/metrics-recorder';
import { runMain, UsageError } from './project';

const COLUMNS: Array<[string, (m: FunctionMetrics) => string]> = [
  ['Invocations', (m) => String(m.Invocations)],
  [
    'Duration min/avg/max/p99 ms',
    (m) => [m.Duration.min, m.Duration.avg, m.Duration.max, m.Duration.p99].map((v) => v ?? '–').join(' / '),
  ],
  ['Errors', (m) => String(m.Errors)],
  ['Success %', (m) => (m.SuccessRate === null ? '–' : String(m.SuccessRate))],
  ['Throttles', (m) => String(m.Throttles)],
  ['ConcurrentExecutions max', (m) => String(m.ConcurrentExecutions)],
  ['AsyncEventsReceived', (m) => String(m.AsyncEventsReceived)],
  ['AsyncEventAge max ms', (m) => (m.AsyncEventAge === null ? '–' : String(m.AsyncEventAge))],
  ['AsyncEventsDropped', (m) => String(m.AsyncEventsDropped)],
  ['DestinationDeliveryFailures', (m) => String(m.DestinationDeliveryFailures)],
];

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { json: { type: 'boolean', default: false } } });
  const url = `http://localhost:${process.env.OFFLINE_METRICS_PORT || 3004}/metrics.json`;
  const response = await fetch(url).catch(() => {
    throw new UsageError(
      `cannot reach the offline metrics at ${url} — start the service with \`npm start\` first.`,
    );
  });
  const { since, functions } = (await response.json()) as {
    since: string;
    functions: Record<string, FunctionMetrics>;
  };
  if (values.json) {
    process.stdout.write(`${JSON.stringify(functions, null, 2)}\n`);
    return;
  }
  const names = Object.keys(functions);
  const rows = COLUMNS.map(([label, value]) => [
    label,
    ...names.map((n) => value(functions[n] as FunctionMetrics)),
  ]);
  const widths = [['', ...names], ...rows].reduce<number[]>(
    (max, row) => row.map((cell, i) => Math.max(max[i] ?? 0, cell.length)),
    [],
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0)))
      .join('   ');
  process.stdout.write(`offline metrics since ${since}\n\n${line(['', ...names])}\n`);
  for (const row of rows) process.stdout.write(`${line(row)}\n`);
}

void runMain(main);
