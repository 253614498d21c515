import { expect } from 'chai';
import { MetricsRecorder, percentile } from '../../offline/metrics';

function clock(start = 1_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

describe('MetricsRecorder', () => {
  it('counts invocations, errors and durations under CloudWatch names', () => {
    const time = clock();
    const recorder = new MetricsRecorder(['fn'], new Map(), time.now);
    for (const [ms, outcome] of [
      [10, 'success'],
      [30, 'error'],
      [20, 'success'],
    ] as const) {
      const gate = recorder.begin('fn');
      time.advance(ms);
      if (!gate.throttled) gate.end(outcome);
    }
    expect(recorder.summary().fn).to.deep.include({
      Invocations: 3,
      Errors: 1,
      SuccessRate: 66.67,
      Throttles: 0,
      Duration: { min: 10, avg: 20, max: 30, p99: 30 },
    });
  });

  it('throttles beyond reservedConcurrency and counts it as Throttles, not Invocations', () => {
    const recorder = new MetricsRecorder(['fn'], new Map([['fn', 1]]));
    const first = recorder.begin('fn');
    expect(first.throttled).to.equal(false);
    expect(recorder.begin('fn').throttled).to.equal(true);
    if (!first.throttled) first.end('success');
    expect(recorder.begin('fn').throttled).to.equal(false);
    expect(recorder.summary().fn).to.include({ Throttles: 1, ConcurrentExecutions: 1 });
  });

  it('throttles everything at reservedConcurrency 0', () => {
    const recorder = new MetricsRecorder(['fn'], new Map([['fn', 0]]));
    expect(recorder.begin('fn').throttled).to.equal(true);
    expect(recorder.summary().fn).to.include({ Invocations: 0, Throttles: 1, SuccessRate: null });
  });

  it('keeps the highest concurrency seen', () => {
    const recorder = new MetricsRecorder(['fn'], new Map());
    const gates = [recorder.begin('fn'), recorder.begin('fn'), recorder.begin('fn')];
    for (const gate of gates) if (!gate.throttled) gate.end('success');
    recorder.begin('fn');
    expect(recorder.summary().fn?.ConcurrentExecutions).to.equal(3);
  });

  it('counts async notices and records the event age of attempts', () => {
    const recorder = new MetricsRecorder(['fn'], new Map());
    recorder.asyncNotice({
      type: 'received',
      functionKey: 'fn',
      requestId: 'r1',
      at: 0,
      source: { kind: 'invoke' },
    });
    const gate = recorder.begin('fn', { requestId: 'r1', attempt: 1, eventAgeMs: 42 });
    if (!gate.throttled) gate.end('error');
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
    const recorder = new MetricsRecorder(['fn'], new Map());
    const gate = recorder.begin('fn', { requestId: 'r1', attempt: 3, eventAgeMs: 5 });
    if (!gate.throttled) gate.end('error');
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
    const recorder = new MetricsRecorder(['fn'], new Map([['fn', 1]]), time.now);
    const gate = recorder.begin('fn');
    recorder.begin('fn');
    time.advance(1500);
    if (!gate.throttled) gate.end('success');
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
