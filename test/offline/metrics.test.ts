/**
 * The console's Metrics tab offline: a run with successes, failures and throttles gives exact counts in
 * `npm run metrics -- --json`, and the page served by the offline process shows the same numbers in a real
 * headless Chromium.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { InvokeCommand } from '@aws-sdk/client-lambda';
import { expect } from 'chai';
import { encodeS3Key } from '../../lib/s3-keys';
import type { FunctionMetrics } from '../../offline/observability/metrics-recorder';
import { launchBrowser } from '../../support/browser';
import { deadLetters, recordKey } from '../../support/dead-letters';
import { BUCKET, OfflineStack, PROJECT_DIR } from '../../support/offline-stack';
import { waitFor } from '../../support/wait';
import { expectParity, loadRecorded, recordedCase } from '../parity/shape';

const run = promisify(execFile);

async function metricsJson(stack: OfflineStack): Promise<Record<string, FunctionMetrics>> {
  const { stdout } = await run('npm', ['run', '--silent', 'metrics', '--', '--json'], {
    cwd: PROJECT_DIR,
    env: stack.scriptEnv(),
  });
  return JSON.parse(stdout) as Record<string, FunctionMetrics>;
}

/** What the console's Monitor graphs say over the whole run, per function, read in headless Chromium. */
async function monitorTotals(
  url: string,
  functionKeys: string[],
): Promise<Record<string, Record<string, string>>> {
  const browser = await launchBrowser();
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, locale: 'en-US' });
    await page.goto(`${url}#monitor`);
    await page.locator('#panel-monitor[data-ready="true"]').waitFor({ timeout: 10_000 });
    const totals: Record<string, Record<string, string>> = {};
    for (const functionKey of functionKeys) {
      await page.selectOption('#monitor-function', functionKey);
      await page.selectOption('#monitor-range', 'start');
      // The graphs are redrawn for the chosen function; its title names it once they are.
      await page.locator(`#panel-monitor[data-function="${functionKey}"]`).waitFor({ timeout: 10_000 });
      totals[functionKey] = {};
      for (const figure of await page.locator('figure[data-total]').all()) {
        const metric = await figure.getAttribute('data-metric');
        if (metric) totals[functionKey][metric] = (await figure.getAttribute('data-total')) ?? '';
      }
    }
    return totals;
  } finally {
    await browser.close();
  }
}

describe('offline metrics (npm run metrics, metrics page)', function () {
  this.timeout(90_000);
  let stack: OfflineStack;
  let metrics: Record<string, FunctionMetrics>;

  before(async () => {
    // hello gets reserved concurrency 0: every call to it is throttled.
    stack = await OfflineStack.start({ timeScale: 0.001, params: { helloReservedConcurrency: '0' } });
    const s3 = stack.s3Client();
    for (const key of ['targets/m1.txt', 'targets/m2.txt', 'targets/m3.txt']) {
      await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: `metrics ${key}` }));
    }
    await s3.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: 'targets/m-empty.txt', Body: '', ContentLength: 0 }),
    );
    await waitFor('the empty upload to reach the DLQ', async () =>
      (await deadLetters(stack.stateDir)).some((r) => recordKey(r) === encodeS3Key('targets/m-empty.txt')),
    );
    const processed = () =>
      stack.logLines().filter((l) => l.message === 'object processed' && /^targets\/m\d/.test(String(l.key)));
    await waitFor('the three good uploads', () => processed().length === 3);
    for (let i = 0; i < 2; i += 1) {
      const error = await stack
        .lambdaClient()
        .send(
          new InvokeCommand({ FunctionName: 'lambda-notes-dev-hello', Payload: Buffer.from('{"key1":"a"}') }),
        )
        .then(
          () => undefined,
          (e: unknown) => e as Error & { $metadata?: { httpStatusCode?: number } },
        );
      expect(error?.name).to.equal('TooManyRequestsException');
      expect(error?.$metadata?.httpStatusCode).to.equal(429);
    }
    metrics = await metricsJson(stack);
  });

  after(async () => {
    await stack?.stop();
  });

  it('counts s3Upload invocations: 3 successes and 1 event failing 3 times', () => {
    expect(metrics.s3Upload).to.include({
      Invocations: 6,
      Errors: 3,
      SuccessRate: 50,
      Throttles: 0,
      AsyncEventsReceived: 4,
      AsyncEventsDropped: 0,
      DestinationDeliveryFailures: 0,
    });
  });

  it('reports Duration as min ≤ avg ≤ max with p99 within them, and a concurrency of at least 1', () => {
    const { min, avg, max, p99 } = metrics.s3Upload?.Duration ?? {};
    expect([min, avg, max, p99].every((v) => typeof v === 'number')).to.equal(true);
    expect(min as number).to.be.at.most(avg as number);
    expect(avg as number).to.be.at.most(max as number);
    expect(p99 as number).to.be.within(min as number, max as number);
    expect(metrics.s3Upload?.ConcurrentExecutions).to.be.at.least(1);
    // The refused upload's third attempt starts after 1 + 2 scaled minutes: 180 ms at scale 0.001.
    expect(metrics.s3Upload?.AsyncEventAge).to.be.at.least(180);
  });

  it('counts throttled sync calls as Throttles, not Invocations', () => {
    expect(metrics.hello).to.deep.include({
      Invocations: 0,
      Errors: 0,
      Throttles: 2,
      SuccessRate: null,
      AsyncEventsReceived: 0,
    });
  });

  // reservedConcurrency 0: Lambda sends an async event to the on-failure destination at once, never run, as recorded
  // against AWS by LocalStack's test_reserved_concurrency (test/parity/recorded/lambda-async.json).
  it('sends an async event of a function with reserved concurrency 0 to the DLQ at once: ZeroReservedConcurrency', async () => {
    const sentAt = Date.now();
    // The recorded Invoke sent no payload: Lambda passes {}.
    const response = await stack.invokeAsync('lambda-notes-dev-hello', {});
    expect(response.StatusCode).to.equal(202);
    const record = await waitFor(
      'the event in the DLQ',
      async () =>
        (await deadLetters(stack.stateDir)).find((r) =>
          r.requestContext.functionArn.endsWith(':lambda-notes-dev-hello:$LATEST'),
        ),
      { timeoutMs: 20_000 },
    );
    expectParity(recordedCase(loadRecorded('lambda-async.json'), 'zero-reserved-concurrency'), record);
    expect(record.requestContext.requestId).to.equal(response.$metadata.requestId);
    // Not after backing off to the maximum age (1 h × 0.001 = 3.6 s here), as a throttled event would.
    expect(Date.parse(record.timestamp) - sentAt).to.be.below(3_600);
    const after = await metricsJson(stack);
    expect(after.hello).to.include({ Invocations: 0, AsyncEventsReceived: 1 });
  });

  it("the console's Monitor graphs show the same numbers in headless Chromium", async function () {
    const totals = await monitorTotals(`http://localhost:${stack.ports.metrics}/`, ['s3Upload', 'hello']);
    const now = await metricsJson(stack);
    expect(totals.s3Upload).to.include({
      Invocations: String(now.s3Upload?.Invocations),
      Errors: `3 / 50`,
      Throttles: '0',
      AsyncEventsReceived: '4',
      AsyncEventsDropped: '0',
      DestinationDeliveryFailures: '0',
    });
    expect(totals.hello).to.include({
      Invocations: '0',
      Throttles: String(now.hello?.Throttles),
      AsyncEventsReceived: '1',
    });
  });
});
