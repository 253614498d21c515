/**
 * This stack as a user starts it (`npm start`) beside the stock one (bench/peer.ts), each fresh on free ports, in
 * the same run: the whole process tree's memory with both functions warm, and warm invokes over the HTTP API;
 * `npm start`'s stack then takes the concurrent burst (bench/concurrent.ts), and the stock stack the trigger and
 * an S3 burst, to put beside this stack's own trigger and burst sections.
 */
import { type BurstResult, measureBurst } from './burst';
import { type ConcurrentResult, measureConcurrent } from './concurrent';
import {
  type IdleMemory,
  measureIdleMemory,
  summariseInvokes,
  treeMemory,
  type WarmInvoke,
  warmHttpTimes,
} from './memory';
import { startPeerStack } from './peer';
import type { Cleanup } from './processes';
import { type BenchStack, startBenchStack } from './stack';
import { measureTrigger, type TriggerResult } from './trigger';

/** Idle memory of `npm start`'s whole tree at most this many times the stock stack's. */
export const SIDE_BY_SIDE_GOAL = { idleRatioMax: 1.2 } as const;

/**
 * The stock stack starts a worker thread for each S3 event it has no idle one for: a burst grows it past a
 * gigabyte. Past this the burst is stopped (and said so) rather than let it take the shared machine.
 */
const PEER_RSS_CEILING_MB = 4096;

export interface StackSide {
  /** The whole process tree as started, both functions warm. */
  readonly idle: IdleMemory;
  /** Sequential GET /hello. */
  readonly warmHttp: WarmInvoke;
}

export interface PeerSide extends StackSide {
  readonly trigger: TriggerResult | null;
  readonly burst: BurstResult | null;
  /** The stock stack's tree at its largest during the burst. */
  readonly burstPeakRssMb: number | null;
  /** Why a part could not be measured. */
  readonly errors: Record<string, string>;
}

export interface SideCounts {
  readonly warmInvokes: number;
  readonly concurrentCalls: number;
  readonly peerTriggerUploads: number;
  readonly peerBurstUploads: number;
  readonly burstConcurrency: number;
}

async function side(
  stack: BenchStack,
  counts: SideCounts,
  progress: (line: string) => void,
): Promise<StackSide> {
  const idle = await measureIdleMemory(stack, progress);
  const warmHttp = summariseInvokes(await warmHttpTimes(stack, counts.warmInvokes));
  progress(`warm invoke over HTTP: median ${warmHttp.medianMs} ms, p99 ${warmHttp.p99Ms} ms`);
  return { idle, warmHttp };
}

/** `npm start` fresh: its idle tree and warm HTTP invokes, then the concurrent burst on it. */
export async function measureNpmStart(
  cleanup: Cleanup,
  counts: SideCounts,
  progress: (line: string) => void,
): Promise<{ side: StackSide; concurrent: ConcurrentResult }> {
  progress('npm start: starting this stack as a user does');
  const stack = await startBenchStack(cleanup, { npm: true });
  try {
    const measured = await side(stack, counts, progress);
    const concurrent = await measureConcurrent(stack, counts.concurrentCalls, progress);
    return { side: measured, concurrent };
  } finally {
    await stack.stop();
  }
}

/** The stock stack fresh: its idle tree, warm HTTP invokes, the trigger and an S3 burst. */
export async function measurePeer(
  cleanup: Cleanup,
  counts: SideCounts,
  progress: (line: string) => void,
): Promise<PeerSide> {
  progress('peer: starting the stock stack (serverless-offline, serverless-s3-local, serverless-esbuild)');
  const stack = await startPeerStack(cleanup);
  const errors: Record<string, string> = {};
  const attempt = async <T>(name: string, measure: () => Promise<T>): Promise<T | null> => {
    try {
      return await measure();
    } catch (error) {
      errors[name] = error instanceof Error ? error.message : String(error);
      progress(`peer ${name}: NOT MEASURED: ${errors[name]}`);
      return null;
    }
  };
  try {
    const measured = await side(stack, counts, progress);
    const trigger = await attempt('trigger', () =>
      measureTrigger(stack, counts.peerTriggerUploads, progress),
    );
    const root = stack.stack.child.pid;
    let burstPeakRssMb: number | null = null;
    const watch =
      root === undefined
        ? undefined
        : setInterval(() => {
            const rssMb = treeMemory(root).rssMb;
            burstPeakRssMb = Math.max(burstPeakRssMb ?? 0, rssMb);
            if (rssMb > PEER_RSS_CEILING_MB) {
              errors.burst = `stopped: the stock stack reached ${Math.round(rssMb)} MB`;
              void stack.stop();
            }
          }, 250);
    // Its own deadline: the stock stack has no queue to wait for, only worker threads still running.
    const burst = await attempt('burst', () =>
      measureBurst(stack, counts.peerBurstUploads, counts.burstConcurrency, progress, 60_000),
    ).finally(() => clearInterval(watch));
    return { ...measured, trigger, burst, burstPeakRssMb, errors };
  } finally {
    await stack.stop();
  }
}
