/**
 * Crash and account, the long version of test/offline/crash.test.ts: rounds of a burst of uploads (every fifth
 * empty) stopped at a random moment — kill -9 of the whole process group, then clean stops (SIGINT to the group, as Ctrl-C) —
 * each followed by a restart on the same state dir, then a full accounting: every upload S3 answered with 200
 * must end processed once or as one DLQ record. Duplicates are allowed only for runs a kill -9 interrupted
 * (at-least-once), and are counted.
 *
 *   npx tsx bench/crash.ts [--quick]    this section alone, its result as JSON on stdout
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { type CrashAccount, crashRounds, type StopKind } from '../support/crash-rounds';

export const CRASH_COUNTS = {
  full: { killRounds: 10, cleanRounds: 3, uploadsPerRound: 300, concurrency: 16 },
  quick: { killRounds: 3, cleanRounds: 1, uploadsPerRound: 100, concurrency: 16 },
} as const;

export interface CrashResult {
  readonly killRounds: number;
  readonly cleanRounds: number;
  readonly uploadsPerRound: number;
  readonly acknowledged: number;
  readonly acknowledgedEmpty: number;
  readonly lost: number;
  readonly processedTwice: number;
  readonly duplicateDlqRecords: number;
  readonly misrouted: number;
  readonly interruptedRuns: number;
  readonly duplicatesAfterCleanStops: number;
  readonly maxRunsOfAnEmptyObject: number;
  /** Per round: ms between the stop and the last 200 before it (negative: a 200 during a clean stop's drain). */
  readonly lastAckBeforeStopMs: number[];
  readonly durationS: number;
}

export interface CrashGoal {
  goal: string;
  target: string;
  measured: number | null;
  unit: string;
  met: boolean;
}

export async function measureCrash(
  counts: (typeof CRASH_COUNTS)[keyof typeof CRASH_COUNTS],
  progress: (message: string) => void,
): Promise<CrashResult> {
  const started = performance.now();
  const stateDir = await mkdtemp(join(tmpdir(), 'lambda-notes-bench-crash-'));
  const stops: StopKind[] = [
    ...Array.from({ length: counts.killRounds }, () => 'kill-9' as const),
    ...Array.from({ length: counts.cleanRounds }, () => 'clean' as const),
  ];
  let account: CrashAccount;
  try {
    account = await crashRounds({
      stateDir,
      stops,
      uploadsPerRound: counts.uploadsPerRound,
      concurrency: counts.concurrency,
      log: (line) => progress(`crash: ${line}`),
    });
  } finally {
    await rm(stateDir, { recursive: true, force: true });
  }
  return {
    killRounds: counts.killRounds,
    cleanRounds: counts.cleanRounds,
    uploadsPerRound: counts.uploadsPerRound,
    acknowledged: account.acknowledged,
    acknowledgedEmpty: account.acknowledgedEmpty,
    lost: account.lost.length,
    processedTwice: account.processedTwice.length,
    duplicateDlqRecords: account.duplicateDlqRecords.length,
    misrouted: account.misrouted.length,
    interruptedRuns: account.interruptedRuns,
    duplicatesAfterCleanStops: account.duplicatesAfterCleanStops,
    maxRunsOfAnEmptyObject: account.maxRunsOfAnEmptyObject,
    lastAckBeforeStopMs: account.lastAckBeforeStopMs,
    durationS: Math.round((performance.now() - started) / 100) / 10,
  };
}

export function crashGoals(crash: CrashResult): CrashGoal[] {
  return [
    {
      goal: 'crash: no acknowledged upload lost',
      target: '0',
      measured: crash.lost,
      unit: '',
      met: crash.lost === 0,
    },
    {
      goal: 'crash: no duplicate DLQ record',
      target: '0',
      measured: crash.duplicateDlqRecords,
      unit: '',
      met: crash.duplicateDlqRecords === 0 && crash.misrouted === 0,
    },
    {
      goal: 'crash: duplicates ≤ runs a kill -9 interrupted',
      target: `≤ ${crash.interruptedRuns}`,
      measured: crash.processedTwice,
      unit: '',
      met: crash.processedTwice <= crash.interruptedRuns && crash.duplicatesAfterCleanStops === 0,
    },
    {
      goal: 'crash: an empty object runs ≤ 3 times',
      target: '≤ 3',
      measured: crash.maxRunsOfAnEmptyObject,
      unit: '',
      met: crash.maxRunsOfAnEmptyObject <= 3,
    },
  ];
}

if (require.main === module) {
  const quick = process.argv.includes('--quick');
  measureCrash(CRASH_COUNTS[quick ? 'quick' : 'full'], (message) =>
    process.stderr.write(`${message}\n`),
  ).then(
    (result) => {
      process.stdout.write(`${JSON.stringify({ crash: result, goals: crashGoals(result) }, null, 2)}\n`);
    },
    (error: unknown) => {
      process.stderr.write(`crash bench: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
