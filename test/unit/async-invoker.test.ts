import { expect } from 'chai';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AsyncInvoker, QueueStoppedError } from '../../offline/core/async-invoker';
import { JsonDirectory } from '../../offline/state/json-directory';
import { LocalQueue, stableMessageId } from '../../offline/state/local-queue';
import { EventJournal } from '../../offline/observability/event-journal';
import type {
  AsyncEventNotice,
  AsyncFunction,
  Destination,
  PendingEvent,
  RunResult,
} from '../../offline/model/async-events';
import { LONGEST_TIMER_MS } from '../../offline/model/timers';
import type { DestinationRecord, FunctionErrorPayload } from '../../offline/model/outcomes';

const T0 = Date.parse('2026-11-25T13:37:00.000Z');
const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const DLQ = 'lambda-notes-dev-dlq';
const SUCCESS_QUEUE = 'lambda-notes-dev-success';
const PAYLOAD = { Records: [{ s3: { bucket: { name: 'uploads' }, object: { key: 'targets/a.txt' } } }] };
const FAILURE: FunctionErrorPayload = {
  errorType: 'EmptyObjectError',
  errorMessage: 'targets/a.txt is empty',
  trace: ['EmptyObjectError: targets/a.txt is empty', '    at handler (/var/task/index.js:1:1)'],
};
const FAILED: RunResult = { ok: false, error: FAILURE };
const THROTTLED: RunResult = { throttled: true };

interface FakeTimer {
  readonly dueAt: number;
  readonly seq: number;
  readonly callback: () => void;
  /** Shape of the handle InvokerDeps.setTimer returns (a Node timer has unref). */
  unref?(): unknown;
}

/**
 * Fake clock and timers. `advance` moves the clock to each due timer in turn and runs it; between steps it lets
 * the invoker's pending file I/O (counted by TrackedDirectory) and promise chains finish.
 */
class FakeTime {
  now = T0;
  #timers: FakeTimer[] = [];
  #seq = 0;
  #inFlight = 0;

  readonly setTimer = (callback: () => void, ms: number): FakeTimer => {
    const timer = { dueAt: this.now + ms, seq: this.#seq++, callback };
    this.#timers.push(timer);
    return timer;
  };

  readonly clearTimer = (timer: object): void => {
    this.#timers = this.#timers.filter((candidate) => candidate !== timer);
  };

  get timerCount(): number {
    return this.#timers.length;
  }

  /** A run that takes `ms` of fake time. */
  delay(ms: number): Promise<void> {
    return new Promise((resolve) => this.setTimer(resolve, ms));
  }

  track<T>(work: Promise<T>): Promise<T> {
    this.#inFlight += 1;
    return work.finally(() => {
      this.#inFlight -= 1;
    });
  }

  /** Lets pending I/O and promise chains run until only timers are left (a condition, not a fixed sleep). */
  async settle(): Promise<void> {
    const giveUpAt = performance.now() + 5_000;
    do {
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (this.#inFlight === 0) return;
    } while (performance.now() < giveUpAt);
    throw new Error('FakeTime.settle: file I/O still in flight after 5 s');
  }

  async advance(ms: number): Promise<void> {
    const target = this.now + ms;
    for (;;) {
      await this.settle();
      const due = this.#timers
        .filter((timer) => timer.dueAt <= target)
        .sort((a, b) => a.dueAt - b.dueAt || a.seq - b.seq)[0];
      if (due === undefined) break;
      this.clearTimer(due);
      this.now = Math.max(this.now, due.dueAt);
      due.callback();
    }
    this.now = target;
  }
}

/** A JsonDirectory whose operations FakeTime.settle waits for. */
class TrackedDirectory<T> extends JsonDirectory<T> {
  constructor(
    path: string,
    private readonly time: FakeTime,
  ) {
    super(path);
  }

  override put(name: string, value: T): Promise<void> {
    return this.time.track(super.put(name, value));
  }

  override read(name: string): Promise<T | undefined> {
    return this.time.track(super.read(name));
  }

  override remove(name: string): Promise<boolean> {
    return this.time.track(super.remove(name));
  }

  override names(): Promise<string[]> {
    return this.time.track(super.names());
  }

  override entries(): Promise<Array<{ name: string; value: T }>> {
    return this.time.track(super.entries());
  }
}

type Undeliverable = { event: PendingEvent; record: unknown; reason: string };
type Runner = (functionKey: string, payload: unknown, time: FakeTime) => RunResult | Promise<RunResult>;

interface Harness {
  readonly invoker: AsyncInvoker;
  readonly time: FakeTime;
  readonly pending: TrackedDirectory<PendingEvent>;
  readonly undeliverable: TrackedDirectory<Undeliverable>;
  readonly runs: Array<{ functionKey: string; payload: unknown; at: number }>;
  /** The request id and attempt each run was given. */
  readonly infos: Array<{ requestId: string; attempt: number }>;
  /** Delays handed to setTimer. */
  readonly timerDelays: number[];
  readonly sent: Array<{ queueName: string; body: string }>;
  readonly logs: Array<{ level: 'info' | 'warn' | 'error'; message: string }>;
  readonly notices: AsyncEventNotice[];
  readonly concurrency: { active: number; max: number };
  /** Destination records sent to a queue, parsed. */
  records(queueName?: string): DestinationRecord[];
}

const FUNCTION_ARN = 'arn:aws:lambda:ap-northeast-1:000000000000:function:lambda-notes-dev-s3Upload:$LATEST';

function asyncFunction(overrides: Partial<AsyncFunction> & { key?: string } = {}): AsyncFunction {
  return {
    key: 's3Upload',
    arn: FUNCTION_ARN,
    policy: { maximumRetryAttempts: 2, maximumEventAgeSeconds: 21_600, timeScale: 0.5 },
    onSuccess: undefined,
    onFailure: { kind: 'sqs', queueName: DLQ },
    maxConcurrency: 10,
    ...overrides,
  };
}

function withPolicy(
  policy: Partial<AsyncFunction['policy']>,
  overrides: Partial<AsyncFunction> = {},
): AsyncFunction {
  const base = asyncFunction(overrides);
  return { ...base, policy: { ...base.policy, ...policy } };
}

/** Results in order, the last one repeated. */
function scripted(...results: RunResult[]): Runner {
  let index = 0;
  return () => results[Math.min(index++, results.length - 1)] ?? FAILED;
}

describe('AsyncInvoker', () => {
  let root: string;
  let invokers: AsyncInvoker[];

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'async-invoker-'));
    invokers = [];
  });

  afterEach(async () => {
    for (const invoker of invokers) invoker.stop();
    await rm(root, { recursive: true, force: true });
  });

  function harness(options: {
    functions: AsyncFunction[];
    run?: Runner;
    sendToQueue?: (queueName: string, body: string, deduplicationKey: string) => Promise<void>;
    time?: FakeTime;
  }): Harness {
    const time = options.time ?? new FakeTime();
    const pending = new TrackedDirectory<PendingEvent>(join(root, 'pending'), time);
    const undeliverable = new TrackedDirectory<Undeliverable>(join(root, 'undeliverable'), time);
    const runs: Harness['runs'] = [];
    const infos: Harness['infos'] = [];
    const timerDelays: number[] = [];
    const sent: Harness['sent'] = [];
    const logs: Harness['logs'] = [];
    const notices: AsyncEventNotice[] = [];
    const concurrency = { active: 0, max: 0 };
    const run = options.run ?? scripted({ ok: true, result: 'done' });
    let ids = 0;
    const invoker = new AsyncInvoker({
      functions: new Map(options.functions.map((fn) => [fn.key, fn])),
      pending,
      undeliverable,
      run: async (functionKey, payload, info) => {
        runs.push({ functionKey, payload, at: time.now });
        infos.push({ requestId: info.requestId, attempt: info.attempt });
        concurrency.active += 1;
        concurrency.max = Math.max(concurrency.max, concurrency.active);
        try {
          return await run(functionKey, payload, time);
        } finally {
          concurrency.active -= 1;
        }
      },
      sendToQueue:
        options.sendToQueue ??
        (async (queueName, body) => {
          sent.push({ queueName, body });
        }),
      now: () => time.now,
      newId: () => `req-${++ids}`,
      setTimer: (callback, ms) => {
        timerDelays.push(ms);
        return time.setTimer(callback, ms);
      },
      clearTimer: time.clearTimer,
      log: (level, message) => logs.push({ level, message }),
      notify: (notice) => notices.push(notice),
    });
    invokers.push(invoker);
    return {
      invoker,
      time,
      pending,
      undeliverable,
      runs,
      infos,
      timerDelays,
      sent,
      logs,
      notices,
      concurrency,
      records: (queueName) =>
        sent
          .filter((message) => queueName === undefined || message.queueName === queueName)
          .map((message) => JSON.parse(message.body) as DestinationRecord),
    };
  }

  /** Enqueues PAYLOAD for s3Upload and lets everything due within `forMs` happen. */
  async function enqueueAndRun(h: Harness, forMs = 60 * MINUTE): Promise<void> {
    await h.invoker.enqueue('s3Upload', PAYLOAD);
    await h.time.advance(forMs);
  }

  describe('enqueue', () => {
    it('has the event on disk when enqueue resolves', async () => {
      const h = harness({
        functions: [asyncFunction()],
        run: async (_key, _payload, time) => {
          await time.delay(SECOND);
          return { ok: true, result: null };
        },
      });
      const { requestId } = await h.invoker.enqueue('s3Upload', PAYLOAD);
      expect(await h.pending.read(requestId)).to.include({
        requestId,
        functionKey: 's3Upload',
        attempts: 0,
        receivedAt: T0,
      });
    });

    it('refuses a function that is not in serverless.yml', async () => {
      const h = harness({ functions: [asyncFunction()] });
      let caught: unknown;
      try {
        await h.invoker.enqueue('nope', PAYLOAD);
      } catch (error) {
        caught = error;
      }
      expect(caught).to.be.instanceOf(Error).with.property('message').that.contains('"nope"');
    });
  });

  describe('success on the first attempt', () => {
    it('runs the function once, at once, with the payload', async () => {
      const h = harness({ functions: [asyncFunction()] });
      await enqueueAndRun(h);
      expect(h.runs).to.deep.equal([{ functionKey: 's3Upload', payload: PAYLOAD, at: T0 }]);
    });

    it('sends no destination record when there is no onSuccess', async () => {
      const h = harness({ functions: [asyncFunction()] });
      await enqueueAndRun(h);
      expect(h.sent).to.deep.equal([]);
    });

    it('leaves the pending directory empty', async () => {
      const h = harness({ functions: [asyncFunction()] });
      await enqueueAndRun(h);
      expect(await h.pending.names()).to.deep.equal([]);
    });
  });

  describe('a function that always fails, 2 retries, time scale 0.5', () => {
    const always = (): Harness => harness({ functions: [asyncFunction()], run: scripted(FAILED) });

    it('runs exactly 3 times: at once, then after 60 s × 0.5, then after 120 s × 0.5', async () => {
      const h = always();
      await enqueueAndRun(h);
      expect(h.runs.map((run) => run.at - T0)).to.deep.equal([0, 30_000, 90_000]);
    });

    it('does not retry a millisecond before the delay is over', async () => {
      const h = always();
      await h.invoker.enqueue('s3Upload', PAYLOAD);
      await h.time.advance(29_999);
      const before = h.runs.length;
      await h.time.advance(1);
      expect([before, h.runs.length]).to.deep.equal([1, 2]);
    });

    it('runs every attempt with the original payload', async () => {
      const h = always();
      await enqueueAndRun(h);
      expect(h.runs.map((run) => run.payload)).to.deep.equal([PAYLOAD, PAYLOAD, PAYLOAD]);
    });

    it('sends exactly one record, to the onFailure queue', async () => {
      const h = always();
      await enqueueAndRun(h);
      expect(h.sent.map((message) => message.queueName)).to.deep.equal([DLQ]);
    });

    it('sends a RetriesExhausted record with approximateInvokeCount 3 and the function ARN', async () => {
      const h = always();
      await enqueueAndRun(h);
      expect(h.records(DLQ)[0]?.requestContext).to.deep.equal({
        requestId: 'req-1',
        functionArn: FUNCTION_ARN,
        condition: 'RetriesExhausted',
        approximateInvokeCount: 3,
      });
    });

    it('puts the original payload in requestPayload and the last error in responsePayload', async () => {
      const h = always();
      await enqueueAndRun(h);
      const record = h.records(DLQ)[0];
      expect(record?.requestPayload).to.deep.equal(PAYLOAD);
      expect(record?.responseContext).to.deep.equal({
        statusCode: 200,
        executedVersion: '$LATEST',
        functionError: 'Unhandled',
      });
      expect(record?.responsePayload).to.deep.equal(FAILURE);
    });

    it('stamps the record with the time of the last failure', async () => {
      const h = always();
      await enqueueAndRun(h);
      expect(h.records(DLQ)[0]?.timestamp).to.equal(new Date(T0 + 90_000).toISOString());
    });

    it('reports attempts 1, 2, 3 with their event age', async () => {
      const h = always();
      await enqueueAndRun(h);
      const attempts = h.notices.flatMap((notice) =>
        notice.type === 'attempt' ? [[notice.attempt, notice.eventAgeMs]] : [],
      );
      expect(attempts).to.deep.equal([
        [1, 0],
        [2, 30_000],
        [3, 90_000],
      ]);
    });

    it('forgets the event once the record is sent', async () => {
      const h = always();
      await enqueueAndRun(h);
      expect(await h.pending.names()).to.deep.equal([]);
    });

    it('keeps the event on disk between attempts, with its attempt count', async () => {
      const h = always();
      await h.invoker.enqueue('s3Upload', PAYLOAD);
      await h.time.advance(SECOND);
      expect(await h.pending.read('req-1')).to.include({ attempts: 1, dueAt: T0 + 30_000 });
    });
  });

  describe('maximumRetryAttempts 0', () => {
    it('runs once only', async () => {
      const h = harness({ functions: [withPolicy({ maximumRetryAttempts: 0 })], run: scripted(FAILED) });
      await enqueueAndRun(h);
      expect(h.runs).to.have.length(1);
    });

    it('sends RetriesExhausted with approximateInvokeCount 1', async () => {
      const h = harness({ functions: [withPolicy({ maximumRetryAttempts: 0 })], run: scripted(FAILED) });
      await enqueueAndRun(h);
      expect(h.records(DLQ).map((record) => record.requestContext)).to.deep.equal([
        {
          requestId: 'req-1',
          functionArn: FUNCTION_ARN,
          condition: 'RetriesExhausted',
          approximateInvokeCount: 1,
        },
      ]);
    });
  });

  describe('maximumEventAge', () => {
    // Time scale 1, maximum age 60 s; the run takes 5 s, so the 1-minute retry would come due at 65 s.
    const slowFailure: Runner = async (_key, _payload, time) => {
      await time.delay(5 * SECOND);
      return FAILED;
    };
    const sixtySeconds = (): AsyncFunction => withPolicy({ maximumEventAgeSeconds: 60, timeScale: 1 });

    it('does not run a retry that comes due past the maximum age', async () => {
      const h = harness({ functions: [sixtySeconds()], run: slowFailure });
      await enqueueAndRun(h);
      expect(h.runs.map((run) => run.at - T0)).to.deep.equal([0]);
    });

    it('sends EventAgeExceeded with approximateInvokeCount 1 and the last error', async () => {
      const h = harness({ functions: [sixtySeconds()], run: slowFailure });
      await enqueueAndRun(h);
      const [record] = h.records(DLQ);
      expect(record?.requestContext).to.include({ condition: 'EventAgeExceeded', approximateInvokeCount: 1 });
      expect(record?.responsePayload).to.deep.equal(FAILURE);
    });

    // AWS gives up as soon as the next retry could not start within maximumEventAge: the record arrives within
    // the age (LocalStack tests/aws/services/lambda_/test_lambda_destinations.py, maximum event age 60 → one
    // attempt, record before 60 s), not when the retry would have come due (65 s).
    it('sends the record when the failed attempt ends (5 s), not when the retry would come due (65 s)', async () => {
      const h = harness({ functions: [sixtySeconds()], run: slowFailure });
      await enqueueAndRun(h);
      expect(h.records(DLQ)[0]?.timestamp).to.equal(new Date(T0 + 5 * SECOND).toISOString());
    });

    it('still runs a retry that comes due exactly at the maximum age', async () => {
      const h = harness({ functions: [sixtySeconds()], run: scripted(FAILED) });
      await enqueueAndRun(h);
      expect(h.runs.map((run) => run.at - T0)).to.deep.equal([0, 60_000]);
    });

    it('sends EventAgeExceeded, not RetriesExhausted, when the second retry is past the age', async () => {
      const h = harness({ functions: [sixtySeconds()], run: scripted(FAILED) });
      await enqueueAndRun(h);
      expect(h.records(DLQ).map((record) => record.requestContext)).to.deep.equal([
        {
          requestId: 'req-1',
          functionArn: FUNCTION_ARN,
          condition: 'EventAgeExceeded',
          approximateInvokeCount: 2,
        },
      ]);
    });
  });

  describe('onSuccess', () => {
    const withOnSuccess = (): AsyncFunction =>
      asyncFunction({ onSuccess: { kind: 'sqs', queueName: SUCCESS_QUEUE } });

    it('sends a Success record with the result to the onSuccess queue', async () => {
      const h = harness({
        functions: [withOnSuccess()],
        run: scripted({ ok: true, result: { processed: 1 } }),
      });
      await enqueueAndRun(h);
      const records = h.records(SUCCESS_QUEUE);
      expect(records).to.have.length(1);
      expect(records[0]?.requestContext).to.include({ condition: 'Success', approximateInvokeCount: 1 });
      expect(records[0]?.responseContext).to.deep.equal({ statusCode: 200, executedVersion: '$LATEST' });
      expect(records[0]?.responsePayload).to.deep.equal({ processed: 1 });
    });

    it('counts the failed attempts before a success', async () => {
      const h = harness({ functions: [withOnSuccess()], run: scripted(FAILED, { ok: true, result: 'ok' }) });
      await enqueueAndRun(h);
      expect(
        h.records(SUCCESS_QUEUE).map((record) => record.requestContext.approximateInvokeCount),
      ).to.deep.equal([2]);
    });

    it('sends nothing to the onFailure queue after a success', async () => {
      const h = harness({ functions: [withOnSuccess()], run: scripted(FAILED, { ok: true, result: 'ok' }) });
      await enqueueAndRun(h);
      expect(h.records(DLQ)).to.deep.equal([]);
    });
  });

  describe('a function destination', () => {
    const audit = asyncFunction({ key: 'audit', arn: 'arn:audit', onFailure: undefined });
    const toAudit: Destination = { kind: 'function', functionKey: 'audit' };
    const run: Runner = (functionKey) => (functionKey === 'audit' ? { ok: true, result: null } : FAILED);

    it('enqueues the record as the event of that function', async () => {
      const h = harness({
        functions: [withPolicy({ maximumRetryAttempts: 0 }, { onFailure: toAudit }), audit],
        run,
      });
      await enqueueAndRun(h);
      const auditRuns = h.runs.filter((entry) => entry.functionKey === 'audit');
      expect(auditRuns).to.have.length(1);
      const record = auditRuns[0]?.payload as DestinationRecord;
      expect(record.requestContext).to.include({ requestId: 'req-1', condition: 'RetriesExhausted' });
      expect(record.requestPayload).to.deep.equal(PAYLOAD);
    });

    it('gives the destination event a request id of its own, derived from the record (a resend replaces it)', async () => {
      const h = harness({
        functions: [withPolicy({ maximumRetryAttempts: 0 }, { onFailure: toAudit }), audit],
        run,
      });
      await enqueueAndRun(h);
      const received = h.notices.flatMap((notice) => (notice.type === 'received' ? [notice] : []));
      expect(received.map((notice) => [notice.functionKey, notice.requestId])).to.deep.equal([
        ['s3Upload', 'req-1'],
        ['audit', stableMessageId('req-1:RetriesExhausted')],
      ]);
    });

    it('sends nothing to any queue', async () => {
      const h = harness({
        functions: [withPolicy({ maximumRetryAttempts: 0 }, { onFailure: toAudit }), audit],
        run,
      });
      await enqueueAndRun(h);
      expect(h.sent).to.deep.equal([]);
    });
  });

  describe('a destination that cannot take the record', () => {
    const failingQueue = (): Harness =>
      harness({
        functions: [withPolicy({ maximumRetryAttempts: 0 })],
        run: scripted(FAILED),
        sendToQueue: async () => {
          throw new Error('queue directory is read-only');
        },
      });

    it('keeps the event, its record and the reason in the undeliverable directory', async () => {
      const h = failingQueue();
      await enqueueAndRun(h);
      const entries = await h.undeliverable.entries();
      expect(entries).to.have.length(1);
      const kept = entries[0]?.value;
      expect(kept?.event).to.include({ requestId: 'req-1', attempts: 1 });
      expect(kept?.event.payload).to.deep.equal(PAYLOAD);
      expect((kept?.record as DestinationRecord).requestContext.condition).to.equal('RetriesExhausted');
      expect(kept?.reason).to.equal('queue directory is read-only');
    });

    it('removes the event from pending only once it is kept elsewhere', async () => {
      const h = failingQueue();
      await enqueueAndRun(h);
      expect([await h.pending.names(), await h.undeliverable.names()]).to.deep.equal([[], ['req-1']]);
    });

    it("emits a 'delivery-failed' notice and no 'done'", async () => {
      const h = failingQueue();
      await enqueueAndRun(h);
      expect(
        h.notices.filter((notice) => notice.type === 'delivery-failed' || notice.type === 'done'),
      ).to.deep.equal([
        {
          type: 'delivery-failed',
          functionKey: 's3Upload',
          requestId: 'req-1',
          destination: `SQS queue ${DLQ}`,
          reason: 'queue directory is read-only',
          at: T0,
        },
      ]);
    });

    it('logs an error saying the record could not be delivered', async () => {
      const h = failingQueue();
      await enqueueAndRun(h);
      const errors = h.logs.filter((line) => line.level === 'error');
      expect(errors).to.have.length(1);
      expect(errors[0]?.message)
        .to.contain('could NOT be delivered')
        .and.contain(DLQ)
        .and.contain('read-only');
    });

    it('treats an unsupported destination (SNS) as undeliverable', async () => {
      const h = harness({
        functions: [
          withPolicy(
            { maximumRetryAttempts: 0 },
            { onFailure: { kind: 'unsupported', description: 'sns arn:aws:sns:x' } },
          ),
        ],
        run: scripted(FAILED),
      });
      await enqueueAndRun(h);
      expect(await h.undeliverable.names()).to.deep.equal(['req-1']);
    });
  });

  describe('no onFailure destination', () => {
    const noDestination = (): Harness =>
      harness({
        functions: [withPolicy({ maximumRetryAttempts: 0 }, { onFailure: undefined })],
        run: scripted(FAILED),
      });

    it("emits a 'dropped' notice with the condition", async () => {
      const h = noDestination();
      await enqueueAndRun(h);
      expect(h.notices.filter((notice) => notice.type === 'dropped')).to.deep.equal([
        {
          type: 'dropped',
          functionKey: 's3Upload',
          requestId: 'req-1',
          condition: 'RetriesExhausted',
          at: T0,
        },
      ]);
    });

    it('logs an error line saying the event was dropped', async () => {
      const h = noDestination();
      await enqueueAndRun(h);
      const errors = h.logs.filter((line) => line.level === 'error');
      expect(errors).to.have.length(1);
      expect(errors[0]?.message).to.contain('DROPPED').and.contain('req-1');
    });

    it('forgets the event, as Lambda does', async () => {
      const h = noDestination();
      await enqueueAndRun(h);
      expect([await h.pending.names(), await h.undeliverable.names(), h.sent]).to.deep.equal([[], [], []]);
    });
  });

  describe("the notices the console's journal is built from", () => {
    it('tell each attempt with its error, the end, and the id of the dead letter in the queue', async () => {
      const sent: Array<{ queueName: string; body: string; deduplicationKey: string }> = [];
      const h = harness({
        functions: [asyncFunction()],
        run: scripted(FAILED),
        sendToQueue: async (queueName, body, deduplicationKey) => {
          sent.push({ queueName, body, deduplicationKey });
        },
      });
      const journal = new EventJournal(() => h.time.now);
      h.notices.length = 0;
      await enqueueAndRun(h);
      for (const notice of h.notices) journal.notice(notice);
      const [event] = journal.timelines();
      // The message the offline stack's queue makes of what was sent.
      const [record] = sent;
      const message = await new LocalQueue(root, DLQ).send(record?.body ?? '', record?.deduplicationKey);
      expect(event?.attempts.map((a) => [a.attempt, a.outcome, a.errorType])).to.deep.equal([
        [1, 'error', FAILURE.errorType],
        [2, 'error', FAILURE.errorType],
        [3, 'error', FAILURE.errorType],
      ]);
      expect(event).to.deep.include({
        status: 'failed',
        deadLetter: { queue: DLQ, messageId: message?.MessageId },
      });
    });

    it('tell when and from where an event resumed after a restart was received', async () => {
      const first = harness({ functions: [asyncFunction()], run: scripted(FAILED) });
      await first.invoker.enqueue('s3Upload', PAYLOAD, { source: { kind: 'invoke' } });
      await first.time.advance(SECOND);
      first.invoker.stop();
      const second = harness({ functions: [asyncFunction()], time: first.time });
      await second.invoker.resume();
      expect(second.notices[0]).to.deep.equal({
        type: 'resumed',
        functionKey: 's3Upload',
        requestId: 'req-1',
        at: T0 + SECOND,
        receivedAt: T0,
        source: { kind: 'invoke' },
      });
    });
  });

  describe('resume', () => {
    /** A first invoker fails once, then is stopped while the retry waits; a second takes over the directory. */
    async function restarted(): Promise<{ first: Harness; second: Harness; resumed: number }> {
      const first = harness({ functions: [asyncFunction()], run: scripted(FAILED) });
      await first.invoker.enqueue('s3Upload', PAYLOAD);
      await first.time.advance(SECOND);
      first.invoker.stop();
      const second = harness({
        functions: [asyncFunction({ onSuccess: { kind: 'sqs', queueName: SUCCESS_QUEUE } })],
        run: scripted({ ok: true, result: 'second' }),
        time: first.time,
      });
      const { resumed } = await second.invoker.resume();
      await second.time.advance(60 * MINUTE);
      return { first, second, resumed };
    }

    it('reports the number of events found on disk', async () => {
      const { resumed } = await restarted();
      expect(resumed).to.equal(1);
    });

    it('runs the pending event at its due time in the second invoker', async () => {
      const { second } = await restarted();
      expect(second.runs).to.deep.equal([{ functionKey: 's3Upload', payload: PAYLOAD, at: T0 + 30_000 }]);
    });

    it('does not run it again in the stopped invoker', async () => {
      const { first } = await restarted();
      expect(first.runs).to.have.length(1);
    });

    it('carries the attempt count over (approximateInvokeCount 2)', async () => {
      const { second } = await restarted();
      expect(second.records(SUCCESS_QUEUE).map((record) => record.requestContext)).to.deep.equal([
        { requestId: 'req-1', functionArn: FUNCTION_ARN, condition: 'Success', approximateInvokeCount: 2 },
      ]);
    });

    it('does not schedule again an event it already holds (an event that arrived while resuming)', async () => {
      const h = harness({ functions: [asyncFunction()], run: scripted(FAILED) });
      await h.invoker.enqueue('s3Upload', PAYLOAD);
      await h.invoker.resume();
      await h.time.advance(60 * MINUTE);
      expect(h.runs).to.have.length(3);
      expect(h.records(DLQ)).to.have.length(1);
    });

    it('moves an event of an unknown function to the quarantine and logs it', async () => {
      const time = new FakeTime();
      const pending = new JsonDirectory<PendingEvent>(join(root, 'pending'));
      await pending.put('orphan', {
        requestId: 'orphan',
        functionKey: 'removedFunction',
        payload: {},
        receivedAt: T0,
        attempts: 1,
        throttles: 0,
        dueAt: T0,
      });
      const h = harness({ functions: [asyncFunction()], time });
      await h.invoker.resume();
      await time.advance(MINUTE);
      expect(h.runs).to.deep.equal([]);
      expect(await h.pending.names()).to.deep.equal([]);
      const quarantined = await readdir(join(root, 'quarantine'));
      expect(quarantined.filter((file) => file.endsWith('orphan.json'))).to.have.length(1);
      const reason = await readFile(
        join(root, 'quarantine', `${quarantined.find((file) => file.endsWith('orphan.json'))}.reason.txt`),
        'utf8',
      );
      expect(reason).to.contain('removedFunction');
    });
  });

  describe('queue failures', () => {
    /** Fails the pending directory's writes after the first `okWrites` with ENOSPC, `failures` times. */
    function failingWrites(h: Harness, okWrites: number, failures: number): void {
      const put = h.pending.put.bind(h.pending);
      let writes = 0;
      h.pending.put = (name, value) => {
        writes += 1;
        if (writes > okWrites && writes <= okWrites + failures) {
          return Promise.reject(
            Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' }),
          );
        }
        return put(name, value);
      };
    }

    it('never runs the handler again because the outcome could not be written', async () => {
      const h = harness({ functions: [asyncFunction()], run: scripted(FAILED) });
      // Writes: 1 enqueue, 2 attempt 1 started, 3 attempt 1's outcome: that one fails 5 times.
      failingWrites(h, 2, 5);
      await h.invoker.enqueue('s3Upload', PAYLOAD);
      await h.time.advance(60 * MINUTE);
      expect(h.runs).to.have.length(3);
      expect(h.records(DLQ)).to.have.length(1);
      expect(await h.pending.names()).to.deep.equal([]);
      expect(h.logs.map((line) => line.message).join('\n')).to.contain('the handler is not run again');
    });

    it('does not start an attempt whose start could not be recorded, and runs it once the disk is back', async () => {
      const h = harness({ functions: [asyncFunction()], run: scripted({ ok: true, result: 'ok' }) });
      failingWrites(h, 1, 3);
      await h.invoker.enqueue('s3Upload', PAYLOAD);
      await h.time.advance(60 * MINUTE);
      expect(h.runs).to.have.length(1);
      expect(await h.pending.names()).to.deep.equal([]);
    });

    it('rejects enqueue and never runs the event when its first write fails', async () => {
      const h = harness({ functions: [asyncFunction()] });
      failingWrites(h, 0, 1);
      let caught: unknown;
      try {
        await h.invoker.enqueue('s3Upload', PAYLOAD);
      } catch (error) {
        caught = error;
      }
      await h.time.advance(60 * MINUTE);
      expect(String(caught)).to.contain('ENOSPC');
      expect(h.runs).to.deep.equal([]);
    });
  });

  describe('stop', () => {
    it('clears the timers of waiting retries', async () => {
      const h = harness({ functions: [asyncFunction()], run: scripted(FAILED) });
      await h.invoker.enqueue('s3Upload', PAYLOAD);
      await h.time.advance(SECOND);
      const armed = h.time.timerCount;
      h.invoker.stop();
      expect([armed, h.time.timerCount]).to.deep.equal([1, 0]);
    });
  });

  describe('maxConcurrency', () => {
    const oneSecondRun: Runner = async (_key, _payload, time) => {
      await time.delay(SECOND);
      return { ok: true, result: null };
    };

    async function threeEvents(maxConcurrency: number): Promise<Harness> {
      const h = harness({ functions: [asyncFunction({ maxConcurrency })], run: oneSecondRun });
      for (let index = 0; index < 3; index++) await h.invoker.enqueue('s3Upload', { index });
      await h.time.advance(MINUTE);
      return h;
    }

    it('never runs two events at the same time with maxConcurrency 1', async () => {
      const h = await threeEvents(1);
      expect(h.concurrency.max).to.equal(1);
    });

    it('runs them one after the other, in arrival order', async () => {
      const h = await threeEvents(1);
      expect(h.runs.map((run) => [run.at - T0, run.payload])).to.deep.equal([
        [0, { index: 0 }],
        [1_000, { index: 1 }],
        [2_000, { index: 2 }],
      ]);
    });

    it('still processes every event', async () => {
      const h = await threeEvents(1);
      expect([h.runs.length, await h.pending.names()]).to.deep.equal([3, []]);
    });

    it('runs up to maxConcurrency events at the same time (2)', async () => {
      const h = await threeEvents(2);
      expect(h.concurrency.max).to.equal(2);
    });

    // An event throttled on every try (a function busy at its reserved concurrency): Lambda retries it with
    // backoff until its maximum age and then sends it to onFailure as EventAgeExceeded, no invocation counted.
    it('an event throttled on every try ends as EventAgeExceeded after its maximum age', async () => {
      const h = harness({
        functions: [withPolicy({ maximumEventAgeSeconds: 60, timeScale: 1 })],
        run: async () => ({ throttled: true }),
      });
      await h.invoker.enqueue('s3Upload', PAYLOAD);
      await h.time.advance(10 * MINUTE);
      const records = h.records(DLQ);
      expect(records.map((record) => record.requestContext.condition)).to.deep.equal(['EventAgeExceeded']);
      expect(records[0]?.requestContext.approximateInvokeCount).to.equal(0);
    });
  });

  describe('throttles', () => {
    it('retries a throttled run after 1 s, then 2 s (× time scale 0.5)', async () => {
      const h = harness({
        functions: [asyncFunction()],
        run: scripted(THROTTLED, THROTTLED, { ok: true, result: 'ok' }),
      });
      await enqueueAndRun(h);
      expect(h.runs.map((run) => run.at - T0)).to.deep.equal([0, 500, 1_500]);
    });

    it('does not count throttles as attempts (approximateInvokeCount 1)', async () => {
      const h = harness({
        functions: [asyncFunction({ onSuccess: { kind: 'sqs', queueName: SUCCESS_QUEUE } })],
        run: scripted(THROTTLED, THROTTLED, { ok: true, result: 'ok' }),
      });
      await enqueueAndRun(h);
      expect(
        h.records(SUCCESS_QUEUE).map((record) => record.requestContext.approximateInvokeCount),
      ).to.deep.equal([1]);
    });

    it('does not use up maximumRetryAttempts', async () => {
      const h = harness({
        functions: [
          withPolicy({ maximumRetryAttempts: 0 }, { onSuccess: { kind: 'sqs', queueName: SUCCESS_QUEUE } }),
        ],
        run: scripted(THROTTLED, THROTTLED, THROTTLED, { ok: true, result: 'ok' }),
      });
      await enqueueAndRun(h);
      expect(h.sent.map((message) => message.queueName)).to.deep.equal([SUCCESS_QUEUE]);
    });

    it('keeps backing off until the maximum age, then sends EventAgeExceeded', async () => {
      // Backoff 1, 2, 4, 8, 16, 32 s: tries at 0, 1, 3, 7, 15, 31 s; the next is due at 63 s, past 60 s.
      const h = harness({
        functions: [withPolicy({ maximumEventAgeSeconds: 60, timeScale: 1 })],
        run: scripted(THROTTLED),
      });
      await enqueueAndRun(h);
      expect(h.runs.map((run) => (run.at - T0) / SECOND)).to.deep.equal([0, 1, 3, 7, 15, 31]);
      expect(h.records(DLQ).map((record) => record.requestContext.condition)).to.deep.equal([
        'EventAgeExceeded',
      ]);
    });
  });

  describe('a stale temporary file in the pending directory', () => {
    it('is not taken for an event by resume', async () => {
      const h = harness({ functions: [asyncFunction()] });
      await h.invoker.enqueue('s3Upload', PAYLOAD);
      await h.time.advance(SECOND);
      await writeFile(join(root, 'pending', `.req-9.${process.pid}.tmp`), '{"requestId":');
      expect((await h.invoker.resume()).resumed).to.equal(0);
    });
  });

  describe('durability', () => {
    it('keeps a given request id for every attempt (info.requestId) and in the record', async () => {
      const h = harness({ functions: [asyncFunction()], run: scripted(FAILED) });
      const { requestId } = await h.invoker.enqueue('s3Upload', PAYLOAD, { requestId: 'from-the-invoke' });
      await h.time.advance(60 * MINUTE);
      expect(requestId).to.equal('from-the-invoke');
      expect(h.infos).to.deep.equal([
        { requestId: 'from-the-invoke', attempt: 1 },
        { requestId: 'from-the-invoke', attempt: 2 },
        { requestId: 'from-the-invoke', attempt: 3 },
      ]);
      expect(h.records(DLQ)[0]?.requestContext.requestId).to.equal('from-the-invoke');
    });

    it('records an attempt as started on disk before it runs, and clears the mark with its outcome', async () => {
      const seen: Array<number | undefined> = [];
      const h = harness({
        functions: [asyncFunction()],
        run: async () => {
          seen.push((await h.pending.read('req-1'))?.runningAttempt);
          return FAILED;
        },
      });
      await h.invoker.enqueue('s3Upload', PAYLOAD);
      await h.time.advance(SECOND);
      expect(seen).to.deep.equal([1]);
      expect(await h.pending.read('req-1'))
        .to.include({ attempts: 1 })
        .and.not.have.property('runningAttempt');
    });

    /** An event as a kill -9 during attempt `running` leaves it on disk. */
    async function interrupted(running: number): Promise<Harness> {
      const time = new FakeTime();
      const pending = new JsonDirectory<PendingEvent>(join(root, 'pending'));
      await pending.put('req-9', {
        requestId: 'req-9',
        functionKey: 's3Upload',
        payload: PAYLOAD,
        receivedAt: T0,
        attempts: running - 1,
        throttles: 0,
        dueAt: T0,
        runningAttempt: running,
        ...(running > 1 ? { lastOutcome: { ok: false as const, error: FAILURE } } : {}),
      });
      return harness({ functions: [asyncFunction()], run: scripted(FAILED), time });
    }

    it('counts an attempt a kill -9 interrupted, and reports it as a possible duplicate', async () => {
      const h = await interrupted(1);
      const report = await h.invoker.resume();
      await h.time.advance(60 * MINUTE);
      expect(report).to.deep.equal({ resumed: 1, interrupted: 1, unknownFunction: 0 });
      expect(h.infos.map((info) => info.attempt)).to.deep.equal([2, 3]);
      expect(h.records(DLQ)[0]?.requestContext.approximateInvokeCount).to.equal(3);
    });

    it('never runs an event a 4th time: an interrupted last attempt goes to the DLQ', async () => {
      const h = await interrupted(3);
      await h.invoker.resume();
      await h.time.advance(60 * MINUTE);
      expect(h.runs).to.deep.equal([]);
      expect(h.records(DLQ).map((record) => record.requestContext)).to.deep.equal([
        {
          requestId: 'req-9',
          functionArn: FUNCTION_ARN,
          condition: 'RetriesExhausted',
          approximateInvokeCount: 3,
        },
      ]);
    });

    it('hands the same deduplication key to the queue for the same event and condition', async () => {
      const keys: string[] = [];
      const h = harness({
        functions: [asyncFunction()],
        run: scripted(FAILED),
        sendToQueue: async (_queue, _body, key) => {
          keys.push(key);
        },
      });
      await enqueueAndRun(h);
      expect(keys).to.deep.equal(['req-1:RetriesExhausted']);
    });

    it('stop() refuses new events, waits for the run under way and records its outcome', async () => {
      let finish: (result: RunResult) => void = () => undefined;
      const h = harness({
        functions: [asyncFunction()],
        run: () => new Promise<RunResult>((done) => (finish = done)),
      });
      await h.invoker.enqueue('s3Upload', PAYLOAD);
      await h.time.settle();
      const stopped = h.invoker.stop(5_000);
      let refused: unknown;
      try {
        await h.invoker.enqueue('s3Upload', PAYLOAD);
      } catch (error) {
        refused = error;
      }
      finish({ ok: true, result: 'late' });
      expect(await stopped).to.equal(0);
      expect(refused).to.be.instanceOf(QueueStoppedError);
      expect(await h.pending.names()).to.deep.equal([]);
    });

    it('never hands setTimer a delay past its 24.8-day limit, and still runs the retry on time', async () => {
      // Time scale 1e6: the 1 minute retry waits 6e10 ms (about 694 days).
      const h = harness({
        functions: [withPolicy({ timeScale: 1e6 })],
        run: scripted(FAILED, { ok: true, result: 1 }),
      });
      await h.invoker.enqueue('s3Upload', PAYLOAD);
      await h.time.advance(6e10 - 1);
      const early = h.runs.length;
      await h.time.advance(1);
      expect(Math.max(...h.timerDelays)).to.be.at.most(LONGEST_TIMER_MS);
      expect([early, h.runs.length]).to.deep.equal([1, 2]);
    });

    it("reports each attempt's end with its outcome, duration and next attempt time, all notices timed", async () => {
      const h = harness({ functions: [asyncFunction()], run: scripted(FAILED, { ok: true, result: 1 }) });
      await h.invoker.enqueue('s3Upload', PAYLOAD, {
        source: { kind: 's3', bucket: 'uploads', key: 'targets/a.txt', eventName: 'ObjectCreated:Put' },
      });
      await h.time.advance(60 * MINUTE);
      expect(h.notices.every((notice) => typeof notice.at === 'number')).to.equal(true);
      expect(h.notices[0]).to.deep.include({
        type: 'received',
        source: { kind: 's3', bucket: 'uploads', key: 'targets/a.txt', eventName: 'ObjectCreated:Put' },
      });
      expect(h.notices.filter((notice) => notice.type === 'attempt-ended')).to.deep.equal([
        {
          type: 'attempt-ended',
          functionKey: 's3Upload',
          requestId: 'req-1',
          attempt: 1,
          at: T0,
          durationMs: 0,
          outcome: 'error',
          errorType: 'EmptyObjectError',
          errorMessage: 'targets/a.txt is empty',
          nextAttemptAt: T0 + 30_000,
        },
        {
          type: 'attempt-ended',
          functionKey: 's3Upload',
          requestId: 'req-1',
          attempt: 2,
          at: T0 + 30_000,
          durationMs: 0,
          outcome: 'success',
        },
      ]);
    });
  });
});
