/**
 * Custom metrics as CloudWatch Embedded Metric Format: a JSON line in the function's log that CloudWatch turns
 * into metrics, with no API call and no extra permission.
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
 *
 * The line is the one Powertools for AWS Lambda's Metrics (2.x) writes, key for key: `_aws` {Timestamp,
 * CloudWatchMetrics: [{Namespace, Dimensions: [["service"]], Metrics: [{Name, Unit}]}]}, `service`, then each
 * metric's value (an array once a metric has several). A metric's 100th value, or a 101st metric, publishes
 * what is stored first, as there. Powertools' Metrics is not bundled, for cold start (bench/README.md);
 * test/unit/metrics-emf.test.ts holds this output against Powertools' own.
 */

/** CloudWatch's units (the names Powertools' MetricUnit gives them). */
export const MetricUnit = {
  Seconds: 'Seconds',
  Microseconds: 'Microseconds',
  Milliseconds: 'Milliseconds',
  Bytes: 'Bytes',
  Kilobytes: 'Kilobytes',
  Megabytes: 'Megabytes',
  Gigabytes: 'Gigabytes',
  Terabytes: 'Terabytes',
  Bits: 'Bits',
  Kilobits: 'Kilobits',
  Megabits: 'Megabits',
  Gigabits: 'Gigabits',
  Terabits: 'Terabits',
  Percent: 'Percent',
  Count: 'Count',
  BytesPerSecond: 'Bytes/Second',
  KilobytesPerSecond: 'Kilobytes/Second',
  MegabytesPerSecond: 'Megabytes/Second',
  GigabytesPerSecond: 'Gigabytes/Second',
  TerabytesPerSecond: 'Terabytes/Second',
  BitsPerSecond: 'Bits/Second',
  KilobitsPerSecond: 'Kilobits/Second',
  MegabitsPerSecond: 'Megabits/Second',
  GigabitsPerSecond: 'Gigabits/Second',
  TerabitsPerSecond: 'Terabits/Second',
  CountPerSecond: 'Count/Second',
  NoUnit: 'None',
} as const;
export type MetricUnit = (typeof MetricUnit)[keyof typeof MetricUnit];

/** EMF limits: 100 metrics per line, 100 values per metric. */
const MAX_METRICS = 100;
const MAX_VALUES = 100;

export interface MetricsOptions {
  readonly namespace: string;
  readonly serviceName: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Where the line goes (stdout by default). For tests. */
  readonly write?: (line: string) => void;
  readonly now?: () => number;
}

function isTruthy(value: string | undefined): boolean | undefined {
  const text = value?.trim().toLowerCase();
  if (text === undefined || text === '') return undefined;
  return ['1', 'y', 'yes', 't', 'true', 'on'].includes(text);
}

export class Metrics {
  readonly #namespace: string;
  readonly #service: string;
  readonly #disabled: boolean;
  readonly #write: (line: string) => void;
  readonly #now: () => number;
  readonly #stored = new Map<string, { unit: MetricUnit; values: number[] }>();

  constructor(options: MetricsOptions) {
    const env = options.env ?? process.env;
    this.#namespace = options.namespace;
    this.#service = options.serviceName;
    // As Powertools: POWERTOOLS_METRICS_DISABLED, else off in POWERTOOLS_DEV mode.
    this.#disabled = isTruthy(env.POWERTOOLS_METRICS_DISABLED) ?? isTruthy(env.POWERTOOLS_DEV) ?? false;
    this.#write = options.write ?? ((line) => process.stdout.write(line));
    this.#now = options.now ?? Date.now;
  }

  addMetric(name: string, unit: MetricUnit, value: number): void {
    if (name.length < 1 || name.length > 255) {
      throw new RangeError('The metric name should be between 1 and 255 characters');
    }
    if (!Number.isFinite(value)) throw new RangeError(`${value} is not a valid number`);
    const existing = this.#stored.get(name);
    if (existing !== undefined && existing.unit !== unit) {
      throw new Error(
        `Metric "${name}" has already been added with unit "${existing.unit}", but we received unit "${unit}". Did you mean to use metric unit "${existing.unit}"?`,
      );
    }
    if (existing === undefined && this.#stored.size >= MAX_METRICS) this.publishStoredMetrics();
    const metric = this.#stored.get(name) ?? { unit, values: [] };
    metric.values.push(value);
    this.#stored.set(name, metric);
    if (metric.values.length === MAX_VALUES) this.publishStoredMetrics();
  }

  hasStoredMetrics(): boolean {
    return this.#stored.size > 0;
  }

  /** Writes the stored metrics as one EMF line (nothing when none are stored) and forgets them. */
  publishStoredMetrics(): void {
    try {
      if (this.#disabled || this.#stored.size === 0) return;
      const line: Record<string, unknown> = {
        _aws: {
          Timestamp: this.#now(),
          CloudWatchMetrics: [
            {
              Namespace: this.#namespace,
              Dimensions: [['service']],
              Metrics: [...this.#stored].map(([name, { unit }]) => ({ Name: name, Unit: unit })),
            },
          ],
        },
        service: this.#service,
      };
      for (const [name, { values }] of this.#stored) line[name] = values.length === 1 ? values[0] : values;
      this.#write(`${JSON.stringify(line)}\n`);
    } finally {
      this.#stored.clear();
    }
  }
}

export const metrics = new Metrics({
  namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'lambda-notes',
  serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'lambda-notes',
});
