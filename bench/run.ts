/**
 * The benchmark: the offline stack's memory and warm Invoke, environment starts, the trigger path, a burst of
 * uploads, cold starts of the packaged functions, a large object through s3Upload, the developer loop and crash
 * rounds — each beside its floor, in one run, as one table.
 *
 *   npm run bench                 full counts (about 6 minutes on 2 cores); the table on stdout
 *   npm run bench -- --quick      smaller counts (over a minute: the memory watch after the burst is not shortened)
 *   npm run --silent bench -- --json   the results JSON on stdout instead of the table
 *   npm run bench -- --baseline ../other-checkout   the stack's figures of another commit, measured alongside
 *
 * Results also go to bench/results.json. Progress goes to stderr. Exit code 0 unless a figure could not be
 * measured at all; a missed goal is reported (✗), not an error. See bench/README.md.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { BURST_GOAL, type BurstResult, measureBurst } from './burst';
import {
  COLD_START_GOAL,
  type ColdStartResult,
  type FunctionColdStart,
  measureColdStart,
} from './cold-start';
import { CRASH_COUNTS, type CrashResult, crashGoals, measureCrash } from './crash';
import { type DevLoopResult, measureDevLoop } from './dev-loop';
import { editLoopRows } from './edit-loop';
import { type EnvironmentStartResult, measureEnvironmentStart } from './environment-start';
import { LARGE_OBJECT_GOAL, type LargeObjectResult, measureLargeObject } from './large-object';
import { type Machine, machine, type Revision, revision } from './machine';
import {
  type AfterBurstMemory,
  type IdleMemory,
  measureIdleMemory,
  summariseInvokes,
  type WarmInvoke,
  warmInvokeTimes,
  watchAfterBurst,
} from './memory';
import { packageFunctions, type PackagedFunction } from './package';
import { PROJECT_DIR } from '../support/offline-stack';
import { Cleanup } from './processes';
import { type BenchStack, startBenchStack } from './stack';
import { measureTrigger, TRIGGER_GOAL, type TriggerResult } from './trigger';

const MiB = 1024 * 1024;

const round2 = (value: number): number => Math.round(value * 100) / 100;

const COUNTS = {
  full: {
    triggerUploads: 200,
    burstUploads: 2_000,
    burstConcurrency: 32,
    coldStartRuns: 9,
    largeObjectBytes: 256 * MiB,
    largeObjectRuns: 3,
    devLoopRuns: 5,
    readyRuns: 3,
    warmInvokes: 400,
    afterBurstWatchMs: 75_000,
  },
  quick: {
    triggerUploads: 40,
    burstUploads: 300,
    burstConcurrency: 32,
    coldStartRuns: 5,
    largeObjectBytes: 64 * MiB,
    largeObjectRuns: 1,
    devLoopRuns: 3,
    readyRuns: 1,
    warmInvokes: 100,
    afterBurstWatchMs: 75_000,
  },
} as const;

/** Goals of the offline stack itself (issue: execution environments). */
export const STACK_GOAL = {
  idleRssMbMax: 150,
  afterBurstRatioMax: 1.5,
  afterBurstWithinS: 60,
  warmInvokeRatioMax: 1.2,
} as const;

/**
 * "No worse than before" for figures a shared machine moves from run to run: this much worse than the baseline
 * measured in the same run still counts as the same.
 */
const NO_WORSE_MARGIN = 0.1;

interface StackFigures {
  idle: IdleMemory;
  warmInvoke: WarmInvoke;
  afterBurst: AfterBurstMemory | null;
}

interface Baseline extends StackFigures {
  projectDir: string;
  commit: string | null;
  trigger: TriggerResult | null;
  burst: BurstResult | null;
}

interface Goal {
  goal: string;
  target: string;
  measured: number | null;
  unit: string;
  met: boolean;
}

interface Results {
  mode: 'full' | 'quick';
  timestamp: string;
  durationS: number;
  machine: Machine & { loadAverageAtEnd: number[] };
  revision: Revision;
  trigger: TriggerResult | null;
  burst: BurstResult | null;
  coldStart: ColdStartResult | null;
  largeObject: LargeObjectResult | null;
  devLoop: DevLoopResult | null;
  crash: CrashResult | null;
  stack: StackFigures | null;
  environmentStart: EnvironmentStartResult | null;
  baseline: Baseline | null;
  goals: Goal[];
  /** Sections that could not be measured, with why. */
  errors: Record<string, string>;
}

const started = performance.now();
function progress(message: string): void {
  process.stderr.write(
    `[bench ${((performance.now() - started) / 1000).toFixed(1).padStart(5)} s] ${message}\n`,
  );
}

function goals(results: Results): Goal[] {
  const list: Goal[] = [];
  const { trigger, burst, coldStart, largeObject } = results;
  if (trigger) {
    list.push({
      goal: 'trigger median ≤ 2 × floor median',
      target: `≤ ${TRIGGER_GOAL.medianRatioMax}×`,
      measured: trigger.medianRatio,
      unit: '×',
      met: trigger.medianRatio !== null && trigger.medianRatio <= TRIGGER_GOAL.medianRatioMax,
    });
    list.push({
      goal: 'trigger p99 ≤ 50 ms',
      target: `≤ ${TRIGGER_GOAL.p99MsMax} ms`,
      measured: trigger.p99Ms,
      unit: 'ms',
      met: trigger.p99Ms <= TRIGGER_GOAL.p99MsMax,
    });
  }
  if (burst) {
    list.push({
      goal: 'burst: no upload lost',
      target: '0',
      measured: burst.lost,
      unit: '',
      met: burst.lost === 0,
    });
    list.push({
      goal: 'burst: no upload processed twice',
      target: '0',
      measured: burst.duplicated,
      unit: '',
      met: burst.duplicated === 0,
    });
    list.push({
      goal: 'burst throughput ≥ 50 % of floor',
      target: `≥ ${BURST_GOAL.throughputRatioMin}×`,
      measured: burst.throughputRatio,
      unit: '×',
      met: burst.throughputRatio !== null && burst.throughputRatio >= BURST_GOAL.throughputRatioMin,
    });
  }
  if (coldStart) {
    for (const name of ['hello', 's3Upload'] as const) {
      list.push({
        goal: `${name} cold start ≤ ${COLD_START_GOAL[name]} ms over bare node`,
        target: `≤ ${COLD_START_GOAL[name]} ms`,
        measured: coldStart[name].overBareMs,
        unit: 'ms',
        met: coldStart[name].met,
      });
    }
  }
  const { stack, baseline } = results;
  if (stack) {
    list.push({
      goal: `idle stack (sls + environments, both warm) RSS ≤ ${STACK_GOAL.idleRssMbMax} MB`,
      target: `≤ ${STACK_GOAL.idleRssMbMax} MB`,
      measured: stack.idle.median.rssMb,
      unit: 'MB',
      met: stack.idle.median.rssMb <= STACK_GOAL.idleRssMbMax,
    });
    if (stack.afterBurst) {
      list.push({
        goal: `after the burst: RSS ≤ ${STACK_GOAL.afterBurstRatioMax} × idle within ${STACK_GOAL.afterBurstWithinS} s`,
        target: `≤ ${STACK_GOAL.afterBurstWithinS} s`,
        measured: stack.afterBurst.backUnderLimitS,
        unit: 's',
        met:
          stack.afterBurst.backUnderLimitS !== null &&
          stack.afterBurst.backUnderLimitS <= STACK_GOAL.afterBurstWithinS,
      });
    }
    if (baseline) {
      const ratio = round2(stack.warmInvoke.medianMs / baseline.warmInvoke.medianMs);
      list.push({
        goal: `warm invoke (Invoke API) median ≤ ${STACK_GOAL.warmInvokeRatioMax} × the baseline's`,
        target: `≤ ${STACK_GOAL.warmInvokeRatioMax}×`,
        measured: ratio,
        unit: '×',
        met: ratio <= STACK_GOAL.warmInvokeRatioMax,
      });
    }
  }
  if (baseline && trigger && baseline.trigger) {
    const ratio = round2(trigger.medianMs / baseline.trigger.medianMs);
    list.push({
      goal: `trigger median no worse than the baseline's (+${NO_WORSE_MARGIN * 100} % run-to-run margin)`,
      target: `≤ ${1 + NO_WORSE_MARGIN}×`,
      measured: ratio,
      unit: '×',
      met: ratio <= 1 + NO_WORSE_MARGIN,
    });
  }
  if (baseline && burst && baseline.burst) {
    const ratio = round2(burst.throughputPerS / baseline.burst.throughputPerS);
    list.push({
      goal: `burst throughput no worse than the baseline's (−${NO_WORSE_MARGIN * 100} % run-to-run margin)`,
      target: `≥ ${1 - NO_WORSE_MARGIN}×`,
      measured: ratio,
      unit: '×',
      met: ratio >= 1 - NO_WORSE_MARGIN,
    });
  }
  if (largeObject) {
    list.push({
      goal: `large object: worker peak RSS ≤ ${LARGE_OBJECT_GOAL.peakRssMbMax} MB`,
      target: `≤ ${LARGE_OBJECT_GOAL.peakRssMbMax} MB`,
      measured: largeObject.peakRssMb,
      unit: 'MB',
      met: largeObject.met,
    });
  }
  return list;
}

// ---------------------------------------------------------------------------------------------- the table

const mark = (met: boolean | null): string => (met === null ? '' : met ? '✓' : '✗');
const ms = (value: number): string => `${value.toFixed(value < 100 ? 1 : 0)} ms`;
const times = (value: number | null): string => (value === null ? '–' : `${value.toFixed(2)}×`);
const kb = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KiB`;

interface Row {
  figure: string;
  value: string;
  floor: string;
  ratio: string;
  goal: string;
  met: boolean | null;
}

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

function rows(results: Results): Row[] {
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
  const mb = (value: number): string => `${value.toFixed(0)} MB`;
  const roles = (memory: IdleMemory['median']): string =>
    Object.entries(memory.byRole)
      .map(
        ([role, figures]) => `${role}${figures.count > 1 ? ` ×${figures.count}` : ''} ${mb(figures.rssMb)}`,
      )
      .join(', ');
  if (stack) {
    list.push({
      figure: 'stack idle, both warm: RSS (PSS)',
      value: `${mb(stack.idle.median.rssMb)} (${mb(stack.idle.median.pssMb)})`,
      floor: baseline ? `${mb(baseline.idle.median.rssMb)} (${mb(baseline.idle.median.pssMb)}) before` : '',
      ratio: baseline ? times(round2(stack.idle.median.rssMb / baseline.idle.median.rssMb)) : '',
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
      ratio: baseline ? times(round2(stack.warmInvoke.medianMs / baseline.warmInvoke.medianMs)) : '',
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

function table(results: Results): string {
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

// ---------------------------------------------------------------------------------------------- the run

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      baseline: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(
      'usage: npm run bench [-- --quick] [-- --json] [-- --baseline <checkout of another commit>]\n',
    );
    return 0;
  }
  const mode = values.quick ? 'quick' : 'full';
  const counts = COUNTS[mode];
  const cleanup = new Cleanup();
  let signalled: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (signalled) return;
    signalled = signal;
    progress(`${signal}: stopping everything the bench started`);
    void cleanup.runAll().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const results: Results = {
    mode,
    timestamp: new Date().toISOString(),
    durationS: 0,
    machine: { ...machine(), loadAverageAtEnd: [] },
    revision: await revision(PROJECT_DIR),
    trigger: null,
    burst: null,
    coldStart: null,
    largeObject: null,
    devLoop: null,
    crash: null,
    stack: null,
    environmentStart: null,
    baseline: null,
    goals: [],
    errors: {},
  };
  const section = async <T>(name: string, measure: () => Promise<T>): Promise<T | null> => {
    try {
      return await measure();
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      results.errors[name] = message;
      progress(`${name}: NOT MEASURED: ${message}`);
      return null;
    }
  };

  try {
    const workDir = await mkdtemp(join(tmpdir(), 'lambda-notes-bench-'));
    cleanup.add('bench work directory', () => rm(workDir, { recursive: true, force: true }));

    progress(`${mode} run: starting the offline stack and packaging the functions`);
    // Both only set the stage: nothing is measured while they run side by side.
    const [stackOutcome, packageOutcome, baselinePackageOutcome] = await Promise.allSettled([
      startBenchStack(cleanup),
      packageFunctions(cleanup),
      values.baseline === undefined ? Promise.resolve([]) : packageFunctions(cleanup, values.baseline),
    ]);
    const baselinePackage = baselinePackageOutcome.status === 'fulfilled' ? baselinePackageOutcome.value : [];
    const stack: BenchStack | undefined =
      stackOutcome.status === 'fulfilled' ? stackOutcome.value : undefined;
    const packaged: PackagedFunction[] | undefined =
      packageOutcome.status === 'fulfilled' ? packageOutcome.value : undefined;
    const need = <T>(value: T | undefined, outcome: PromiseSettledResult<unknown>, what: string): T => {
      if (value !== undefined) return value;
      const reason = outcome.status === 'rejected' ? String(outcome.reason) : 'unknown';
      throw new Error(`${what} is not available: ${reason}`);
    };
    progress(
      `stack ${stack ? `up (S3 on ${stack.s3Endpoint})` : 'FAILED'}, package ${packaged ? 'done' : 'FAILED'}`,
    );

    // The baseline (another checkout) runs beside this stack: each figure is taken on one while the other idles.
    const baselineDir = values.baseline;
    const baselineStack =
      baselineDir === undefined
        ? undefined
        : await section('baseline', () => startBenchStack(cleanup, { projectDir: baselineDir }));
    const baselineFigures: Partial<Baseline> = {};
    results.stack = await section('stack', async () => {
      const live = need(stack, stackOutcome, 'the offline stack');
      const idle = await measureIdleMemory(live, progress);
      if (baselineStack) baselineFigures.idle = await measureIdleMemory(baselineStack, progress);
      // Warm invokes in alternating blocks, so that both sides see the same machine.
      const times: number[] = [];
      const before: number[] = [];
      const blocks = 4;
      for (let block = 0; block < blocks; block += 1) {
        times.push(...(await warmInvokeTimes(live, counts.warmInvokes / blocks, block === 0)));
        if (baselineStack)
          before.push(...(await warmInvokeTimes(baselineStack, counts.warmInvokes / blocks, block === 0)));
      }
      const warmInvoke = summariseInvokes(times);
      progress(`warm invoke: median ${warmInvoke.medianMs} ms, p99 ${warmInvoke.p99Ms} ms`);
      if (baselineStack) baselineFigures.warmInvoke = summariseInvokes(before);
      return { idle, warmInvoke, afterBurst: null };
    });
    results.environmentStart = await section('environmentStart', () =>
      measureEnvironmentStart(
        cleanup,
        need(packaged, packageOutcome, 'the package'),
        counts.coldStartRuns,
        workDir,
        progress,
      ),
    );
    results.trigger = await section('trigger', () =>
      measureTrigger(need(stack, stackOutcome, 'the offline stack'), counts.triggerUploads, progress),
    );
    if (baselineStack) {
      baselineFigures.trigger = await section('baseline trigger', () =>
        measureTrigger(baselineStack, counts.triggerUploads, progress),
      );
    }
    results.burst = await section('burst', () =>
      measureBurst(
        need(stack, stackOutcome, 'the offline stack'),
        counts.burstUploads,
        counts.burstConcurrency,
        progress,
      ),
    );
    if (results.stack && stack) {
      const limitMb = Math.round(results.stack.idle.median.rssMb * STACK_GOAL.afterBurstRatioMax);
      results.stack.afterBurst = await section('afterBurst', () =>
        watchAfterBurst(stack, limitMb, { watchMs: counts.afterBurstWatchMs, everyMs: 2500 }, progress),
      );
    }
    if (baselineStack) {
      baselineFigures.burst = await section('baseline burst', () =>
        measureBurst(baselineStack, counts.burstUploads, counts.burstConcurrency, progress),
      );
      if (baselineFigures.idle) {
        const limitMb = Math.round(baselineFigures.idle.median.rssMb * STACK_GOAL.afterBurstRatioMax);
        baselineFigures.afterBurst = await section('baseline afterBurst', () =>
          watchAfterBurst(
            baselineStack,
            limitMb,
            { watchMs: counts.afterBurstWatchMs, everyMs: 2500 },
            progress,
          ),
        );
      }
      await baselineStack.stop();
      const { idle, warmInvoke } = baselineFigures;
      if (baselineDir !== undefined && idle && warmInvoke) {
        results.baseline = {
          projectDir: baselineDir,
          commit: (await revision(baselineDir)).commit,
          idle,
          warmInvoke,
          afterBurst: baselineFigures.afterBurst ?? null,
          trigger: baselineFigures.trigger ?? null,
          burst: baselineFigures.burst ?? null,
        };
      }
    }
    results.coldStart = await section('coldStart', () =>
      measureColdStart(
        cleanup,
        need(stack, stackOutcome, 'the offline stack'),
        need(packaged, packageOutcome, 'the package'),
        counts.coldStartRuns,
        workDir,
        progress,
        baselinePackage,
      ),
    );
    results.largeObject = await section('largeObject', () => {
      const fn = need(packaged, packageOutcome, 'the package').find((f) => f.name === 's3Upload');
      if (!fn) throw new Error('the package has no s3Upload function');
      return measureLargeObject(
        cleanup,
        need(stack, stackOutcome, 'the offline stack'),
        fn,
        counts.largeObjectBytes,
        counts.largeObjectRuns,
        workDir,
        progress,
      );
    });
    // The bench's own stack is stopped first: the developer loop runs on a machine without it.
    await stack?.stop();
    results.devLoop = await section('devLoop', () =>
      measureDevLoop(cleanup, counts.devLoopRuns, counts.readyRuns, progress),
    );
    results.crash = await section('crash', () => measureCrash(CRASH_COUNTS[mode], progress));
  } finally {
    await cleanup.runAll();
  }

  results.goals = [...goals(results), ...(results.crash ? crashGoals(results.crash) : [])];
  results.durationS = Math.round((performance.now() - started) / 100) / 10;
  results.machine.loadAverageAtEnd = loadavg().map((value) => Math.round(value * 100) / 100);
  const json = `${JSON.stringify(results, null, 2)}\n`;
  await writeFile(join(__dirname, 'results.json'), json);
  process.stdout.write(values.json ? json : table(results));
  progress(`done in ${results.durationS} s; results in bench/results.json`);
  return Object.keys(results.errors).length === 0 ? 0 : 1;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(
      `bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exitCode = 1;
  },
);
