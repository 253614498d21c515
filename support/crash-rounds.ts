/**
 * Crash-and-account rounds against the offline stack, as a database is tested: a burst of uploads (every fifth
 * empty, so that it fails all its attempts and ends in the DLQ), a stop at a random moment of the burst — kill -9
 * of the whole process group, or a clean stop (SIGINT to the group, as Ctrl-C in npm start sends) — a restart on the same state dir, and at the
 * end a full accounting: every upload that S3 answered with 200 must be processed once (a good object) or be
 * one DLQ record (an empty one). Shared by the crash test (a few rounds) and the bench (many).
 */
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { deadLetters, recordKey } from './dead-letters';
import { BUCKET, OfflineStack } from './offline-stack';
import { waitFor } from './wait';

export type StopKind = 'kill-9' | 'clean';

export interface CrashRoundsOptions {
  readonly stateDir: string;
  readonly stops: readonly StopKind[];
  readonly uploadsPerRound: number;
  readonly concurrency: number;
  /** Random source (tests may pass a seeded one). */
  readonly random?: () => number;
  readonly log?: (line: string) => void;
}

export interface CrashAccount {
  readonly rounds: number;
  readonly acknowledged: number;
  readonly acknowledgedGood: number;
  readonly acknowledgedEmpty: number;
  /** The same two counts for each round, in order. */
  readonly acknowledgedPerRound: ReadonlyArray<{ readonly good: number; readonly empty: number }>;
  /** Acknowledged uploads neither processed nor in the DLQ. */
  readonly lost: string[];
  /** Good objects processed more than once, with their count. */
  readonly processedTwice: Array<{ key: string; times: number }>;
  /** Keys with more than one DLQ record. */
  readonly duplicateDlqRecords: string[];
  /** Empty objects that were also "processed" (should be impossible) or good objects in the DLQ. */
  readonly misrouted: string[];
  /** Runs under way at a kill -9, as the restarted stacks reported them: the bound on allowed duplicates. */
  readonly interruptedRuns: number;
  /** Duplicates after clean stops (must be 0). */
  readonly duplicatesAfterCleanStops: number;
  /** Runs of each empty object (max over all): 3 with 2 retries. */
  readonly maxRunsOfAnEmptyObject: number;
  /** ms from the last 200 before a stop to the stop, per round (how close to the stop acknowledgements were). */
  readonly lastAckBeforeStopMs: number[];
}

interface Upload {
  readonly key: string;
  readonly empty: boolean;
  readonly round: number;
  acknowledgedAt?: number;
}

/** The processed-object log lines of a stack, by key. */
export function processedKeys(stack: OfflineStack): string[] {
  return stack
    .logLines()
    .filter((line) => line.message === 'object processed' && typeof line.key === 'string')
    .map((line) => line.key as string);
}

/** The handler's "object failed" lines, by key: one per run of an empty object. */
function failedKeys(stack: OfflineStack): string[] {
  return stack
    .logLines()
    .filter((line) => line.message === 'object failed' && typeof line.key === 'string')
    .map((line) => line.key as string);
}

export async function crashRounds(options: CrashRoundsOptions): Promise<CrashAccount> {
  const random = options.random ?? Math.random;
  const log = options.log ?? (() => undefined);
  const uploads: Upload[] = [];
  const stacks: OfflineStack[] = [];
  let interruptedRuns = 0;
  const cleanRounds = new Set<number>();
  const lastAckBeforeStopMs: number[] = [];
  // Time scale 0.01 with a 6 h maximum age: 216 s, so that slow restarts on a loaded machine never age the events
  // out (that would be right, but it is not what is measured here); retries still come 0.6 s and 1.2 s apart.
  const stackOptions = {
    stateDir: options.stateDir,
    startTimeoutMs: 60_000,
    timeScale: 0.01,
    params: { maximumEventAge: '21600' },
  };
  let stack = await OfflineStack.start(stackOptions);
  stacks.push(stack);
  try {
    for (const [round, stop] of options.stops.entries()) {
      const s3 = stack.s3Client();
      const stopAfter = Math.floor(options.uploadsPerRound * (0.2 + 0.6 * random()));
      let acknowledged = 0;
      let stopped = false;
      let stopAt = 0;
      const stopNow = (): void => {
        if (stopped) return;
        stopped = true;
        stopAt = Date.now();
        const pid = stack.child.pid;
        if (pid === undefined) return;
        try {
          process.kill(-pid, stop === 'kill-9' ? 'SIGKILL' : 'SIGINT');
        } catch {
          // already gone
        }
      };
      const roundUploads: Upload[] = Array.from({ length: options.uploadsPerRound }, (_, i) => ({
        key: `targets/crash-${Date.now().toString(36)}-r${round}-${i}.txt`,
        empty: i % 5 === 4,
        round,
      }));
      uploads.push(...roundUploads);
      let next = 0;
      const worker = async (): Promise<void> => {
        while (!stopped && next < roundUploads.length) {
          const upload = roundUploads[next++] as Upload;
          try {
            const body = Buffer.from(upload.empty ? '' : `line of ${upload.key}\n`);
            await s3.send(
              new PutObjectCommand({
                Bucket: BUCKET,
                Key: upload.key,
                Body: body,
                ContentLength: body.length,
              }),
            );
            upload.acknowledgedAt = Date.now();
            acknowledged += 1;
            if (acknowledged >= stopAfter) stopNow();
          } catch {
            // Not acknowledged (the stack went away, or refused it while stopping): not counted.
          }
        }
      };
      await Promise.all(Array.from({ length: options.concurrency }, worker));
      stopNow();
      s3.destroy();
      const acks = roundUploads.flatMap((u) => (u.acknowledgedAt === undefined ? [] : [u.acknowledgedAt]));
      lastAckBeforeStopMs.push(stopAt - Math.max(...acks));
      await waitFor(
        'the stopped stack to exit',
        () => stack.child.exitCode !== null || stack.child.signalCode !== null,
        {
          timeoutMs: 30_000,
        },
      );
      await stack.stop({ keepState: true });
      if (stop === 'clean') cleanRounds.add(round);
      log(`round ${round + 1}/${options.stops.length}: ${stop} after ${acknowledged} acknowledged upload(s)`);
      stack = await OfflineStack.start(stackOptions);
      stacks.push(stack);
      const interrupted = /\((\d+) had a run under way at the last stop/.exec(stack.output);
      interruptedRuns += Number(interrupted?.[1] ?? 0);
    }
    await waitFor('an empty queue after the last restart', async () => (await stack.pendingEvents()) === 0, {
      timeoutMs: 120_000,
      intervalMs: 100,
    });
    // Destination records are written before the pending file goes: an empty queue means every record is in.
  } finally {
    await stack.stop({ keepState: true });
  }

  const processed = new Map<string, number>();
  for (const s of stacks)
    for (const key of processedKeys(s)) processed.set(key, (processed.get(key) ?? 0) + 1);
  const runsOfEmpty = new Map<string, number>();
  for (const s of stacks)
    for (const key of failedKeys(s)) runsOfEmpty.set(key, (runsOfEmpty.get(key) ?? 0) + 1);
  const dlq = new Map<string, number>();
  for (const record of await deadLetters(options.stateDir)) {
    const key = recordKey(record);
    if (key !== undefined) dlq.set(key, (dlq.get(key) ?? 0) + 1);
  }

  const acknowledged = uploads.filter((u) => u.acknowledgedAt !== undefined);
  const lost: string[] = [];
  const processedTwice: Array<{ key: string; times: number }> = [];
  const duplicateDlqRecords: string[] = [];
  const misrouted: string[] = [];
  let duplicatesAfterCleanStops = 0;
  for (const upload of uploads) {
    const times = processed.get(upload.key) ?? 0;
    const records = dlq.get(upload.key) ?? 0;
    if (upload.empty ? times > 0 : records > 0) misrouted.push(upload.key);
    if (records > 1) duplicateDlqRecords.push(upload.key);
    if (times > 1) {
      processedTwice.push({ key: upload.key, times });
      if (cleanRounds.has(upload.round)) duplicatesAfterCleanStops += 1;
    }
    if (upload.acknowledgedAt !== undefined && (upload.empty ? records : times) === 0) lost.push(upload.key);
  }
  log(
    `${acknowledged.length} acknowledged, ${lost.length} lost, ${processedTwice.length} processed twice, ${duplicateDlqRecords.length} duplicate DLQ records, ${interruptedRuns} run(s) interrupted`,
  );
  return {
    rounds: options.stops.length,
    acknowledged: acknowledged.length,
    acknowledgedGood: acknowledged.filter((u) => !u.empty).length,
    acknowledgedEmpty: acknowledged.filter((u) => u.empty).length,
    acknowledgedPerRound: options.stops.map((_, round) => {
      const ofRound = acknowledged.filter((u) => u.round === round);
      return { good: ofRound.filter((u) => !u.empty).length, empty: ofRound.filter((u) => u.empty).length };
    }),
    lost,
    processedTwice,
    duplicateDlqRecords,
    misrouted,
    interruptedRuns,
    duplicatesAfterCleanStops,
    maxRunsOfAnEmptyObject: Math.max(0, ...runsOfEmpty.values()),
    lastAckBeforeStopMs,
  };
}
