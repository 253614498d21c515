/**
 * Deploys a stage and keeps its settings, so that the next deploy of the stage, with or without flags, from this
 * checkout or any other, deploys them again:
 *
 *   npm run deploy -- --stage dev [--region r] [--aws-profile p] [--param="alarmEmail=me@example.com"] …
 *
 * The settings (uploadBucket, alarmEmail, helloReservedConcurrency, s3UploadReservedConcurrency) start from what
 * the stage's stack says it was deployed with (its outputs: the record every checkout finds); what the stack does
 * not state (no stack yet, or one older than the outputs) comes from stages/<stage>.json, this checkout's copy,
 * which also keeps the region. `--param="name=value"` changes a setting, `--param="name="` forgets it (back to the
 * default); those are the deploy's named changes, which the check every deploy passes (scripts/kept-settings.ts)
 * lets through. The file is written once the deploy succeeded; serverless.yml reads it, so `npx sls deploy` and
 * `sls package` see the same values. Any other --param applies to this deploy only, and every other flag goes to
 * `sls deploy` as it is.
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
  SETTING_NAMES,
  type StageSettings,
  stageSettingsFile,
  stagesDir,
  type Target,
  UsageError,
  writeStageSettings,
} from './project';
import { keptFromStated, NAMED_CHANGES_VARIABLE, settingsOfDeployedStack } from './kept-settings';

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

/**
 * The settings this deploy starts from: what the stack states (the record), else this checkout's file. Says when
 * the file is missing or disagrees with the stack.
 */
function startingSettings(
  deployed: DeployedStage | undefined,
  kept: StageSettings | undefined,
  stage: string,
  region: string,
  file: string,
  io: DeployIo,
): StageSettings {
  const stated = deployed ? settingsOfDeployedStack(deployed) : {};
  const fromStack = deployed ? keptFromStated(stated, stage, deployed.account, region) : {};
  const settings: StageSettings = { region };
  const overruled: string[] = [];
  for (const name of SETTING_NAMES) {
    const value = stated[name] === undefined ? kept?.[name] : fromStack[name];
    if (value !== undefined) settings[name] = value;
    if (kept && stated[name] !== undefined && kept[name] !== fromStack[name])
      overruled.push(
        `${name}=${kept[name] ?? 'default'} (the stack has ${fromStack[name] ?? 'the default'})`,
      );
  }
  if (deployed && !kept && Object.keys(stated).length > 0) {
    io.out(
      `no ${file}: keeping what stack ${deployed.stackName} was deployed with (${describeSettings(settings)})\n`,
    );
  }
  if (deployed && overruled.length > 0) {
    io.out(
      `${file} is out of date — it says ${overruled.join(', ')}: keeping what stack ${deployed.stackName} was deployed with; --param="<name>=<value>" changes a setting\n`,
    );
  }
  return settings;
}

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
  const { kept: settings, oneOff } = applyParams(
    startingSettings(deployed, kept, stage, region, file, io),
    params,
  );
  // The settings this deploy changes on purpose: the check every deploy passes lets exactly these through.
  const named = new Set(params.map(([name]) => name).filter(isSettingName));
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
    const status = io.serverless(args, {
      LAMBDA_NOTES_STAGES_DIR: pending,
      [NAMED_CHANGES_VARIABLE]: [...named].join(','),
    });
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
