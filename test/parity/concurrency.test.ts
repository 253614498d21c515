/**
 * Parity of Lambda's account concurrency offline: a sync Invoke past the account's concurrency gets AWS's 429
 * (Reason ConcurrentInvocationLimitExceeded, its source named in test/parity/recorded/lambda-invoke-docs.json),
 * the Throttles metric counts it, and reservations that leave fewer than 100 units unreserved stop the stack at
 * start with AWS's own message. The stack here has an account of one unit, so that two calls at once exceed it.
 */
import { expect } from 'chai';
import { OfflineStack } from '../../support/offline-stack';
import { waitFor } from '../../support/wait';
import { type Answer, botocoreView, expectParity, loadRecorded, recordedCase } from './shape';

const HELLO = 'lambda-notes-dev-hello';
const docs = loadRecorded('lambda-invoke-docs.json');

describe('parity: the account concurrency limit', function () {
  this.timeout(60_000);
  let stack: OfflineStack;

  before(async () => {
    // No schedule: a scheduled run could take the one unit, and its throttle would count too.
    stack = await OfflineStack.start({
      env: { LAMBDA_ACCOUNT_CONCURRENCY: '1' },
      params: { scheduleEnabled: 'false' },
    });
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.error(stack.tail());
  });

  after(async () => {
    await stack?.stop();
  });

  async function invoke(): Promise<Answer> {
    const response = await fetch(
      `http://127.0.0.1:${stack.ports.lambda}/2015-03-31/functions/${HELLO}/invocations`,
      { method: 'POST', body: '{"key1":"value1"}' },
    );
    return { status: response.status, headers: response.headers, text: await response.text() };
  }

  it('answers a sync call past it with 429 TooManyRequestsException, ConcurrentInvocationLimitExceeded', async () => {
    // The first call holds the account's one unit through its cold start; the others arrive meanwhile.
    const answers = await Promise.all(Array.from({ length: 6 }, () => invoke()));
    const throttled = answers.filter((answer) => answer.status === 429);
    expect(throttled.length, 'calls past the one unit').to.be.greaterThan(0);
    expect(answers.filter((answer) => answer.status === 200).length).to.be.greaterThan(0);
    for (const answer of throttled) {
      expectParity(recordedCase(docs, 'account-throttled'), botocoreView(answer));
    }
    const summary = await waitFor('the throttles in the metrics', async () => {
      const response = await fetch(`http://127.0.0.1:${stack.ports.metrics}/metrics.json`);
      const { functions } = (await response.json()) as {
        functions: Record<string, { Throttles: number; Invocations: number }>;
      };
      return (functions.hello?.Throttles ?? 0) >= throttled.length ? functions.hello : undefined;
    });
    expect(summary?.Throttles).to.equal(throttled.length);
  });
});

describe('reservations AWS would refuse', function () {
  this.timeout(60_000);

  it('stop the stack at start with the message AWS answers PutFunctionConcurrency with', async () => {
    const error = await OfflineStack.start({ params: { helloReservedConcurrency: '950' } }).then(
      async (stack) => {
        await stack.stop();
        return undefined;
      },
      (reason: unknown) => reason as Error,
    );
    expect(error?.message).to.contain('offline exited (code 1)');
    expect(error?.message).to.contain(
      "Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [100].",
    );
    expect(error?.message).to.contain('(hello 950) reserves 950');
  });
});
