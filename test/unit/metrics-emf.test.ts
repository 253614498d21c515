/**
 * lib/metrics.ts writes the Embedded Metric Format line Powertools for AWS Lambda's Metrics writes: the same calls
 * through both, the lines compared byte for byte but for `_aws.Timestamp`. Powertools stays a development
 * dependency for this comparison only.
 */
import { Metrics as PowertoolsMetrics, MetricUnit as PowertoolsUnit } from '@aws-lambda-powertools/metrics';
import { expect } from 'chai';
import { MetricUnit, Metrics } from '../../lib/metrics';

type Calls = (metrics: Pick<Metrics, 'addMetric' | 'publishStoredMetrics' | 'hasStoredMetrics'>) => void;

const OPTIONS = { namespace: 'lambda-notes', serviceName: 'lambda-notes' };

function normalise(text: string): string {
  expect(text).to.match(/^\{"_aws":\{"Timestamp":\d{13},/);
  return text.replace(/"Timestamp":\d+/, '"Timestamp":0');
}

function powertoolsLines(calls: Calls): string[] {
  const lines: string[] = [];
  const { write } = process.stdout;
  process.stdout.write = ((chunk: string | Uint8Array): boolean => {
    lines.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    return true;
  }) as typeof process.stdout.write;
  try {
    const metrics = new PowertoolsMetrics(OPTIONS);
    calls({
      addMetric: (name, unit, value) =>
        metrics.addMetric(name, unit as (typeof PowertoolsUnit)[keyof typeof PowertoolsUnit], value),
      publishStoredMetrics: () => metrics.publishStoredMetrics(),
      hasStoredMetrics: () => metrics.hasStoredMetrics(),
    });
  } finally {
    process.stdout.write = write;
  }
  return lines.map(normalise);
}

function ownLines(calls: Calls): string[] {
  const lines: string[] = [];
  calls(new Metrics({ ...OPTIONS, env: {}, write: (line) => lines.push(line) }));
  return lines.map(normalise);
}

function expectSameAsPowertools(calls: Calls): string[] {
  const ours = ownLines(calls);
  expect(ours).to.deep.equal(powertoolsLines(calls));
  return ours;
}

describe('metrics: the EMF lines of Powertools Metrics', () => {
  it("s3Upload's metrics for one object: single values, namespace, the service dimension", () => {
    const [line] = expectSameAsPowertools((metrics) => {
      metrics.addMetric('ObjectsProcessed', MetricUnit.Count, 1);
      metrics.addMetric('BytesProcessed', MetricUnit.Bytes, 25);
      metrics.publishStoredMetrics();
    });
    expect(JSON.parse(line ?? '{}')).to.deep.include({
      service: 'lambda-notes',
      ObjectsProcessed: 1,
      BytesProcessed: 25,
    });
  });

  it('several values of a metric as an array, in order', () => {
    expectSameAsPowertools((metrics) => {
      for (const size of [25, 26, 27]) {
        metrics.addMetric('ObjectsProcessed', MetricUnit.Count, 1);
        metrics.addMetric('BytesProcessed', MetricUnit.Bytes, size);
      }
      metrics.publishStoredMetrics();
    });
  });

  it('nothing stored, nothing written; published metrics are forgotten', () => {
    const lines = ownLines((metrics) => {
      expect(metrics.hasStoredMetrics()).to.equal(false);
      metrics.addMetric('ObjectsProcessed', MetricUnit.Count, 1);
      expect(metrics.hasStoredMetrics()).to.equal(true);
      metrics.publishStoredMetrics();
      expect(metrics.hasStoredMetrics()).to.equal(false);
    });
    expect(lines).to.have.length(1);
  });

  it("a metric's 100th value publishes the line at once", () => {
    const lines = expectSameAsPowertools((metrics) => {
      for (let index = 0; index < 101; index += 1)
        metrics.addMetric('BytesProcessed', MetricUnit.Bytes, index);
      metrics.publishStoredMetrics();
    });
    expect(lines).to.have.length(2);
  });

  it('a 101st metric publishes the first 100 first', () => {
    const lines = expectSameAsPowertools((metrics) => {
      for (let index = 0; index < 101; index += 1) metrics.addMetric(`M${index}`, MetricUnit.Count, 1);
      metrics.publishStoredMetrics();
    });
    expect(lines).to.have.length(2);
  });

  it('refuses a second unit for the same metric, as Powertools does', () => {
    const metrics = new Metrics({ ...OPTIONS, env: {}, write: () => undefined });
    metrics.addMetric('BytesProcessed', MetricUnit.Bytes, 1);
    expect(() => metrics.addMetric('BytesProcessed', MetricUnit.Count, 1)).to.throw(
      /already been added with unit "Bytes"/,
    );
  });

  it('POWERTOOLS_METRICS_DISABLED=true writes nothing', () => {
    const lines: string[] = [];
    const metrics = new Metrics({
      ...OPTIONS,
      env: { POWERTOOLS_METRICS_DISABLED: 'true' },
      write: (line) => lines.push(line),
    });
    metrics.addMetric('ObjectsProcessed', MetricUnit.Count, 1);
    metrics.publishStoredMetrics();
    expect(lines).to.deep.equal([]);
    expect(metrics.hasStoredMetrics()).to.equal(false);
  });
});
