/**
 * The async queue's model: the functions it runs (policy, destinations, concurrency), the events it keeps (one
 * file each until done), what a run returns, and the notices it sends about each event (the journal and the
 * metrics read them).
 */
import type { AsyncPolicy, Condition } from '../core/async-policy';
import type { DestinationCondition, LastOutcome } from './outcomes';

/** Where a destination record goes, resolved from serverless.yml. */
export type Destination =
  | { readonly kind: 'sqs'; readonly queueName: string }
  | { readonly kind: 'function'; readonly functionKey: string }
  | { readonly kind: 'unsupported'; readonly description: string };

export interface AsyncFunction {
  readonly key: string;
  readonly arn: string;
  readonly policy: AsyncPolicy;
  readonly onSuccess: Destination | undefined;
  readonly onFailure: Destination | undefined;
  /** Concurrent runs of queued events; more wait in the queue (reservedConcurrency when set). */
  readonly maxConcurrency: number;
  /** reservedConcurrency when set: 0 sends every event to the on-failure destination at once. */
  readonly reservedConcurrency?: number;
}

/** What put an event in the queue (for logs and the console's timeline). */
export type EventSource =
  | { kind: 's3'; bucket: string; key: string; eventName: string }
  | { kind: 'schedule'; rule: string }
  | { kind: 'invoke' };

/** One queued event, as stored on disk until it is done. */
export interface PendingEvent {
  readonly requestId: string;
  readonly functionKey: string;
  readonly payload: unknown;
  readonly receivedAt: number;
  /** Function runs so far, an attempt under way included once it was recorded as started. */
  readonly attempts: number;
  readonly throttles: number;
  readonly dueAt: number;
  readonly lastOutcome?: LastOutcome;
  readonly source?: EventSource;
  /**
   * Set on disk before a run starts, cleared when its outcome is recorded. Found set at start-up, it means the
   * queue stopped (kill -9, power cut) during that run: the run counts as an attempt whose outcome is unknown.
   */
  readonly runningAttempt?: number;
}

/** A throttle is not an attempt; `reason` is its TooManyRequestsException's Reason. */
export type RunResult = LastOutcome | { readonly throttled: true; readonly reason?: string };

/** What happened to an event, for logs and metrics. Every notice carries `at` (epoch ms). */
export type AsyncEventNotice =
  | { type: 'received'; functionKey: string; requestId: string; at: number; source: EventSource }
  | {
      /** An event a previous run of the queue left on disk, picked up again at start. */
      type: 'resumed';
      functionKey: string;
      requestId: string;
      at: number;
      receivedAt: number;
      source: EventSource;
    }
  | {
      type: 'attempt';
      functionKey: string;
      requestId: string;
      attempt: number;
      eventAgeMs: number;
      at: number;
    }
  | {
      type: 'attempt-ended';
      functionKey: string;
      requestId: string;
      attempt: number;
      at: number;
      durationMs: number;
      outcome: 'success' | 'error' | 'throttled';
      errorType?: string;
      errorMessage?: string;
      nextAttemptAt?: number;
    }
  | {
      type: 'done';
      functionKey: string;
      requestId: string;
      condition: DestinationCondition;
      destination: string;
      /** The message of a failed event in an SQS onFailure destination (the local dead-letter queue). */
      deadLetter?: { queue: string; messageId: string };
      at: number;
    }
  | { type: 'dropped'; functionKey: string; requestId: string; condition: Condition; at: number }
  | {
      type: 'delivery-failed';
      functionKey: string;
      requestId: string;
      destination: string;
      reason: string;
      at: number;
    };

export interface UndeliverableEntry {
  readonly event: PendingEvent;
  readonly record: unknown;
  readonly reason: string;
}
