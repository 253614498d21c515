/**
 * The table's rows for this stack beside the stock one (idle memory, warm HTTP invoke, trigger, S3 burst and
 * what each loses) and for the concurrent burst.
 */
import type { ConcurrentBurst } from './concurrent';
import type { Results } from './results';
import { mb, ms, type Row, roles, times } from './table-format';
import { SIDE_BY_SIDE_GOAL } from './side-by-side';
import { ratio } from './stats';

const note = (figure: string, value: string): Row => ({
  figure,
  value,
  floor: '',
  ratio: '',
  goal: '',
  met: null,
});

/** Ours in the value column, the stock stack's in the floor column. */
export function sideBySideRows({ npmStart, peer, trigger, burst, errors }: Results): Row[] {
  const list: Row[] = [];
  if (!npmStart || !peer) {
    const missing = !npmStart ? 'npmStart' : 'peer';
    return [note(`side by side: npm start | stock stack`, `not measured: ${errors[missing] ?? 'skipped'}`)];
  }
  const idleRatio = ratio(npmStart.idle.median.rssMb, peer.idle.median.rssMb);
  list.push({
    figure: 'side by side: idle, both warm, whole tree RSS (PSS): npm start | stock',
    value: `${mb(npmStart.idle.median.rssMb)} (${mb(npmStart.idle.median.pssMb)})`,
    floor: `${mb(peer.idle.median.rssMb)} (${mb(peer.idle.median.pssMb)})`,
    ratio: times(idleRatio),
    goal: `≤ ${SIDE_BY_SIDE_GOAL.idleRatioMax}×`,
    met: idleRatio !== null && idleRatio <= SIDE_BY_SIDE_GOAL.idleRatioMax,
  });
  list.push(note('  npm start, by process (RSS)', roles(npmStart.idle.median)));
  list.push(note('  stock stack, by process (RSS)', roles(peer.idle.median)));
  list.push({
    figure: `  warm invoke over HTTP (n=${npmStart.warmHttp.invokes})`,
    value: `${ms(npmStart.warmHttp.medianMs)} / ${ms(npmStart.warmHttp.p99Ms)}`,
    floor: `${ms(peer.warmHttp.medianMs)} / ${ms(peer.warmHttp.p99Ms)}`,
    ratio: times(ratio(npmStart.warmHttp.medianMs, peer.warmHttp.medianMs)),
    goal: '',
    met: null,
  });
  if (peer.trigger) {
    list.push({
      figure: `  trigger: put → processed (n=${trigger?.uploads ?? '–'} | ${peer.trigger.uploads})`,
      value: trigger ? `${ms(trigger.medianMs)} / ${ms(trigger.p99Ms)}` : 'not measured',
      floor: `${ms(peer.trigger.medianMs)} / ${ms(peer.trigger.p99Ms)}`,
      ratio: trigger ? times(ratio(trigger.medianMs, peer.trigger.medianMs)) : '',
      goal: '',
      met: null,
    });
  } else list.push(note('  trigger', `stock stack: ${peer.errors.trigger ?? 'not measured'}`));
  if (peer.burst) {
    const lost = (figures: { lost: number; duplicated: number }): string =>
      `lost ${figures.lost}, twice ${figures.duplicated}`;
    list.push({
      figure: `  S3 burst (n=${burst?.uploads ?? '–'} | ${peer.burst.uploads}), ${peer.burst.concurrency} in flight`,
      value: burst ? `${burst.throughputPerS.toFixed(0)} /s, ${lost(burst)}` : 'not measured',
      floor: `${peer.burst.throughputPerS.toFixed(0)} /s, ${lost(peer.burst)}`,
      ratio: burst ? times(ratio(burst.throughputPerS, peer.burst.throughputPerS)) : '',
      goal: '',
      met: null,
    });
    const main = peer.burst.cpu.offlineMainMsPerUpload;
    list.push(
      note(
        '  stock stack during its burst',
        `peak RSS ${peer.burstPeakRssMb === null ? '–' : mb(peer.burstPeakRssMb)}; main thread CPU/upload ${main === null ? '–' : ms(main)}`,
      ),
    );
  } else list.push(note('  S3 burst', `stock stack: ${peer.errors.burst ?? 'not measured'}`));
  return list;
}

function burstRows(name: string, burst: ConcurrentBurst, goal: Results['concurrent']): Row[] {
  const answers = Object.entries(burst.answers)
    .map(([answer, count]) => `${count} × ${answer}`)
    .join(', ');
  return [
    {
      figure: `concurrent: ${burst.calls} hello calls at once, ${name}`,
      value: `last answer ${burst.lastAnswerS} s; peak RSS ${mb(burst.peakRssMb)}`,
      floor: '',
      ratio: '',
      goal: goal ? `all 200 ≤ ${goal.goal.withinS} s, ≤ ${goal.goal.peakRssMbMax} MB, 0 lost` : '',
      met: burst.met && burst.lost === 0,
    },
    note('  answers; environments started', `${answers}; ${burst.environmentsStarted}`),
  ];
}

export function concurrentRows({ concurrent, errors }: Results): Row[] {
  if (!concurrent) return [note('concurrent', `not measured: ${errors.npmStart ?? 'skipped'}`)];
  return [
    ...burstRows('Invoke API', concurrent.invoke, concurrent),
    ...burstRows('HTTP', concurrent.http, concurrent),
  ];
}
