/**
 * The local Lambda console (http://localhost:<metrics port>/) in a real headless Chromium driven by
 * playwright-core: Test with hello.json reached by keyboard, an Event call's 202, a refused upload followed to
 * the DLQ and redriven from the page, the Monitor graphs against `npm run metrics -- --json`, saved events, the
 * width of 1,280 px, and the guard against cross-site actions.
 */
import { execFile } from 'node:child_process';
import { access, readdir } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { expect } from 'chai';
import type { Browser, Page } from 'playwright-core';
import type { FunctionMetrics } from '../../offline/observability/metrics-recorder';
import { launchBrowser } from '../../support/browser';
import { BUCKET, OfflineStack, PROJECT_DIR } from '../../support/offline-stack';
import { waitFor } from '../../support/wait';

const run = promisify(execFile);

/** HTML in a key: the page must show it as text. */
const KEY = 'targets/console <i>empty</i> & "co".txt';

async function metricsJson(stack: OfflineStack): Promise<Record<string, FunctionMetrics>> {
  const { stdout } = await run('npm', ['run', '--silent', 'metrics', '--', '--json'], {
    cwd: PROJECT_DIR,
    env: stack.scriptEnv(),
  });
  return JSON.parse(stdout) as Record<string, FunctionMetrics>;
}

function raw(
  port: number,
  options: { method: string; path: string; headers: Record<string, string>; body?: string },
): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, ...options }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

async function noHorizontalScroll(page: Page): Promise<number> {
  return page.evaluate<number>('document.documentElement.scrollWidth');
}

describe('local Lambda console (headless Chromium)', function () {
  this.timeout(120_000);
  let stack: OfflineStack;
  let browser: Browser;
  let page: Page;
  let base: string;

  before(async () => {
    stack = await OfflineStack.start({ timeScale: 0.001 });
    base = `http://localhost:${stack.ports.metrics}`;
    browser = await launchBrowser();
    // A locale of its own: the packaged Chromium reports the POSIX one of a bare environment ("en-US@posix"),
    // which Intl, and so the chart library, refuses.
    page = await browser.newPage({ viewport: { width: 1280, height: 900 }, locale: 'en-US' });
    page.on('dialog', (dialog) => void dialog.accept());
    await page.goto(`${base}/`);
    await page.locator('body[data-ready="true"]').waitFor({ timeout: 15_000 });
  });

  after(async function () {
    if (this.currentTest?.state === 'failed') console.log(stack?.tail());
    await browser?.close();
    await stack?.stop();
  });

  it('lists the events of events/ by file name', async () => {
    const options = await page.locator('#test-event optgroup[label="events/"] option').allTextContents();
    expect(options).to.include.members(['hello.json', 's3-put.json', 'schedule.json']);
  });

  it('runs hello.json from Test, reached with Tab and Enter, and shows "value1"', async () => {
    // A fresh page on another tab, as a keyboard user meets it: Tab to the Test tab, Enter, Tab to the Test
    // button, Enter. The first function (hello) and the first event of events/ (hello.json) are preselected.
    await page.goto(`${base}/#monitor`);
    await page.locator('body[data-ready="true"]').waitFor();
    expect(await page.inputValue('#test-function')).to.equal('hello');
    expect(await page.inputValue('#test-event')).to.equal('fixture:hello.json');
    expect(await page.inputValue('#test-editor')).to.include('"key1": "value1"');
    for (let i = 0; i < 5; i += 1) {
      await page.keyboard.press('Tab');
      if ((await page.evaluate<string | undefined>('document.activeElement?.id')) === 'tab-test') break;
    }
    expect(await page.evaluate<string | undefined>('document.activeElement?.id')).to.equal('tab-test');
    await page.keyboard.press('Enter');
    await page.locator('#panel-test:not([hidden])').waitFor();
    for (let i = 0; i < 20; i += 1) {
      if ((await page.evaluate<string | undefined>('document.activeElement?.id')) === 'test-run') break;
      await page.keyboard.press('Tab');
    }
    expect(await page.evaluate<string | undefined>('document.activeElement?.id')).to.equal('test-run');
    await page.keyboard.press('Enter');
    await page.locator('#test-result[data-status="succeeded"]').waitFor({ timeout: 15_000 });
    expect(await page.textContent('#test-payload')).to.equal('"value1"');
    expect(await page.textContent('#test-result')).to.match(/Duration\s*\d+(\.\d+)? ms/);
  });

  it('shows errorType and errorMessage when the function throws', async () => {
    await page.selectOption('#test-function', 'hello');
    await page.fill('#test-editor', '[1]');
    await page.click('#test-run');
    await page.locator('#test-result[data-status="failed"]').waitFor({ timeout: 15_000 });
    const text = await page.textContent('#test-result');
    expect(text).to.include('InvalidEventError');
    expect(text).to.include('got [1]');
  });

  it('runs an event as Event from Test and shows the 202 without a payload', async () => {
    await page.selectOption('#test-function', 'hello');
    await page.fill('#test-editor', '{"key1": "async"}');
    await page.check('input[name="invocationType"][value="Event"]');
    try {
      await page.click('#test-run');
      await page
        .locator('#test-result[data-status="succeeded"]', { hasText: 'Event accepted (202)' })
        .waitFor({ timeout: 15_000 });
      expect(await page.textContent('#test-payload')).to.equal('(no payload: 202 Accepted)');
    } finally {
      await page.check('input[name="invocationType"][value="RequestResponse"]');
    }
  });

  it('runs an event as Streamed (InvokeWithResponseStream): the answer, the first-chunk time and the log', async () => {
    await page.selectOption('#test-function', 'hello');
    await page.fill('#test-editor', '{"key1": "value1"}');
    await page.check('input[name="invocationType"][value="Stream"]');
    try {
      await page.click('#test-run');
      // The result of this run: the earlier tests' results also say "succeeded", but have no first-chunk time.
      await page
        .locator('#test-result[data-status="succeeded"]', { hasText: 'First chunk' })
        .waitFor({ timeout: 15_000 });
      // hello does not stream: its JSON result comes as one chunk.
      expect(await page.textContent('#test-payload')).to.equal('"value1"');
      expect(await page.textContent('#test-result dl.summary')).to.match(/First chunk[\d.]+ ms/);
      expect(await page.textContent('#test-log')).to.match(/REPORT RequestId: [\w-]+\tDuration/);
    } finally {
      await page.check('input[name="invocationType"][value="RequestResponse"]');
    }
  });

  it('saves an edited event under a valid name only, in the state dir and never in events/', async () => {
    const before = await readdir(join(PROJECT_DIR, 'events'));
    await page.fill('#test-editor', '{"key1": "saved value"}');
    await page.fill('#test-name', 'bad name!');
    await page.click('#test-save');
    await page.locator('#test-message.error').waitFor();
    expect(await page.textContent('#test-message')).to.include('at most 25 characters');
    await page.fill('#test-name', 'hello-saved');
    await page.click('#test-save');
    await page.locator('#test-event optgroup[label="Saved events"] option:text("hello-saved")').waitFor({
      state: 'attached',
    });
    await access(join(stack.stateDir, 'console', 'events', 'hello-saved.json'));
    expect(await readdir(join(PROJECT_DIR, 'events'))).to.deep.equal(before);
    await page.click('#test-run');
    await waitFor('the saved event to run', async () =>
      (await page.textContent('#test-payload'))?.includes('saved value'),
    );
  });

  it('follows a 0-byte upload to the DLQ, then redrives it from the page once the object is fixed', async () => {
    const s3 = stack.s3Client();
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: KEY, Body: '', ContentLength: 0 }));
    await page.click('#tab-events');
    await page.selectOption('#events-function', 's3Upload');
    await page.selectOption('#events-status', 'failed');
    const failed = page.locator('li.timeline[data-status="failed"]', { hasText: KEY });
    await failed.locator('[data-end="RetriesExhausted"]').waitFor({ timeout: 20_000 });
    expect(await failed.locator('[data-attempt]').count()).to.equal(3);
    expect(await failed.locator('[data-outcome="error"]').count()).to.equal(3);
    expect(await failed.textContent()).to.include('EmptyObjectError');
    expect(await failed.locator('.wait').count()).to.equal(2);
    expect(await failed.locator('[data-end]').textContent()).to.include('SQS queue lambda-notes-dev-dlq');
    expect(await page.locator('#timelines i').count(), 'the key is shown as text, not HTML').to.equal(0);
    const requestId = await failed.getAttribute('data-request-id');

    // Fix the object: this upload is an event of its own, which succeeds.
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: KEY, Body: 'fixed\n' }));
    const processed = () => stack.logLines().filter((l) => l.message === 'object processed' && l.key === KEY);
    await waitFor('the fixed object to be processed', () => processed().length === 1, { timeoutMs: 15_000 });

    await failed.getByRole('button', { name: 'Show in dead-letter queue' }).click();
    const row = page.locator(`#dlq-table tr[data-request-id="${requestId}"]`);
    await row.waitFor();
    expect(await row.textContent()).to.include('EmptyObjectError');
    await page.locator('#dlq-record', { hasText: '"condition": "RetriesExhausted"' }).waitFor();
    await row.getByRole('button', { name: /^Redrive/ }).click();
    await page.locator('#dlq-message', { hasText: '1 message(s) redriven' }).waitFor({ timeout: 15_000 });
    await row.waitFor({ state: 'detached' });
    await waitFor('the redriven event to be processed', () => processed().length === 2, {
      timeoutMs: 15_000,
    });

    await page.click('#tab-events');
    await page.selectOption('#events-status', 'succeeded');
    await waitFor('two succeeded s3Upload events in the page', async () =>
      (await page.locator('li.timeline[data-status="succeeded"]').count()) >= 2 ? true : undefined,
    );
  });

  it('draws the Monitor graphs with the counts of npm run metrics -- --json', async () => {
    await waitFor('an empty async queue', async () => (await stack.pendingEvents()) === 0);
    const metrics = await metricsJson(stack);
    const s3Upload = metrics.s3Upload as FunctionMetrics;
    await page.click('#tab-monitor');
    await page.selectOption('#monitor-function', 's3Upload');
    await page.selectOption('#monitor-range', 'start');
    await page.selectOption('#monitor-period', '60');
    const total = (metric: string) =>
      page.locator(`figure[data-metric="${metric}"]`).getAttribute('data-total', { timeout: 10_000 });
    await waitFor('the Invocations graph to match', async () =>
      (await total('Invocations')) === String(s3Upload.Invocations) ? true : undefined,
    );
    expect(s3Upload.Invocations).to.equal(5);
    expect(await total('Errors')).to.equal(`${s3Upload.Errors} / ${s3Upload.SuccessRate}`);
    expect(await total('Throttles')).to.equal(String(s3Upload.Throttles));
    expect(await total('AsyncEventsReceived')).to.equal(String(s3Upload.AsyncEventsReceived));
    expect(await total('ConcurrentExecutions')).to.equal(String(s3Upload.ConcurrentExecutions));
    expect(await total('AsyncEventsDropped')).to.equal('0');
    expect(await page.locator('figure[data-metric="Invocations"] canvas').count()).to.be.greaterThan(0);
    const legend = (metric: string) =>
      page.locator(`figure[data-metric="${metric}"] .u-legend`).textContent();
    expect(await legend('Duration')).to.match(/Minimum.*Average.*Maximum/);
    expect(await legend('Errors')).to.include('Success rate (%)');
    expect(await page.locator('figure[data-metric="IteratorAge"]').textContent()).to.include(
      'not applicable',
    );
    await page.selectOption('#monitor-function', 'hello');
    await waitFor('hello graphs', async () =>
      (await total('Invocations')) === String(metrics.hello?.Invocations) ? true : undefined,
    );
  });

  it("shows a Test run's log with START, END and REPORT, and the Logs tab finds it by request id", async () => {
    await page.goto(`${base}/#test`);
    await page.locator('body[data-ready="true"]').waitFor();
    await page.selectOption('#test-function', 'hello');
    await page.selectOption('#test-event', 'fixture:hello.json');
    // The event's JSON is fetched into the editor after the choice: run only once it is there.
    await waitFor('hello.json in the Test editor', async () =>
      (await page.inputValue('#test-editor')).includes('"key1": "value1"'),
    );
    // The page may still show an earlier run's result: wait for this run's log.
    const shownLog = () =>
      page.evaluate<string | null>(
        `document.querySelector('#test-result[data-status="succeeded"] #test-log')?.textContent ?? null`,
      );
    const earlier = await shownLog();
    await page.click('#test-run');
    const log = await waitFor(
      "this run's log",
      async () => {
        const text = await shownLog();
        return text !== null && text !== earlier ? text : undefined;
      },
      { timeoutMs: 15_000 },
    );
    const requestId = /^START RequestId: ([0-9a-f-]{36}) Version: \$LATEST$/m.exec(log)?.[1];
    expect(requestId, log).to.be.a('string');
    expect(log, log).to.include('value1 = value1');
    expect(log).to.match(new RegExp(`^END RequestId: ${requestId}$`, 'm'));
    expect(log).to.match(new RegExp(`^REPORT RequestId: ${requestId}\tDuration: \\d+\\.\\d{2} ms`, 'm'));

    await page.click('#tab-logs');
    await page.fill('#logs-request', requestId ?? '');
    await page.press('#logs-request', 'Enter');
    await page.locator('#logs-count', { hasText: '1 invocation(s)' }).waitFor();
    const entry = page.locator(`#logs li[data-request-id="${requestId}"] pre`);
    expect(await entry.textContent()).to.include(`REPORT RequestId: ${requestId}`);
    expect(await page.locator('#logs-notice').isHidden()).to.equal(true);
  });

  it("shows each environment (function, log stream, state, runs, memory, processes) and opens its stream's logs", async () => {
    await page.goto(`${base}/#test`);
    await page.locator('body[data-ready="true"]').waitFor();
    const answer = await fetch(`http://localhost:${stack.ports.http}/hello?key1=env`);
    expect(answer.status).to.equal(200);
    await page.click('#tab-environments');
    const row = page.locator('#environments-table tbody tr', { hasText: 'hello' }).first();
    await row.waitFor({ timeout: 15_000 });
    const cells = await row.locator('td').allTextContents();
    expect(cells[0]).to.equal('hello');
    expect(cells[2]).to.be.oneOf(['idle (warm, frozen)', 'idle (warm)', 'running']);
    expect(Number(cells[4]?.split(' ')[0])).to.be.at.least(1);
    expect(cells[6]).to.match(/^\d+ \/ \d+ \/ 128$/);
    expect(Number(cells[7])).to.be.at.least(1);
    expect(cells[8]).to.match(/^\d+\.\d{2} ms$/);
    expect(await page.locator('#environments-summary').textContent()).to.match(
      /environment\(s\) alive: .*ends after/,
    );
    const stream = await row.locator('td:nth-child(2) button').getAttribute('title');
    expect(stream).to.match(/^\d{4}\/\d{2}\/\d{2}\/\[\$LATEST\][0-9a-f]{32}$/);
    await row.locator('td:nth-child(2) button').click();
    await page.locator('#panel-logs:not([hidden])').waitFor();
    await page.locator('#logs li').first().waitFor();
    const streams = await page.locator('#logs li .stream').allTextContents();
    expect(streams.length).to.be.at.least(1);
    expect(new Set(streams)).to.deep.equal(new Set([stream]));
  });

  it('fits 1,280 px without horizontal scrolling on every tab', async () => {
    for (const tab of ['test', 'monitor', 'events', 'dlq', 'environments', 'logs']) {
      await page.click(`#tab-${tab}`);
      await page.locator(`#panel-${tab}:not([hidden])`).waitFor();
      expect(await noHorizontalScroll(page), tab).to.be.at.most(1280);
    }
  });

  it('refuses actions from other sites and requests for other host names', async () => {
    const port = stack.ports.metrics;
    const body = JSON.stringify({ functionKey: 'hello', event: '{"key1":"x"}' });
    const host = `localhost:${port}`;
    expect(
      await raw(port, {
        method: 'POST',
        path: '/api/invoke',
        headers: { host, origin: 'http://evil.example', 'content-type': 'application/json' },
        body,
      }),
    ).to.equal(403);
    expect(
      await raw(port, {
        method: 'POST',
        path: '/api/dlq/purge',
        headers: { host, 'content-type': 'text/plain' },
        body: '{}',
      }),
    ).to.equal(415);
    expect(
      await raw(port, { method: 'GET', path: '/api/dlq', headers: { host: `evil.example:${port}` } }),
    ).to.equal(421);
    expect(
      await raw(port, {
        method: 'POST',
        path: '/api/invoke',
        headers: { host, origin: `http://${host}`, 'content-type': 'application/json' },
        body,
      }),
    ).to.equal(200);
  });

  it('says so on the page when the offline stack has stopped (run last: it stops the stack)', async () => {
    await page.click('#tab-events');
    await page.locator('#panel-events[data-ready="true"]').waitFor();
    expect(await page.isHidden('#global-error')).to.equal(true);
    await stack.stop();
    await page
      .locator('#global-error:not([hidden])', { hasText: 'Cannot reach the offline stack' })
      .waitFor({ timeout: 10_000 });
  });
});
