/**
 * The check every deploy passes (scripts/kept-settings.ts), with CloudFormation mocked: a deploy that would
 * change a kept setting nobody named stops, naming it; a first deploy, a named change and an unchanged stack
 * pass. The templates here have the shape `sls package` writes (test/template runs the check on the real one).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import {
  CloudFormationClient,
  DescribeStackResourceCommand,
  DescribeStacksCommand,
} from '@aws-sdk/client-cloudformation';
import { mockClient } from 'aws-sdk-client-mock';
import {
  alarmEmailWarning,
  checkKeptSettings,
  type DeployTemplate,
  type Framework,
  guardDeploy,
  NAMED_CHANGES_VARIABLE,
  namedSettings,
  NONE,
} from '../../scripts/kept-settings';
import { UsageError } from '../../scripts/project';
import {
  ACCOUNT,
  describedStack,
  noSuchResource,
  noSuchStack,
  REGION,
  uploadBucketResource,
} from '../helpers/cloudformation';
import { rejection } from '../helpers/rejection';

const DEFAULT_BUCKET = `lambda-notes-dev-${ACCOUNT}-${REGION}`;

/** A template as `sls package --stage dev` writes it, for these settings (undefined: the default). */
function template(
  settings: { uploadBucket?: string; alarmEmail?: string; helloReservedConcurrency?: string } = {},
): DeployTemplate {
  return {
    Resources: {
      S3BucketUploads: {
        Properties: {
          BucketName: {
            'Fn::Sub': settings.uploadBucket ?? 'lambda-notes-dev-${AWS::AccountId}-${AWS::Region}',
          },
        },
      },
      AlarmEmailSubscription: { Properties: { Protocol: 'email', Endpoint: settings.alarmEmail ?? '' } },
    },
    Outputs: {
      AlarmEmail: { Value: { 'Fn::If': ['HasAlarmEmail', settings.alarmEmail ?? '', 'none'] } },
      HelloReservedConcurrency: { Value: settings.helloReservedConcurrency ?? 'none' },
      S3UploadReservedConcurrency: { Value: 'none' },
    },
  };
}

/** The error a check rejected with. */
async function stopped(promise: Promise<unknown>): Promise<Error> {
  const error = await rejection(promise);
  expect(error).to.be.instanceOf(Error);
  return error as Error;
}

const DEPLOYED_WITH_SETTINGS = {
  UploadBucketName: 'my-notes-dev',
  UploadBucketRetained: 'false',
  AlarmEmail: 'me@example.com',
  HelloReservedConcurrency: 'none',
  S3UploadReservedConcurrency: 'none',
};

describe('kept settings: the check every deploy passes (CloudFormation mocked)', () => {
  let cloudFormation: ReturnType<typeof mockClient>;
  let dir: string;
  let savedStagesDir: string | undefined;

  before(() => {
    cloudFormation = mockClient(CloudFormationClient);
  });
  after(() => cloudFormation.restore());

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lambda-notes-kept-'));
    savedStagesDir = process.env.LAMBDA_NOTES_STAGES_DIR;
    process.env.LAMBDA_NOTES_STAGES_DIR = dir;
  });

  afterEach(async () => {
    if (savedStagesDir === undefined) delete process.env.LAMBDA_NOTES_STAGES_DIR;
    else process.env.LAMBDA_NOTES_STAGES_DIR = savedStagesDir;
    cloudFormation.reset();
    await rm(dir, { recursive: true, force: true });
  });

  const check = (deployTemplate: DeployTemplate, named: string[] = []) =>
    checkKeptSettings({
      cloudFormation: new CloudFormationClient({ region: REGION }),
      stage: 'dev',
      region: REGION,
      template: deployTemplate,
      named: new Set(named),
    });

  it('lets a first deploy through (no stack yet)', async () => {
    cloudFormation.on(DescribeStacksCommand).rejects(noSuchStack('dev'));

    expect(await check(template())).to.deep.include({ alarmEmail: NONE, helloReservedConcurrency: NONE });
  });

  it('stops a deploy of the defaults over a stack deployed with settings, naming each (a checkout without the file)', async () => {
    cloudFormation.on(DescribeStacksCommand).resolves(describedStack('dev', DEPLOYED_WITH_SETTINGS));

    const error = await stopped(check(template()));

    expect(error).to.be.instanceOf(UsageError);
    expect(error.message).to.include(
      `deploy stopped before any change: it would change what stack lambda-notes-dev was deployed with — uploadBucket my-notes-dev → ${DEFAULT_BUCKET}, alarmEmail me@example.com → none — and no --param named them`,
    );
    expect(error.message).to.match(/this checkout has no .*dev\.json, so serverless\.yml's defaults apply/);
    expect(error.message).to.include('Run `npm run deploy -- --stage dev`, which deploys what the stack has');
  });

  it("says when this checkout's file is what differs from the stack", async () => {
    cloudFormation.on(DescribeStacksCommand).resolves(describedStack('dev', DEPLOYED_WITH_SETTINGS));
    await writeFile(join(dir, 'dev.json'), JSON.stringify({ alarmEmail: 'old@example.com' }));

    const error = await stopped(
      check(template({ uploadBucket: 'my-notes-dev', alarmEmail: 'old@example.com' })),
    );

    expect(error.message).to.include('alarmEmail me@example.com → old@example.com — and no --param named it');
    expect(error.message).to.match(/dev\.json \(this checkout's copy of the settings\) says otherwise/);
  });

  it('lets a change through that the deploy names', async () => {
    cloudFormation.on(DescribeStacksCommand).resolves(describedStack('dev', DEPLOYED_WITH_SETTINGS));

    const next = await check(template({ uploadBucket: 'my-notes-dev' }), ['alarmEmail']);

    expect(next.alarmEmail).to.equal(NONE);
  });

  it('lets the same settings through, the default bucket name resolved for the stack’s account and region', async () => {
    cloudFormation.on(DescribeStacksCommand).resolves(
      describedStack('dev', {
        ...DEPLOYED_WITH_SETTINGS,
        UploadBucketName: DEFAULT_BUCKET,
        HelloReservedConcurrency: '0',
      }),
    );

    const next = await check(template({ alarmEmail: 'me@example.com', helloReservedConcurrency: '0' }));

    expect(next).to.deep.equal({
      uploadBucket: DEFAULT_BUCKET,
      alarmEmail: 'me@example.com',
      helloReservedConcurrency: '0',
      s3UploadReservedConcurrency: NONE,
    });
  });

  it('stops a change of reserved concurrency nobody named', async () => {
    cloudFormation
      .on(DescribeStacksCommand)
      .resolves(describedStack('dev', { ...DEPLOYED_WITH_SETTINGS, HelloReservedConcurrency: '0' }));

    const error = await stopped(
      check(template({ uploadBucket: 'my-notes-dev', alarmEmail: 'me@example.com' })),
    );

    expect(error.message).to.include('helloReservedConcurrency 0 → none');
  });

  it('compares only the bucket of a stack deployed before it had these outputs', async () => {
    cloudFormation.on(DescribeStacksCommand).resolves(describedStack('dev', {}));
    cloudFormation.on(DescribeStackResourceCommand).resolves(uploadBucketResource('lambda-s3-test-dev'));

    const error = await stopped(check(template()));
    expect(error.message).to.include(
      `uploadBucket lambda-s3-test-dev → ${DEFAULT_BUCKET} — and no --param named it`,
    );
    await check(template({ uploadBucket: 'lambda-s3-test-dev' }));
  });

  it('lets a deploy through over a stack a first deploy left empty (ROLLBACK_COMPLETE)', async () => {
    cloudFormation.on(DescribeStacksCommand).resolves(describedStack('dev', {}, 'ROLLBACK_COMPLETE'));
    cloudFormation.on(DescribeStackResourceCommand).rejects(noSuchResource('dev', 'S3BucketUploads'));

    await check(template());
  });

  it('reads the named settings from --param and from what npm run deploy passes, nothing else', () => {
    expect([
      ...namedSettings(['alarmEmail=a@example.com', 'httpRateLimit=5'], {
        [NAMED_CHANGES_VARIABLE]: 'uploadBucket,nonsense',
      }),
    ]).to.have.members(['alarmEmail', 'uploadBucket']);
    expect([...namedSettings(undefined, {})]).to.deep.equal([]);
    expect([...namedSettings('helloReservedConcurrency=1', {})]).to.deep.equal(['helloReservedConcurrency']);
  });

  it('warns only when the alarms reach nobody', () => {
    expect(alarmEmailWarning({ alarmEmail: NONE }, 'dev')).to.equal(
      'no alarmEmail for stage dev: its alarms go to the SNS topic only and reach nobody. Give one with npm run deploy -- --stage dev --param="alarmEmail=you@example.com".',
    );
    expect(alarmEmailWarning({ alarmEmail: 'me@example.com' }, 'dev')).to.equal(undefined);
  });

  describe('as the framework runs it (before:deploy:deploy)', () => {
    class FrameworkError extends Error {}
    function framework(deployTemplate: DeployTemplate | undefined): Framework {
      return {
        service: { provider: { compiledCloudFormationTemplate: deployTemplate } },
        getProvider: () => ({
          getStage: () => 'dev',
          getRegion: () => REGION,
          getAwsSdkV3Config: async () => ({ region: REGION }),
        }),
        classes: { Error: FrameworkError },
      };
    }

    it("stops with the framework's own error (its message, no stack trace), and warns of nothing", async () => {
      cloudFormation.on(DescribeStacksCommand).resolves(describedStack('dev', DEPLOYED_WITH_SETTINGS));
      const warnings: string[] = [];

      const error = await stopped(
        guardDeploy(framework(template()), {}, { warning: (w) => warnings.push(w) }),
      );

      expect(error).to.be.instanceOf(FrameworkError);
      expect(error.message).to.match(/^deploy stopped before any change/);
      expect(warnings).to.deep.equal([]);
    });

    it('lets a named change through, and warns when it leaves the alarms without an address', async () => {
      cloudFormation.on(DescribeStacksCommand).resolves(describedStack('dev', DEPLOYED_WITH_SETTINGS));
      const warnings: string[] = [];

      await guardDeploy(
        framework(template({ uploadBucket: 'my-notes-dev' })),
        { param: ['alarmEmail=x'] },
        { warning: (w) => warnings.push(w) },
      );

      expect(warnings).to.have.length(1);
      expect(warnings[0]).to.match(/^no alarmEmail for stage dev/);
    });
  });
});
