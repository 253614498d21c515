import { afterFunctionError, afterThrottle, type Decision, isExpired } from './async-policy';
import { deliverOutcome } from './async-destinations';
import { sourceOfPayload } from './event-source';
import type {
  AsyncEventNotice,
  AsyncFunction,
  EventSource,
  PendingEvent,
  RunResult,
  UndeliverableEntry,
} from '../model/async-events';
import type { DestinationCondition } from '../model/outcomes';
import { LONGEST_TIMER_MS } from '../model/timers';
import type { JsonDirectory } from '../state/json-directory';

export interface InvokerDeps {
  readonly functions: ReadonlyMap<string, AsyncFunction>;
  readonly pending: JsonDirectory<PendingEvent>;
  /** Events whose destination could not take them: kept, never dropped. */
  readonly undeliverable: JsonDirectory<UndeliverableEntry>;
  run(
    functionKey: string,
    payload: unknown,
    info: { requestId: string; attempt: number; eventAgeMs: number },
  ): Promise<RunResult>;
  /**
   * deduplicationKey: the same key twice (a record sent again after a crash) must give one message, whose id is
   * `stableMessageId(deduplicationKey)` (the journal links a failed event to its dead letter by that id).
   */
  sendToQueue(queueName: string, body: string, deduplicationKey: string): Promise<void>;
  now(): number;
  newId(): string;
  setTimer(callback: () => void, ms: number): { unref?(): unknown };
  clearTimer(timer: { unref?(): unknown }): void;
  log(level: 'info' | 'warn' | 'error', message: string): void;
  notify?(notice: AsyncEventNotice): void;
}

/** The queue is stopping or stopped: new events are refused (the caller is told, nothing is half-accepted). */
export class QueueStoppedError extends Error {
  override name = 'QueueStoppedError';
}

/** How long a failed write of the queue's own bookkeeping waits before it is tried again (doubling, capped). */
const BOOKKEEPING_RETRY_FIRST_MS = 250;
const BOOKKEEPING_RETRY_MAX_MS = 10_000;

function seconds(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(ms % 1000 === 0 ? 0 : 1)} s` : `${Math.round(ms)} ms`;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** What start-up found on disk. */
export interface ResumeReport {
  readonly resumed: number;
  /** Events whose run was under way when the queue last stopped without recording it (kill -9): may run twice. */
  readonly interrupted: number;
  readonly unknownFunction: number;
}

/**
 * Lambda's internal queue for asynchronous invocations, offline: each event is persisted, run, retried per the
 * function's policy and finally handed to its destination. State is on disk, so a restart resumes it.
 *
 * Bookkeeping is never a reason to run a handler again: an attempt is recorded as started before it runs, and
 * once it has run its outcome is kept in memory and its write retried (the write, not the run) until it lands.
 */
export class AsyncInvoker {
  readonly #timers = new Set<{ unref?(): unknown }>();
  readonly #running = new Map<string, number>();
  readonly #waiting = new Map<string, PendingEvent[]>();
  /** Events held in memory (running, waiting or timed), so that resume() never schedules one twice. */
  readonly #live = new Set<string>();
  /** Runs and writes under way: stop() waits for them. */
  readonly #work = new Set<Promise<unknown>>();
  #stopped = false;

  constructor(private readonly deps: InvokerDeps) {}

  get stopped(): boolean {
    return this.#stopped;
  }

  /**
   * Accepts an event (InvocationType=Event): resolves once it is durable on disk, and only then is it run.
   * A rejection means the event was not accepted and will never run.
   */
  async enqueue(
    functionKey: string,
    payload: unknown,
    options: { requestId?: string; source?: EventSource } = {},
  ): Promise<{ requestId: string }> {
    if (this.#stopped) throw new QueueStoppedError('the async queue is stopping; event refused');
    return this.#accept(functionKey, payload, options);
  }

  async #accept(
    functionKey: string,
    payload: unknown,
    options: { requestId?: string; source?: EventSource },
  ): Promise<{ requestId: string }> {
    this.#function(functionKey);
    const now = this.deps.now();
    const source = options.source ?? { kind: 'invoke' };
    const event: PendingEvent = {
      requestId: options.requestId ?? this.deps.newId(),
      functionKey,
      payload,
      receivedAt: now,
      attempts: 0,
      throttles: 0,
      dueAt: now,
      source,
    };
    if (this.#live.has(event.requestId)) return { requestId: event.requestId };
    await this.#track(this.deps.pending.put(event.requestId, event));
    this.#live.add(event.requestId);
    this.deps.notify?.({ type: 'received', functionKey, requestId: event.requestId, at: now, source });
    this.#dispatch(event, true);
    return { requestId: event.requestId };
  }

  /** Picks up the events a previous run left on disk. */
  async resume(): Promise<ResumeReport> {
    const entries = await this.deps.pending.entries();
    let resumed = 0;
    let interrupted = 0;
    let unknownFunction = 0;
    for (const { value: stored } of entries.sort((a, b) => a.value.receivedAt - b.value.receivedAt)) {
      if (this.#live.has(stored.requestId)) continue;
      if (!this.deps.functions.has(stored.functionKey)) {
        unknownFunction += 1;
        await this.deps.pending.quarantine(
          `${stored.requestId}.json`,
          `queued event for unknown function "${stored.functionKey}"`,
        );
        continue;
      }
      let event = stored;
      if (stored.runningAttempt !== undefined) {
        interrupted += 1;
        // The run was under way when the queue stopped without recording its end: it counts as an attempt
        // whose outcome is unknown; the policy decides as after a failure (at-least-once, like Lambda).
        const { runningAttempt, ...rest } = stored;
        event = { ...rest, attempts: Math.max(stored.attempts, runningAttempt), dueAt: this.deps.now() };
        this.deps.log(
          'warn',
          `λ ${stored.functionKey} ${stored.requestId}: attempt ${runningAttempt} was under way when the queue last stopped; its outcome is unknown, so it may have run (at-least-once)`,
        );
      }
      resumed += 1;
      this.#live.add(event.requestId);
      this.deps.notify?.({
        type: 'resumed',
        functionKey: event.functionKey,
        requestId: event.requestId,
        at: this.deps.now(),
        receivedAt: event.receivedAt,
        source: event.source ?? sourceOfPayload(event.payload),
      });
      if (stored.runningAttempt !== undefined) this.#afterInterruptedRun(event);
      else this.#schedule(event);
    }
    return { resumed, interrupted, unknownFunction };
  }

  #afterInterruptedRun(event: PendingEvent): void {
    const fn = this.#function(event.functionKey);
    const decision = afterFunctionError(fn.policy, event, this.deps.now());
    if (decision.action === 'retry') {
      this.#schedule(event);
      return;
    }
    this.#settle(fn, event, () => this.#finish(fn, event, decision.condition));
  }

  /**
   * Stops intake and timers, then waits (at most `timeoutMs`) for the runs and writes under way to end.
   * Resolves with how many were still unfinished at the deadline.
   */
  async stop(timeoutMs = 0): Promise<number> {
    this.#stopped = true;
    for (const timer of this.#timers) this.deps.clearTimer(timer);
    this.#timers.clear();
    this.#waiting.clear();
    if (timeoutMs <= 0 || this.#work.size === 0) return this.#work.size;
    const deadline = Date.now() + timeoutMs;
    while (this.#work.size > 0 && Date.now() < deadline) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled([...this.#work]),
        new Promise((done) => {
          timer = setTimeout(done, Math.max(0, deadline - Date.now()));
        }),
      ]);
      clearTimeout(timer);
    }
    return this.#work.size;
  }

  #track<T>(promise: Promise<T>): Promise<T> {
    this.#work.add(promise);
    const untrack = (): void => {
      this.#work.delete(promise);
    };
    promise.then(untrack, untrack);
    return promise;
  }

  #function(functionKey: string): AsyncFunction {
    const fn = this.deps.functions.get(functionKey);
    if (!fn) throw new Error(`No function "${functionKey}" in serverless.yml.`);
    return fn;
  }

  #setTimer(callback: () => void, delayMs: number): void {
    if (this.#stopped) return;
    const step = Math.min(Math.max(0, delayMs), LONGEST_TIMER_MS);
    const timer = this.deps.setTimer(() => {
      this.#timers.delete(timer);
      if (delayMs > LONGEST_TIMER_MS) this.#setTimer(callback, delayMs - LONGEST_TIMER_MS);
      else callback();
    }, step);
    this.#timers.add(timer);
  }

  #schedule(event: PendingEvent): void {
    this.#setTimer(() => this.#dispatch(event), event.dueAt - this.deps.now());
  }

  /** fresh: just accepted, so its first attempt starts now whatever the time scale made of its maximum age. */
  #dispatch(event: PendingEvent, fresh = false): void {
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
    void this.#track(this.#process(fn, event, fresh)).finally(() => {
      this.#running.set(fn.key, (this.#running.get(fn.key) ?? 1) - 1);
      const next = this.#waiting.get(fn.key)?.shift();
      if (next) this.#dispatch(next);
    });
  }

  async #process(fn: AsyncFunction, event: PendingEvent, fresh: boolean): Promise<void> {
    const { log } = this.deps;
    const tag = `λ ${fn.key} ${event.requestId}`;
    const now = this.deps.now();
    if (fn.reservedConcurrency === 0) {
      log('warn', `${tag}: reservedConcurrency is 0; sent to the on-failure destination without a run`);
      await this.#settle(fn, event, () => this.#finish(fn, event, 'ZeroReservedConcurrency'));
      return;
    }
    // An event that waited in the queue (throttled, resumed, behind busy runners) can be too old; one just
    // accepted is not, even when a small time scale makes its maximum age shorter than this machine's latency.
    if (!fresh && isExpired(fn.policy, event, now)) {
      log(
        'warn',
        `${tag}: older than maximumEventAge (${fn.policy.maximumEventAgeSeconds} s × ${fn.policy.timeScale}); not attempted again`,
      );
      await this.#settle(fn, event, () => this.#finish(fn, event, 'EventAgeExceeded'));
      return;
    }
    const attempt = event.attempts + 1;
    // Recorded before the run: a crash during it still counts the attempt. If this write fails nothing has
    // run yet, so trying the whole step again later runs the handler only once.
    try {
      await this.deps.pending.put(event.requestId, { ...event, runningAttempt: attempt });
    } catch (error) {
      log('error', `${tag}: ${message(error)}; attempt ${attempt} waits until the queue can be written`);
      this.#setTimer(() => this.#dispatch(event), BOOKKEEPING_RETRY_MAX_MS / 4);
      return;
    }
    const startedAt = this.deps.now();
    const eventAgeMs = startedAt - event.receivedAt;
    this.deps.notify?.({
      type: 'attempt',
      functionKey: fn.key,
      requestId: event.requestId,
      attempt,
      eventAgeMs,
      at: startedAt,
    });
    let result: RunResult;
    try {
      result = await this.deps.run(fn.key, event.payload, {
        requestId: event.requestId,
        attempt,
        eventAgeMs,
      });
    } catch (error) {
      result = {
        ok: false,
        error: { errorType: 'Runtime.Unknown', errorMessage: message(error), trace: [] },
      };
    }
    const endedAt = this.deps.now();
    const ended = {
      type: 'attempt-ended' as const,
      functionKey: fn.key,
      requestId: event.requestId,
      attempt,
      at: endedAt,
      durationMs: endedAt - startedAt,
    };

    if ('throttled' in result) {
      const throttled: PendingEvent = { ...event, throttles: event.throttles + 1 };
      const decision = afterThrottle(fn.policy, throttled, endedAt);
      this.deps.notify?.({
        ...ended,
        outcome: 'throttled',
        ...(decision.action === 'retry' ? { nextAttemptAt: endedAt + decision.delayMs } : {}),
      });
      if (decision.action === 'retry') {
        log(
          'warn',
          `${tag}: throttled (${result.reason ?? 'concurrency'}); retry in ${seconds(decision.delayMs)}`,
        );
        await this.#settle(fn, throttled, () =>
          this.#requeue({ ...throttled, dueAt: endedAt + decision.delayMs }),
        );
      } else {
        log('warn', `${tag}: throttled, and a retry could not start within maximumEventAge`);
        await this.#settle(fn, throttled, () => this.#finish(fn, throttled, decision.condition));
      }
      return;
    }

    const done: PendingEvent = { ...event, attempts: attempt, lastOutcome: result };
    if (result.ok) {
      this.deps.notify?.({ ...ended, outcome: 'success' });
      log('info', `${tag}: attempt ${attempt} succeeded`);
      await this.#settle(fn, done, () => this.#finish(fn, done, 'Success'));
      return;
    }
    const decision: Decision = afterFunctionError(fn.policy, done, endedAt);
    this.deps.notify?.({
      ...ended,
      outcome: 'error',
      errorType: result.error.errorType,
      errorMessage: result.error.errorMessage,
      ...(decision.action === 'retry' ? { nextAttemptAt: endedAt + decision.delayMs } : {}),
    });
    const why = `${result.error.errorType}: ${result.error.errorMessage}`;
    const of = `attempt ${attempt} of ${fn.policy.maximumRetryAttempts + 1}`;
    if (decision.action === 'retry') {
      log('warn', `${tag}: ${of} failed (${why}); retry in ${seconds(decision.delayMs)}`);
      await this.#settle(fn, done, () => this.#requeue({ ...done, dueAt: endedAt + decision.delayMs }));
    } else {
      const because =
        decision.condition === 'EventAgeExceeded'
          ? 'the next retry could not start within maximumEventAge'
          : 'no retries left';
      log('warn', `${tag}: ${of} failed (${why}); ${because}`);
      await this.#settle(fn, done, () => this.#finish(fn, done, decision.condition));
    }
  }

  /**
   * Records what became of a run: the step is retried, with backoff, until its writes land — the handler is
   * not run again. The outcome lives in memory meanwhile (and on disk the attempt is marked as started, so a
   * crash in between still counts it). A stop ends the retries; the next start resumes from the disk.
   */
  async #settle(fn: AsyncFunction, event: PendingEvent, step: () => Promise<void>): Promise<void> {
    let delayMs = BOOKKEEPING_RETRY_FIRST_MS;
    let failures = 0;
    for (;;) {
      try {
        await step();
        if (failures > 0) {
          this.deps.log('info', `λ ${fn.key} ${event.requestId}: the queue could be written again; recorded`);
        }
        return;
      } catch (error) {
        failures += 1;
        if (failures === 1 || failures % 20 === 0) {
          this.deps.log(
            'error',
            `λ ${fn.key} ${event.requestId}: ${message(error)}; the outcome is kept in memory and written again in ${seconds(delayMs)} (the handler is not run again)`,
          );
        }
        if (this.#stopped) return;
        await new Promise<void>((done) => {
          this.#setTimer(done, delayMs);
          if (this.#stopped) done();
        });
        if (this.#stopped) return;
        delayMs = Math.min(delayMs * 2, BOOKKEEPING_RETRY_MAX_MS);
      }
    }
  }

  async #requeue(event: PendingEvent): Promise<void> {
    await this.deps.pending.put(event.requestId, event);
    this.#schedule(event);
  }

  async #removePending(requestId: string): Promise<void> {
    await this.deps.pending.remove(requestId);
    this.#live.delete(requestId);
  }

  /** Hands the record to the destination for this outcome, then forgets the event (never before). */
  async #finish(fn: AsyncFunction, event: PendingEvent, condition: DestinationCondition): Promise<void> {
    await deliverOutcome(
      {
        ...this.deps,
        accept: (functionKey, payload, options) => this.#accept(functionKey, payload, options),
      },
      fn,
      event,
      condition,
    );
    await this.#removePending(event.requestId);
  }
}
