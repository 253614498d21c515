import { expect } from 'chai';
import {
  type InvocationRecord,
  MetricsRecorder,
  percentile,
} from '../../offline/observability/metrics-recorder';

function clock(start = 1_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

/** An invocation as the runner records it once it is over. */
function run(
  recorder: MetricsRecorder,
  fields: Partial<InvocationRecord> & Pick<InvocationRecord, 'outcome'>,
): void {
  recorder.record({
    functionKey: 'fn',
    mode: 'sync',
    start: 1_000_000,
    durationMs: 0,
    concurrency: 1,
    ...fields,
  });
}

describe('MetricsRecorder', () => {
  it('counts invocations, errors and durations under CloudWatch names', () => {
    const recorder = new MetricsRecorder(['fn']);
    for (const [durationMs, outcome] of [
      [10, 'success'],
      [30, 'error'],
      [20, 'success'],
    ] as const) {
      run(recorder, { durationMs, outcome });
    }
    expect(recorder.summary().fn).to.deep.include({
      Invocations: 3,
      Errors: 1,
      SuccessRate: 66.67,
      Throttles: 0,
      Duration: { min: 10, avg: 20, max: 30, p99: 30 },
    });
  });

  it('counts a throttled call as Throttles, not Invocations', () => {
    const recorder = new MetricsRecorder(['fn']);
    run(recorder, { outcome: 'throttled', concurrency: 0 });
    expect(recorder.summary().fn).to.include({ Invocations: 0, Throttles: 1, SuccessRate: null });
  });

  it('keeps the highest concurrency of the runs, not of the throttled calls', () => {
    const recorder = new MetricsRecorder(['fn']);
    for (const concurrency of [1, 3, 2]) run(recorder, { outcome: 'success', concurrency });
    run(recorder, { outcome: 'throttled', concurrency: 5 });
    expect(recorder.summary().fn?.ConcurrentExecutions).to.equal(3);
  });

  it('counts async notices and records the event age of attempts', () => {
    const recorder = new MetricsRecorder(['fn']);
    recorder.asyncNotice({
      type: 'received',
      functionKey: 'fn',
      requestId: 'r1',
      at: 0,
      source: { kind: 'invoke' },
    });
    run(recorder, { mode: 'async', outcome: 'error', requestId: 'r1', attempt: 1, eventAgeMs: 42 });
    recorder.asyncNotice({
      type: 'dropped',
      functionKey: 'fn',
      requestId: 'r1',
      condition: 'RetriesExhausted',
      at: 0,
    });
    recorder.asyncNotice({
      type: 'delivery-failed',
      functionKey: 'fn',
      requestId: 'r2',
      destination: 'q',
      reason: 'x',
      at: 0,
    });
    expect(recorder.summary().fn).to.include({
      AsyncEventsReceived: 1,
      AsyncEventAge: 42,
      AsyncEventsDropped: 1,
      DestinationDeliveryFailures: 1,
    });
  });

  it("notes on an async event's last run what became of it", () => {
    const recorder = new MetricsRecorder(['fn']);
    run(recorder, { mode: 'async', outcome: 'error', requestId: 'r1', attempt: 3, eventAgeMs: 5 });
    recorder.asyncNotice({
      type: 'done',
      functionKey: 'fn',
      requestId: 'r1',
      condition: 'RetriesExhausted',
      destination: 'SQS queue dlq',
      at: 0,
    });
    expect(recorder.recent().at(-1)).to.include({
      attempt: 3,
      destination: 'RetriesExhausted → SQS queue dlq',
    });
  });

  it('puts invocations and throttles into per-second series', () => {
    const time = clock();
    const recorder = new MetricsRecorder(['fn'], time.now);
    run(recorder, { start: time.now(), outcome: 'throttled', concurrency: 1 });
    run(recorder, { start: time.now(), outcome: 'success', durationMs: 1500 });
    time.advance(1500);
    const [first, second] = recorder.series(1000).functions.fn ?? [];
    expect(first).to.include({ Invocations: 1, Throttles: 1, DurationMax: 1500, ConcurrentExecutions: 1 });
    expect(second).to.include({ Invocations: 0, Throttles: 0 });
  });
});

describe('percentile', () => {
  it('uses the nearest rank', () => {
    const values = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(values, 99)).to.equal(99);
    expect(percentile(values, 50)).to.equal(50);
    expect(percentile([7], 99)).to.equal(7);
    expect(percentile([], 99)).to.equal(null);
  });
});
