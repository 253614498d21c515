/**
 * The benchmark: the offline stack's memory and warm Invoke, environment starts, the trigger path, a burst of
 * uploads, `npm start` beside the stock stack (serverless-offline, serverless-s3-local, serverless-esbuild) with a
 * burst of 1,000 concurrent calls, cold starts of the packaged functions, a large object through s3Upload, the
 * developer loop and crash rounds — each beside its floor, in one run, as one table.
 *
 *   npm run bench                 full counts (about 12 minutes on 2 cores); the table on stdout
 *   npm run bench -- --quick      smaller counts (a few minutes: the memory watch after the burst is not shortened)
 *   npm run --silent bench -- --json   the results JSON on stdout instead of the table
 *   npm run bench -- --baseline ../other-checkout   the stack's figures of another commit, measured alongside
 *   npm run bench -- --sections npmStart,peer       only these sections (names as in results.json)
 *   npm run bench -- --out /tmp/results.json        the results elsewhere than bench/results.json
 *
 * Results also go to bench/results.json. Progress goes to stderr. Exit code 0 unless a figure could not be
 * measured at all; a missed goal is reported (✗), not an error. See bench/README.md.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { PROJECT_DIR } from '../support/offline-stack';
import { measureBurst } from './burst';
import { measureColdStart } from './cold-start';
import { CRASH_COUNTS, crashGoals, measureCrash } from './crash';
import { measureDevLoop } from './dev-loop';
import { measureEnvironmentStart } from './environment-start';
import { goals } from './goals';
import { measureLargeObject } from './large-object';
import { machine, revision } from './machine';
import { measureIdleMemory, summariseInvokes, warmInvokeTimes, watchAfterBurst } from './memory';
import { packageFunctions, type PackagedFunction } from './package';
import { Cleanup } from './processes';
import { type Baseline, COUNTS, type Results, STACK_GOAL } from './results';
import { measureNpmStart, measurePeer } from './side-by-side';
import { type BenchStack, startBenchStack } from './stack';
import { table } from './table';
import { measureTrigger } from './trigger';

/** Every section, in the order they run; `--sections` picks some. */
const SECTIONS = [
  'stack',
  'environmentStart',
  'trigger',
  'burst',
  'afterBurst',
  'npmStart',
  'peer',
  'coldStart',
  'largeObject',
  'devLoop',
  'crash',
] as const;

const started = performance.now();
function progress(message: string): void {
  process.stderr.write(
    `[bench ${((performance.now() - started) / 1000).toFixed(1).padStart(5)} s] ${message}\n`,
  );
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      baseline: { type: 'string' },
      sections: { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(
      `usage: npm run bench [-- --quick] [-- --json] [-- --baseline <checkout of another commit>] [-- --sections ${SECTIONS.join(',')}] [-- --out <results file>]\n`,
    );
    return 0;
  }
  const chosen = new Set(values.sections?.split(',').map((name) => name.trim()) ?? SECTIONS);
  const unknown = [...chosen].filter((name) => !(SECTIONS as readonly string[]).includes(name));
  if (unknown.length > 0)
    throw new Error(`unknown section(s) ${unknown.join(', ')}; known: ${SECTIONS.join(', ')}`);
  const wanted = (name: (typeof SECTIONS)[number]): boolean => chosen.has(name);
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
    npmStart: null,
    concurrent: null,
    peer: null,
    baseline: null,
    goals: [],
    errors: {},
  };
  const section = async <T>(name: string, measure: () => Promise<T>): Promise<T | null> => {
    const part = name.replace(/^baseline /, '') as (typeof SECTIONS)[number];
    if ((SECTIONS as readonly string[]).includes(part) && !wanted(part)) return null;
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
    const needStack = ['stack', 'trigger', 'burst', 'afterBurst', 'coldStart', 'largeObject'].some((name) =>
      chosen.has(name),
    );
    const needPackage = ['environmentStart', 'coldStart', 'largeObject'].some((name) => chosen.has(name));
    const [stackOutcome, packageOutcome, baselinePackageOutcome] = await Promise.allSettled([
      needStack ? startBenchStack(cleanup) : Promise.reject(new Error('not among --sections')),
      needPackage ? packageFunctions(cleanup) : Promise.reject(new Error('not among --sections')),
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
    // This stack as a user starts it, and the stock stack, each alone on the machine (the bench's own stack idles).
    const ours = await section('npmStart', () => measureNpmStart(cleanup, counts, progress));
    results.npmStart = ours?.side ?? null;
    results.concurrent = ours?.concurrent ?? null;
    results.peer = await section('peer', () => measurePeer(cleanup, counts, progress));
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
  const out = values.out === undefined ? join(__dirname, 'results.json') : resolve(values.out);
  await writeFile(out, json);
  process.stdout.write(values.json ? json : table(results));
  progress(`done in ${results.durationS} s; results in ${out}`);
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
