/**
 * Load and faults: nothing is lost under load or when the offline process is stopped with retries pending, and
 * bad input to every entry point gets a clear error.
 */
import { execFile } from 'node:child_process';
import { rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { InvokeCommand } from '@aws-sdk/client-lambda';
import { expect } from 'chai';
import { encodeS3Key } from '../../lib/s3-keys';
import { deadLetters, recordKey } from '../../support/dead-letters';
import { BUCKET, OfflineStack, PROJECT_DIR, SERVERLESS_BIN } from '../../support/offline-stack';
import { waitFor } from '../../support/wait';

const run = promisify(execFile);
/** 6 h scaled by 0.001 is 21.6 s: a busy machine's queue cannot age a retried event out during these tests. */
const LONG_EVENT_AGE = { maximumEventAge: '21600' };

function processedKeys(stack: OfflineStack): string[] {
  return stack
    .logLines()
    .filter((line) => line.message === 'object processed')
    .map((line) => String(line.key));
}

/** Runs a command expected to fail; resolves with its exit code and output. */
async function failing(file: string, args: string[], env: NodeJS.ProcessEnv = process.env) {
  try {
    await run(file, args, { cwd: PROJECT_DIR, env, timeout: 60_000 });
    return { code: 0, output: '' };
  } catch (error) {
    const { code, stdout, stderr } = error as { code: number; stdout: string; stderr: string };
    return { code, output: `${stdout}\n${stderr}` };
  }
}

describe('load: 500 uploads, one in eight refused', function () {
  this.timeout(90_000);
  let stack: OfflineStack;

  before(async () => {
    stack = await OfflineStack.start({ timeScale: 0.001, params: LONG_EVENT_AGE });
  });

  after(async () => {
    await stack?.stop();
  });

  it('ends every event processed once or in the DLQ once: processed + DLQ = 500', async () => {
    const keys = Array.from({ length: 500 }, (_, i) => `targets/load500/${i}.txt`);
    const refused = new Set(keys.filter((_, i) => i % 8 === 5));
    const s3 = stack.s3Client();
    for (let i = 0; i < keys.length; i += 25) {
      await Promise.all(
        keys.slice(i, i + 25).map((key) => {
          const body = refused.has(key) ? '' : key;
          return s3.send(
            new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body, ContentLength: body.length }),
          );
        }),
      );
    }
    await waitFor(
      'all 500 events to end',
      async () => {
        const dead = (await deadLetters(stack.stateDir)).length;
        const done = new Set(processedKeys(stack)).size;
        return dead + done >= 500 && (await stack.pendingEvents()) === 0;
      },
      { timeoutMs: 60_000, intervalMs: 100 },
    );
    const processed = processedKeys(stack).filter((key) => key.startsWith('targets/load500/'));
    const dead = (await deadLetters(stack.stateDir)).map(recordKey);
    expect(processed.length + dead.length).to.equal(500);
    expect(new Set(processed).size).to.equal(processed.length);
    expect(new Set(dead).size).to.equal(dead.length);
    expect(new Set(dead)).to.deep.equal(new Set([...refused].map(encodeS3Key)));
  });
});

describe('stop with retries pending, then start again', function () {
  this.timeout(90_000);
  let first: OfflineStack | undefined;
  let second: OfflineStack | undefined;

  afterEach(function () {
    if (this.currentTest?.state === 'failed')
      console.error(`${first?.tail() ?? ''}\n${second?.tail() ?? ''}`);
  });

  after(async () => {
    await first?.stop();
    await second?.stop();
  });

  it('delivers the pending event to the DLQ after the restart: none lost', async () => {
    // 0.05: the first retry waits 3 s, time enough to stop the process in between.
    first = await OfflineStack.start({ timeScale: 0.05 });
    const key = 'targets/pending across restart.txt';
    await first
      .s3Client()
      .send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: '', ContentLength: 0 }));
    await first.waitForOutput(/attempt 1 of 3 failed \(EmptyObjectError/);
    await first.stop({ keepState: true });
    expect(await first.pendingEvents()).to.equal(1);

    // The event's age counts from its first arrival: a long maximumEventAge leaves room for the restart.
    second = await OfflineStack.start({
      timeScale: 0.001,
      stateDir: first.stateDir,
      params: LONG_EVENT_AGE,
    });
    await second.waitForOutput(/1 pending event\(s\) resumed/);
    const record = await waitFor('the resumed event in the DLQ', async () =>
      (await deadLetters(second?.stateDir ?? '')).find((r) => recordKey(r) === encodeS3Key(key)),
    );
    expect(record.requestContext).to.include({ condition: 'RetriesExhausted', approximateInvokeCount: 3 });
    // The queue forgets the event once its record is kept: right after it, not before.
    await waitFor('the pending event removed', async () => (await second?.pendingEvents()) === 0);
  });
});

describe('bad input at every entry point', function () {
  this.timeout(120_000);
  let stack: OfflineStack;

  before(async () => {
    stack = await OfflineStack.start({ timeScale: 0.001, params: LONG_EVENT_AGE });
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.error(stack.tail());
  });

  after(async () => {
    await stack?.stop();
    await rm(join(PROJECT_DIR, invokeWorkFolder()), { recursive: true, force: true });
  });

  /** The error of a PutObject expected to be refused (undefined if it was accepted). */
  const refusedPut = (key: string): Promise<Error | undefined> =>
    stack
      .s3Client()
      .send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: 'x' }))
      .then(
        () => undefined,
        (error: unknown) => error as Error,
      );
  const invokeWorkFolder = () => `.esbuild-test-invoke-${stack.ports.http}`;
  const invokeLocal = async (fn: string, path: string) =>
    failing(process.execPath, [SERVERLESS_BIN, 'invoke', 'local', '-f', fn, '--path', path], {
      ...stack.scriptEnv(),
      SLS_TELEMETRY_DISABLED: '1',
      ESBUILD_WORK_FOLDER: invokeWorkFolder(),
    });

  it('sls invoke local with a --path that is not JSON names the file', async () => {
    const file = join(tmpdir(), `not-json-${process.pid}.json`);
    await writeFile(file, 'key1=value1');
    const { code, output } = await invokeLocal('hello', file);
    expect(code).to.equal(1);
    expect(output).to.contain(`Parsing of "${file}" failed`);
  });

  it('sls invoke local of s3Upload with the hello event says what is wrong', async () => {
    const { code, output } = await invokeLocal('s3Upload', 'events/hello.json');
    expect(code).to.equal(1);
    expect(output).to.contain('InvalidEventError');
    expect(output).to.contain('Records');
  });

  it('sls invoke local of hello with the S3 event says what hello expects', async () => {
    const { code, output } = await invokeLocal('hello', 'events/s3-put.json');
    expect(code).to.equal(1);
    expect(output).to.contain('events/hello.json');
  });

  it('a sync Invoke of s3Upload with {} returns InvalidEventError to the caller', async () => {
    const response = await stack
      .lambdaClient()
      .send(new InvokeCommand({ FunctionName: 'lambda-notes-dev-s3Upload', Payload: Buffer.from('{}') }));
    expect(response.FunctionError).to.equal('Unhandled');
    expect(JSON.parse(Buffer.from(response.Payload ?? []).toString())).to.include({
      errorType: 'InvalidEventError',
    });
  });

  it('an async Invoke with a wrong-shaped event is retried and kept in the DLQ, not lost', async () => {
    const payload = { Records: [{ eventSource: 'aws:sqs', body: 'x' }] };
    const response = await stack.invokeAsync('lambda-notes-dev-s3Upload', payload);
    expect(response.StatusCode).to.equal(202);
    const record = await waitFor('the wrong-shaped event in the DLQ', async () =>
      (await deadLetters(stack.stateDir)).find(
        (r) => JSON.stringify(r.requestPayload) === JSON.stringify(payload),
      ),
    );
    expect(record.responsePayload).to.include({ errorType: 'InvalidEventError' });
    expect(record.requestContext.approximateInvokeCount).to.equal(3);
  });

  it('a 1024-byte key is processed and logged decoded', async () => {
    const key = `targets/${Array.from({ length: 5 }, (_, i) => `${'k'.repeat(199)}${i}`).join('/')}/${'z'.repeat(11)}`;
    expect(Buffer.byteLength(key)).to.equal(1024);
    await stack.s3Client().send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: 'long key' }));
    await waitFor('the 1024-byte key to be processed', () => processedKeys(stack).includes(key));
  });

  it('a 1025-byte key is refused like S3 does (KeyTooLongError) and offline keeps running', async () => {
    const key = `targets/${'k/'.repeat(508)}x`;
    expect(Buffer.byteLength(key)).to.equal(1025);
    const error = await refusedPut(key);
    expect(error?.name).to.equal('KeyTooLongError');
    expect((await fetch(`http://localhost:${stack.ports.http}/hello`)).status).to.equal(200);
  });

  it('a key segment the local S3 cannot store gets a clear error instead of crashing offline', async () => {
    const key = `targets/${'s'.repeat(300)}.txt`;
    const error = await refusedPut(key);
    expect(error?.message).to.contain('Offline limit');
    expect((await fetch(`http://localhost:${stack.ports.http}/hello`)).status).to.equal(200);
  });

  it('npm run upload of a missing file says so, without a stack trace', async () => {
    const { code, output } = await failing(
      'npm',
      ['run', '--silent', 'upload', '--', 'no-such-file.txt'],
      stack.scriptEnv(),
    );
    expect(code).to.equal(1);
    expect(output).to.contain('error: no-such-file.txt: no such file.');
    expect(output).not.to.match(/\n\s+at /);
  });

  it('npm run dlq with an unknown command lists the commands', async () => {
    const { code, output } = await failing(
      'npm',
      ['run', '--silent', 'dlq', '--', 'drop'],
      stack.scriptEnv(),
    );
    expect(code).to.equal(1);
    expect(output).to.contain(
      'unknown command "drop"; use list [--json] | show <id> | redrive [<id>] | purge',
    );
  });

  it('npm run upload when the local S3 is not running says to start it', async () => {
    const { code, output } = await failing('npm', ['run', '--silent', 'upload'], {
      ...stack.scriptEnv(),
      OFFLINE_S3_PORT: '1',
    });
    expect(code).to.equal(1);
    expect(output).to.contain('start it first with `npm start`');
  });
});
