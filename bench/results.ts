/**
 * What a bench run measures and keeps (bench/results.json): the counts of each mode, the stack's own goals, and
 * the shape of the results every section fills in.
 */
import type { BurstResult } from './burst';
import type { ColdStartResult } from './cold-start';
import type { ConcurrentResult } from './concurrent';
import type { CrashResult } from './crash';
import type { DevLoopResult } from './dev-loop';
import type { EnvironmentStartResult } from './environment-start';
import type { LargeObjectResult } from './large-object';
import type { Machine, Revision } from './machine';
import type { AfterBurstMemory, IdleMemory, WarmInvoke } from './memory';
import type { PeerSide, StackSide } from './side-by-side';
import type { TriggerResult } from './trigger';

export const MiB = 1024 * 1024;

export const COUNTS = {
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
    concurrentCalls: 1_000,
    peerTriggerUploads: 100,
    // The stock stack takes about a tenth of a second of its main thread per triggered upload and a worker
    // thread per event in flight (past a gigabyte at 100 uploads): 2,000 would take many minutes.
    peerBurstUploads: 300,
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
    concurrentCalls: 300,
    peerTriggerUploads: 20,
    peerBurstUploads: 100,
  },
} as const;

export type Counts = (typeof COUNTS)[keyof typeof COUNTS];

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
export const NO_WORSE_MARGIN = 0.1;

export interface StackFigures {
  idle: IdleMemory;
  warmInvoke: WarmInvoke;
  afterBurst: AfterBurstMemory | null;
}

export interface Baseline extends StackFigures {
  projectDir: string;
  commit: string | null;
  trigger: TriggerResult | null;
  burst: BurstResult | null;
}

export interface Goal {
  goal: string;
  target: string;
  measured: number | null;
  unit: string;
  met: boolean;
}

export interface Results {
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
  /** `npm start` as a user runs it: its whole tree idle, warm HTTP invokes. */
  npmStart: StackSide | null;
  /** The concurrent burst, on `npm start`'s stack. */
  concurrent: ConcurrentResult | null;
  /** The stock stack, measured in the same run. */
  peer: PeerSide | null;
  baseline: Baseline | null;
  goals: Goal[];
  /** Sections that could not be measured, with why. */
  errors: Record<string, string>;
}
