/**
 * The kept settings of a stage (uploadBucket, alarmEmail, helloReservedConcurrency, s3UploadReservedConcurrency)
 * change only when a deploy names them. Every deploy passes here, whatever started it — `npm run deploy`,
 * `npx sls deploy` in a fresh clone, CI's `sls deploy --package …` — through the local plugin
 * scripts/kept-settings-plugin.cjs, just before the framework reaches CloudFormation: the template about to be
 * deployed is compared with what the stack's outputs say it was deployed with, and a deploy that would change a
 * setting nobody named stops, naming it.
 *
 * Why stop rather than read the settings from the stack while serverless.yml is resolved: `sls package`, offline
 * and the tests need no AWS credentials, and a deploy of a package made earlier resolves nothing at all; this
 * check sees the very template about to be deployed, with the deploy's own credentials. The stack is the record
 * (every checkout can read it); stages/<stage>.json is only this checkout's copy.
 */
import { CloudFormationClient, type CloudFormationClientConfig } from '@aws-sdk/client-cloudformation';
import { existsSync } from 'node:fs';
import { relative } from 'node:path';
import {
  defaultUploadBucketName,
  type DeployedStage,
  describeStage,
  explainAwsError,
  isSettingName,
  SETTING_NAMES,
  type SettingName,
  stackName,
  type StageSettings,
  stageSettingsFile,
  UsageError,
} from './project';

/** What a stack's outputs say: a setting's value, or NONE when it is not set. A missing key: not stated. */
export type SettingValues = Partial<Record<SettingName, string>>;
export const NONE = 'none';

/** The environment variable npm run deploy names its deliberate changes in (`--param="alarmEmail="` included). */
export const NAMED_CHANGES_VARIABLE = 'LAMBDA_NOTES_SETTING_CHANGES';

/** The parts of a CloudFormation template read here. */
export interface DeployTemplate {
  Resources?: Record<string, { Properties?: Record<string, unknown> } | undefined>;
  Outputs?: Record<string, unknown>;
}

/** A template value that is a plain string, or `Fn::Sub` of a string with only pseudo parameters in it. */
function resolveText(value: unknown, pseudo: Record<string, string>): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  const sub = (value as Record<string, unknown> | null)?.['Fn::Sub'];
  if (typeof sub !== 'string') return undefined;
  const resolved = sub.replace(/\$\{(AWS::[A-Za-z]+)\}/g, (whole, name: string) => pseudo[name] ?? whole);
  return resolved.includes('${') ? undefined : resolved;
}

/**
 * What the stack's outputs will say once this template is deployed, for the stack's account, region and
 * partition (the default bucket name is an `Fn::Sub` CloudFormation resolves).
 */
export function settingsInTemplate(
  template: DeployTemplate,
  where: { account: string; region: string; partition: string },
): SettingValues {
  const pseudo = {
    'AWS::AccountId': where.account,
    'AWS::Region': where.region,
    'AWS::Partition': where.partition,
  };
  const values: SettingValues = {};
  const bucket = resolveText(template.Resources?.S3BucketUploads?.Properties?.BucketName, pseudo);
  if (bucket !== undefined) values.uploadBucket = bucket;
  // The subscription exists only under HasAlarmEmail; its endpoint is the address, empty when there is none.
  const email = template.Resources?.AlarmEmailSubscription?.Properties?.Endpoint;
  if (typeof email === 'string') values.alarmEmail = email === '' ? NONE : email;
  for (const [name, output] of [
    ['helloReservedConcurrency', 'HelloReservedConcurrency'],
    ['s3UploadReservedConcurrency', 'S3UploadReservedConcurrency'],
  ] as const) {
    const value = resolveText((template.Outputs?.[output] as { Value?: unknown } | undefined)?.Value, pseudo);
    if (value !== undefined) values[name] = value;
  }
  return values;
}

/** What a deployed stack says it was deployed with (a stack older than the outputs states its bucket only). */
export function settingsOfDeployedStack(deployed: DeployedStage): SettingValues {
  const values: SettingValues = {};
  if (deployed.uploadBucket !== undefined) values.uploadBucket = deployed.uploadBucket;
  const { AlarmEmail, HelloReservedConcurrency, S3UploadReservedConcurrency } = deployed.outputs;
  if (AlarmEmail) values.alarmEmail = AlarmEmail;
  if (HelloReservedConcurrency) values.helloReservedConcurrency = HelloReservedConcurrency;
  if (S3UploadReservedConcurrency) values.s3UploadReservedConcurrency = S3UploadReservedConcurrency;
  return values;
}

/**
 * The same as settings to keep (stages/<stage>.json's form): nothing for a setting at its default — NONE, or
 * the default bucket name of the stack's account and region.
 */
export function keptFromStated(
  stated: SettingValues,
  stage: string,
  account: string,
  region: string,
): StageSettings {
  const kept: StageSettings = {};
  for (const name of SETTING_NAMES) {
    const value = stated[name];
    if (value === undefined || value === NONE) continue;
    if (name === 'uploadBucket' && value === defaultUploadBucketName(stage, account, region)) continue;
    kept[name] = value;
  }
  return kept;
}

export interface SettingChange {
  readonly name: SettingName;
  readonly from: string;
  readonly to: string;
}

/** The settings this deploy would change that nobody named; a setting either side does not state is not compared. */
export function unnamedChanges(
  deployed: SettingValues,
  next: SettingValues,
  named: ReadonlySet<string>,
): SettingChange[] {
  return SETTING_NAMES.flatMap((name) => {
    const from = deployed[name];
    const to = next[name];
    return from === undefined || to === undefined || from === to || named.has(name)
      ? []
      : [{ name, from, to }];
  });
}

/** The kept settings a deploy names: `--param name=…` of sls, and what npm run deploy passes in the environment. */
export function namedSettings(params: unknown, env: NodeJS.ProcessEnv = process.env): Set<SettingName> {
  const given = [params ?? []].flat().map((param) => String(param).split('=')[0] ?? '');
  const passed = (env[NAMED_CHANGES_VARIABLE] ?? '').split(',');
  return new Set([...given, ...passed].filter(isSettingName));
}

/** The sentence that stops a deploy: each setting, from what to what, and the two ways on. */
export function refusal(stack: string, stage: string, changes: readonly SettingChange[]): string {
  const file = stageSettingsFile(stage);
  const where = relative(process.cwd(), file) || file;
  const why = existsSync(file)
    ? `${where} (this checkout's copy of the settings) says otherwise`
    : `this checkout has no ${where}, so serverless.yml's defaults apply`;
  const list = changes.map(({ name, from, to }) => `${name} ${from} → ${to}`).join(', ');
  return (
    `deploy stopped before any change: it would change what stack ${stack} was deployed with — ${list} — ` +
    `and no --param named ${changes.length === 1 ? 'it' : 'them'} (${why}). ` +
    `Run \`npm run deploy -- --stage ${stage}\`, which deploys what the stack has, or name each change with ` +
    `--param="<setting>=<value>" (with npm run deploy, --param="<setting>=" sets it back to its default).`
  );
}

/** The warning of a deploy whose alarms reach nobody. */
export function alarmEmailWarning(next: SettingValues, stage: string): string | undefined {
  if (next.alarmEmail !== NONE) return undefined;
  return `no alarmEmail for stage ${stage}: its alarms go to the SNS topic only and reach nobody. Give one with npm run deploy -- --stage ${stage} --param="alarmEmail=you@example.com".`;
}

/**
 * Stops a deploy that would change a kept setting nobody named (UsageError, naming each); a first deploy (no
 * stack yet) and a stack that states nothing pass. Returns what the deployed stack will state.
 */
export async function checkKeptSettings(options: {
  cloudFormation: Pick<CloudFormationClient, 'send'>;
  stage: string;
  region: string;
  template: DeployTemplate;
  named: ReadonlySet<string>;
}): Promise<SettingValues> {
  const { stage, region, template, named } = options;
  const target = { kind: 'aws', stage, region, profile: undefined } as const;
  let deployed: DeployedStage | undefined;
  try {
    deployed = await describeStage(options.cloudFormation, target);
  } catch (error) {
    throw explainAwsError(error, target, undefined);
  }
  // A new stack: its account is not known here, and only the default bucket name would need it.
  const next = settingsInTemplate(template, {
    account: deployed?.account ?? '<account>',
    region,
    partition: deployed?.partition ?? 'aws',
  });
  if (!deployed) return next;
  const changes = unnamedChanges(settingsOfDeployedStack(deployed), next, named);
  if (changes.length > 0) throw new UsageError(refusal(deployed.stackName, stage, changes));
  return next;
}

/** The parts of the framework (osls 4) the deploy check uses. */
export interface Framework {
  service: { provider: { compiledCloudFormationTemplate?: DeployTemplate } };
  getProvider(name: 'aws'): {
    getStage(): string;
    getRegion(): string;
    getAwsSdkV3Config(): Promise<CloudFormationClientConfig>;
  };
  classes: { Error: new (message: string) => Error };
}

/**
 * before:deploy:deploy — the template is compiled (or read from --package), nothing has reached CloudFormation.
 * A refusal is the framework's own error: its message, no stack trace.
 */
export async function guardDeploy(
  framework: Framework,
  cliOptions: { param?: unknown },
  log: { warning(text: string): void },
): Promise<void> {
  const provider = framework.getProvider('aws');
  const stage = provider.getStage();
  const template = framework.service.provider.compiledCloudFormationTemplate;
  if (!template) throw new framework.classes.Error('no compiled CloudFormation template to deploy.');
  try {
    const next = await checkKeptSettings({
      cloudFormation: new CloudFormationClient(await provider.getAwsSdkV3Config()),
      stage,
      region: provider.getRegion(),
      template,
      named: namedSettings(cliOptions.param),
    });
    const warning = alarmEmailWarning(next, stage);
    if (warning) log.warning(warning);
  } catch (error) {
    if (error instanceof UsageError) throw new framework.classes.Error(error.message);
    // An AWS refusal (credentials, permissions) is the deploy's to report, as its own error: no stack trace.
    const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    throw new framework.classes.Error(
      `could not read stack ${stackName(stage)} to check the kept settings of stage ${stage}: ${reason}`,
    );
  }
}
