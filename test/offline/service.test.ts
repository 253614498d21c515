/**
 * The service offline, end to end: sls offline with the local S3, uploads through the SDK, the S3 trigger with
 * its targets/ filter, GET /hello, and the Lambda endpoint's sync error shape. The stack runs a copy of the
 * project, so that the code-change case can edit a handler without touching a tracked file.
 */
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CreateBucketCommand, ListObjectsCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { emptyBucket } from '../../scripts/remove-stage';
import { InvokeCommand } from '@aws-sdk/client-lambda';
import { expect } from 'chai';
import { BUCKET, OfflineStack, PROJECT_DIR } from '../../support/offline-stack';
import { waitFor } from '../../support/wait';
import { itWithAwsCli } from '../helpers/aws-cli';
import { copyProject, type ProjectCopy } from '../../support/project-copy';

const run = promisify(execFile);
const SDK_UPLOAD = 'an upload under targets/ runs s3Upload, which logs what it read';

describe('offline service (sls offline + local S3)', function () {
  this.timeout(60_000);
  let stack: OfflineStack;
  let copy: ProjectCopy;

  before(async () => {
    copy = await copyProject();
    stack = await OfflineStack.start({ projectDir: copy.dir });
  });

  after(async () => {
    await stack?.stop();
    await copy?.remove();
  });

  const processed = (key: string) =>
    stack.logLines().filter((line) => line.message === 'object processed' && line.key === key);

  const upload = (key: string, body: string): Promise<void> => stack.putText(key, body);

  it('GET /hello answers 200 with key1 from the query string', async () => {
    const response = await fetch(`http://localhost:${stack.ports.http}/hello?key1=value1`);
    expect(response.status).to.equal(200);
    expect(await response.json()).to.deep.equal({ result: 'value1', key1: 'value1', key2: null, key3: null });
  });

  it('GET /hello without a query string still answers 200', async () => {
    const response = await fetch(`http://localhost:${stack.ports.http}/hello`);
    expect(response.status).to.equal(200);
    expect(await response.json()).to.include({ result: null });
  });

  it(SDK_UPLOAD, async () => {
    await upload('targets/test.txt', 'Hello from lambda-notes!\n');
    const [line] = await waitFor(
      's3Upload to process targets/test.txt',
      () => processed('targets/test.txt')[0] && processed('targets/test.txt'),
    );
    expect(line).to.include({
      bucket: BUCKET,
      key: 'targets/test.txt',
      size: 25,
      contentType: 'text/plain',
      lines: 1,
    });
    // Structured like Powertools on Lambda: request id, function name and the cold-start flag of a fresh worker.
    expect(line).to.include({ function_name: 'lambda-notes-dev-s3Upload', cold_start: true });
    expect(line?.function_request_id).to.be.a('string');
  });

  for (const key of [
    'targets/with space.txt',
    'targets/plus+sign.txt',
    'targets/percent%41.txt',
    'targets/amp&eq=.txt',
    'targets/日本語 ファイル.txt',
    'targets/deeper/a b+c%d&e=f.txt',
  ]) {
    it(`the key ${JSON.stringify(key)} reaches the handler encoded and is read back`, async () => {
      await upload(key, `content of ${key}`);
      const [line] = await waitFor(
        `s3Upload to process ${key}`,
        () => processed(key).length > 0 && processed(key),
      );
      expect(line?.size).to.equal(Buffer.byteLength(`content of ${key}`));
    });
  }

  it('an upload outside targets/ does not run s3Upload', async () => {
    await upload('other/outside.txt', 'not for the trigger');
    // Once a later upload under targets/ is processed and the queue is empty, the earlier event would have been too.
    await upload('targets/after-outside.txt', 'marker');
    await waitFor('the marker upload', () => processed('targets/after-outside.txt').length > 0);
    await waitFor('the queue to be empty', async () => (await stack.pendingEvents()) === 0);
    expect(stack.logLines().filter((line) => line.key === 'other/outside.txt')).to.deep.equal([]);
  });

  it('a key that merely contains "targets/" is not under the prefix', async () => {
    await upload('xtargets/nope.txt', 'not for the trigger');
    await upload('targets/after-xtargets.txt', 'marker');
    await waitFor('the marker upload', () => processed('targets/after-xtargets.txt').length > 0);
    await waitFor('the queue to be empty', async () => (await stack.pendingEvents()) === 0);
    expect(stack.logLines().filter((line) => line.key === 'xtargets/nope.txt')).to.deep.equal([]);
  });

  it('each upload is dispatched once', async () => {
    await upload('targets/once.txt', 'once');
    await waitFor('targets/once.txt', () => processed('targets/once.txt').length > 0);
    await waitFor('the queue to be empty', async () => (await stack.pendingEvents()) === 0);
    expect(processed('targets/once.txt')).to.have.length(1);
    expect(processed('targets/once.txt')[0]).to.include({ cold_start: false });
  });

  it('a sync invoke error comes back with X-Amz-Function-Error and the error class as errorType', async () => {
    const response = await stack
      .lambdaClient()
      .send(new InvokeCommand({ FunctionName: 'lambda-notes-dev-hello', Payload: Buffer.from('[1,2]') }));
    expect(response.FunctionError).to.equal('Unhandled');
    const payload = JSON.parse(Buffer.from(response.Payload ?? []).toString()) as {
      errorType: string;
      errorMessage: string;
    };
    expect(payload.errorType).to.equal('InvalidEventError');
    expect(payload.errorMessage).to.contain('events/hello.json');
  });

  it('a sync invoke of the test event returns key1', async () => {
    const response = await stack.lambdaClient().send(
      new InvokeCommand({
        FunctionName: 'lambda-notes-dev-hello',
        Payload: Buffer.from('{"key1":"value1","key2":"value2","key3":"value3"}'),
      }),
    );
    expect(response.FunctionError).to.equal(undefined);
    expect(JSON.parse(Buffer.from(response.Payload ?? []).toString())).to.equal('value1');
  });

  itWithAwsCli(
    'the real AWS CLI (`aws s3 cp test.txt s3://<bucket>/targets/`, as in the notes) triggers it too',
    SDK_UPLOAD,
    async () => {
      const before = processed('targets/test.txt').length;
      await run(
        'aws',
        [
          '--endpoint-url',
          `http://localhost:${stack.ports.s3}`,
          's3',
          'cp',
          'test.txt',
          `s3://${BUCKET}/targets/`,
        ],
        {
          cwd: PROJECT_DIR,
          env: {
            ...process.env,
            AWS_ACCESS_KEY_ID: 'S3RVER',
            AWS_SECRET_ACCESS_KEY: 'S3RVER',
            AWS_DEFAULT_REGION: 'ap-northeast-1',
          },
        },
      );
      await waitFor('the CLI upload to be processed', () => processed('targets/test.txt').length > before);
    },
  );

  it('npm run upload puts test.txt under targets/ and says where', async () => {
    const before = processed('targets/test.txt').length;
    const { stdout } = await run('npm', ['run', '--silent', 'upload'], {
      cwd: PROJECT_DIR,
      env: stack.scriptEnv(),
    });
    expect(stdout).to.contain(`s3://${BUCKET}/targets/test.txt`);
    await waitFor(
      'the uploaded test.txt to be processed again',
      () => processed('targets/test.txt').length > before,
    );
  });

  it('emptyBucket (npm run remove) deletes every object, page after page', async () => {
    const s3 = stack.s3Client();
    const bucket = 'lambda-notes-remove-check';
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const keys = Array.from({ length: 1002 }, (_, i) => `any/${i}.txt`);
    for (let i = 0; i < keys.length; i += 50) {
      await Promise.all(
        keys.slice(i, i + 50).map((Key) => s3.send(new PutObjectCommand({ Bucket: bucket, Key, Body: 'x' }))),
      );
    }
    expect(await emptyBucket(s3, bucket)).to.equal(1002);
    const { Contents = [] } = await s3.send(new ListObjectsCommand({ Bucket: bucket }));
    expect(Contents).to.deep.equal([]);
  });

  // Last: from here on the stack runs changed code.
  it('after a code change, the next upload runs the rebuilt bundle', async () => {
    const handler = join(copy.dir, 'handlers', 's3-upload.ts');
    const source = await readFile(handler, 'utf8');
    expect(source, 'the line the change rewrites').to.contain("logger.info('object processed', ");
    const mark = stack.output.length;
    await writeFile(
      handler,
      source.replace(
        "logger.info('object processed', ",
        "logger.info('object processed by the rebuilt bundle', ",
      ),
    );
    await waitFor('the rebuild', () => /\[async\] code changed/.test(stack.output.slice(mark)), {
      timeoutMs: 20_000,
    });
    await upload('targets/after-reload.txt', 'rebuilt');
    await waitFor('the upload, processed by the new code', () =>
      stack
        .logLines()
        .find(
          (line) =>
            line.message === 'object processed by the rebuilt bundle' &&
            line.key === 'targets/after-reload.txt',
        ),
    );
    expect(processed('targets/after-reload.txt'), 'processed by the old code').to.deep.equal([]);
  });
});
