/**
 * Lambda's asynchronous invocation, offline, through the real upload path: retries with AWS's delays (scaled by
 * LAMBDA_ASYNC_TIME_SCALE), maximumEventAge, the on-failure destination in AWS's record format, and redrive.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { expect } from 'chai';
import { encodeS3Key } from '../../lib/s3-keys';
import { LocalQueue } from '../../offline/state/local-queue';
import { DLQ_NAME, deadLetters, recordKey } from '../../support/dead-letters';
import { s3PutEvent } from '../../support/fixtures';
import { BUCKET, OfflineStack, PROJECT_DIR } from '../../support/offline-stack';
import { waitFor } from '../../support/wait';
import type { DestinationRecord } from '../../offline/model/outcomes';

const run = promisify(execFile);
const SCALE = 0.001;
const MINUTE_SCALED_MS = 60_000 * SCALE;

async function dlqListJson(stack: OfflineStack): Promise<DestinationRecord[]> {
  const { stdout } = await run('npm', ['run', '--silent', 'dlq', '--', 'list', '--json'], {
    cwd: PROJECT_DIR,
    env: stack.scriptEnv(),
  });
  return JSON.parse(stdout) as DestinationRecord[];
}

function failures(stack: OfflineStack, key: string) {
  return stack.logLines().filter((line) => line.message === 'object failed' && line.key === key);
}

function processedKeys(stack: OfflineStack): string[] {
  return stack
    .logLines()
    .filter((line) => line.message === 'object processed')
    .map((line) => line.key as string);
}

async function deadLetterFor(stack: OfflineStack, key: string): Promise<DestinationRecord> {
  return waitFor(`a dead-letter record for ${key}`, async () =>
    (await deadLetters(stack.stateDir)).find((record) => recordKey(record) === encodeS3Key(key)),
  );
}

describe('offline async invocation (default policy: 2 retries)', function () {
  // The nested suite (a refused upload, then its redrive) runs after this suite's own tests.
  this.timeout(60_000);
  let stack: OfflineStack;

  before(async () => {
    // 6 h scaled: 21.6 s, so that no event of the 200-upload test can age out on a busy machine.
    stack = await OfflineStack.start({ timeScale: SCALE, params: { maximumEventAge: '21600' } });
  });

  after(async () => {
    await stack?.stop();
  });

  const put = (key: string, body: string) => stack.putText(key, body);

  describe('a refused 0-byte upload', () => {
    const key = 'targets/empty file.txt';
    let record: DestinationRecord;

    before(async () => {
      await put(key, '');
      record = await deadLetterFor(stack, key);
    });

    it('is attempted exactly 1 + maximumRetryAttempts = 3 times', () => {
      expect(failures(stack, key)).to.have.length(3);
    });

    it('waits 1 then 2 scaled minutes between attempts', () => {
      const times = failures(stack, key).map((line) => Date.parse(line.timestamp as string));
      const [first = 0, second = 0, third = 0] = times;
      expect(second - first).to.be.at.least(MINUTE_SCALED_MS - 2);
      expect(third - second).to.be.at.least(2 * MINUTE_SCALED_MS - 2);
    });

    it('lands as exactly one destination record in AWS format', async () => {
      const records = (await deadLetters(stack.stateDir)).filter((r) => recordKey(r) === encodeS3Key(key));
      expect(records).to.have.length(1);
      expect(record.version).to.equal('1.0');
      expect(record.requestContext).to.include({
        condition: 'RetriesExhausted',
        approximateInvokeCount: 3,
        functionArn: 'arn:aws:lambda:ap-northeast-1:000000000000:function:lambda-notes-dev-s3Upload:$LATEST',
      });
      expect(record.responseContext).to.deep.equal({
        statusCode: 200,
        executedVersion: '$LATEST',
        functionError: 'Unhandled',
      });
      expect(record.responsePayload).to.include({ errorType: 'EmptyObjectError' });
    });

    it('keeps the original S3 event, AWS-shaped, as requestPayload', () => {
      const [s3Record] = (record.requestPayload as { Records: Array<Record<string, unknown>> }).Records;
      expect(s3Record).to.include({
        eventVersion: '2.1',
        eventSource: 'aws:s3',
        awsRegion: 'ap-northeast-1',
        eventName: 'ObjectCreated:Put',
      });
      const { bucket } = s3Record?.s3 as { bucket: Record<string, unknown> };
      expect(bucket).to.have.all.keys('name', 'ownerIdentity', 'arn');
      expect(bucket).to.include({ name: BUCKET, arn: `arn:aws:s3:::${BUCKET}` });
      // The bucket owner's canonical principal, as in the records S3 was recorded sending (s3-notifications.json).
      expect(bucket.ownerIdentity).to.have.all.keys('principalId');
      expect((bucket.ownerIdentity as { principalId: unknown }).principalId).to.match(/^[0-9A-Z]+$/);
      expect(recordKey(record)).to.equal('targets/empty+file.txt');
    });

    it('is listed by `npm run dlq -- list --json`', async () => {
      const listed = await dlqListJson(stack);
      expect(listed.map((r) => r.requestContext.requestId)).to.include(record.requestContext.requestId);
    });

    it('is processed after the cause is fixed and `npm run dlq -- redrive`, leaving the DLQ empty', async () => {
      await put(key, 'now it has content');
      await waitFor('the fixed upload to be processed', () => processedKeys(stack).includes(key));
      const before = processedKeys(stack).filter((k) => k === key).length;
      const { MessageId } = (await new LocalQueue(stack.stateDir, DLQ_NAME).list()).find(
        (message) => recordKey(JSON.parse(message.Body) as DestinationRecord) === encodeS3Key(key),
      ) ?? { MessageId: 'missing' };
      const { stdout } = await run('npm', ['run', '--silent', 'dlq', '--', 'redrive', MessageId], {
        cwd: PROJECT_DIR,
        env: stack.scriptEnv(),
      });
      expect(stdout).to.contain(`redriven ${MessageId} → lambda-notes-dev-s3Upload`);
      await waitFor(
        'the redriven event to be processed',
        () => processedKeys(stack).filter((k) => k === key).length > before,
      );
      const remaining = (await dlqListJson(stack)).filter((r) => recordKey(r) === encodeS3Key(key));
      expect(remaining).to.deep.equal([]);
    });
  });

  it('an InvocationType=Event call for an object deleted before it is read goes through the same retries', async () => {
    const key = 'targets/deleted before read.txt';
    await put(key, 'short-lived');
    await waitFor('the upload to be processed', () => processedKeys(stack).includes(key));
    await stack.s3Client().send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key }));
    const event = s3PutEvent([encodeS3Key(key)]);
    const response = await stack.invokeAsync('lambda-notes-dev-s3Upload', event);
    expect(response.StatusCode).to.equal(202);
    const record = await deadLetterFor(stack, key);
    expect(record.requestContext.approximateInvokeCount).to.equal(3);
    expect(record.responsePayload).to.include({ errorType: 'ObjectNotFoundError' });
    expect(failures(stack, key)).to.have.length(3);
  });

  it('a success leaves no dead-letter record', async () => {
    const key = 'targets/fine.txt';
    await put(key, 'fine');
    await waitFor('the upload to be processed', () => processedKeys(stack).includes(key));
    await waitFor('the event to leave the queue', async () => (await stack.pendingEvents()) === 0);
    expect((await deadLetters(stack.stateDir)).map(recordKey)).not.to.include(encodeS3Key(key));
  });

  it('200 uploads, some refused: each ends processed once or in the DLQ once — none lost, none doubled', async () => {
    const keys = Array.from(
      { length: 200 },
      (_, i) => `targets/load/${String(i).padStart(3, '0')} item+${i}.txt`,
    );
    const failing = new Set(keys.filter((_, i) => i % 10 === 3));
    for (let i = 0; i < keys.length; i += 20) {
      await Promise.all(keys.slice(i, i + 20).map((key) => put(key, failing.has(key) ? '' : `item ${key}`)));
    }
    const ended = async () => {
      const dead = new Set((await deadLetters(stack.stateDir)).map(recordKey));
      const done = new Set(processedKeys(stack));
      return keys.every((key) => done.has(key) || dead.has(encodeS3Key(key))) && { dead, done };
    };
    const { dead } = await waitFor('all 200 events to end', ended, { timeoutMs: 30_000 });
    const processed = processedKeys(stack).filter((key) => key.startsWith('targets/load/'));
    expect(processed).to.have.length(200 - failing.size);
    expect(new Set(processed).size).to.equal(processed.length);
    for (const key of keys) expect(dead.has(encodeS3Key(key))).to.equal(failing.has(key));
    const deadForLoad = (await deadLetters(stack.stateDir)).filter((r) =>
      recordKey(r)?.startsWith('targets/load/'),
    );
    expect(deadForLoad).to.have.length(failing.size);
  });
});

describe('offline async invocation with maximumRetryAttempts: 0', function () {
  this.timeout(60_000);
  let stack: OfflineStack;

  before(async () => {
    stack = await OfflineStack.start({ timeScale: SCALE, params: { maximumRetryAttempts: '0' } });
  });

  after(async () => {
    await stack?.stop();
  });

  it('attempts a failing event once, then sends it to the DLQ', async () => {
    const key = 'targets/empty-once.txt';
    await stack
      .s3Client()
      .send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: '', ContentLength: 0 }));
    const record = await deadLetterFor(stack, key);
    expect(record.requestContext).to.include({ condition: 'RetriesExhausted', approximateInvokeCount: 1 });
    expect(failures(stack, key)).to.have.length(1);
  });
});

describe('offline async invocation with a maximumEventAge shorter than the first retry delay', function () {
  this.timeout(60_000);
  let stack: OfflineStack;

  // 60 s (the minimum age) scaled by 0.0005 is 30 ms; the first retry comes due 1 scaled minute (30 ms) after
  // the first attempt ended, when the event is already older than that.
  before(async () => {
    stack = await OfflineStack.start({ timeScale: 0.0005, params: { maximumEventAge: '60' } });
  });

  after(async () => {
    await stack?.stop();
  });

  it('is not attempted again once too old: EventAgeExceeded', async () => {
    const key = 'targets/empty-too-old.txt';
    await stack
      .s3Client()
      .send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: '', ContentLength: 0 }));
    const record = await deadLetterFor(stack, key);
    expect(record.requestContext).to.include({ condition: 'EventAgeExceeded', approximateInvokeCount: 1 });
    expect(failures(stack, key)).to.have.length(1);
  });
});
