/**
 * The framework's AWS commands the README names (deploy, invoke -f, logs, metrics, remove) still reach AWS,
 * signed: each is pointed at a local endpoint that records what it is asked and refuses it as AWS refuses an
 * unknown key. No AWS account is involved; the point is which API each command calls, in which region.
 */
import { randomBytes } from 'node:crypto';
import { access, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'chai';
import { FakeAws, fakeAwsEnv, type RecordedCall } from '../helpers/fake-aws';
import { PROJECT_DIR, SERVERLESS_BIN } from '../../support/offline-stack';
import { run } from '../helpers/package-template';

const COMMANDS: Array<{ args: string[]; reaches: Omit<RecordedCall, 'region'> }> = [
  { args: ['deploy'], reaches: { service: 'sts', operation: 'GetCallerIdentity' } },
  {
    args: ['invoke', '-f', 'hello', '--path', 'events/hello.json'],
    reaches: {
      service: 'lambda',
      operation: 'POST /2015-03-31/functions/lambda-notes-awscheck-hello/invocations',
    },
  },
  { args: ['logs', '-f', 'hello'], reaches: { service: 'logs', operation: 'DescribeLogStreams' } },
  { args: ['metrics'], reaches: { service: 'monitoring', operation: 'GetMetricStatistics' } },
  { args: ['remove'], reaches: { service: 'cloudformation', operation: 'DescribeStacks' } },
];

describe('sls commands that talk to AWS (deploy, invoke, logs, metrics, remove)', function () {
  this.timeout(120_000);
  const workFolder = `.esbuild-awscheck-${randomBytes(6).toString('hex')}`;
  let recorder: FakeAws;
  const stateFolder = join(PROJECT_DIR, '.serverless');
  let hadStateFolder = true;

  before(async () => {
    hadStateFolder = await access(stateFolder).then(
      () => true,
      () => false,
    );
    // Every call refused as AWS refuses an unknown key.
    recorder = await FakeAws.start(undefined, { answer: false });
  });

  after(async () => {
    await recorder?.close();
    await rm(join(PROJECT_DIR, workFolder), { recursive: true, force: true });
    // What deploy wrote there for this fake stage; a folder of the user's own is left alone.
    if (!hadStateFolder) await rm(stateFolder, { recursive: true, force: true });
  });

  for (const { args, reaches } of COMMANDS) {
    it(`sls ${args[0]} calls ${reaches.service} ${reaches.operation}, signed for ap-northeast-1, and reports the refusal`, async () => {
      recorder.calls.length = 0;
      const { code, output } = await run(
        [SERVERLESS_BIN, ...args, '--stage', 'awscheck'],
        fakeAwsEnv(recorder.endpoint, { ESBUILD_WORK_FOLDER: workFolder }),
      );
      expect(recorder.calls, output).to.deep.include({ ...reaches, region: 'ap-northeast-1' });
      expect(code, output).to.not.equal(0);
      expect(output).to.not.match(/^\s+at /m);
    });
  }
});
