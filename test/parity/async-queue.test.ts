/**
 * The offline async queue against what AWS records, field by field. Each case names its source: a LocalStack
 * snapshot test recorded against AWS (localstack/localstack, tests/aws/services/lambda_/…) or the Lambda
 * developer guide. The queue runs for real (files on disk, real timers) at a small time scale.
 */
import { expect } from 'chai';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AsyncInvoker } from '../../offline/core/async-invoker';
import { pendingDirectory, undeliverableDirectory } from '../../offline/state/queue-store';
import { waitFor } from '../../support/wait';
import type { AsyncFunction, RunResult } from '../../offline/model/async-events';
import type { DestinationRecord } from '../../offline/model/outcomes';

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
      newId: () => 'generated-id',
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

  // localstack tests/aws/services/lambda_/test_lambda.py::TestLambdaBehavior::test_request_id_async_invoke_with_retry
  // (test_lambda.snapshot.json): both REPORT lines of an Event invoke with MaximumRetryAttempts=1 carry the
  // invoke's RequestId; test_lambda_destinations.snapshot.json …::test_lambda_destination_default_retries: the
  // record's requestContext.requestId and responsePayload.requestId are the same <uuid:1>.
  it('keeps ONE request id for every attempt and the destination record (test_request_id_async_invoke_with_retry)', async () => {
    const q = queue(fn({ retries: 1 }), () => FAILURE);
    const { requestId } = await q.invoker.enqueue('fn', { fail: 1 }, { requestId: 'id-of-the-invoke' });
    const [record] = await waitFor('the record', () => (q.records.length > 0 ? q.records : undefined));
    expect(requestId).to.equal('id-of-the-invoke');
    expect(q.runs.map((r) => [r.attempt, r.requestId])).to.deep.equal([
      [1, 'id-of-the-invoke'],
      [2, 'id-of-the-invoke'],
    ]);
    expect(record?.requestContext).to.deep.equal({
      requestId: 'id-of-the-invoke',
      functionArn: ARN,
      condition: 'RetriesExhausted',
      approximateInvokeCount: 2,
    });
  });

  it('gives an event without a given id one id, the same for every attempt (test_request_id_async_invoke_with_retry)', async () => {
    const q = queue(fn({ retries: 1 }), () => FAILURE);
    const { requestId } = await q.invoker.enqueue('fn', {});
    await waitFor('the record', () => q.records.length > 0);
    expect(
      new Set([requestId, ...q.runs.map((r) => r.requestId), q.records[0]?.requestContext.requestId]),
    ).to.have.lengthOf(1);
  });

  // localstack-core/localstack/services/lambda_/invocation/event_manager.py (reserved_concurrent_executions == 0 →
  // failure_cause "ZeroReservedConcurrency", response_payload None, response_context None, approx_invoke_count 0)
  // and https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html (condition values).
  it('sends an event of a function with reservedConcurrency 0 to onFailure at once, never run (ZeroReservedConcurrency)', async () => {
    const q = queue(fn({ reservedConcurrency: 0 }), () => ({ ok: true, result: null }));
    await q.invoker.enqueue('fn', { key1: 'a' }, { requestId: 'zero' });
    const [record] = await waitFor('the record', () => (q.records.length > 0 ? q.records : undefined));
    expect(q.runs).to.deep.equal([]);
    expect(record).to.have.all.keys('version', 'timestamp', 'requestContext', 'requestPayload');
    expect(record?.version).to.equal('1.0');
    expect(record?.requestContext).to.deep.equal({
      requestId: 'zero',
      functionArn: ARN,
      condition: 'ZeroReservedConcurrency',
      approximateInvokeCount: 0,
    });
    expect(record?.requestPayload).to.deep.equal({ key1: 'a' });
  });

  // localstack tests/aws/services/lambda_/test_lambda_destinations.py::TestLambdaDestinationSqs::test_maxeventage
  // (snapshot "no_retry_failure_message"): maximum event age 60 → EventAgeExceeded after 1 attempt, and
  // "lambda doesn't even wait for the full 60s before the OnFailure destination / DLQ is triggered".
  it('maximumEventAge 60: EventAgeExceeded after 1 attempt, the record within the age (test_maxeventage)', async () => {
    const q = queue(fn({ maximumEventAgeSeconds: 60 }), () => FAILURE);
    await q.invoker.enqueue('fn', { message: 'm' });
    const [record] = await waitFor('the record', () => (q.records.length > 0 ? q.records : undefined));
    expect(record?.requestContext).to.include({ condition: 'EventAgeExceeded', approximateInvokeCount: 1 });
    expect(record?.responseContext).to.deep.equal({
      statusCode: 200,
      executedVersion: '$LATEST',
      functionError: 'Unhandled',
    });
    // 60 s × 0.01 = 600 ms.
    expect(Date.parse(record?.timestamp ?? '') - q.receivedAt()).to.be.at.most(600);
  });

  // Same test, snapshot "single_retry_failure_message": maximum event age 90 → EventAgeExceeded after 2 attempts;
  // the record arrives within the age (offline used to wait for the second retry: 182 s instead of ≤ 90 s).
  it('maximumEventAge 90: EventAgeExceeded after 2 attempts, the record within the age (test_maxeventage)', async () => {
    const q = queue(fn({ maximumEventAgeSeconds: 90 }), () => FAILURE);
    await q.invoker.enqueue('fn', { message: 'm' });
    const [record] = await waitFor('the record', () => (q.records.length > 0 ? q.records : undefined));
    expect(record?.requestContext).to.include({ condition: 'EventAgeExceeded', approximateInvokeCount: 2 });
    expect(q.runs.map((r) => r.attempt)).to.deep.equal([1, 2]);
    // 90 s × 0.01 = 900 ms.
    expect(Date.parse(record?.timestamp ?? '') - q.receivedAt()).to.be.at.most(900);
  });
});
