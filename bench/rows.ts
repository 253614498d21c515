/**
 * The rows of the bench's table, section by section: each figure beside its floor, the ratio and the goal.
 */
import { BURST_GOAL } from './burst';
import { editLoopRows } from './edit-loop';
import type { FunctionColdStart } from './cold-start';
import { LARGE_OBJECT_GOAL } from './large-object';
import { MiB, NO_WORSE_MARGIN, type Results, STACK_GOAL } from './results';
import { concurrentRows, sideBySideRows } from './rows-side';
import { round } from './stats';
import { kb, mb, ms, type Row, roles, times } from './table-format';
import { TRIGGER_GOAL } from './trigger';

function coldStartRows(name: string, fn: FunctionColdStart, bare: number): Row[] {
  const rows: Row[] = [
    {
      figure: `coldStart: ${name} (zip ${kb(fn.zipBytes)})`,
      value: `${ms(fn.medianMs)} / ${ms(fn.p99Ms)} (+${ms(fn.overBareMs)})`,
      floor: ms(bare),
      ratio: times(fn.ratio),
      goal: `≤ +${fn.goalOverBareMsMax} ms over bare`,
      met: fn.met,
    },
    {
      figure: `  inside: require / invoke; RSS; CPU`,
      value: `${ms(fn.inside.requireMs)} / ${ms(fn.inside.invokeMs)}; ${fn.inside.maxRssMb} MB; ${ms(fn.inside.cpuMs)} (+${ms(fn.cpuOverEmptyMs)})`,
      floor: `boot ${ms(fn.inside.bootMs)}`,
      ratio: '',
      goal: '',
      met: null,
    },
  ];
  if (fn.withoutSourceMaps) {
    rows.push({
      figure: `  without --enable-source-maps`,
      value: `${ms(fn.withoutSourceMaps.medianMs)} (+${ms(fn.withoutSourceMaps.overBareMs)}); require ${ms(fn.withoutSourceMaps.requireMs)}; ${fn.withoutSourceMaps.maxRssMb} MB; CPU ${ms(fn.withoutSourceMaps.cpuMs)}`,
      floor: ms(bare),
      ratio: '',
      goal: '',
      met: null,
    });
  }
  return rows;
}

export function rows(results: Results): Row[] {
  const list: Row[] = [];
  const { trigger, burst, coldStart, largeObject, devLoop, errors, stack, baseline, environmentStart } =
    results;
  const failed = (figure: string, section: string): void => {
    list.push({
      figure,
      value: `not measured: ${errors[section]?.split('\n')[0] ?? 'skipped'}`,
      floor: '',
      ratio: '',
      goal: '',
      met: false,
    });
  };
  if (stack) {
    list.push({
      figure: 'stack idle, both warm: RSS (PSS)',
      value: `${mb(stack.idle.median.rssMb)} (${mb(stack.idle.median.pssMb)})`,
      floor: baseline ? `${mb(baseline.idle.median.rssMb)} (${mb(baseline.idle.median.pssMb)}) before` : '',
      ratio: baseline ? times(round(stack.idle.median.rssMb / baseline.idle.median.rssMb)) : '',
      goal: `≤ ${STACK_GOAL.idleRssMbMax} MB`,
      met: stack.idle.median.rssMb <= STACK_GOAL.idleRssMbMax,
    });
    list.push({
      figure: '  by process (RSS)',
      value: roles(stack.idle.median),
      floor: '',
      ratio: '',
      goal: '',
      met: null,
    });
    if (baseline) {
      list.push({
        figure: '  before, by process (RSS)',
        value: roles(baseline.idle.median),
        floor: '',
        ratio: '',
        goal: '',
        met: null,
      });
    }
    list.push({
      figure: `warm invoke, Invoke API (n=${stack.warmInvoke.invokes})`,
      value: `${ms(stack.warmInvoke.medianMs)} / ${ms(stack.warmInvoke.p99Ms)}`,
      floor: baseline ? `${ms(baseline.warmInvoke.medianMs)} / ${ms(baseline.warmInvoke.p99Ms)} before` : '',
      ratio: baseline ? times(round(stack.warmInvoke.medianMs / baseline.warmInvoke.medianMs)) : '',
      goal: baseline ? `≤ ${STACK_GOAL.warmInvokeRatioMax}× before` : '',
      met: baseline
        ? stack.warmInvoke.medianMs <= STACK_GOAL.warmInvokeRatioMax * baseline.warmInvoke.medianMs
        : null,
    });
  } else failed('stack', 'stack');
  if (environmentStart) {
    for (const [name, figures] of Object.entries(environmentStart.functions)) {
      list.push({
        figure: `environment start: ${name} (n=${environmentStart.runs})`,
        value: `Init Duration ${ms(figures.initDurationMs)}; first run ${ms(figures.firstRunMs)}`,
        floor: `node -e 0 ${ms(environmentStart.bareNodeMs)}`,
        ratio: `+${ms(figures.initOverBareMs)}`,
        goal: '',
        met: null,
      });
    }
  }
  list.push(...sideBySideRows(results), ...concurrentRows(results));
  if (trigger) {
    list.push({
      figure: `trigger: put → processed (n=${trigger.uploads})`,
      value: `${ms(trigger.medianMs)} / ${ms(trigger.p99Ms)}`,
      floor: `${ms(trigger.floorMedianMs)} / ${ms(trigger.floorP99Ms)}`,
      ratio: `${times(trigger.medianRatio)} / ${times(trigger.p99Ratio)}`,
      goal: `≤ ${TRIGGER_GOAL.medianRatioMax}× median, p99 ≤ ${TRIGGER_GOAL.p99MsMax} ms`,
      met: trigger.met,
    });
    if (baseline?.trigger) {
      list.push({
        figure: '  before (baseline commit)',
        value: `${ms(baseline.trigger.medianMs)} / ${ms(baseline.trigger.p99Ms)}`,
        floor: `${ms(baseline.trigger.floorMedianMs)} / ${ms(baseline.trigger.floorP99Ms)}`,
        ratio: `${times(baseline.trigger.medianRatio)} / ${times(baseline.trigger.p99Ratio)}`,
        goal: `now ≤ ${1 + NO_WORSE_MARGIN}× before`,
        met: trigger.medianMs <= (1 + NO_WORSE_MARGIN) * baseline.trigger.medianMs,
      });
    }
    const b = trigger.breakdown;
    const part = (value: number | null): string => (value === null ? '–' : ms(value));
    list.push({
      figure: '  where: put / queue / handler / rest',
      value: `${part(b.putMs)} / ${part(b.queueMs)} / ${part(b.handlerMs)} / ${part(b.otherMs)}`,
      floor: `p99 ${part(b.putP99Ms)} / ${part(b.queueP99Ms)} / ${part(b.handlerP99Ms)}`,
      ratio: '',
      goal: '',
      met: null,
    });
    list.push({
      figure: '  a plain GetObject of such an object',
      value: `${part(b.getMs)} / ${part(b.getP99Ms)}`,
      floor: '',
      ratio: '',
      goal: '',
      met: null,
    });
  } else failed('trigger', 'trigger');
  if (burst) {
    list.push({
      figure: `burst: ${burst.uploads} uploads, ${burst.concurrency} in flight`,
      value: `${burst.throughputPerS.toFixed(0)} /s`,
      floor: `${burst.floorThroughputPerS.toFixed(0)} /s`,
      ratio: times(burst.throughputRatio),
      goal: `≥ ${BURST_GOAL.throughputRatioMin}×`,
      met: burst.throughputRatio !== null && burst.throughputRatio >= BURST_GOAL.throughputRatioMin,
    });
    if (baseline?.burst) {
      list.push({
        figure: '  before (baseline commit)',
        value: `${baseline.burst.throughputPerS.toFixed(0)} /s`,
        floor: `${baseline.burst.floorThroughputPerS.toFixed(0)} /s`,
        ratio: times(baseline.burst.throughputRatio),
        goal: `now ≥ ${1 - NO_WORSE_MARGIN}× before`,
        met: burst.throughputPerS >= (1 - NO_WORSE_MARGIN) * baseline.burst.throughputPerS,
      });
    }
    const c = burst.cpu;
    const cpu = (value: number | null): string => (value === null ? '–' : ms(value));
    const cores = (value: number | null): string => (value === null ? '–' : value.toFixed(2));
    list.push({
      figure: '  CPU/upload: offline (main), bench',
      value: `${cpu(c.offlineMsPerUpload)} (${cpu(c.offlineMainMsPerUpload)}), ${cpu(c.benchMsPerUpload)}`,
      floor: `${cpu(c.floorOfflineMsPerUpload)} (${cpu(c.floorOfflineMainMsPerUpload)}), ${cpu(c.floorBenchMsPerUpload)}`,
      ratio: '',
      goal: '',
      met: null,
    });
    list.push({
      figure: '  offline cores busy (main thread)',
      value: `${cores(c.offlineCoresBusy)} (${cores(c.offlineMainBusy)})`,
      floor: cores(c.floorOfflineCoresBusy),
      ratio: '',
      goal: '',
      met: null,
    });
    if (burst.handler) {
      list.push({
        figure: '  handler runs: duration; most at once',
        value: `${ms(burst.handler.medianMs)} / ${ms(burst.handler.p99Ms)}; ${burst.handler.maxConcurrency}`,
        floor: '',
        ratio: '',
        goal: '',
        met: null,
      });
    }
    list.push({
      figure: '  lost / processed twice',
      value: `${burst.lost} / ${burst.duplicated}`,
      floor: '',
      ratio: '',
      goal: '0 / 0',
      met: burst.lost === 0 && burst.duplicated === 0,
    });
    const after = stack?.afterBurst;
    if (after) {
      const before = baseline?.afterBurst;
      list.push({
        figure: `  stack RSS after it: at end → ${Math.round(after.curve.at(-1)?.[0] ?? 0)} s later`,
        value: `${mb(after.atEnd.rssMb)} → ${mb(after.last.rssMb)}; ≤ ${mb(after.limitMb)} after ${after.backUnderLimitS === null ? '–' : `${after.backUnderLimitS} s`}`,
        floor: before ? `${mb(before.atEnd.rssMb)} → ${mb(before.last.rssMb)} before` : '',
        ratio: '',
        goal: `≤ ${STACK_GOAL.afterBurstRatioMax}× idle in ${STACK_GOAL.afterBurstWithinS} s`,
        met: after.backUnderLimitS !== null && after.backUnderLimitS <= STACK_GOAL.afterBurstWithinS,
      });
    }
  } else failed('burst', 'burst');
  if (coldStart) {
    list.push({
      figure: `coldStart: node -e 0 (n=${coldStart.runs})`,
      value: `${ms(coldStart.bareNodeMs)} / ${ms(coldStart.bareNodeP99Ms)}`,
      floor: '',
      ratio: '1.00×',
      goal: '',
      met: null,
    });
    list.push({
      figure: `  runner, empty handler: wall; CPU`,
      value: `${ms(coldStart.emptyHandler.medianMs)}; ${ms(coldStart.emptyHandler.cpuMs)}`,
      floor: '',
      ratio: '',
      goal: '',
      met: null,
    });
    for (const name of ['hello', 's3Upload'] as const) {
      list.push(...coldStartRows(name, coldStart[name], coldStart.bareNodeMs));
      const before = coldStart.baseline?.[name];
      if (before) {
        list.push({
          figure: `  before (baseline commit, zip ${kb(before.zipBytes)})`,
          value: `${ms(before.medianMs)} (+${ms(before.overBareMs)})`,
          floor: ms(coldStart.bareNodeMs),
          ratio: '',
          goal: '',
          met: null,
        });
      }
    }
  } else failed('coldStart', 'coldStart');
  if (largeObject) {
    const size = `${largeObject.bytes / MiB} MB`;
    list.push({
      figure: `largeObject: ${size}, worker peak RSS (n=${largeObject.runs})`,
      value: `${largeObject.peakRssMb} MB (runs ${largeObject.peakRssMbRuns.join(', ')}; after require ${largeObject.rssAfterRequireMb})`,
      floor: `${largeObject.rawPeakRssMb} MB`,
      ratio: times(largeObject.rssRatio),
      goal: `≤ ${LARGE_OBJECT_GOAL.peakRssMbMax} MB`,
      met: largeObject.met,
    });
    list.push({
      figure: `largeObject: ${size}, read speed`,
      value: `${largeObject.handlerMBps} MB/s`,
      floor: `${largeObject.rawMBps} MB/s`,
      ratio: times(largeObject.throughputRatio),
      goal: '',
      met: null,
    });
  } else failed('largeObject', 'largeObject');
  if (devLoop) {
    list.push({
      figure: `devLoop: npm start → ready (n=${devLoop.readyRuns})`,
      value: ms(devLoop.readyMs),
      floor: `print ${ms(devLoop.printMs)}`,
      ratio: times(devLoop.readyRatio),
      goal: '',
      met: null,
    });
    list.push({
      figure: `devLoop: invoke local hello (n=${devLoop.runs})`,
      value: `${ms(devLoop.invokeLocalMs)} / ${ms(devLoop.invokeLocalP99Ms)}`,
      floor: `print ${ms(devLoop.printMs)} / ${ms(devLoop.printP99Ms)}`,
      ratio: times(devLoop.invokeLocalRatio),
      goal: '',
      met: null,
    });
    list.push(...editLoopRows(devLoop.editLoop));
  } else failed('devLoop', 'devLoop');
  return list;
}
