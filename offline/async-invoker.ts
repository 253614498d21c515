import {
  type AsyncPolicy,
  afterFunctionError,
  afterThrottle,
  type Condition,
  isExpired,
} from './async-policy';
import { type DestinationCondition, destinationRecord, type LastOutcome } from './destination-record';
import type { JsonDirectory } from './json-directory';

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
}

/** One queued event, as stored on disk until it is done. */
export interface PendingEvent {
  readonly requestId: string;
  readonly functionKey: string;
  readonly payload: unknown;
  readonly receivedAt: number;
  readonly attempts: number;
  readonly throttles: number;
  readonly dueAt: number;
  readonly lastOutcome?: LastOutcome;
}

export type RunResult = LastOutcome | { readonly throttled: true };

/** What happened to an event, for logs and metrics. */
export type AsyncEventNotice =
  | { type: 'received'; functionKey: string; requestId: string }
  | { type: 'attempt'; functionKey: string; requestId: string; attempt: number; eventAgeMs: number }
  | {
      type: 'done';
      functionKey: string;
      requestId: string;
      condition: DestinationCondition;
      destination: string;
    }
  | { type: 'dropped'; functionKey: string; requestId: string; condition: Condition }
  | { type: 'delivery-failed'; functionKey: string; requestId: string; destination: string; reason: string };

export interface InvokerDeps {
  readonly functions: ReadonlyMap<string, AsyncFunction>;
  readonly pending: JsonDirectory<PendingEvent>;
  /** Events whose destination could not take them: kept, never dropped. */
  readonly undeliverable: JsonDirectory<{ event: PendingEvent; record: unknown; reason: string }>;
  run(
    functionKey: string,
    payload: unknown,
    info: { requestId: string; attempt: number; eventAgeMs: number },
  ): Promise<RunResult>;
  sendToQueue(queueName: string, body: string): Promise<void>;
  now(): number;
  newId(): string;
  setTimer(callback: () => void, ms: number): { unref?(): unknown };
  clearTimer(timer: { unref?(): unknown }): void;
  log(level: 'info' | 'warn' | 'error', message: string): void;
  notify?(notice: AsyncEventNotice): void;
}

/** How long an event waits when the queue's own files could not be written (a full disk, say). */
const RETRY_AFTER_QUEUE_FAILURE_MS = 1000;

function seconds(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(ms % 1000 === 0 ? 0 : 1)} s` : `${Math.round(ms)} ms`;
}

function describe(destination: Destination): string {
  switch (destination.kind) {
    case 'sqs':
      return `SQS queue ${destination.queueName}`;
    case 'function':
      return `function ${destination.functionKey}`;
    case 'unsupported':
      return destination.description;
  }
}

/**
 * Lambda's internal queue for asynchronous invocations, offline: each event is persisted, run, retried per the
 * function's policy and finally handed to its destination. State is on disk, so a restart resumes it.
 */
export class AsyncInvoker {
  readonly #timers = new Set<{ unref?(): unknown }>();
  readonly #running = new Map<string, number>();
  readonly #waiting = new Map<string, PendingEvent[]>();
  readonly #firstWrites = new Map<string, Promise<void>>();
  /** Events held in memory (running, waiting or timed), so that resume() never schedules one twice. */
  readonly #live = new Set<string>();
  /** Events whose first write failed: the caller was told so, and whatever became of the run is dropped. */
  readonly #abandoned = new Set<string>();
  #stopped = false;

  constructor(private readonly deps: InvokerDeps) {}

  /** Accepts an event (InvocationType=Event): it is on disk before this resolves. */
  async enqueue(functionKey: string, payload: unknown): Promise<string> {
    this.#function(functionKey);
    const now = this.deps.now();
    const event: PendingEvent = {
      requestId: this.deps.newId(),
      functionKey,
      payload,
      receivedAt: now,
      attempts: 0,
      throttles: 0,
      dueAt: now,
    };
    // The run starts while the event is being written: the caller hears back only once it is on disk, and
    // the event's file is never rewritten or removed before that first write has landed.
    const written = this.deps.pending.put(event.requestId, event);
    this.#firstWrites.set(event.requestId, written);
    this.#live.add(event.requestId);
    written.catch(() => this.#abandoned.add(event.requestId));
    this.deps.notify?.({ type: 'received', functionKey, requestId: event.requestId });
    this.#dispatch(event);
    await written;
    return event.requestId;
  }

  /** Picks up the events a previous run left on disk. */
  async resume(): Promise<number> {
    const entries = await this.deps.pending.entries();
    for (const { value: event } of entries) {
      if (this.#live.has(event.requestId)) continue;
      if (this.deps.functions.has(event.functionKey)) {
        this.#live.add(event.requestId);
        this.#schedule(event);
      } else {
        this.deps.log(
          'error',
          `queued event ${event.requestId} is for unknown function "${event.functionKey}"; left in ${this.deps.pending.path}`,
        );
      }
    }
    return entries.length;
  }

  stop(): void {
    this.#stopped = true;
    for (const timer of this.#timers) this.deps.clearTimer(timer);
    this.#timers.clear();
  }

  #function(functionKey: string): AsyncFunction {
    const fn = this.deps.functions.get(functionKey);
    if (!fn) throw new Error(`No function "${functionKey}" in serverless.yml.`);
    return fn;
  }

  #schedule(event: PendingEvent): void {
    if (this.#stopped) return;
    const delay = Math.max(0, event.dueAt - this.deps.now());
    const timer = this.deps.setTimer(() => {
      this.#timers.delete(timer);
      this.#dispatch(event);
    }, delay);
    this.#timers.add(timer);
  }

  #dispatch(event: PendingEvent): void {
    if (this.#stopped) return;
    const fn = this.#function(event.functionKey);
    const running = this.#running.get(fn.key) ?? 0;
    if (running >= fn.maxConcurrency) {
      const queue = this.#waiting.get(fn.key) ?? [];
      queue.push(event);
      this.#waiting.set(fn.key, queue);
      return;
    }
    this.#running.set(fn.key, running + 1);
    void this.#process(fn, event)
      .catch((error: unknown) => {
        if (this.#abandoned.has(event.requestId)) {
          this.#forget(event.requestId);
          return;
        }
        this.deps.log(
          'error',
          `λ ${fn.key} ${event.requestId}: could not update the queue on disk (${String(error)}); the event runs again in 1 s`,
        );
        this.#schedule({ ...event, dueAt: this.deps.now() + RETRY_AFTER_QUEUE_FAILURE_MS });
      })
      .finally(() => {
        this.#running.set(fn.key, (this.#running.get(fn.key) ?? 1) - 1);
        const next = this.#waiting.get(fn.key)?.shift();
        if (next) this.#dispatch(next);
      });
  }

  async #process(fn: AsyncFunction, event: PendingEvent): Promise<void> {
    const { log } = this.deps;
    const tag = `λ ${fn.key} ${event.requestId}`;
    if (isExpired(fn.policy, event, this.deps.now())) {
      log(
        'warn',
        `${tag}: older than maximumEventAge (${fn.policy.maximumEventAgeSeconds} s × ${fn.policy.timeScale}); not attempted again`,
      );
      await this.#finish(fn, event, 'EventAgeExceeded');
      return;
    }
    const attempt = event.attempts + 1;
    const eventAgeMs = this.deps.now() - event.receivedAt;
    this.deps.notify?.({
      type: 'attempt',
      functionKey: fn.key,
      requestId: event.requestId,
      attempt,
      eventAgeMs,
    });
    const result = await this.deps.run(fn.key, event.payload, {
      requestId: event.requestId,
      attempt,
      eventAgeMs,
    });

    if ('throttled' in result) {
      const throttled = { ...event, throttles: event.throttles + 1 };
      // Throttles are retried until the event is too old (checked when the retry comes due).
      const { delayMs } = afterThrottle(fn.policy, throttled);
      log('warn', `${tag}: throttled (reserved concurrency); retry in ${seconds(delayMs)}`);
      await this.#requeue({ ...throttled, dueAt: this.deps.now() + delayMs });
      return;
    }

    const done: PendingEvent = { ...event, attempts: attempt, lastOutcome: result };
    if (result.ok) {
      log('info', `${tag}: attempt ${attempt} succeeded`);
      await this.#finish(fn, done, 'Success');
      return;
    }
    const decision = afterFunctionError(fn.policy, done);
    const why = `${result.error.errorType}: ${result.error.errorMessage}`;
    if (decision.action === 'retry') {
      log(
        'warn',
        `${tag}: attempt ${attempt} of ${fn.policy.maximumRetryAttempts + 1} failed (${why}); retry in ${seconds(decision.delayMs)}`,
      );
      await this.#requeue({ ...done, dueAt: this.deps.now() + decision.delayMs });
    } else {
      log(
        'warn',
        `${tag}: attempt ${attempt} of ${fn.policy.maximumRetryAttempts + 1} failed (${why}); no retries left`,
      );
      await this.#finish(fn, done, decision.condition);
    }
  }

  #forget(requestId: string): void {
    this.#live.delete(requestId);
    this.#abandoned.delete(requestId);
    this.#firstWrites.delete(requestId);
  }

  /** The event is done: off the disk (after its first write has landed) and out of memory. */
  async #removePending(requestId: string): Promise<void> {
    await this.#firstWritten(requestId);
    await this.deps.pending.remove(requestId);
    this.#forget(requestId);
  }

  /** Waits for the event's first write (enqueue), so that a later write or removal cannot be overtaken by it. */
  async #firstWritten(requestId: string): Promise<void> {
    const written = this.#firstWrites.get(requestId);
    if (written === undefined) return;
    this.#firstWrites.delete(requestId);
    await written;
  }

  async #requeue(event: PendingEvent): Promise<void> {
    await this.#firstWritten(event.requestId);
    await this.deps.pending.put(event.requestId, event);
    this.#schedule(event);
  }

  /** Hands the record to the destination for this outcome, then forgets the event (never before). */
  async #finish(fn: AsyncFunction, event: PendingEvent, condition: DestinationCondition): Promise<void> {
    const { log } = this.deps;
    const tag = `λ ${fn.key} ${event.requestId}`;
    const destination = condition === 'Success' ? fn.onSuccess : fn.onFailure;
    if (destination === undefined) {
      if (condition !== 'Success') {
        log('error', `${tag}: ${condition} and no onFailure destination: event DROPPED (as Lambda would)`);
        this.deps.notify?.({ type: 'dropped', functionKey: fn.key, requestId: event.requestId, condition });
      }
      await this.#removePending(event.requestId);
      return;
    }
    const record = destinationRecord({
      requestId: event.requestId,
      functionArn: fn.arn,
      condition,
      approximateInvokeCount: event.attempts,
      requestPayload: event.payload,
      timestamp: new Date(this.deps.now()),
      lastOutcome: event.lastOutcome,
    });
    const where = describe(destination);
    try {
      await this.#deliver(destination, record);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      log(
        'error',
        `${tag}: ${condition} record could NOT be delivered to ${where} (${reason}); kept in ${this.deps.undeliverable.path}`,
      );
      this.deps.notify?.({
        type: 'delivery-failed',
        functionKey: fn.key,
        requestId: event.requestId,
        destination: where,
        reason,
      });
      await this.deps.undeliverable.put(event.requestId, { event, record, reason });
      await this.#removePending(event.requestId);
      return;
    }
    if (condition !== 'Success' || fn.onSuccess !== undefined) {
      log(
        condition === 'Success' ? 'info' : 'warn',
        `${tag}: ${condition} after ${event.attempts} attempt(s); record sent to ${where}`,
      );
    }
    this.deps.notify?.({
      type: 'done',
      functionKey: fn.key,
      requestId: event.requestId,
      condition,
      destination: where,
    });
    await this.#removePending(event.requestId);
  }

  async #deliver(destination: Destination, record: unknown): Promise<void> {
    switch (destination.kind) {
      case 'sqs':
        return this.deps.sendToQueue(destination.queueName, JSON.stringify(record));
      case 'function':
        await this.enqueue(destination.functionKey, record);
        return;
      case 'unsupported':
        throw new Error(`${destination.description} is not emulated offline`);
    }
  }
}
