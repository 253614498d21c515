/**
 * The bundles Lambda runs on nodejs24.x are the ones `npm start` runs on the local Node: each packaged zip,
 * unpacked as Lambda does, is loaded by this machine's Node and its handler called once.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { expect } from 'chai';
import { PROJECT_DIR } from '../../support/offline-stack';
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

    before(async () => {
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
      expect(stdout, stderr).to.match(/^ERROR \w+Error$/m);
      expect(stderr).not.to.match(/SyntaxError|Cannot find module/);
      expect(code).to.equal(1);
    });
  });
}
