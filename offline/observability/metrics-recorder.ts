import type { AsyncEventNotice } from '../model/async-events';
/**
 * The Lambda console's Metrics tab, offline: every invocation (sync and async) is recorded and summarised under
 * CloudWatch's metric names. It observes: whether a run may start is decided by environments/concurrency.ts.
 */

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

/** One period of a function's graphs, as the console's Monitor tab draws them (CloudWatch statistic per metric). */
export interface TimePoint {
  /** Start of the period, epoch ms, aligned to a multiple of the period like CloudWatch's. */
  t: number;
  /** Sum */
  Invocations: number;
  /** Sum */
  Errors: number;
  /** 100 × (1 − Errors / Invocations); null in a period without invocations. */
  SuccessRate: number | null;
  /** Sum */
  Throttles: number;
  DurationMin: number | null;
  DurationAvg: number | null;
  DurationMax: number | null;
  /** Maximum */
  ConcurrentExecutions: number | null;
  /** Sum */
  AsyncEventsReceived: number;
  /** Maximum, ms */
  AsyncEventAge: number | null;
  /** Sum */
  AsyncEventsDropped: number;
  /** Sum */
  DestinationDeliveryFailures: number;
}

export interface TimeSeries {
  periodMs: number;
  from: number;
  to: number;
  functions: Record<string, TimePoint[]>;
}

/** More periods than a graph can show in 1,280 pixels is a request to refuse, not to compute. */
export const MAX_PERIODS = 1500;

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

/** Kept in memory for the graphs: enough for a long offline session (each record is a few dozen bytes). */
const RECENT_RECORDS = 10_000;

interface AsyncMark {
  readonly functionKey: string;
  readonly at: number;
  readonly type: 'received' | 'dropped' | 'delivery-failed';
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? null;
}

const round = (value: number): number => Math.round(value * 100) / 100;

export class MetricsRecorder {
  readonly startedAt: number;
  readonly #counters = new Map<string, Counters>();
  readonly #records: InvocationRecord[] = [];
  readonly #asyncMarks: AsyncMark[] = [];

  constructor(
    functionKeys: readonly string[],
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

  /** Records an invocation once it is over, or a throttled one (outcome 'throttled', no duration). */
  record(record: InvocationRecord): void {
    const counters = this.#counter(record.functionKey);
    if (record.eventAgeMs !== undefined)
      counters.maxEventAge = Math.max(counters.maxEventAge ?? 0, record.eventAgeMs);
    if (record.outcome === 'throttled') {
      counters.throttles += 1;
    } else {
      counters.maxConcurrency = Math.max(counters.maxConcurrency, record.concurrency);
      counters.durations.push(record.durationMs);
      if (record.outcome === 'error') counters.errors += 1;
    }
    this.#keep(record);
  }

  asyncNotice(notice: AsyncEventNotice): void {
    const counters = this.#counter(notice.functionKey);
    if (notice.type === 'received') counters.received += 1;
    else if (notice.type === 'dropped') counters.dropped += 1;
    else if (notice.type === 'delivery-failed') counters.deliveryFailures += 1;
    if (notice.type === 'received' || notice.type === 'dropped' || notice.type === 'delivery-failed') {
      // `at` is on every notice once the queue reports it; until then the time it arrives is as good.
      const at = 'at' in notice && typeof notice.at === 'number' ? notice.at : this.now();
      this.#asyncMarks.push({ functionKey: notice.functionKey, at, type: notice.type });
      if (this.#asyncMarks.length > RECENT_RECORDS * 2)
        this.#asyncMarks.splice(0, this.#asyncMarks.length - RECENT_RECORDS);
    }
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

  /**
   * Per-function graphs over [from, to) in periods of `periodMs`, each period starting at a multiple of it (as
   * CloudWatch aligns them); a period counts what started in it.
   */
  timeSeries({ periodMs, from, to }: { periodMs: number; from: number; to: number }): TimeSeries {
    if (!Number.isInteger(periodMs) || periodMs < 1000) {
      throw new RangeError(`period must be a whole number of milliseconds, at least 1000; got ${periodMs}.`);
    }
    if (!(to > from)) throw new RangeError('the time range must end after it starts.');
    const first = Math.floor(from / periodMs) * periodMs;
    const count = Math.ceil((to - first) / periodMs);
    if (count > MAX_PERIODS) {
      throw new RangeError(
        `${count} periods of ${periodMs / 1000} s in that range; choose a longer period (at most ${MAX_PERIODS}).`,
      );
    }
    const functions: Record<string, TimePoint[]> = {};
    for (const key of this.#counters.keys()) {
      functions[key] = Array.from({ length: count }, (_, i) => ({
        t: first + i * periodMs,
        Invocations: 0,
        Errors: 0,
        SuccessRate: null,
        Throttles: 0,
        DurationMin: null,
        DurationAvg: null,
        DurationMax: null,
        ConcurrentExecutions: null,
        AsyncEventsReceived: 0,
        AsyncEventAge: null,
        AsyncEventsDropped: 0,
        DestinationDeliveryFailures: 0,
      }));
    }
    const at = (functionKey: string, time: number): TimePoint | undefined =>
      time < from || time >= to ? undefined : functions[functionKey]?.[Math.floor((time - first) / periodMs)];
    const sums = new Map<TimePoint, number>();
    for (const record of this.#records) {
      const point = at(record.functionKey, record.start);
      if (!point) continue;
      point.ConcurrentExecutions = Math.max(point.ConcurrentExecutions ?? 0, record.concurrency);
      if (record.eventAgeMs !== undefined)
        point.AsyncEventAge = Math.max(point.AsyncEventAge ?? 0, round(record.eventAgeMs));
      if (record.outcome === 'throttled') {
        point.Throttles += 1;
        continue;
      }
      point.Invocations += 1;
      if (record.outcome === 'error') point.Errors += 1;
      const duration = round(record.durationMs);
      point.DurationMin = Math.min(point.DurationMin ?? duration, duration);
      point.DurationMax = Math.max(point.DurationMax ?? 0, duration);
      sums.set(point, (sums.get(point) ?? 0) + record.durationMs);
      point.DurationAvg = round((sums.get(point) ?? 0) / point.Invocations);
      point.SuccessRate = round(((point.Invocations - point.Errors) / point.Invocations) * 100);
    }
    for (const mark of this.#asyncMarks) {
      const point = at(mark.functionKey, mark.at);
      if (!point) continue;
      if (mark.type === 'received') point.AsyncEventsReceived += 1;
      else if (mark.type === 'dropped') point.AsyncEventsDropped += 1;
      else point.DestinationDeliveryFailures += 1;
    }
    return { periodMs, from, to, functions };
  }
}
