/**
 * The life of every asynchronous event, for the console's "Async events" tab: where it came from, each attempt
 * with its outcome and error, the wait before the next, and how it ended (with a link to its dead letter). Built
 * from the queue's notices (AsyncInvoker's `notify`) alone: the queue is the one that decides, the journal writes
 * down.
 */
import type { AsyncEventNotice, EventSource } from '../model/async-events';

export type { EventSource };

/**
 * The queue's notices (AsyncInvoker's `notify`). The journal also takes them without `at` and `source` (it then
 * uses its clock, and leaves the source unknown).
 */
export type JournalNotice = WithoutTimeAndSource<AsyncEventNotice>;
type WithoutTimeAndSource<Notice> = Notice extends unknown
  ? Omit<Notice, 'at' | 'source'> & { at?: number; source?: EventSource }
  : never;

export interface AttemptStep {
  /** 1-based; a throttled run does not count as an attempt, so the same number can come back after it. */
  attempt: number;
  startedAt: number;
  eventAgeMs: number;
  outcome?: 'success' | 'error' | 'throttled';
  durationMs?: number;
  errorType?: string;
  errorMessage?: string;
  /** When the queue said the next attempt would start (after an error or a throttle). */
  nextAttemptAt?: number;
}

export type EventStatus = 'in-progress' | 'succeeded' | 'failed' | 'dropped' | 'undeliverable';

export interface EventEnd {
  at: number;
  condition: string;
  /** Where the destination record went ("SQS queue …-dlq"); absent for a success with no onSuccess. */
  destination?: string;
  reason?: string;
}

export interface EventTimeline {
  requestId: string;
  functionKey: string;
  receivedAt: number;
  /** Absent only for an event whose first notice here was not 'received' or 'resumed'. */
  source?: EventSource;
  attempts: AttemptStep[];
  status: EventStatus;
  end?: EventEnd;
  /** Where a failed event's record is: its message in the local dead-letter queue. */
  deadLetter?: { queue: string; messageId: string };
}

/** How many events the journal remembers: the oldest finished ones go first. */
export const JOURNAL_SIZE = 1000;

export class EventJournal {
  readonly #events = new Map<string, EventTimeline>();

  constructor(
    private readonly now: () => number = Date.now,
    private readonly size = JOURNAL_SIZE,
  ) {}

  #event(functionKey: string, requestId: string, at: number): EventTimeline {
    let event = this.#events.get(requestId);
    if (!event) {
      // Its first notice here is not 'received' (a resumed event, or a notice of a test).
      event = { requestId, functionKey, receivedAt: at, attempts: [], status: 'in-progress' };
      this.#events.set(requestId, event);
      this.#trim();
    }
    return event;
  }

  #trim(): void {
    if (this.#events.size <= this.size) return;
    for (const [id, event] of this.#events) {
      if (this.#events.size <= this.size) return;
      if (event.status !== 'in-progress') this.#events.delete(id);
    }
  }

  notice(notice: JournalNotice): void {
    const at = notice.at ?? this.now();
    const event = this.#event(notice.functionKey, notice.requestId, at);
    const last = event.attempts.at(-1);
    switch (notice.type) {
      case 'received':
        event.receivedAt = at;
        if (notice.source) event.source = notice.source;
        return;
      case 'resumed':
        event.receivedAt = notice.receivedAt;
        if (notice.source) event.source = notice.source;
        return;
      case 'attempt':
        // The previous run ended without saying how: a new attempt number means it failed, the same one that
        // it was throttled (a throttle is not an attempt).
        if (last && last.outcome === undefined)
          last.outcome = notice.attempt > last.attempt ? 'error' : 'throttled';
        event.attempts.push({ attempt: notice.attempt, startedAt: at, eventAgeMs: notice.eventAgeMs });
        return;
      case 'attempt-ended': {
        const step =
          event.attempts.findLast((a) => a.attempt === notice.attempt) ??
          this.#pushed(event, { attempt: notice.attempt, startedAt: at - notice.durationMs, eventAgeMs: 0 });
        step.outcome = notice.outcome;
        step.durationMs = notice.durationMs;
        if (notice.errorType !== undefined) step.errorType = notice.errorType;
        if (notice.errorMessage !== undefined) step.errorMessage = notice.errorMessage;
        if (notice.nextAttemptAt !== undefined) step.nextAttemptAt = notice.nextAttemptAt;
        if (notice.outcome === 'success' && event.status === 'in-progress') {
          event.status = 'succeeded';
          event.end = { at, condition: 'Success' };
        }
        return;
      }
      case 'done':
        event.status = notice.condition === 'Success' ? 'succeeded' : 'failed';
        event.end = { at, condition: notice.condition, destination: notice.destination };
        if (notice.deadLetter) event.deadLetter = notice.deadLetter;
        if (last && last.outcome === undefined)
          last.outcome = notice.condition === 'Success' ? 'success' : 'error';
        return;
      case 'dropped':
        event.status = 'dropped';
        event.end = { at, condition: notice.condition, reason: 'no onFailure destination: dropped' };
        if (last && last.outcome === undefined) last.outcome = 'error';
        return;
      case 'delivery-failed':
        event.status = 'undeliverable';
        event.end = {
          at,
          condition: 'delivery failed',
          destination: notice.destination,
          reason: notice.reason,
        };
        return;
    }
  }

  #pushed(event: EventTimeline, step: AttemptStep): AttemptStep {
    event.attempts.push(step);
    return step;
  }

  /** Newest first. */
  timelines(
    filter: { functionKey?: string; status?: EventStatus; requestId?: string } = {},
  ): EventTimeline[] {
    const result: EventTimeline[] = [];
    for (const event of this.#events.values()) {
      if (filter.functionKey !== undefined && event.functionKey !== filter.functionKey) continue;
      if (filter.status !== undefined && event.status !== filter.status) continue;
      if (filter.requestId !== undefined && event.requestId !== filter.requestId) continue;
      result.push(structuredClone(event));
    }
    return result.sort((a, b) => b.receivedAt - a.receivedAt);
  }
}
