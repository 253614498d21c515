/**
 * The deploy and remove paths end to end, the framework and scripts as they are, pointed at a local endpoint that
 * answers as CloudFormation does for one stack (test/helpers/fake-aws.ts): no AWS account, and nothing reaches
 * AWS. A plain `sls deploy` in a checkout without stages/dev.json stops before it changes the stack's kept
 * settings, and `npm run remove` removes a stack a failed first deploy left without an upload bucket.
 */
import { randomBytes } from 'node:crypto';
import { access, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { FAKE_ACCOUNT, FakeAws, fakeAwsEnv, type FakeStack } from '../helpers/fake-aws';
import { PROJECT_DIR, SERVERLESS_BIN } from '../../support/offline-stack';
import { run } from '../helpers/package-template';

const TSX_CLI = join(PROJECT_DIR, 'node_modules', 'tsx', 'dist', 'cli.mjs');
const REGION = 'ap-northeast-1';
/** What a write to the stack or its buckets would be: none may happen when a deploy is stopped. */
const WRITES = /^(CreateStack|UpdateStack|CreateChangeSet|ExecuteChangeSet|DeleteStack|PUT |POST )/;

/** lambda-notes-dev as a deploy with an alarm address and a bucket of its own left it. */
const deployedWithSettings = (): FakeStack => ({
  name: 'lambda-notes-dev',
  status: 'UPDATE_COMPLETE',
  outputs: {
    UploadBucketName: 'my-notes-dev',
    UploadBucketRetained: 'false',
    AlarmEmail: 'me@example.com',
    HelloReservedConcurrency: 'none',
    S3UploadReservedConcurrency: 'none',
  },
  resources: { S3BucketUploads: 'my-notes-dev', ServerlessDeploymentBucket: 'lambda-notes-dev-deployment' },
});

describe('deploy and remove against a local CloudFormation endpoint', function () {
  this.timeout(120_000);
  const workFolder = `.esbuild-deploycheck-${randomBytes(6).toString('hex')}`;
  const stateFolder = join(PROJECT_DIR, '.serverless');
  let hadStateFolder = true;
  let stagesDir: string;
  let fake: FakeAws | undefined;

  before(async () => {
    hadStateFolder = await access(stateFolder).then(
      () => true,
      () => false,
    );
    // A checkout without stages/dev.json: a folder of the test's own with no file in it.
    stagesDir = await mkdtemp(join(tmpdir(), 'lambda-notes-no-stages-'));
  });

  afterEach(async () => {
    await fake?.close();
    fake = undefined;
  });

  after(async () => {
    await rm(stagesDir, { recursive: true, force: true });
    await rm(join(PROJECT_DIR, workFolder), { recursive: true, force: true });
    // What deploy wrote there for this stage; a folder of the user's own is left alone.
    if (!hadStateFolder) await rm(stateFolder, { recursive: true, force: true });
  });

  const sls = (endpoint: string, ...args: string[]) =>
    run(
      [SERVERLESS_BIN, ...args],
      fakeAwsEnv(endpoint, { ESBUILD_WORK_FOLDER: workFolder, LAMBDA_NOTES_STAGES_DIR: stagesDir }),
    );

  it('sls deploy without stages/dev.json stops before any change, naming the alarm address and the bucket', async () => {
    fake = await FakeAws.start(deployedWithSettings());

    const { code, output } = await sls(fake.endpoint, 'deploy', '--stage', 'dev');

    expect(code, output).to.equal(1);
    expect(output).to.include(
      `deploy stopped before any change: it would change what stack lambda-notes-dev was deployed with — uploadBucket my-notes-dev → lambda-notes-dev-${FAKE_ACCOUNT}-${REGION}, alarmEmail me@example.com → none — and no --param named them`,
    );
    expect(output).to.include('npm run deploy -- --stage dev');
    expect(output).to.not.match(/^\s+at /m);
    expect(fake.operations('cloudformation')).to.include('DescribeStacks');
    expect(fake.calls.map((call) => call.operation).filter((op) => WRITES.test(op))).to.deep.equal([]);
    expect(fake.operations('s3')).to.deep.equal([]);
  });

  it('sls deploy --package of a package made earlier (as CI does it) is stopped the same way', async () => {
    fake = await FakeAws.start(deployedWithSettings());
    const packageDir = await mkdtemp(join(tmpdir(), 'lambda-notes-ci-package-'));
    try {
      const packaged = await sls(fake.endpoint, 'package', '--stage', 'dev', '--package', packageDir);
      expect(packaged.code, packaged.output).to.equal(0);

      const { code, output } = await sls(fake.endpoint, 'deploy', '--stage', 'dev', '--package', packageDir);

      expect(code, output).to.equal(1);
      expect(output).to.include('deploy stopped before any change');
      expect(output).to.include('alarmEmail me@example.com → none');
      expect(fake.calls.map((call) => call.operation).filter((op) => WRITES.test(op))).to.deep.equal([]);
    } finally {
      await rm(packageDir, { recursive: true, force: true });
    }
  });

  it('sls deploy naming the settings (--param) passes the check and goes on; no alarm address is warned of', async () => {
    fake = await FakeAws.start(deployedWithSettings());

    const { code, output } = await sls(
      fake.endpoint,
      'deploy',
      '--stage',
      'dev',
      '--param=uploadBucket=my-notes-dev',
      '--param=alarmEmail=me@example.com',
    );

    // The framework goes on to its deployment bucket, which the endpoint refuses: the deploy still fails, later.
    expect(code, output).to.not.equal(0);
    expect(output).to.not.include('deploy stopped');
    expect(output).to.not.include('no alarmEmail');
    expect(fake.operations('cloudformation'), output).to.include('DescribeStackResource');
  });

  it('sls deploy over a stack without an alarm address warns that the alarms reach nobody', async () => {
    fake = await FakeAws.start({
      ...deployedWithSettings(),
      outputs: {
        ...deployedWithSettings().outputs,
        UploadBucketName: `lambda-notes-dev-${FAKE_ACCOUNT}-${REGION}`,
        AlarmEmail: 'none',
      },
    });

    const { output } = await sls(fake.endpoint, 'deploy', '--stage', 'dev');

    expect(output).to.not.include('deploy stopped');
    expect(output).to.include(
      'no alarmEmail for stage dev: its alarms go to the SNS topic only and reach nobody. Give one with npm run deploy -- --stage dev --param="alarmEmail=you@example.com".',
    );
  });

  it('npm run deploy without stages/dev.json keeps the stack\'s bucket, and its --param="alarmEmail=" passes the check as a named change', async () => {
    fake = await FakeAws.start(deployedWithSettings());

    const { code, output } = await run(
      [TSX_CLI, join(PROJECT_DIR, 'scripts', 'deploy-stage.ts'), '--stage', 'dev', '--param=alarmEmail='],
      fakeAwsEnv(fake.endpoint, { ESBUILD_WORK_FOLDER: workFolder, LAMBDA_NOTES_STAGES_DIR: stagesDir }),
    );

    expect(output).to.match(
      /no \S*dev\.json: keeping what stack lambda-notes-dev was deployed with \(region=ap-northeast-1, uploadBucket=my-notes-dev, alarmEmail=me@example.com\)/,
    );
    expect(output).to.not.include('deploy stopped');
    expect(output).to.include('no alarmEmail for stage dev');
    // Past the check, the framework reaches for its deployment bucket, which the endpoint refuses.
    expect(fake.operations('cloudformation'), output).to.include('DescribeStackResource');
    expect(code).to.not.equal(0);
    expect(output).to.match(/failed \(exit 1\); no .*dev\.json written/);
  });

  for (const status of ['ROLLBACK_COMPLETE', 'UPDATE_ROLLBACK_COMPLETE']) {
    it(`npm run remove removes a stack a failed first deploy left without a bucket (${status}), and says so`, async () => {
      fake = await FakeAws.start({
        name: 'lambda-notes-dev',
        status,
        outputs: {},
        // After a failed first update, the framework's deployment bucket remains; after a failed create, nothing.
        resources:
          status === 'UPDATE_ROLLBACK_COMPLETE'
            ? { ServerlessDeploymentBucket: 'lambda-notes-dev-deployment' }
            : {},
      });

      const { code, output } = await run(
        [TSX_CLI, join(PROJECT_DIR, 'scripts', 'remove-stage.ts'), '--stage', 'dev'],
        fakeAwsEnv(fake.endpoint, { LAMBDA_NOTES_STAGES_DIR: stagesDir }),
      );

      expect(code, `${output}\n${JSON.stringify(fake.calls)}`).to.equal(0);
      expect(output).to.include(
        `stack lambda-notes-dev (${status}) has no upload bucket — what a first deploy that rolled back leaves: nothing to empty or keep`,
      );
      expect(output).to.include(`stage dev removed: stack lambda-notes-dev (${status}) deleted.`);
      expect(fake.operations('cloudformation')).to.include('DeleteStack');
      expect(fake.stack).to.equal(undefined);
    });
  }
});
