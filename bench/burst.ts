/**
 * burst: many uploads under targets/ with a fixed number in flight; every key must be processed exactly once.
 * Throughput runs from the first PutObject to the last first-time `object processed` line, against the floor
 * of the same uploads, at the same concurrency, to keys no trigger watches (first put to last put answered).
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { waitFor } from '../support/wait';
import { processTree } from './memory';
import { distribution, ratio, round } from './stats';
import type { BenchStack } from './stack';

export const BURST_GOAL = { lost: 0, duplicated: 0, throughputRatioMin: 0.5, mainCpuRatioMax: 2 } as const;

export interface BurstResult {
  uploads: number;
  concurrency: number;
  lost: number;
  duplicated: number;
  throughputPerS: number;
  floorThroughputPerS: number;
  throughputRatio: number | null;
  /** First put to last put answered, for the triggered uploads: how fast S3 took them while the queue ran. */
  putPhaseS: number;
  /** First put to last key processed. */
  elapsedS: number;
  floorElapsedS: number;
  /**
   * CPU time per upload: of the offline stack (the serverless process with the local S3 and the queue, and the
   * execution environments under it) and of this process (the S3 client), and how many of the machine's cores
   * the offline stack kept busy.
   */
  cpu: {
    offlineMsPerUpload: number | null;
    floorOfflineMsPerUpload: number | null;
    benchMsPerUpload: number;
    floorBenchMsPerUpload: number;
    offlineCoresBusy: number | null;
    floorOfflineCoresBusy: number | null;
    /** The serverless main thread alone (local S3, queue, invocation bookkeeping); the rest is the environments. */
    offlineMainMsPerUpload: number | null;
    floorOfflineMainMsPerUpload: number | null;
    /** Share of the wall time the offline main thread was on a CPU: near 1, the event loop is the limit. */
    offlineMainBusy: number | null;
  };
  /** Only when uploads were lost: what the offline stack said about them. */
  lostDetail?: {
    /** Lost keys processed after all, after the deadline and before the queue drained. */
    processedLate: number;
    /** Events still in the offline queue when the bench gave up. */
    stillQueued: number;
    /** The offline stack's [async] warnings and errors, by kind (retry, expired, dropped, throttled …). */
    asyncWarnings: Record<string, number>;
    /** s3Upload's `object failed` lines. */
    handlerFailures: number;
    sampleKeys: string[];
  };
  /** The last 100 handler runs of the burst (offline metrics): duration median / p99, and most in parallel. */
  handler: { medianMs: number; p99Ms: number; maxConcurrency: number } | null;
  goal: typeof BURST_GOAL;
  met: boolean;
}

/** Events the offline queue still holds (the async queue keeps one file per event until it is done). */
async function pendingEvents(stack: BenchStack): Promise<number> {
  const files = await readdir(join(stack.stack.stateDir, 'async', 'pending')).catch(() => []);
  return files.filter((file) => file.endsWith('.json') && !file.startsWith('.')).length;
}

/** Linux's USER_HZ: /proc reports CPU time in these ticks (getconf CLK_TCK; 100 on every common kernel). */
const TICKS_PER_S = 100;

/** Fields of /proc/<pid>/stat after "pid (comm) ": state is field 3, so field n is at index n - 3. */
function statFields(stat: string): string[] {
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/**
 * CPU time (user + system) used so far, in ms: by the offline stack — the serverless process (every thread), the
 * processes under it (execution environments, esbuild) and those it has already reaped (cutime, cstime) — or,
 * with `mainThread`, by the serverless process's main thread alone (the event loop that serves the local S3 and
 * runs the queue); null where /proc is not there.
 */
async function processCpuMs(pid: number | undefined, mainThread = false): Promise<number | null> {
  if (pid === undefined) return null;
  if (mainThread) {
    const stat = await readFile(`/proc/${pid}/task/${pid}/stat`, 'utf8').catch(() => undefined);
    if (stat === undefined) return null;
    const fields = statFields(stat);
    return ((Number(fields[11]) + Number(fields[12])) / TICKS_PER_S) * 1000;
  }
  const root = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  if (root === undefined) return null;
  const rootFields = statFields(root);
  let ticks = Number(rootFields[13]) + Number(rootFields[14]);
  for (const entry of processTree(pid)) {
    const stat = await readFile(`/proc/${entry.pid}/stat`, 'utf8').catch(() => undefined);
    if (stat !== undefined) ticks += Number(statFields(stat)[11]) + Number(statFields(stat)[12]);
  }
  return (ticks / TICKS_PER_S) * 1000;
}

function benchCpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

const ASYNC_WARNINGS: Array<[kind: string, pattern: RegExp]> = [
  ['retry', /failed \(.*\); retry in/],
  ['noRetriesLeft', /no retries left/],
  ['expired', /older than maximumEventAge/],
  ['throttled', /throttled/],
  ['dropped', /DROPPED/],
  ['toDestination', /record sent to/],
  ['undeliverable', /could NOT be delivered/],
  ['queueFailure', /queue failure/],
];

async function explainLost(
  stack: BenchStack,
  lostKeys: string[],
): Promise<NonNullable<BurstResult['lostDetail']>> {
  const asyncWarnings: Record<string, number> = {};
  for (const line of stack.stack.output.split('\n')) {
    if (!line.includes('[async]')) continue;
    for (const [kind, pattern] of ASYNC_WARNINGS) {
      if (pattern.test(line)) asyncWarnings[kind] = (asyncWarnings[kind] ?? 0) + 1;
    }
  }
  const handlerFailures = stack.stack.output
    .split('\n')
    .filter((line) => line.includes('"object failed"')).length;
  return {
    processedLate: lostKeys.filter((key) => stack.log.count(key) > 0).length,
    stillQueued: await pendingEvents(stack),
    asyncWarnings,
    handlerFailures,
    sampleKeys: lostKeys.slice(0, 5),
  };
}

/** Runs `task(i)` for i in [0, count) with at most `concurrency` running at once. */
async function pool(
  count: number,
  concurrency: number,
  task: (index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const index = next;
      next += 1;
      await task(index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}

/**
 * `deadlineMs`: how long after the last upload a key may still be processed before it counts as lost; by default
 * 20 × the upload phase, at least 30 s (a slow queue counts as slow, not as lost).
 */
export async function measureBurst(
  stack: BenchStack,
  uploads: number,
  concurrency: number,
  progress: (message: string) => void,
  deadlineMs?: number,
): Promise<BurstResult> {
  const body = (i: number): string => `burst ${i}\nsecond line\n`;

  const pid = stack.stack.child.pid;
  const floorCpuBefore = await processCpuMs(pid);
  const floorMainBefore = await processCpuMs(pid, true);
  const floorBenchBefore = benchCpuMs();
  const floorStart = performance.now();
  await pool(uploads, concurrency, async (i) => {
    await stack.put(`untriggered/bench/burst-${i}.txt`, body(i));
  });
  const floorElapsed = performance.now() - floorStart;
  const floorBenchCpu = benchCpuMs() - floorBenchBefore;
  const floorCpuAfter = await processCpuMs(pid);
  const floorMainAfter = await processCpuMs(pid, true);
  progress(`burst: floor ${uploads} uploads in ${(floorElapsed / 1000).toFixed(2)} s`);

  const keys = Array.from({ length: uploads }, (_, i) => `targets/bench/burst-${i}.txt`);
  const cpuBefore = await processCpuMs(pid);
  const mainBefore = await processCpuMs(pid, true);
  const benchBefore = benchCpuMs();
  const start = performance.now();
  await pool(uploads, concurrency, async (i) => {
    await stack.put(keys[i] as string, body(i));
  });
  const putPhase = performance.now() - start;
  progress(
    `burst: ${uploads} triggered uploads accepted in ${(putPhase / 1000).toFixed(2)} s; waiting for the handler`,
  );

  const deadline = deadlineMs ?? Math.max(30_000, putPhase * 20);
  const settled = await Promise.allSettled(keys.map((key) => stack.log.processed(key, deadline)));
  const finishes = settled.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : []));
  const lost = settled.length - finishes.length;
  const lastFinish = finishes.length ? Math.max(...finishes) : performance.now();
  const benchCpu = benchCpuMs() - benchBefore;
  const cpuAfter = await processCpuMs(pid);
  const mainAfter = await processCpuMs(pid, true);
  const recent = (await stack.recent().catch(() => [])).filter(
    (run) => run.functionKey === 's3Upload' && run.mode === 'async',
  );
  const durations = recent.length ? distribution(recent.map((run) => run.durationMs)) : null;
  const maxConcurrency = Math.max(0, ...recent.map((run) => run.concurrency ?? 0));
  // A duplicate would come from an event still queued (a retry): count once the queue holds nothing.
  await waitFor('the offline async queue to drain', async () => (await pendingEvents(stack)) === 0, {
    timeoutMs: 10_000,
  }).catch((error: unknown) => progress(`burst: ${String(error)}`));
  const duplicated = keys.filter((key) => stack.log.count(key) > 1).length;
  const lostKeys = keys.filter((_, i) => settled[i]?.status === 'rejected');

  const elapsed = lastFinish - start;
  const perUpload = (before: number | null, after: number | null): number | null =>
    before === null || after === null ? null : round((after - before) / uploads);
  const coresBusy = (before: number | null, after: number | null, wall: number): number | null =>
    before === null || after === null ? null : round((after - before) / wall);
  const throughputPerS = round((finishes.length / elapsed) * 1000);
  const floorThroughputPerS = round((uploads / floorElapsed) * 1000);
  const throughputRatio = ratio(throughputPerS, floorThroughputPerS);
  return {
    uploads,
    concurrency,
    lost,
    duplicated,
    throughputPerS,
    floorThroughputPerS,
    throughputRatio,
    putPhaseS: round(putPhase / 1000),
    elapsedS: round(elapsed / 1000),
    floorElapsedS: round(floorElapsed / 1000),
    cpu: {
      offlineMsPerUpload: perUpload(cpuBefore, cpuAfter),
      floorOfflineMsPerUpload: perUpload(floorCpuBefore, floorCpuAfter),
      benchMsPerUpload: round(benchCpu / uploads),
      floorBenchMsPerUpload: round(floorBenchCpu / uploads),
      offlineCoresBusy: coresBusy(cpuBefore, cpuAfter, elapsed),
      floorOfflineCoresBusy: coresBusy(floorCpuBefore, floorCpuAfter, floorElapsed),
      offlineMainMsPerUpload: perUpload(mainBefore, mainAfter),
      floorOfflineMainMsPerUpload: perUpload(floorMainBefore, floorMainAfter),
      offlineMainBusy: coresBusy(mainBefore, mainAfter, elapsed),
    },
    handler: durations && { medianMs: durations.median, p99Ms: durations.p99, maxConcurrency },
    ...(lostKeys.length ? { lostDetail: await explainLost(stack, lostKeys) } : {}),
    goal: BURST_GOAL,
    met:
      lost === BURST_GOAL.lost &&
      duplicated === BURST_GOAL.duplicated &&
      throughputRatio !== null &&
      throughputRatio >= BURST_GOAL.throughputRatioMin,
  };
}
