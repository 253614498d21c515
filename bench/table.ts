/** The bench's table on stdout: the run, the machine, every row, then the goals. */
import type { Results } from './results';
import { rows } from './rows';
import { mark, type Row } from './table-format';

export function table(results: Results): string {
  const header: Row = {
    figure: 'figure',
    value: 'median / p99',
    floor: 'floor',
    ratio: 'ratio',
    goal: 'goal',
    met: null,
  };
  const all = [header, ...rows(results)];
  const width = (pick: (row: Row) => string): number => Math.max(...all.map((row) => pick(row).length));
  const widths = {
    figure: width((row) => row.figure),
    value: width((row) => row.value),
    floor: width((row) => row.floor),
    ratio: width((row) => row.ratio),
    goal: width((row) => row.goal),
  };
  const line = (row: Row): string =>
    [
      row.figure.padEnd(widths.figure),
      row.value.padEnd(widths.value),
      row.floor.padEnd(widths.floor),
      row.ratio.padEnd(widths.ratio),
      row.goal.padEnd(widths.goal),
      row === header ? 'met' : mark(row.met),
    ]
      .join('  ')
      .trimEnd();
  const m = results.machine;
  const out = [
    `lambda-notes bench (${results.mode}) ${results.timestamp}, ${results.durationS} s`,
    `code: ${results.revision.commit?.slice(0, 7) ?? 'unknown commit'}${results.revision.changedFiles.length ? ` + uncommitted ${results.revision.changedFiles.join(', ')}` : ''}`,
    `machine: ${m.cores} × ${m.cpuModel}, ${m.totalMemoryMb} MB, node ${m.node}, ${m.platform}; load average ${m.loadAverageAtStart.join(' ')} at start, ${m.loadAverageAtEnd.join(' ')} at end`,
    '',
    line(header),
    ...rows(results).map(line),
    '',
    'goals:',
    ...results.goals.map(
      (goal) =>
        `  ${mark(goal.met)} ${goal.goal}: ${goal.measured === null ? '–' : `${goal.measured}${goal.unit ? ` ${goal.unit}` : ''}`}`,
    ),
  ];
  const errorNames = Object.keys(results.errors);
  if (errorNames.length) out.push('', `not measured: ${errorNames.join(', ')} (see stderr)`);
  return `${out.join('\n')}\n`;
}
