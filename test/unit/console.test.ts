import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { sourceOfPayload } from '../../offline/core/event-source';
import { EventJournal } from '../../offline/observability/event-journal';
import { TestEvents } from '../../offline/console/test-events';
import { MetricsRecorder } from '../../offline/observability/metrics-recorder';
import { loadEvent } from '../../support/fixtures';

function clock(start = 1_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

describe('EventJournal (the Async events tab)', () => {
  it('follows an event through failed attempts, the waits between them and its destination', () => {
    const time = clock();
    const journal = new EventJournal(time.now);
    journal.notice({ type: 'received', functionKey: 'fn', requestId: 'r1' });
    journal.notice({ type: 'attempt', functionKey: 'fn', requestId: 'r1', attempt: 1, eventAgeMs: 0 });
    time.advance(60_000);
    journal.notice({ type: 'attempt', functionKey: 'fn', requestId: 'r1', attempt: 2, eventAgeMs: 60_000 });
    time.advance(120_000);
    journal.notice({ type: 'attempt', functionKey: 'fn', requestId: 'r1', attempt: 3, eventAgeMs: 180_000 });
    journal.notice({
      type: 'done',
      functionKey: 'fn',
      requestId: 'r1',
      condition: 'RetriesExhausted',
      destination: 'SQS queue dlq',
    });
    const [event] = journal.timelines();
    expect(event?.status).to.equal('failed');
    expect(event?.attempts.map((a) => [a.attempt, a.startedAt - 1_000_000, a.outcome])).to.deep.equal([
      [1, 0, 'error'],
      [2, 60_000, 'error'],
      [3, 180_000, 'error'],
    ]);
    expect(event?.end).to.deep.equal({
      at: 1_180_000,
      condition: 'RetriesExhausted',
      destination: 'SQS queue dlq',
    });
  });

  it('takes at, source and attempt-ended (errors, next attempt) when the queue reports them', () => {
    const journal = new EventJournal(() => 0);
    const source = {
      kind: 's3' as const,
      bucket: 'b',
      key: 'targets/a b.txt',
      eventName: 'ObjectCreated:Put',
    };
    journal.notice({ type: 'received', functionKey: 'fn', requestId: 'r1', at: 10, source });
    journal.notice({
      type: 'attempt',
      functionKey: 'fn',
      requestId: 'r1',
      attempt: 1,
      eventAgeMs: 1,
      at: 11,
    });
    journal.notice({
      type: 'attempt-ended',
      functionKey: 'fn',
      requestId: 'r1',
      attempt: 1,
      at: 20,
      durationMs: 9,
      outcome: 'error',
      errorType: 'EmptyObjectError',
      errorMessage: 'empty',
      nextAttemptAt: 60_020,
    });
    const [event] = journal.timelines({ functionKey: 'fn' });
    expect(event).to.deep.include({ receivedAt: 10, source, status: 'in-progress' });
    expect(event?.attempts).to.deep.equal([
      {
        attempt: 1,
        startedAt: 11,
        eventAgeMs: 1,
        outcome: 'error',
        durationMs: 9,
        errorType: 'EmptyObjectError',
        errorMessage: 'empty',
        nextAttemptAt: 60_020,
      },
    ]);
  });

  it('ends an event whose attempt-ended notice reports a success', () => {
    const journal = new EventJournal(() => 0);
    journal.notice({ type: 'received', functionKey: 'fn', requestId: 'r1', at: 1 });
    journal.notice({ type: 'attempt', functionKey: 'fn', requestId: 'r1', attempt: 1, eventAgeMs: 0, at: 1 });
    journal.notice({
      type: 'attempt-ended',
      functionKey: 'fn',
      requestId: 'r1',
      attempt: 1,
      at: 5,
      durationMs: 4,
      outcome: 'success',
    });
    expect(journal.timelines()[0]).to.deep.include({
      status: 'succeeded',
      end: { at: 5, condition: 'Success' },
    });
  });

  it('tells a throttle (same attempt number again) from a failed attempt', () => {
    const journal = new EventJournal(() => 0);
    journal.notice({ type: 'received', functionKey: 'fn', requestId: 'r1' });
    journal.notice({ type: 'attempt', functionKey: 'fn', requestId: 'r1', attempt: 1, eventAgeMs: 0 });
    journal.notice({ type: 'attempt', functionKey: 'fn', requestId: 'r1', attempt: 1, eventAgeMs: 5 });
    expect(journal.timelines()[0]?.attempts.map((a) => a.outcome)).to.deep.equal(['throttled', undefined]);
  });

  it('keeps the receipt time and source of an event resumed after a restart, and links a failure to its dead letter', () => {
    const journal = new EventJournal(() => 50_000);
    const source = { kind: 'schedule' as const, rule: 'hello-rate' };
    journal.notice({ type: 'resumed', functionKey: 'fn', requestId: 'r1', receivedAt: 1_000, source });
    journal.notice({ type: 'attempt', functionKey: 'fn', requestId: 'r1', attempt: 2, eventAgeMs: 49_000 });
    journal.notice({
      type: 'done',
      functionKey: 'fn',
      requestId: 'r1',
      condition: 'RetriesExhausted',
      destination: 'SQS queue dlq',
      deadLetter: { queue: 'dlq', messageId: 'm-1' },
    });
    expect(journal.timelines()[0]).to.deep.include({
      receivedAt: 1_000,
      source,
      status: 'failed',
      deadLetter: { queue: 'dlq', messageId: 'm-1' },
    });
  });

  it('filters by function and outcome, newest first, and forgets the oldest finished events beyond its size', () => {
    const time = clock();
    const journal = new EventJournal(time.now, 2);
    for (const id of ['a', 'b', 'c']) {
      time.advance(1);
      journal.notice({ type: 'received', functionKey: id === 'b' ? 'other' : 'fn', requestId: id });
      journal.notice({ type: 'dropped', functionKey: 'fn', requestId: id, condition: 'RetriesExhausted' });
    }
    expect(journal.timelines().map((e) => e.requestId)).to.deep.equal(['c', 'b']);
    expect(journal.timelines({ functionKey: 'fn' }).map((e) => e.requestId)).to.deep.equal(['c']);
    expect(journal.timelines({ status: 'succeeded' })).to.deep.equal([]);
  });
});

describe('sourceOfPayload (where a dead-lettered event came from)', () => {
  it('reads the bucket, the decoded key and the event name of an S3 record', async () => {
    const event = loadEvent('s3-put');
    expect(sourceOfPayload(event)).to.deep.include({ kind: 's3', eventName: 'ObjectCreated:Put' });
  });

  it('decodes a form-URL-encoded key', () => {
    const payload = {
      Records: [
        {
          eventSource: 'aws:s3',
          eventName: 'ObjectCreated:Put',
          s3: { bucket: { name: 'b' }, object: { key: 'targets/a+b%C3%A9.txt' } },
        },
      ],
    };
    expect(sourceOfPayload(payload)).to.deep.equal({
      kind: 's3',
      bucket: 'b',
      key: 'targets/a bé.txt',
      eventName: 'ObjectCreated:Put',
    });
  });

  it("names a schedule's rule and calls anything else a direct Invoke", async () => {
    const schedule = loadEvent('schedule');
    expect(sourceOfPayload(schedule).kind).to.equal('schedule');
    expect(sourceOfPayload({ key1: 'value1' })).to.deep.equal({ kind: 'invoke' });
  });
});

describe('TestEvents (saved test events)', () => {
  let stateDir: string;
  beforeEach(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'console-events-'));
  });
  afterEach(async () => {
    await rm(stateDir, { recursive: true, force: true });
  });

  const events = () => new TestEvents(join(__dirname, '..', '..', 'events'), stateDir);

  it('lists the fixtures by file name and saved events by name', async () => {
    await events().save('my-event_1', '{"key1": "x"}');
    expect(await events().list()).to.deep.include.members([
      { name: 'hello.json', kind: 'fixture' },
      { name: 'my-event_1', kind: 'saved' },
    ]);
    expect(JSON.parse(await events().read('saved', 'my-event_1'))).to.deep.equal({ key1: 'x' });
    expect(await readdir(join(stateDir, 'console', 'events'))).to.deep.equal(['my-event_1.json']);
  });

  for (const [name, message] of [
    ['', 'Enter a name'],
    ['a b', 'at most 25 characters'],
    ['../escape', 'at most 25 characters'],
    ['x'.repeat(26), 'at most 25 characters'],
  ] as const) {
    it(`refuses the name ${JSON.stringify(name.slice(0, 12))}`, async () => {
      const error = await events()
        .save(name, '{}')
        .catch((e: unknown) => e as Error);
      expect(error).to.be.instanceOf(Error);
      expect((error as Error).message).to.include(message);
    });
  }

  it('refuses text that is not JSON, with the parser’s reason', async () => {
    const error = await events()
      .save('ok', '{"key1": }')
      .catch((e: unknown) => e as Error);
    expect((error as Error).message).to.match(/^The event is not valid JSON: /);
  });

  it('reads only listed events (no path through the name)', async () => {
    const error = await events()
      .read('fixture', '../package.json')
      .catch((e: unknown) => e as Error);
    expect((error as Error).message).to.include('No event file');
  });
});

describe('MetricsRecorder.timeSeries (the Monitor graphs)', () => {
  it('aligns periods to their length and puts each invocation, throttle and notice in its period', () => {
    const time = clock(600_000);
    const recorder = new MetricsRecorder(['fn'], time.now);
    time.advance(10_000);
    const record = { functionKey: 'fn', mode: 'sync', concurrency: 1 } as const;
    recorder.record({ ...record, start: time.now(), durationMs: 0, outcome: 'throttled' });
    recorder.record({ ...record, start: time.now(), durationMs: 20, outcome: 'error' });
    time.advance(20);
    recorder.asyncNotice({
      type: 'received',
      functionKey: 'fn',
      requestId: 'r1',
      at: time.now(),
      source: { kind: 'invoke' },
    });
    time.advance(60_000);
    recorder.record({
      ...record,
      mode: 'async',
      start: time.now(),
      durationMs: 10,
      outcome: 'success',
      requestId: 'r1',
      attempt: 1,
      eventAgeMs: 60_000,
    });
    time.advance(10);
    const series = recorder.timeSeries({ periodMs: 60_000, from: 590_000, to: time.now() + 1 });
    const points = series.functions.fn ?? [];
    expect(points.map((p) => p.t)).to.deep.equal([540_000, 600_000, 660_000]);
    expect(points[1]).to.deep.include({
      Invocations: 1,
      Errors: 1,
      SuccessRate: 0,
      Throttles: 1,
      DurationMin: 20,
      DurationMax: 20,
      AsyncEventsReceived: 1,
    });
    expect(points[2]).to.deep.include({ Invocations: 1, SuccessRate: 100, AsyncEventAge: 60_000 });
  });

  it('refuses a range of too many periods', () => {
    const recorder = new MetricsRecorder(['fn']);
    expect(() => recorder.timeSeries({ periodMs: 1000, from: 0, to: 10_000_000 })).to.throw(
      RangeError,
      /periods/,
    );
  });
});
