/**
 * The scripts that reach a deployed stage (npm run deploy, upload, remove), with AWS mocked: no credentials,
 * no network. CloudFormation answers as it does for a stack (StackId ARN with the account, Outputs) and for
 * a missing one (ValidationError "Stack with id … does not exist"); sls itself is replaced by a recorder.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import {
  CloudFormationClient,
  DescribeStackResourceCommand,
  DescribeStacksCommand,
} from '@aws-sdk/client-cloudformation';
import {
  DeleteObjectsCommand,
  ListObjectsCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { main as deploy, parseDeployArguments, type DeployIo } from '../../scripts/deploy-stage';
import { NAMED_CHANGES_VARIABLE } from '../../scripts/kept-settings';
import {
  bucketNameProblem,
  defaultUploadBucketName,
  readStageSettings,
  targetFrom,
  UsageError,
  writeStageSettings,
} from '../../scripts/project';
import { main as remove, type RemoveIo } from '../../scripts/remove-stage';
import { main as upload } from '../../scripts/upload';
import {
  ACCOUNT,
  describedStack as stack,
  noSuchResource,
  noSuchStack,
  REGION,
  uploadBucketResource,
} from '../helpers/cloudformation';

const DEV_OUTPUTS = {
  UploadBucketName: defaultUploadBucketName('dev', ACCOUNT, REGION),
  UploadBucketRetained: 'false',
  AlarmEmail: 'none',
  HelloReservedConcurrency: 'none',
  S3UploadReservedConcurrency: 'none',
};
const PROD_OUTPUTS = {
  ...DEV_OUTPUTS,
  UploadBucketName: defaultUploadBucketName('prod', ACCOUNT, REGION),
  UploadBucketRetained: 'true',
};

const expectRejection = async (promise: Promise<unknown>, pattern: RegExp): Promise<Error> => {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error, 'a rejection').to.be.instanceOf(Error);
  expect((error as Error).message).to.match(pattern);
  return error as Error;
};

/** Mocks every client of these classes in this process: made in `before`, restored in `after`, never at load. */
const mockAws = () => ({ cloudFormation: mockClient(CloudFormationClient), s3: mockClient(S3Client) });

describe('deploy scripts (AWS mocked)', () => {
  let cloudFormation: ReturnType<typeof mockAws>['cloudFormation'];
  let s3: ReturnType<typeof mockAws>['s3'];

  before(() => {
    ({ cloudFormation, s3 } = mockAws());
  });

  after(() => {
    cloudFormation.restore();
    s3.restore();
  });
  let dir: string;
  let stagesDir: string;
  let savedStagesDir: string | undefined;
  let writes: string[];

  /** Runs upload with its stdout kept out of the test report, and readable by the test. */
  async function quietUpload(argv: string[]): Promise<void> {
    const realWrite = process.stdout.write;
    process.stdout.write = ((chunk: string | Uint8Array) => {
      writes.push(String(chunk));
      return true;
    }) as typeof process.stdout.write;
    try {
      await upload(argv);
    } finally {
      process.stdout.write = realWrite;
    }
  }

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lambda-notes-scripts-'));
    stagesDir = join(dir, 'stages');
    savedStagesDir = process.env.LAMBDA_NOTES_STAGES_DIR;
    process.env.LAMBDA_NOTES_STAGES_DIR = stagesDir;
    writes = [];
  });

  afterEach(async () => {
    if (savedStagesDir === undefined) delete process.env.LAMBDA_NOTES_STAGES_DIR;
    else process.env.LAMBDA_NOTES_STAGES_DIR = savedStagesDir;
    cloudFormation.reset();
    s3.reset();
    await rm(dir, { recursive: true, force: true });
  });

  describe('project: targets, settings, names', () => {
    it('takes --aws-profile (as sls deploy spells it) as well as --profile', () => {
      expect(targetFrom({ stage: 'dev', 'aws-profile': 'work' })).to.deep.include({
        kind: 'aws',
        profile: 'work',
      });
      expect(targetFrom({ stage: 'dev', profile: 'home' })).to.deep.include({ kind: 'aws', profile: 'home' });
    });

    it('uses the region npm run deploy kept for the stage unless --region is given', async () => {
      await writeStageSettings('dev', { region: 'eu-west-1' }, stagesDir);
      expect(targetFrom({ stage: 'dev' }).region).to.equal('eu-west-1');
      expect(targetFrom({ stage: 'dev', region: 'us-east-1' }).region).to.equal('us-east-1');
      expect(targetFrom({ stage: 'prod' }).region).to.equal(REGION);
    });

    it('refuses a settings file with an unknown setting or a bad value, naming the file', async () => {
      await writeFile(join(dir, 'dev.json'), JSON.stringify({ alarmMail: 'a@example.com' }));
      expect(() => readStageSettings('dev', dir)).to.throw(
        UsageError,
        /dev\.json: unknown setting "alarmMail"/,
      );
      await writeFile(join(dir, 'dev.json'), JSON.stringify({ helloReservedConcurrency: -1 }));
      expect(() => readStageSettings('dev', dir)).to.throw(UsageError, /helloReservedConcurrency "-1"/);
      await writeFile(join(dir, 'dev.json'), '{');
      expect(() => readStageSettings('dev', dir)).to.throw(UsageError, /dev\.json is not valid JSON/);
    });

    it("checks bucket names against S3's rules", () => {
      expect(bucketNameProblem(defaultUploadBucketName('dev', ACCOUNT, REGION))).to.equal(undefined);
      expect(
        bucketNameProblem(defaultUploadBucketName('a-rather-long-stage-name', ACCOUNT, REGION)),
      ).to.match(/65 characters long/);
      expect(bucketNameProblem('My_Bucket')).to.match(/lowercase/);
      expect(bucketNameProblem('192.168.1.1')).to.match(/IP address/);
    });
  });

  describe('npm run upload', () => {
    let file: string;
    beforeEach(async () => {
      file = join(dir, 'test.txt');
      await writeFile(file, 'hello from the notes\n');
    });

    it("writes to the bucket the stage's stack names, and only if the stack's account owns it", async () => {
      cloudFormation
        .on(DescribeStacksCommand, { StackName: 'lambda-notes-dev' })
        .resolves(stack('dev', DEV_OUTPUTS));
      s3.on(PutObjectCommand).resolves({});

      await quietUpload(['--stage', 'dev', '--aws-profile', 'work', file]);

      const [put] = s3.commandCalls(PutObjectCommand);
      expect(put?.args[0].input).to.deep.include({
        Bucket: DEV_OUTPUTS.UploadBucketName,
        Key: 'targets/test.txt',
        ExpectedBucketOwner: ACCOUNT,
        ContentType: 'text/plain',
      });
      expect(writes.join('')).to.include(
        `s3://${DEV_OUTPUTS.UploadBucketName}/targets/test.txt on AWS ${REGION}`,
      );
    });

    it('passes ExpectedBucketOwner with --bucket too, and says what a refusal means', async () => {
      cloudFormation.on(DescribeStacksCommand).resolves(stack('dev', DEV_OUTPUTS));
      s3.on(PutObjectCommand).rejects(
        new S3ServiceException({
          name: 'AccessDenied',
          $fault: 'client',
          $metadata: { httpStatusCode: 403 },
          message: 'Access Denied',
        }),
      );

      await expectRejection(
        quietUpload(['--stage', 'dev', '--bucket', 'lambda-s3-test-dev', file]),
        /refused the upload to lambda-s3-test-dev: it is not owned by account 123456789012/,
      );
      expect(s3.commandCalls(PutObjectCommand)[0]?.args[0].input.ExpectedBucketOwner).to.equal(ACCOUNT);
    });

    it('says how to deploy when the stage has no stack, and uploads nothing', async () => {
      cloudFormation.on(DescribeStacksCommand).rejects(noSuchStack('test'));

      await expectRejection(
        quietUpload(['--stage', 'test', file]),
        /stage test is not deployed in ap-northeast-1 \(no stack lambda-notes-test\): npm run deploy -- --stage test/,
      );
      expect(s3.commandCalls(PutObjectCommand)).to.have.length(0);
    });
  });

  describe('npm run remove', () => {
    function io(
      answer: string | undefined,
    ): RemoveIo & { runs: string[][]; questions: string[]; text: string[] } {
      const recorder = {
        runs: [] as string[][],
        questions: [] as string[],
        text: [] as string[],
        out: (text: string) => void recorder.text.push(text),
        ask: async (question: string) => {
          recorder.questions.push(question);
          return answer;
        },
        serverless: (args: string[]) => {
          recorder.runs.push(args);
          return 0;
        },
      };
      return recorder;
    }

    it('refuses to remove prod without a terminal to confirm on or --force, and touches nothing', async () => {
      cloudFormation.on(DescribeStacksCommand).resolves(stack('prod', PROD_OUTPUTS));
      const recorder = io(undefined);

      await expectRejection(
        remove(['--stage', 'prod'], recorder),
        /stage prod keeps its bucket .* but its functions, queue .* go: confirm with --force \(npm run remove -- --stage prod --force\)/,
      );
      expect(recorder.runs).to.deep.equal([]);
      expect(s3.calls()).to.have.length(0);
    });

    it('asks for the stage name on a terminal, and leaves prod alone on another answer', async () => {
      cloudFormation.on(DescribeStacksCommand).resolves(stack('prod', PROD_OUTPUTS));
      const recorder = io('yes');

      await expectRejection(remove(['--stage', 'prod'], recorder), /not confirmed; stage prod left as it is/);
      expect(recorder.questions[0]).to.match(/Type the stage name to remove it/);
      expect(recorder.runs).to.deep.equal([]);
    });

    it('removes prod with --force, keeping its bucket and objects (not emptied)', async () => {
      cloudFormation.on(DescribeStacksCommand).resolves(stack('prod', PROD_OUTPUTS));
      const recorder = io(undefined);

      await remove(['--stage', 'prod', '--force', '--aws-profile', 'work'], recorder);

      expect(s3.calls()).to.have.length(0);
      expect(recorder.runs).to.deep.equal([
        ['remove', '--stage', 'prod', '--region', REGION, '--aws-profile', 'work'],
      ]);
      expect(recorder.text.join('')).to.include(`s3://${PROD_OUTPUTS.UploadBucketName} is retained`);
    });

    it('asks before removing a stack deployed before it said whether its bucket is retained', async () => {
      cloudFormation.on(DescribeStacksCommand).resolves(stack('prod', {}));
      cloudFormation.on(DescribeStackResourceCommand).resolves(uploadBucketResource('lambda-s3-test-prod'));
      const recorder = io(undefined);

      await expectRejection(
        remove(['--stage', 'prod'], recorder),
        /removing it empties and deletes s3:\/\/lambda-s3-test-prod .*: confirm with --force/,
      );
      expect(recorder.runs).to.deep.equal([]);
      expect(s3.calls()).to.have.length(0);
    });

    it('says there is nothing to remove when the stage has no stack, and runs nothing', async () => {
      cloudFormation.on(DescribeStacksCommand).rejects(noSuchStack('test'));
      const recorder = io(undefined);

      await expectRejection(
        remove(['--stage', 'test'], recorder),
        /stage test is not deployed in ap-northeast-1 \(no stack lambda-notes-test\): nothing to remove/,
      );
      expect(recorder.runs).to.deep.equal([]);
    });

    for (const [stage, status] of [
      ['dev', 'ROLLBACK_COMPLETE'],
      ['prod', 'UPDATE_ROLLBACK_COMPLETE'],
    ] as const) {
      it(`removes a stack a first deploy left without a bucket (${stage}, ${status}), says so, asks nothing`, async () => {
        cloudFormation.on(DescribeStacksCommand).resolves(stack(stage, {}, status));
        cloudFormation.on(DescribeStackResourceCommand).rejects(noSuchResource(stage, 'S3BucketUploads'));
        const recorder = io(undefined);

        await remove(['--stage', stage], recorder);

        expect(recorder.questions).to.deep.equal([]);
        expect(s3.calls()).to.have.length(0);
        expect(recorder.runs).to.deep.equal([['remove', '--stage', stage, '--region', REGION]]);
        const text = recorder.text.join('');
        expect(text).to.include(
          `stack lambda-notes-${stage} (${status}) has no upload bucket — what a first deploy that rolled back leaves: nothing to empty or keep`,
        );
        expect(text).to.include(
          `stage ${stage} removed: stack lambda-notes-${stage} (${status}) deleted. Deploy it afresh with npm run deploy -- --stage ${stage}.`,
        );
      });
    }

    it('says so when sls remove fails on a stack without a bucket', async () => {
      cloudFormation.on(DescribeStacksCommand).resolves(stack('dev', {}, 'ROLLBACK_COMPLETE'));
      cloudFormation.on(DescribeStackResourceCommand).rejects(noSuchResource('dev', 'S3BucketUploads'));
      const recorder = { ...io(undefined), serverless: () => 1 };

      await expectRejection(
        remove(['--stage', 'dev'], recorder),
        /sls remove --stage dev --region ap-northeast-1 failed \(exit 1\)/,
      );
      expect(recorder.text.join('')).to.not.include('removed');
    });

    it("empties dev's bucket as its owner (ExpectedBucketOwner), then runs sls remove", async () => {
      cloudFormation.on(DescribeStacksCommand).resolves(stack('dev', DEV_OUTPUTS));
      s3.on(ListObjectsCommand)
        .resolvesOnce({ Contents: [{ Key: 'targets/a.txt' }, { Key: 'targets/b.txt' }] })
        .resolves({ Contents: [] });
      s3.on(DeleteObjectsCommand).resolves({});
      const recorder = io(undefined);

      await remove(['--stage', 'dev'], recorder);

      for (const call of [...s3.commandCalls(ListObjectsCommand), ...s3.commandCalls(DeleteObjectsCommand)]) {
        expect(call.args[0].input).to.deep.include({
          Bucket: DEV_OUTPUTS.UploadBucketName,
          ExpectedBucketOwner: ACCOUNT,
        });
      }
      expect(recorder.questions).to.deep.equal([]);
      expect(recorder.runs).to.deep.equal([['remove', '--stage', 'dev', '--region', REGION]]);
      expect(recorder.text.join('')).to.include(
        `emptied s3://${DEV_OUTPUTS.UploadBucketName} (2 object(s) deleted)`,
      );
    });
  });

  describe('npm run deploy', () => {
    interface Run {
      args: string[];
      env: Record<string, string>;
      settings: Record<string, string>;
    }
    function io(status = 0): DeployIo & { runs: Run[]; text: string[]; pending: Promise<void>[] } {
      const recorder = {
        runs: [] as Run[],
        text: [] as string[],
        pending: [] as Promise<void>[],
        out: (text: string) => void recorder.text.push(text),
        serverless: (args: string[], env: Record<string, string>) => {
          // What serverless.yml would read: the stage's file in the directory the deploy points it to.
          const run: Run = { args, env, settings: {} };
          recorder.runs.push(run);
          const stage = args[args.indexOf('--stage') + 1] ?? '';
          recorder.pending.push(
            readFile(join(env.LAMBDA_NOTES_STAGES_DIR ?? '', `${stage}.json`), 'utf8').then((text) => {
              run.settings = JSON.parse(text) as Record<string, string>;
            }),
          );
          return status;
        },
      };
      return recorder;
    }
    const kept = async (stage: string) =>
      JSON.parse(await readFile(join(stagesDir, `${stage}.json`), 'utf8')) as Record<string, string>;

    it('reads --stage, --region, --aws-profile and --param in both spellings, and keeps the other flags', () => {
      expect(
        parseDeployArguments([
          '--stage=prod',
          '-r',
          'eu-west-1',
          '--profile',
          'p',
          '--param',
          'alarmEmail=a@example.com',
          '--param=httpRateLimit=5',
          '--verbose',
        ]),
      ).to.deep.equal({
        stage: 'prod',
        region: 'eu-west-1',
        profile: 'p',
        params: [
          ['alarmEmail', 'a@example.com'],
          ['httpRateLimit', '5'],
        ],
        rest: ['--verbose'],
      });
      expect(() => parseDeployArguments(['--param', 'alarmEmail'])).to.throw(UsageError, /name=value/);
    });

    it('keeps the settings after a deploy, and a later deploy without flags deploys the same ones', async () => {
      cloudFormation
        .on(DescribeStacksCommand)
        .rejectsOnce(noSuchStack('dev'))
        .resolves(
          stack('dev', {
            ...DEV_OUTPUTS,
            UploadBucketName: 'my-notes-dev',
            AlarmEmail: 'me@example.com',
            S3UploadReservedConcurrency: '3',
          }),
        );
      const first = io();
      await deploy(
        [
          '--stage',
          'dev',
          '--param=alarmEmail=me@example.com',
          '--param=s3UploadReservedConcurrency=3',
          '--param=uploadBucket=my-notes-dev',
          '--aws-profile',
          'work',
        ],
        first,
      );
      await Promise.all(first.pending);
      const settings = {
        region: REGION,
        uploadBucket: 'my-notes-dev',
        alarmEmail: 'me@example.com',
        s3UploadReservedConcurrency: '3',
      };
      expect(first.runs[0]?.settings).to.deep.equal(settings);
      expect(first.runs[0]?.args).to.deep.equal([
        'deploy',
        '--stage',
        'dev',
        '--region',
        REGION,
        '--aws-profile',
        'work',
      ]);
      expect(await kept('dev')).to.deep.equal(settings);

      const second = io();
      await deploy(['--stage', 'dev'], second);
      await Promise.all(second.pending);
      expect(second.runs[0]?.settings).to.deep.equal(settings);
      expect(await kept('dev')).to.deep.equal(settings);
    });

    it('forgets a setting given empty, and keeps other parameters for this deploy only', async () => {
      cloudFormation
        .on(DescribeStacksCommand)
        .resolves(stack('dev', { ...DEV_OUTPUTS, AlarmEmail: 'me@example.com' }));
      await writeStageSettings('dev', { region: REGION, alarmEmail: 'me@example.com' }, stagesDir);
      const recorder = io();

      await deploy(['--stage', 'dev', '--param=alarmEmail=', '--param=httpRateLimit=50'], recorder);
      await Promise.all(recorder.pending);

      expect(recorder.runs[0]?.args).to.include('--param=httpRateLimit=50');
      expect(recorder.runs[0]?.settings).to.deep.equal({ region: REGION });
      expect(await kept('dev')).to.deep.equal({ region: REGION });
      expect(recorder.text.join('')).to.match(/for this deploy only .*--param=httpRateLimit=50/);
    });

    it('names the settings it changes on purpose to sls (empty --param included), and only those', async () => {
      cloudFormation
        .on(DescribeStacksCommand)
        .resolves(stack('dev', { ...DEV_OUTPUTS, AlarmEmail: 'me@example.com' }));
      const recorder = io();

      await deploy(
        [
          '--stage',
          'dev',
          '--param=alarmEmail=',
          '--param=helloReservedConcurrency=2',
          '--param=httpRateLimit=5',
        ],
        recorder,
      );

      expect(recorder.runs[0]?.env[NAMED_CHANGES_VARIABLE]).to.equal('alarmEmail,helloReservedConcurrency');
      const plain = io();
      await deploy(['--stage', 'dev'], plain);
      expect(plain.runs[0]?.env[NAMED_CHANGES_VARIABLE]).to.equal('');
    });

    it("keeps what the stack has over this checkout's out-of-date file, and says so", async () => {
      // Another checkout changed the address since this one wrote its file.
      cloudFormation
        .on(DescribeStacksCommand)
        .resolves(stack('dev', { ...DEV_OUTPUTS, AlarmEmail: 'team@example.com' }));
      await writeStageSettings('dev', { region: REGION, alarmEmail: 'me@example.com' }, stagesDir);
      const recorder = io();

      await deploy(['--stage', 'dev'], recorder);
      await Promise.all(recorder.pending);

      expect(recorder.runs[0]?.settings).to.deep.equal({ region: REGION, alarmEmail: 'team@example.com' });
      expect(await kept('dev')).to.deep.equal({ region: REGION, alarmEmail: 'team@example.com' });
      expect(recorder.text.join('')).to.include(
        'is out of date — it says alarmEmail=me@example.com (the stack has team@example.com): keeping what stack lambda-notes-dev was deployed with',
      );
    });

    it('without a settings file, adopts what the stack was deployed with instead of dropping it', async () => {
      cloudFormation.on(DescribeStacksCommand).resolves(
        stack('dev', {
          ...DEV_OUTPUTS,
          UploadBucketName: 'my-notes-dev',
          AlarmEmail: 'me@example.com',
          HelloReservedConcurrency: '0',
        }),
      );
      const recorder = io();

      await deploy(['--stage', 'dev'], recorder);
      await Promise.all(recorder.pending);

      const adopted = {
        region: REGION,
        uploadBucket: 'my-notes-dev',
        alarmEmail: 'me@example.com',
        helloReservedConcurrency: '0',
      };
      expect(recorder.runs[0]?.settings).to.deep.equal(adopted);
      expect(await kept('dev')).to.deep.equal(adopted);
      expect(recorder.text.join('')).to.match(/keeping what stack lambda-notes-dev was deployed with/);
    });

    it('keeps the bucket of a stack deployed before it had outputs (no replacement on upgrade)', async () => {
      cloudFormation.on(DescribeStacksCommand).resolves(stack('dev', {}));
      cloudFormation
        .on(DescribeStackResourceCommand, {
          StackName: 'lambda-notes-dev',
          LogicalResourceId: 'S3BucketUploads',
        })
        .resolves(uploadBucketResource('lambda-s3-test-dev'));
      const recorder = io();

      await deploy(['--stage', 'dev'], recorder);
      await Promise.all(recorder.pending);

      expect(recorder.runs[0]?.settings).to.deep.equal({
        region: REGION,
        uploadBucket: 'lambda-s3-test-dev',
      });
    });

    it('deploys again over a first deploy that rolled back (a stack without a bucket)', async () => {
      cloudFormation.on(DescribeStacksCommand).resolves(stack('dev', {}, 'ROLLBACK_COMPLETE'));
      cloudFormation.on(DescribeStackResourceCommand).rejects(noSuchResource('dev', 'S3BucketUploads'));
      const recorder = io();

      await deploy(['--stage', 'dev'], recorder);
      await Promise.all(recorder.pending);

      expect(recorder.runs[0]?.settings).to.deep.equal({ region: REGION });
    });

    it('writes no settings when sls deploy fails', async () => {
      cloudFormation.on(DescribeStacksCommand).rejects(noSuchStack('dev'));

      await expectRejection(
        deploy(['--stage', 'dev', '--param=alarmEmail=me@example.com'], io(1)),
        /failed \(exit 1\); no .*dev\.json written/,
      );
      expect(readStageSettings('dev', stagesDir)).to.equal(undefined);
    });

    it('refuses a bad setting or a stage too long for the default bucket name before deploying', async () => {
      cloudFormation.on(DescribeStacksCommand).rejects(noSuchStack('x'));
      const recorder = io();

      await expectRejection(
        deploy(['--stage', 'dev', '--param=alarmEmail=me'], recorder),
        /alarmEmail "me" is not an e-mail address/,
      );
      await expectRejection(
        deploy(['--stage', 'feature-with-a-long-name'], recorder),
        /default bucket name for stage feature-with-a-long-name .* is 65 characters long .* --param="uploadBucket=<name>"/,
      );
      expect(recorder.runs).to.deep.equal([]);
    });
  });
});
