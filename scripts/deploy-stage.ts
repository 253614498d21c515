/**
 * Deploys a stage and keeps its settings, so that the next deploy of the stage, with or without flags, finds
 * them again:
 *
 *   npm run deploy -- --stage dev [--region r] [--aws-profile p] [--param="alarmEmail=me@example.com"] …
 *
 * The settings (uploadBucket, alarmEmail, helloReservedConcurrency, s3UploadReservedConcurrency, and the
 * region) go to stages/<stage>.json once the deploy succeeded; serverless.yml reads that file, so `npx sls
 * deploy` and `sls package` see the same values. `--param="name="` forgets a setting (back to the default).
 * Without the file (a fresh checkout), the settings the stack was deployed with are adopted from its outputs.
 * Any other --param applies to this deploy only, and every other flag goes to `sls deploy` as it is.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import {
  awsClientConfig,
  bucketNameProblem,
  DEFAULT_REGION,
  defaultUploadBucketName,
  type DeployedStage,
  describeStage,
  isSettingName,
  OFFLINE_STAGE,
  parseSetting,
  readStageSettings,
  runMain,
  type StageSettings,
  stageSettingsFile,
  stagesDir,
  type Target,
  UsageError,
  writeStageSettings,
} from './project';

export interface DeployArguments {
  stage: string;
  region: string | undefined;
  profile: string | undefined;
  /** --param name=value in the order given; a repeated name: the last wins, as with sls. */
  params: Array<[string, string]>;
  /** Everything else, for `sls deploy` as it is. */
  rest: string[];
}

/** Reads the flags sls deploy would read for stage, region, profile and params; keeps the others. */
export function parseDeployArguments(argv: string[]): DeployArguments {
  const parsed: DeployArguments = {
    stage: OFFLINE_STAGE,
    region: undefined,
    profile: undefined,
    params: [],
    rest: [],
  };
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i] as string;
    const match = /^(--stage|-s|--region|-r|--aws-profile|--profile|--param)(?:=(.*))?$/s.exec(arg);
    if (!match) {
      parsed.rest.push(arg);
      continue;
    }
    const flag = match[1] as string;
    let value = match[2];
    if (value === undefined) {
      value = argv[i + 1];
      if (value === undefined || value.startsWith('-')) throw new UsageError(`${flag} needs a value.`);
      i += 1;
    }
    if (flag === '--stage' || flag === '-s') parsed.stage = value;
    else if (flag === '--region' || flag === '-r') parsed.region = value;
    else if (flag === '--aws-profile' || flag === '--profile') parsed.profile = value;
    else {
      const separator = value.indexOf('=');
      if (separator <= 0) throw new UsageError(`--param takes name=value, not "${value}".`);
      parsed.params.push([value.slice(0, separator), value.slice(separator + 1)]);
    }
  }
  if (!/^[a-zA-Z0-9-]+$/.test(parsed.stage))
    throw new UsageError(`stage "${parsed.stage}": letters, digits and hyphens only.`);
  return parsed;
}

/** The settings a stack was deployed with, from its outputs (what a checkout without the file adopts). */
export function settingsOfStack(deployed: DeployedStage, stage: string, region: string): StageSettings {
  const settings: StageSettings = { region };
  // A stack deployed before the default name carried the account keeps its bucket: no replacement.
  if (
    deployed.uploadBucket !== undefined &&
    deployed.uploadBucket !== defaultUploadBucketName(stage, deployed.account, region)
  )
    settings.uploadBucket = deployed.uploadBucket;
  const { AlarmEmail, HelloReservedConcurrency, S3UploadReservedConcurrency } = deployed.outputs;
  if (AlarmEmail && AlarmEmail !== 'none') settings.alarmEmail = AlarmEmail;
  if (HelloReservedConcurrency && HelloReservedConcurrency !== 'none')
    settings.helloReservedConcurrency = HelloReservedConcurrency;
  if (S3UploadReservedConcurrency && S3UploadReservedConcurrency !== 'none')
    settings.s3UploadReservedConcurrency = S3UploadReservedConcurrency;
  return settings;
}

/**
 * The settings after this deploy's --param flags: a known setting is checked and kept (an empty value forgets
 * it); any other parameter is for this deploy only.
 */
export function applyParams(
  settings: StageSettings,
  params: Array<[string, string]>,
): { kept: StageSettings; oneOff: string[] } {
  const kept = new Map(Object.entries(settings));
  const oneOff: string[] = [];
  for (const [name, value] of params) {
    if (!isSettingName(name)) oneOff.push(`--param=${name}=${value}`);
    else if (value === '') kept.delete(name);
    else kept.set(name, parseSetting(name, value));
  }
  return { kept: Object.fromEntries(kept) as StageSettings, oneOff };
}

const describeSettings = (settings: StageSettings): string =>
  Object.entries(settings)
    .map(([name, value]) => `${name}=${String(value)}`)
    .join(', ') || 'none';

/** What deploy does to the world besides AWS's API: injected by tests. */
export interface DeployIo {
  out(text: string): void;
  /** Runs `sls <args>` with these extra environment variables; returns its exit code. */
  serverless(args: string[], env: Record<string, string>): number | null;
}

const processIo: DeployIo = {
  out: (text) => process.stdout.write(text),
  serverless(args, env) {
    const serverless = join(__dirname, '..', 'node_modules', 'serverless', 'bin', 'serverless.js');
    return spawnSync(process.execPath, [serverless, ...args], {
      stdio: 'inherit',
      env: { ...process.env, SLS_TELEMETRY_DISABLED: '1', ...env },
    }).status;
  },
};

export async function main(argv: string[] = process.argv.slice(2), io: DeployIo = processIo): Promise<void> {
  const { stage, region: regionFlag, profile, params, rest } = parseDeployArguments(argv);
  // Bad values are refused before anything reaches AWS.
  applyParams({}, params);
  const dir = stagesDir();
  const file = relative(process.cwd(), stageSettingsFile(stage, dir));
  const kept = readStageSettings(stage, dir);
  const region = regionFlag ?? kept?.region ?? DEFAULT_REGION;
  const target: Target & { kind: 'aws' } = { kind: 'aws', stage, region, profile };

  const deployed = await describeStage(new CloudFormationClient(awsClientConfig(target)), target);
  let settings: StageSettings;
  if (kept) {
    settings = { ...kept, region };
  } else if (deployed) {
    settings = settingsOfStack(deployed, stage, region);
    io.out(
      `no ${file}: keeping what stack ${deployed.stackName} was deployed with (${describeSettings(settings)})\n`,
    );
  } else {
    settings = { region };
  }

  const { kept: next, oneOff } = applyParams(settings, params);
  settings = next;
  if (oneOff.length > 0)
    io.out(
      `for this deploy only (not kept; put lasting values in serverless.yml params): ${oneOff.join(' ')}\n`,
    );

  if (settings.uploadBucket === undefined) {
    // The account id is always 12 digits: the length and characters can be checked before CloudFormation does.
    const name = defaultUploadBucketName(stage, '000000000000', region);
    const problem = bucketNameProblem(name);
    if (problem) {
      throw new UsageError(
        `the default bucket name for stage ${stage} (${defaultUploadBucketName(stage, '<account>', region)}) ${problem}: give one with --param="uploadBucket=<name>".`,
      );
    }
  }
  if (deployed?.uploadBucket !== undefined) {
    const next = settings.uploadBucket ?? defaultUploadBucketName(stage, deployed.account, region);
    if (next !== deployed.uploadBucket) {
      io.out(
        `uploadBucket changes from ${deployed.uploadBucket} to ${next}: CloudFormation creates the new bucket, and ${
          deployed.uploadBucketRetained
            ? `keeps ${deployed.uploadBucket} with its objects (retained)`
            : `deletes ${deployed.uploadBucket} if it is empty (otherwise it stays, outside the stack)`
        }\n`,
      );
    }
  }

  // serverless.yml reads the settings from the file: the new ones go to a file of their own for this deploy
  // and replace the kept ones only once it succeeded.
  const pending = await mkdtemp(join(tmpdir(), 'lambda-notes-stage-'));
  try {
    await writeStageSettings(stage, settings, pending);
    const args = ['deploy', '--stage', stage, '--region', region];
    if (profile !== undefined) args.push('--aws-profile', profile);
    args.push(...oneOff, ...rest);
    const status = io.serverless(args, { LAMBDA_NOTES_STAGES_DIR: pending });
    if (status !== 0)
      throw new UsageError(
        `sls ${args.join(' ')} failed (exit ${status}); ${kept ? `${file} unchanged` : `no ${file} written`}.`,
      );
  } finally {
    await rm(pending, { recursive: true, force: true });
  }
  await writeStageSettings(stage, settings, dir);
  io.out(`settings of stage ${stage} kept in ${file}: ${describeSettings(settings)}\n`);
}

if (require.main === module) void runMain(() => main());
