/**
 * The offline async queue against what AWS records (test/parity/recorded/lambda-async.json), field by field: each
 * case there names the LocalStack snapshot test, recorded against AWS, it comes from. The queue runs for real
 * (files on disk, real timers) at a small time scale.
 */
import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AsyncInvoker } from '../../offline/core/async-invoker';
import { pendingDirectory, undeliverableDirectory } from '../../offline/state/queue-store';
import { waitFor } from '../../support/wait';
import type { AsyncFunction, RunResult } from '../../offline/model/async-events';
import type { DestinationRecord } from '../../offline/model/outcomes';
import { expectParity, loadRecorded, recordedCase } from './shape';

const recordings = loadRecorded('lambda-async.json');

const ARN = 'arn:aws:lambda:ap-northeast-1:000000000000:function:lambda-notes-dev-fn:$LATEST';
const DLQ = 'dlq';
const FAILURE: RunResult = {
  ok: false,
  error: { errorType: 'Exception', errorMessage: 'intentional failure', trace: [] },
};

interface Queue {
  readonly invoker: AsyncInvoker;
  readonly runs: Array<{ requestId: string; attempt: number; at: number }>;
  readonly records: DestinationRecord[];
  readonly receivedAt: () => number;
}

function fn(
  overrides: Partial<AsyncFunction> & { maximumEventAgeSeconds?: number; retries?: number },
): AsyncFunction {
  return {
    key: 'fn',
    arn: ARN,
    // 0.01: a 1 minute retry waits 600 ms, a 90 s maximum age is 900 ms.
    policy: {
      maximumRetryAttempts: overrides.retries ?? 2,
      maximumEventAgeSeconds: overrides.maximumEventAgeSeconds ?? 21_600,
      timeScale: 0.01,
    },
    onSuccess: undefined,
    onFailure: { kind: 'sqs', queueName: DLQ },
    maxConcurrency: 10,
    ...overrides,
  };
}

describe('parity: the async queue against AWS', function () {
  this.timeout(20_000);
  let root: string;
  const started: AsyncInvoker[] = [];

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'parity-async-'));
  });

  afterEach(async () => {
    for (const invoker of started.splice(0)) await invoker.stop();
    await rm(root, { recursive: true, force: true });
  });

  function queue(definition: AsyncFunction, run: () => RunResult): Queue {
    const runs: Queue['runs'] = [];
    const records: DestinationRecord[] = [];
    let receivedAt = 0;
    const invoker = new AsyncInvoker({
      functions: new Map([[definition.key, definition]]),
      pending: pendingDirectory(root),
      undeliverable: undeliverableDirectory(root),
      run: async (_key, _payload, info) => {
        runs.push({ requestId: info.requestId, attempt: info.attempt, at: Date.now() });
        return run();
      },
      sendToQueue: async (_queue, body) => {
        records.push(JSON.parse(body) as DestinationRecord);
      },
      now: Date.now,
      newId: randomUUID,
      setTimer: (callback, ms) => setTimeout(callback, ms),
      clearTimer: (timer) => clearTimeout(timer as NodeJS.Timeout),
      log: () => undefined,
      notify: (notice) => {
        if (notice.type === 'received') receivedAt = notice.at;
      },
    });
    started.push(invoker);
    return { invoker, runs, records, receivedAt: () => receivedAt };
  }

  it("keeps the Invoke's request id for every attempt (test_request_id_async_invoke_with_retry)", async () => {
    const q = queue(fn({ retries: 1 }), () => FAILURE);
    const { requestId } = await q.invoker.enqueue('fn', { fail: 1 }, { requestId: randomUUID() });
    await waitFor('the record', () => q.records.length > 0);
    expectParity(recordedCase(recordings, 'request-id-each-attempt'), {
      invoke: requestId,
      attempts: q.runs.map((run) => run.requestId),
    });
  });

  it('sends the RetriesExhausted record after 1 + 2 attempts, under the id of every attempt (test_lambda_destination_default_retries)', async () => {
    // At twice the speed of the other cases: 1 and 2 minutes of waiting take 300 and 600 ms.
    const definition = fn({});
    const q = queue({ ...definition, policy: { ...definition.policy, timeScale: 0.005 } }, () => FAILURE);
    const { requestId } = await q.invoker.enqueue('fn', { raise_error: 1 });
    const [record] = await waitFor('the record', () => (q.records.length > 0 ? q.records : undefined));
    expectParity(recordedCase(recordings, 'retries-exhausted'), record);
    expect(new Set([requestId, ...q.runs.map((run) => run.requestId)])).to.deep.equal(
      new Set([record?.requestContext.requestId]),
    );
  });

  it('sends an event of a function with reservedConcurrency 0 to onFailure at once, never run (test_reserved_concurrency)', async () => {
    const q = queue(fn({ reservedConcurrency: 0, retries: 0 }), () => ({ ok: true, result: null }));
    await q.invoker.enqueue('fn', {}, { requestId: randomUUID() });
    const [record] = await waitFor('the record', () => (q.records.length > 0 ? q.records : undefined));
    expect(q.runs).to.deep.equal([]);
    expectParity(recordedCase(recordings, 'zero-reserved-concurrency'), record);
  });

  // test_maxeventage's own note: "lambda doesn't even wait for the full 60s before the OnFailure destination / DLQ
  // is triggered".
  it('maximumEventAge 60: EventAgeExceeded after 1 attempt, the record within the age (test_maxeventage)', async () => {
    const q = queue(fn({ maximumEventAgeSeconds: 60 }), () => FAILURE);
    await q.invoker.enqueue('fn', { message: 'm' });
    const [record] = await waitFor('the record', () => (q.records.length > 0 ? q.records : undefined));
    expectParity(recordedCase(recordings, 'event-age-60'), record);
    // 60 s × 0.01 = 600 ms.
    expect(Date.parse(record?.timestamp ?? '') - q.receivedAt()).to.be.at.most(600);
  });

  // Offline used to wait for the second retry here: 182 s instead of ≤ 90 s.
  it('maximumEventAge 90: EventAgeExceeded after 2 attempts, the record within the age (test_maxeventage)', async () => {
    const q = queue(fn({ maximumEventAgeSeconds: 90 }), () => FAILURE);
    await q.invoker.enqueue('fn', { message: 'm' });
    const [record] = await waitFor('the record', () => (q.records.length > 0 ? q.records : undefined));
    expectParity(recordedCase(recordings, 'event-age-90'), record);
    expect(q.runs.map((r) => r.attempt)).to.deep.equal([1, 2]);
    // 90 s × 0.01 = 900 ms.
    expect(Date.parse(record?.timestamp ?? '') - q.receivedAt()).to.be.at.most(900);
  });
});
