/** Summaries of timing samples: nearest-rank percentiles, as CloudWatch and offline/observability/metrics-recorder.ts computes them. */

export interface Distribution {
  readonly n: number;
  readonly median: number;
  readonly p99: number;
  readonly min: number;
  readonly max: number;
}

function sorted(values: readonly number[]): number[] {
  if (values.length === 0) throw new Error('no samples to summarise');
  return [...values].sort((a, b) => a - b);
}

/** Nearest-rank percentile: the smallest sample with at least p % of the samples at or below it. */
export function percentile(values: readonly number[], p: number): number {
  const ordered = sorted(values);
  const rank = Math.min(ordered.length, Math.max(1, Math.ceil((p / 100) * ordered.length)));
  return ordered[rank - 1] as number;
}

/** The middle sample, or the mean of the two middle samples for an even count. */
export function median(values: readonly number[]): number {
  const ordered = sorted(values);
  const middle = Math.floor(ordered.length / 2);
  const upper = ordered[middle] as number;
  return ordered.length % 2 === 1 ? upper : ((ordered[middle - 1] as number) + upper) / 2;
}

export function distribution(values: readonly number[]): Distribution {
  const ordered = sorted(values);
  return {
    n: ordered.length,
    median: round(median(ordered)),
    p99: round(percentile(ordered, 99)),
    min: round(ordered[0] as number),
    max: round(ordered[ordered.length - 1] as number),
  };
}

/** Two decimals: enough for milliseconds and ratios, short enough for a table. */
export function round(value: number, decimals = 2): number {
  const scale = 10 ** decimals;
  return Math.round(value * scale) / scale;
}

/** value ÷ floor, rounded; null when the floor is zero (a ratio to nothing means nothing). */
export function ratio(value: number, floor: number): number | null {
  return floor === 0 ? null : round(value / floor);
}
