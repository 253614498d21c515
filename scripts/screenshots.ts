/**
 * Takes the README's pictures of the local console: starts an offline stack of its own (free ports, a temporary
 * state folder), makes some traffic (hello from Test, uploads, one 0-byte object that ends in the DLQ), and
 * saves one PNG per tab to docs/ with the headless Chromium the tests use.
 *
 *   npm run screenshots [-- --out <folder>]
 */
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import type { Page } from 'playwright-core';
import { launchBrowser } from '../support/browser';
import { BUCKET, OfflineStack, PROJECT_DIR } from '../support/offline-stack';
import { waitFor } from '../support/wait';
import { runMain } from './project';

async function shoot(page: Page, out: string, name: string): Promise<void> {
  const path = join(out, `console-${name}.png`);
  await page.screenshot({ path, fullPage: true });
  process.stdout.write(`wrote ${path}\n`);
}

const PERIOD_MS = 10_000;

/** Resolves once the clock has entered the next 10-second period. */
async function nextPeriod(): Promise<void> {
  const period = Math.floor(Date.now() / PERIOD_MS);
  await waitFor('the next 10-second period', () => Math.floor(Date.now() / PERIOD_MS) > period, {
    timeoutMs: PERIOD_MS + 1000,
    intervalMs: 100,
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { out: { type: 'string', default: join(PROJECT_DIR, 'docs') } } });
  const out = resolve(values.out);
  await mkdir(out, { recursive: true });
  // Scale 0.01: the retries of the refused upload come 0.6 s and 1.2 s apart.
  const stack = await OfflineStack.start({ timeScale: 0.01 });
  const browser = await launchBrowser().catch(async (error: unknown) => {
    await stack.stop();
    throw error;
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, locale: 'en-US' });
    await page.goto(`http://localhost:${stack.ports.metrics}/#test`);
    await page.locator('body[data-ready="true"]').waitFor();

    // Traffic in three waves, each in a period of its own, so that the graphs (10-second periods) have a shape.
    const s3 = stack.s3Client();
    const upload = (name: string, body: string) =>
      s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `targets/${name}`, Body: body }));
    for (const name of ['notes.txt', 'report 2026.csv', 'photo.jpg', 'todo.md'])
      await upload(name, `${name}\n`.repeat(40));
    await nextPeriod();
    for (const name of ['a.txt', 'b.txt']) await upload(name, 'ok\n');
    await s3.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: 'targets/empty.txt', Body: '', ContentLength: 0 }),
    );
    await nextPeriod();
    await stack.invokeAsync('lambda-notes-dev-hello', { key1: 'from an Event invoke' });
    await upload('c.txt', 'ok\n');

    await page.selectOption('#test-function', 'hello');
    for (let i = 0; i < 3; i += 1) {
      await page.selectOption('#test-event', 'fixture:hello.json');
      await waitFor('hello.json in the editor', async () =>
        (await page.inputValue('#test-editor')).includes('key1'),
      );
      await page.click('#test-run');
      await page.locator('#test-result[data-status="succeeded"]').waitFor();
    }
    await shoot(page, out, 'test');

    await waitFor('the empty upload to reach the DLQ', async () => (await stack.pendingEvents()) === 0, {
      timeoutMs: 30_000,
    });
    await page.click('#tab-events');
    await page.locator('li.timeline[data-status="failed"]').waitFor();
    await shoot(page, out, 'events');

    await page.click('#tab-dlq');
    await page
      .locator('#dlq-table tr[data-message-id]')
      .first()
      .getByRole('button', { name: /^Show/ })
      .click();
    await page.locator('#dlq-record-view:not([hidden])').waitFor();
    await shoot(page, out, 'dlq');

    await page.click('#tab-environments');
    await page.locator('[data-environment][data-state="idle"]').first().waitFor();
    await shoot(page, out, 'environments');

    await page.click('#tab-monitor');
    await page.selectOption('#monitor-function', 's3Upload');
    await page.selectOption('#monitor-period', '10');
    await page.locator('#panel-monitor[data-function="s3Upload"]').waitFor();
    const metrics = (await (await fetch(`http://localhost:${stack.ports.metrics}/metrics.json`)).json()) as {
      functions: Record<string, { Invocations: number }>;
    };
    const invocations = metrics.functions.s3Upload?.Invocations ?? 0;
    await page.locator(`figure[data-metric="Invocations"][data-total="${invocations}"]`).waitFor();
    await shoot(page, out, 'monitor');
  } finally {
    await browser.close();
    await stack.stop();
  }
}

void runMain(main);
