/**
 * Names and local endpoints the scripts share with serverless.yml (test/template checks they agree).
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import {
  CloudFormationClient,
  DescribeStackResourceCommand,
  DescribeStacksCommand,
  type Stack,
} from '@aws-sdk/client-cloudformation';
import { stateDirOf } from '../offline/state/layout';

export const SERVICE = 'lambda-notes';
export const DEFAULT_REGION = 'ap-northeast-1';
export const OFFLINE_STAGE = 'dev';

export const stackName = (stage: string): string => `${SERVICE}-${stage}`;
/** The upload bucket of the offline stack (the local S3): the notes' name, which collides with nothing there. */
export const localUploadBucketName = (stage: string): string => `lambda-s3-test-${stage}`;
/** The default name on AWS, as CloudFormation resolves `${service}-${stage}-${AWS::AccountId}-${AWS::Region}`. */
export const defaultUploadBucketName = (stage: string, account: string, region: string): string =>
  `${SERVICE}-${stage}-${account}-${region}`;
export const deadLetterQueueName = (stage: string): string => `${SERVICE}-${stage}-dlq`;
export const lambdaFunctionName = (stage: string, functionKey: string): string =>
  `${SERVICE}-${stage}-${functionKey}`;

/** The same environment variables serverless.yml reads for the offline ports and state. */
export function offlineEndpoints(env: NodeJS.ProcessEnv = process.env): {
  s3: string;
  lambda: string;
  stateDir: string;
} {
  return {
    s3: `http://localhost:${env.OFFLINE_S3_PORT || 4569}`,
    lambda: `http://localhost:${env.OFFLINE_LAMBDA_PORT || 3002}`,
    stateDir: stateDirOf(env, resolve(__dirname, '..')),
  };
}

/** The local S3's fixed credentials (serverless-s3-local); the offline Lambda endpoint accepts any. */
export const LOCAL_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

/**
 * The settings of a deployed stage that a later deploy must find again (serverless.yml reads the same file):
 * written by `npm run deploy` after a successful deploy, stages/<stage>.json, git-ignored.
 */
export interface StageSettings {
  region?: string;
  uploadBucket?: string;
  alarmEmail?: string;
  // Kept as text, as --param gives them: the stack's outputs show them as the same text.
  helloReservedConcurrency?: string;
  s3UploadReservedConcurrency?: string;
}

export const SETTING_NAMES = [
  'uploadBucket',
  'alarmEmail',
  'helloReservedConcurrency',
  's3UploadReservedConcurrency',
] as const;
export type SettingName = (typeof SETTING_NAMES)[number];

export const isSettingName = (name: string): name is SettingName =>
  (SETTING_NAMES as readonly string[]).includes(name);

/** S3's rules for a general purpose bucket name, in one sentence each; undefined when the name is valid. */
export function bucketNameProblem(name: string): string | undefined {
  if (name.length < 3 || name.length > 63) return `is ${name.length} characters long (S3 allows 3 to 63)`;
  if (!/^[a-z0-9][a-z0-9.-]*[a-z0-9]$/.test(name))
    return 'may hold only lowercase letters, digits, dots and hyphens, and must start and end with a letter or digit';
  if (name.includes('..')) return 'may not hold two dots in a row';
  if (/^\d+\.\d+\.\d+\.\d+$/.test(name)) return 'may not look like an IP address';
  return undefined;
}

/** Checks a setting's value as given on the command line; returns the value to keep, or throws. */
export function parseSetting(name: SettingName, text: string): string {
  switch (name) {
    case 'uploadBucket': {
      const problem = bucketNameProblem(text);
      if (problem) throw new UsageError(`uploadBucket "${text}" ${problem}.`);
      return text;
    }
    case 'alarmEmail':
      if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(text))
        throw new UsageError(`alarmEmail "${text}" is not an e-mail address.`);
      return text;
    case 'helloReservedConcurrency':
    case 's3UploadReservedConcurrency': {
      if (!/^\d{1,6}$/.test(text)) throw new UsageError(`${name} "${text}" is not a whole number ≥ 0.`);
      return String(Number(text));
    }
  }
}

export function stagesDir(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(__dirname, '..', env.LAMBDA_NOTES_STAGES_DIR || 'stages');
}

export const stageSettingsFile = (stage: string, dir = stagesDir()): string => join(dir, `${stage}.json`);

/** The stage's settings file, checked; undefined when there is none. */
export function readStageSettings(stage: string, dir = stagesDir()): StageSettings | undefined {
  const file = stageSettingsFile(stage, dir);
  if (!existsSync(file)) return undefined;
  const where = relative(process.cwd(), file) || file;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new UsageError(`${where} is not valid JSON (${(error as Error).message}); fix or delete it.`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new UsageError(`${where} must hold one JSON object.`);
  const settings: StageSettings = {};
  for (const [name, value] of Object.entries(parsed)) {
    if (name === 'region' && typeof value === 'string') settings.region = value;
    else if (isSettingName(name) && (typeof value === 'string' || typeof value === 'number'))
      Object.assign(settings, { [name]: parseSetting(name, String(value)) });
    else throw new UsageError(`${where}: unknown setting "${name}" (or not a string/number).`);
  }
  return settings;
}

/** Writes the stage's settings file whole (temporary file, then rename), keys in a stable order. */
export async function writeStageSettings(
  stage: string,
  settings: StageSettings,
  dir = stagesDir(),
): Promise<string> {
  const file = stageSettingsFile(stage, dir);
  await mkdir(dir, { recursive: true });
  const ordered = Object.fromEntries(
    (['region', ...SETTING_NAMES] as const)
      .filter((name) => settings[name] !== undefined)
      .map((name) => [name, settings[name]]),
  );
  await writeFile(`${file}.tmp`, `${JSON.stringify(ordered, null, 2)}\n`);
  await rename(`${file}.tmp`, file);
  return file;
}

/** Where a script talks to: the offline stack (default) or a deployed stage. */
export type Target =
  | { kind: 'offline'; stage: string; region: string }
  | { kind: 'aws'; stage: string; region: string; profile: string | undefined };

/** The options every script takes to reach a deployed stage (--aws-profile as sls deploy spells it). */
export const AWS_OPTIONS = {
  stage: { type: 'string' },
  profile: { type: 'string' },
  'aws-profile': { type: 'string' },
  region: { type: 'string' },
} as const;

export function targetFrom(
  options: { stage?: string; profile?: string; 'aws-profile'?: string; region?: string },
  dir = stagesDir(),
): Target {
  const profile = options['aws-profile'] ?? options.profile;
  if (options.stage === undefined && profile === undefined && options.region === undefined) {
    return { kind: 'offline', stage: OFFLINE_STAGE, region: DEFAULT_REGION };
  }
  const stage = options.stage ?? OFFLINE_STAGE;
  return {
    kind: 'aws',
    stage,
    // The region the stage was deployed to, as `npm run deploy` kept it.
    region: options.region ?? readStageSettings(stage, dir)?.region ?? DEFAULT_REGION,
    profile,
  };
}

/** What the SDK clients of a deployed stage are built with. */
export const awsClientConfig = (target: Target & { kind: 'aws' }): { region: string; profile?: string } => ({
  region: target.region,
  ...(target.profile === undefined ? {} : { profile: target.profile }),
});

/** A deployed stage as its CloudFormation stack describes it. */
export interface DeployedStage {
  stackName: string;
  stackStatus: string;
  /** The account that owns the stack, and so the bucket (from the stack's ARN). */
  account: string;
  /** aws, aws-cn, aws-us-gov (from the stack's ARN). */
  partition: string;
  /** Undefined only for a stack without the bucket (a first deploy that rolled back). */
  uploadBucket: string | undefined;
  uploadBucketRetained: boolean;
  outputs: Record<string, string>;
}

const isMissing = (error: unknown): boolean =>
  error instanceof Error && error.name === 'ValidationError' && /does not exist/.test(error.message);

/** Reads the stage's stack; undefined when there is no such stack in the target's account and region. */
export async function describeStage(
  cloudFormation: Pick<CloudFormationClient, 'send'>,
  target: Target & { kind: 'aws' },
): Promise<DeployedStage | undefined> {
  const name = stackName(target.stage);
  let stack: Stack | undefined;
  try {
    [stack] = (await cloudFormation.send(new DescribeStacksCommand({ StackName: name }))).Stacks ?? [];
  } catch (error) {
    // CloudFormation answers a missing stack with a ValidationError "Stack with id … does not exist".
    if (isMissing(error)) return undefined;
    throw explainAwsError(error, target, undefined);
  }
  if (!stack || stack.StackStatus === 'DELETE_COMPLETE') return undefined;
  const outputs = Object.fromEntries(
    (stack.Outputs ?? []).map((output) => [output.OutputKey ?? '', output.OutputValue ?? '']),
  );
  let uploadBucket = outputs.UploadBucketName;
  if (!uploadBucket) {
    // A stack deployed before it had outputs: the bucket is its S3BucketUploads resource.
    try {
      const { StackResourceDetail } = await cloudFormation.send(
        new DescribeStackResourceCommand({ StackName: name, LogicalResourceId: 'S3BucketUploads' }),
      );
      uploadBucket = StackResourceDetail?.PhysicalResourceId || undefined;
    } catch (error) {
      if (!isMissing(error)) throw explainAwsError(error, target, undefined);
    }
  }
  return {
    stackName: name,
    stackStatus: stack.StackStatus ?? '',
    account: stack.StackId?.split(':')[4] ?? '',
    partition: stack.StackId?.split(':')[1] ?? 'aws',
    uploadBucket,
    uploadBucketRetained: outputs.UploadBucketRetained === 'true',
    outputs,
  };
}

/** The stage's stack, or a message saying what to do when there is none. */
export async function requireStack(
  target: Target & { kind: 'aws' },
  whenMissing = `npm run deploy -- --stage ${target.stage}`,
  cloudFormation: Pick<CloudFormationClient, 'send'> = new CloudFormationClient(awsClientConfig(target)),
): Promise<DeployedStage> {
  const deployed = await describeStage(cloudFormation, target);
  if (!deployed) {
    throw new UsageError(
      `stage ${target.stage} is not deployed in ${target.region} (no stack ${stackName(target.stage)}): ${whenMissing}.`,
    );
  }
  return deployed;
}

/** The deployed stage with its upload bucket, or a message saying how to deploy it. */
export async function requireDeployedStage(
  target: Target & { kind: 'aws' },
  whenMissing = `npm run deploy -- --stage ${target.stage}`,
  cloudFormation: Pick<CloudFormationClient, 'send'> = new CloudFormationClient(awsClientConfig(target)),
): Promise<DeployedStage & { uploadBucket: string }> {
  const deployed = await requireStack(target, whenMissing, cloudFormation);
  const { uploadBucket } = deployed;
  if (uploadBucket === undefined || !/^\d{12}$/.test(deployed.account)) {
    throw new UsageError(
      `stack ${deployed.stackName} (${deployed.stackStatus}) has no upload bucket: deploy it again with \`npm run deploy -- --stage ${target.stage}\`.`,
    );
  }
  return { ...deployed, uploadBucket };
}

/** Ends a script with a one-line message on stderr and exit code 1: no stack trace for expected failures. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export async function runMain(main: () => Promise<void>): Promise<void> {
  try {
    await main();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`error: ${message}\n`);
    process.exitCode = 1;
  }
}

/** Turns the SDK's connection and credential failures into a sentence that says what to do. */
export function explainAwsError(error: unknown, target: Target, endpoint: string | undefined): Error {
  if (!(error instanceof Error)) return new Error(String(error));
  const code = (error as NodeJS.ErrnoException).code ?? '';
  if (
    target.kind === 'offline' &&
    (code === 'ECONNREFUSED' || error.name === 'AggregateError' || /ECONNREFUSED/.test(error.message))
  ) {
    return new UsageError(
      `cannot reach ${endpoint ?? 'the offline stack'} — start it first with \`npm start\`.`,
    );
  }
  if (error.name === 'CredentialsProviderError') {
    return new UsageError(
      `no AWS credentials for stage "${target.stage}": pass --aws-profile <name> or run \`aws configure\`.`,
    );
  }
  return error;
}
