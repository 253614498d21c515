/**
 * The Lambda console's Metrics tab, offline: every invocation (sync and async) is recorded and summarised under
 * CloudWatch's metric names. Reserved concurrency is enforced here too, since this is where concurrency is known.
 */
import type { AsyncEventNotice } from './async-invoker';

export type Outcome = 'success' | 'error' | 'throttled';

export interface InvocationRecord {
  readonly functionKey: string;
  readonly mode: 'sync' | 'async';
  readonly start: number;
  readonly durationMs: number;
  readonly outcome: Outcome;
  /** Concurrent executions of the function while this one ran (itself included). */
  readonly concurrency: number;
  readonly attempt?: number;
  readonly eventAgeMs?: number;
  readonly requestId?: string;
  /** Set on an async event's last run: what became of it (e.g. "RetriesExhausted → SQS queue …-dlq"). */
  destination?: string;
}

export interface AsyncRunInfo {
  readonly requestId: string;
  readonly attempt: number;
  readonly eventAgeMs: number;
}

export interface FunctionMetrics {
  Invocations: number;
  Duration: { min: number | null; avg: number | null; max: number | null; p99: number | null };
  Errors: number;
  /** Percent of invocations without a function error, as the console charts it; null with no invocation. */
  SuccessRate: number | null;
  Throttles: number;
  ConcurrentExecutions: number;
  AsyncEventsReceived: number;
  /** Oldest event age seen at an attempt, in milliseconds. */
  AsyncEventAge: number | null;
  AsyncEventsDropped: number;
  DestinationDeliveryFailures: number;
}

export interface SeriesPoint {
  t: number;
  Invocations: number;
  Errors: number;
  Throttles: number;
  DurationAvg: number | null;
  DurationMax: number | null;
  ConcurrentExecutions: number;
}

export type Gate =
  { readonly throttled: true } | { readonly throttled: false; end(outcome: 'success' | 'error'): void };

interface Counters {
  durations: number[];
  errors: number;
  throttles: number;
  maxConcurrency: number;
  received: number;
  maxEventAge: number | null;
  dropped: number;
  deliveryFailures: number;
}

const RECENT_RECORDS = 1000;

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? null;
}

const round = (value: number): number => Math.round(value * 100) / 100;

export class MetricsRecorder {
  readonly startedAt: number;
  readonly #counters = new Map<string, Counters>();
  readonly #running = new Map<string, number>();
  readonly #records: InvocationRecord[] = [];

  constructor(
    functionKeys: readonly string[],
    private readonly reservedConcurrency: ReadonlyMap<string, number>,
    private readonly now: () => number = Date.now,
  ) {
    this.startedAt = now();
    for (const key of functionKeys) this.#counter(key);
  }

  #counter(functionKey: string): Counters {
    let counters = this.#counters.get(functionKey);
    if (!counters) {
      counters = {
        durations: [],
        errors: 0,
        throttles: 0,
        maxConcurrency: 0,
        received: 0,
        maxEventAge: null,
        dropped: 0,
        deliveryFailures: 0,
      };
      this.#counters.set(functionKey, counters);
    }
    return counters;
  }

  #keep(record: InvocationRecord): void {
    this.#records.push(record);
    if (this.#records.length > RECENT_RECORDS * 2)
      this.#records.splice(0, this.#records.length - RECENT_RECORDS);
  }

  /** Called as an invocation starts: throttled when the function is at its reserved concurrency. */
  begin(functionKey: string, asyncRun?: AsyncRunInfo): Gate {
    const counters = this.#counter(functionKey);
    const running = this.#running.get(functionKey) ?? 0;
    const start = this.now();
    const mode = asyncRun ? 'async' : 'sync';
    const extra = asyncRun
      ? { attempt: asyncRun.attempt, eventAgeMs: asyncRun.eventAgeMs, requestId: asyncRun.requestId }
      : {};
    if (asyncRun) counters.maxEventAge = Math.max(counters.maxEventAge ?? 0, asyncRun.eventAgeMs);
    const reserved = this.reservedConcurrency.get(functionKey);
    if (reserved !== undefined && running >= reserved) {
      counters.throttles += 1;
      this.#keep({
        functionKey,
        mode,
        start,
        durationMs: 0,
        outcome: 'throttled',
        concurrency: running,
        ...extra,
      });
      return { throttled: true };
    }
    this.#running.set(functionKey, running + 1);
    counters.maxConcurrency = Math.max(counters.maxConcurrency, running + 1);
    let ended = false;
    return {
      throttled: false,
      end: (outcome) => {
        if (ended) return;
        ended = true;
        const durationMs = this.now() - start;
        this.#running.set(functionKey, (this.#running.get(functionKey) ?? 1) - 1);
        counters.durations.push(durationMs);
        if (outcome === 'error') counters.errors += 1;
        this.#keep({ functionKey, mode, start, durationMs, outcome, concurrency: running + 1, ...extra });
      },
    };
  }

  asyncNotice(notice: AsyncEventNotice): void {
    const counters = this.#counter(notice.functionKey);
    if (notice.type === 'received') counters.received += 1;
    else if (notice.type === 'dropped') counters.dropped += 1;
    else if (notice.type === 'delivery-failed') counters.deliveryFailures += 1;
    const outcome =
      notice.type === 'done'
        ? `${notice.condition} → ${notice.destination}`
        : notice.type === 'dropped'
          ? `${notice.condition} → dropped (no onFailure destination)`
          : notice.type === 'delivery-failed'
            ? `delivery to ${notice.destination} failed: ${notice.reason}`
            : undefined;
    if (outcome === undefined) return;
    const last = this.#records.findLast(
      (record) => record.requestId === notice.requestId && record.outcome !== 'throttled',
    );
    if (last) last.destination = outcome;
  }

  summary(): Record<string, FunctionMetrics> {
    const result: Record<string, FunctionMetrics> = {};
    for (const [key, c] of this.#counters) {
      const sorted = [...c.durations].sort((a, b) => a - b);
      const invocations = sorted.length;
      result[key] = {
        Invocations: invocations,
        Duration: {
          min: invocations ? round(sorted[0] ?? 0) : null,
          avg: invocations ? round(sorted.reduce((sum, d) => sum + d, 0) / invocations) : null,
          max: invocations ? round(sorted[invocations - 1] ?? 0) : null,
          p99: invocations ? round(percentile(sorted, 99) ?? 0) : null,
        },
        Errors: c.errors,
        SuccessRate: invocations ? round(((invocations - c.errors) / invocations) * 100) : null,
        Throttles: c.throttles,
        ConcurrentExecutions: c.maxConcurrency,
        AsyncEventsReceived: c.received,
        AsyncEventAge: c.maxEventAge === null ? null : round(c.maxEventAge),
        AsyncEventsDropped: c.dropped,
        DestinationDeliveryFailures: c.deliveryFailures,
      };
    }
    return result;
  }

  /** Per-function time series in buckets of `bucketMs`, from the start of the run to now. */
  series(bucketMs: number): { bucketMs: number; start: number; functions: Record<string, SeriesPoint[]> } {
    const functions: Record<string, SeriesPoint[]> = {};
    const buckets = Math.max(1, Math.ceil((this.now() - this.startedAt + 1) / bucketMs));
    for (const key of this.#counters.keys()) {
      functions[key] = Array.from({ length: buckets }, (_, i) => ({
        t: this.startedAt + i * bucketMs,
        Invocations: 0,
        Errors: 0,
        Throttles: 0,
        DurationAvg: null,
        DurationMax: null,
        ConcurrentExecutions: 0,
      }));
    }
    const sums = new Map<SeriesPoint, number>();
    for (const record of this.#records) {
      const point = functions[record.functionKey]?.[Math.floor((record.start - this.startedAt) / bucketMs)];
      if (!point) continue;
      point.ConcurrentExecutions = Math.max(point.ConcurrentExecutions, record.concurrency);
      if (record.outcome === 'throttled') {
        point.Throttles += 1;
        continue;
      }
      point.Invocations += 1;
      if (record.outcome === 'error') point.Errors += 1;
      point.DurationMax = Math.max(point.DurationMax ?? 0, round(record.durationMs));
      sums.set(point, (sums.get(point) ?? 0) + record.durationMs);
      point.DurationAvg = round((sums.get(point) ?? 0) / point.Invocations);
    }
    return { bucketMs, start: this.startedAt, functions };
  }

  recent(limit = 100): InvocationRecord[] {
    return this.#records.slice(-limit);
  }
}
