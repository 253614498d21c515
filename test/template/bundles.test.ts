/**
 * The bundles Lambda runs on nodejs24.x are the ones `npm start` runs on the local Node: each packaged zip,
 * unpacked as Lambda does, is loaded by this machine's Node and its handler called: hello with its test event,
 * s3Upload with an event it refuses and with the event the local S3 sent for an upload, which it reads back.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { expect } from 'chai';
import { BUCKET, PROJECT_DIR } from '../../support/offline-stack';
import { waitFor } from '../../support/wait';
import { type LocalS3, startLocalS3 } from '../helpers/local-s3';
import { packageStage } from '../helpers/package-template';

/** Loads a handler module and calls it once with an event, as Lambda's runtime does; prints the result. */
const RUNNER = `
const [file, eventJson] = process.argv.slice(1);
const context = { awsRequestId: 'c0ffee00-0000-4000-8000-000000000000', functionName: 'bundle-check',
  functionVersion: '$LATEST', memoryLimitInMB: '128', getRemainingTimeInMillis: () => 10000 };
Promise.resolve(require(file).handler(JSON.parse(eventJson), context)).then(
  (result) => process.stdout.write('RESULT ' + JSON.stringify(result) + '\\n'),
  (error) => { process.stdout.write('ERROR ' + error.name + '\\n'); process.exitCode = 1; });
`;

function runNode(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

for (const stage of ['dev', 'prod']) {
  describe(`bundles of sls package --stage ${stage} on the local Node ${process.version}`, function () {
    this.timeout(120_000);
    let unpacked: string;
    let local: LocalS3;

    before(async () => {
      local = await startLocalS3({
        bucket: BUCKET,
        subscriptions: [
          {
            functionKey: 's3Upload',
            bucket: BUCKET,
            event: 's3:ObjectCreated:*',
            prefix: 'targets/',
            suffix: undefined,
          },
        ],
        region: 'ap-northeast-1',
      });
      const { files } = await packageStage(stage);
      unpacked = await mkdtemp(join(tmpdir(), `lambda-notes-bundles-${stage}-`));
      for (const [zip, entries] of Object.entries(files)) {
        for (const [path, content] of Object.entries(entries)) {
          const target = join(unpacked, zip, path);
          await mkdir(dirname(target), { recursive: true });
          await writeFile(target, content);
        }
      }
    });

    after(async () => {
      await local?.close();
      if (unpacked) await rm(unpacked, { recursive: true, force: true });
    });

    it('hello.zip runs the blueprint: the test event returns key1', async () => {
      const event = await readFile(join(PROJECT_DIR, 'events', 'hello.json'), 'utf8');
      const { code, stdout, stderr } = await runNode(
        ['-e', RUNNER, join(unpacked, 'hello.zip', 'handlers', 'hello.js'), event],
        { PATH: process.env.PATH, POWERTOOLS_SERVICE_NAME: 'lambda-notes' },
      );
      expect(code, stderr).to.equal(0);
      expect(stdout).to.include('RESULT "value1"');
    });

    it('s3Upload.zip loads and refuses an event that is not an S3 notification', async () => {
      const { code, stdout, stderr } = await runNode(
        ['-e', RUNNER, join(unpacked, 's3Upload.zip', 'handlers', 's3-upload.js'), '{"key1":"value1"}'],
        { PATH: process.env.PATH, POWERTOOLS_SERVICE_NAME: 'lambda-notes', AWS_REGION: 'ap-northeast-1' },
      );
      expect(stdout, stderr).to.match(/^ERROR InvalidEventError$/m);
      expect(code).to.equal(1);
    });

    it('s3Upload.zip reads back, from the local S3, the upload its S3 event names', async () => {
      const key = 'targets/bundle check.txt';
      const body = 'first line\nsecond line\n';
      await local.s3.send(
        new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body, ContentType: 'text/plain' }),
      );
      const [delivery] = await waitFor(
        'the S3 event of the upload',
        () => local.deliveries.length > 0 && local.deliveries,
      );
      const { code, stdout, stderr } = await runNode(
        [
          '-e',
          RUNNER,
          join(unpacked, 's3Upload.zip', 'handlers', 's3-upload.js'),
          JSON.stringify(delivery?.payload),
        ],
        {
          PATH: process.env.PATH,
          POWERTOOLS_SERVICE_NAME: 'lambda-notes',
          AWS_REGION: 'ap-northeast-1',
          S3_ENDPOINT: local.endpoint,
          AWS_ACCESS_KEY_ID: 'S3RVER',
          AWS_SECRET_ACCESS_KEY: 'S3RVER',
        },
      );
      expect(code, `${stdout}${stderr}`).to.equal(0);
      expect(JSON.parse(/^RESULT (.*)$/m.exec(stdout)?.[1] ?? 'null')).to.deep.equal([
        {
          bucket: BUCKET,
          key,
          size: Buffer.byteLength(body),
          contentType: 'text/plain',
          lines: 2,
          sha256: createHash('sha256').update(body).digest('hex'),
        },
      ]);
    });
  });
}
