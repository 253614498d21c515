import { asyncPolicy } from './async-policy';
import type { AsyncFunction, Destination } from '../model/async-events';
import type { FunctionSpec } from '../environments/environment-types';
import { loggingConfig } from '../environments/logging-config';
import {
  LOCAL_ACCOUNT,
  type S3Subscription,
  type ScheduleRule,
  type ServiceDefinition,
} from '../model/service';

/** Serverless's normalized resource name: `nightly-report_v2` → `NightlyDashreportUnderscorev2`. */
function logicalName(functionKey: string): string {
  const name = functionKey.replace(/-/g, 'Dash').replace(/_/g, 'Underscore');
  return name.charAt(0).toUpperCase() + name.slice(1);
}

export function functionName(service: ServiceDefinition, functionKey: string): string {
  return (
    service.functions[functionKey]?.name ?? `${service.service}-${service.provider.stage}-${functionKey}`
  );
}

function resolveDestination(
  service: ServiceDefinition,
  functionKey: string,
  value: unknown,
): Destination | undefined {
  if (value === undefined || value === null) return undefined;
  const { type, arn } =
    typeof value === 'object'
      ? (value as { type?: unknown; arn?: unknown })
      : { type: undefined, arn: value };
  if (typeof arn === 'object' && arn !== null && 'Fn::GetAtt' in arn) {
    const [logicalId] = (arn as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'];
    const resource = service.resources?.Resources?.[logicalId];
    if (resource?.Type === 'AWS::SQS::Queue') {
      const queueName = resource.Properties?.QueueName;
      return { kind: 'sqs', queueName: typeof queueName === 'string' ? queueName : logicalId };
    }
    return { kind: 'unsupported', description: `${resource?.Type ?? 'unknown resource'} ${logicalId}` };
  }
  if (typeof arn !== 'string') {
    return { kind: 'unsupported', description: `destination ${JSON.stringify(value)} of ${functionKey}` };
  }
  const sqs = /^arn:aws[\w-]*:sqs:[^:]*:[^:]*:(.+)$/.exec(arn);
  if (sqs?.[1]) return { kind: 'sqs', queueName: sqs[1] };
  const lambdaName = /^arn:aws[\w-]*:lambda:[^:]*:[^:]*:function:([^:]+)/.exec(arn)?.[1] ?? arn;
  const target = Object.keys(service.functions).find(
    (key) => key === lambdaName || functionName(service, key) === lambdaName,
  );
  if (target !== undefined && (type === undefined || type === 'function'))
    return { kind: 'function', functionKey: target };
  return { kind: 'unsupported', description: `${String(type ?? 'destination')} ${arn}` };
}

/** reservedConcurrency of the functions that set it. */
export function reservedConcurrency(service: ServiceDefinition): Map<string, number> {
  const reserved = new Map<string, number>();
  for (const [key, definition] of Object.entries(service.functions)) {
    const setting = definition.reservedConcurrency;
    const value = Number(setting);
    // `${param:…, null}` leaves null: no reserved concurrency.
    if (
      setting !== undefined &&
      setting !== null &&
      setting !== '' &&
      Number.isInteger(value) &&
      value >= 0
    ) {
      reserved.set(key, value);
    }
  }
  return reserved;
}

/** Each function as the async queue sees it: policy, destinations, concurrency. */
/**
 * `pollers`: queued events of a function run at once (its environments busy with them) when reservedConcurrency
 * does not allow more; the offline settings give it (LAMBDA_ASYNC_POLLERS).
 */
export function asyncFunctions(
  service: ServiceDefinition,
  timeScale: number,
  pollers: number,
): Map<string, AsyncFunction> {
  const functions = new Map<string, AsyncFunction>();
  const reserved = reservedConcurrency(service);
  for (const [key, definition] of Object.entries(service.functions)) {
    functions.set(key, {
      key,
      arn: `arn:aws:lambda:${service.provider.region}:${LOCAL_ACCOUNT}:function:${functionName(service, key)}:$LATEST`,
      policy: asyncPolicy(key, definition, timeScale),
      onSuccess: resolveDestination(service, key, definition.destinations?.onSuccess),
      onFailure: resolveDestination(service, key, definition.destinations?.onFailure),
      // Pollers of the local queue; reserved concurrency itself is enforced per run (environments/concurrency.ts),
      // so that events beyond it are throttled and retried as Lambda does, not silently held back.
      maxConcurrency: Math.max(pollers, reserved.get(key) ?? 0),
      ...(reserved.has(key) ? { reservedConcurrency: reserved.get(key) } : {}),
    });
  }
  return functions;
}

function bucketName(service: ServiceDefinition, bucket: unknown): string | undefined {
  if (typeof bucket !== 'string') return undefined;
  return service.provider.s3?.[bucket]?.name ?? bucket;
}

/** The `s3` events of every function, bucket references resolved to names. */
export function s3Subscriptions(service: ServiceDefinition): S3Subscription[] {
  const subscriptions: S3Subscription[] = [];
  for (const [functionKey, definition] of Object.entries(service.functions)) {
    for (const event of definition.events ?? []) {
      const s3 = event.s3;
      if (s3 === undefined) continue;
      const config = (typeof s3 === 'string' ? { bucket: s3 } : s3) as {
        bucket?: unknown;
        event?: string;
        events?: string[];
        rules?: Array<{ prefix?: string; suffix?: string }>;
      };
      const bucket = bucketName(service, config.bucket);
      if (bucket === undefined) continue;
      const prefix = config.rules?.find((rule) => rule.prefix !== undefined)?.prefix;
      const suffix = config.rules?.find((rule) => rule.suffix !== undefined)?.suffix;
      for (const name of config.events ?? [config.event ?? 's3:ObjectCreated:*']) {
        subscriptions.push({ functionKey, bucket, event: name, prefix, suffix });
      }
    }
  }
  return subscriptions;
}

/** A positive number from serverless.yml, or the framework's default for it. */
function positive(value: unknown, fallback: number): number {
  const number = Number(value);
  return value !== undefined && value !== null && value !== '' && Number.isFinite(number) && number > 0
    ? number
    : fallback;
}

/** Variables as the deployed function gets them: strings, and none for a value left null (`${param:…, null}`). */
function variables(...sources: Array<Record<string, unknown> | undefined>): Record<string, string> {
  const merged = new Map<string, unknown>();
  for (const source of sources)
    for (const [name, value] of Object.entries(source ?? {})) merged.set(name, value);
  const result: Record<string, string> = {};
  for (const [name, value] of merged) if (value !== null && value !== undefined) result[name] = String(value);
  return result;
}

/**
 * What each function's execution environments run offline: its bundle under `taskRoot`, memory size and timeout
 * (the framework's defaults, 1024 MB and 6 s, where serverless.yml sets none), its variables (provider's, then the
 * function's, then `local`: the local endpoints, which win).
 */
export function functionSpecs(
  service: ServiceDefinition,
  options: { readonly taskRoot: string; readonly local: Readonly<Record<string, string>> },
): Map<string, FunctionSpec> {
  const { provider } = service;
  const specs = new Map<string, FunctionSpec>();
  for (const [key, definition] of Object.entries(service.functions)) {
    if (typeof definition.handler !== 'string') continue;
    const name = functionName(service, key);
    specs.set(key, {
      key,
      name,
      arn: `arn:aws:lambda:${provider.region}:${LOCAL_ACCOUNT}:function:${name}`,
      handler: definition.handler,
      taskRoot: options.taskRoot,
      runtime: definition.runtime ?? provider.runtime ?? 'nodejs20.x',
      memorySizeMb: positive(definition.memorySize ?? provider.memorySize, 1024),
      timeoutSeconds: positive(definition.timeout ?? provider.timeout, 6),
      region: provider.region,
      variables: variables(provider.environment, definition.environment, options.local),
      logging: loggingConfig(definition.logs, provider.logs),
    });
  }
  return specs;
}

/** Every enabled schedule expression, with the rule ARN its events carry in `resources`. */
export function scheduleRules(service: ServiceDefinition): ScheduleRule[] {
  const rules: ScheduleRule[] = [];
  for (const [functionKey, definition] of Object.entries(service.functions)) {
    let index = 0;
    for (const event of definition.events ?? []) {
      const schedule = event.schedule;
      if (schedule === undefined) continue;
      const config = (typeof schedule === 'string' ? { rate: schedule } : schedule) as {
        rate?: string | string[];
        enabled?: unknown;
        input?: unknown;
        name?: string;
      };
      // Serverless numbers one rule per expression, disabled ones included.
      for (const expression of [config.rate ?? []].flat()) {
        index += 1;
        if (config.enabled === false || config.enabled === 'false') continue;
        const name =
          config.name ??
          `${service.service}-${service.provider.stage}-${logicalName(functionKey)}EventsRuleSchedule${index}`;
        const ruleArn = `arn:aws:events:${service.provider.region}:${LOCAL_ACCOUNT}:rule/${name}`;
        rules.push({ functionKey, expression, ruleArn, input: config.input });
      }
    }
  }
  return rules;
}

/** Removes the events the offline emulation dispatches itself, so no other plugin dispatches them too. */
export function takeAsyncEvents(service: ServiceDefinition): void {
  for (const definition of Object.values(service.functions)) {
    definition.events = (definition.events ?? []).filter(
      (event) => event.s3 === undefined && event.schedule === undefined,
    );
  }
}
