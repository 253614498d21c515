/**
 * Parity of the HTTP API's stage throttle offline with API Gateway's documented behaviour: serverless.yml's
 * httpRateLimit / httpBurstLimit (the stage's DefaultRouteSettings) are a token bucket; past them a request gets
 * 429 {"message":"Too Many Requests"} (test/parity/recorded/apigateway-throttle-docs.json names the source) and
 * never reaches the function. The stack here allows 1 request per second with a burst of 3.
 */
import { expect } from 'chai';
import { performance } from 'node:perf_hooks';
import { OfflineStack } from '../../support/offline-stack';
import { waitFor } from '../../support/wait';
import { expectParity, loadRecorded, recordedCase } from './shape';

const docs = loadRecorded('apigateway-throttle-docs.json');
const RATE = 1;
const BURST = 3;

describe('parity: the HTTP API stage throttle', function () {
  this.timeout(60_000);
  let stack: OfflineStack;

  before(async () => {
    stack = await OfflineStack.start({
      params: { httpRateLimit: String(RATE), httpBurstLimit: String(BURST), scheduleEnabled: 'false' },
    });
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.error(stack.tail());
  });

  after(async () => {
    await stack?.stop();
  });

  it('lets the burst through, then answers 429 Too Many Requests without running the function', async () => {
    const started = performance.now();
    const answers = await Promise.all(
      Array.from({ length: 12 }, async () => {
        const response = await fetch(`http://127.0.0.1:${stack.ports.http}/hello?key1=burst`);
        return {
          status: response.status,
          contentType: response.headers.get('content-type')?.split(';')[0],
          body: (await response.json()) as unknown,
        };
      }),
    );
    const elapsedS = (performance.now() - started) / 1000;
    const passed = answers.filter((answer) => answer.status === 200);
    const throttled = answers.filter((answer) => answer.status === 429);
    expect(passed.length + throttled.length).to.equal(answers.length);
    // The bucket holds the burst and gains RATE tokens a second while the requests arrive.
    expect(passed.length).to.be.within(BURST, BURST + Math.floor(elapsedS * RATE));
    for (const answer of throttled) expectParity(recordedCase(docs, 'throttled'), answer);
    const hello = await waitFor('the runs in the metrics', async () => {
      const response = await fetch(`http://127.0.0.1:${stack.ports.metrics}/metrics.json`);
      const { functions } = (await response.json()) as { functions: Record<string, { Invocations: number }> };
      return (functions.hello?.Invocations ?? 0) >= passed.length ? functions.hello : undefined;
    });
    expect(hello?.Invocations, 'throttled requests never reach the function').to.equal(passed.length);
  });

  it('refills the bucket at the rate: a request a second later goes through', async () => {
    await waitFor(
      'a token after 1/rate seconds',
      async () => (await fetch(`http://127.0.0.1:${stack.ports.http}/hello?key1=later`)).status === 200,
      { timeoutMs: 5_000, intervalMs: 250 },
    );
  });
});
