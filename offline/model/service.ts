/** The service as serverless.yml defines it, in the parts the offline emulation reads. */

/** The parts of a resolved serverless.yml the offline emulation reads. */
export interface FunctionDefinition {
  name?: string;
  handler?: string;
  runtime?: string;
  memorySize?: unknown;
  timeout?: unknown;
  events?: Array<Record<string, unknown>>;
  environment?: Record<string, unknown>;
  maximumRetryAttempts?: unknown;
  maximumEventAge?: unknown;
  reservedConcurrency?: unknown;
  destinations?: { onSuccess?: unknown; onFailure?: unknown };
  /** Lambda's LoggingConfig (logFormat, applicationLogLevel, systemLogLevel, logGroup). */
  logs?: unknown;
}

export interface ServiceDefinition {
  service: string;
  provider: {
    region: string;
    stage: string;
    runtime?: string;
    memorySize?: unknown;
    timeout?: unknown;
    environment?: Record<string, unknown>;
    s3?: Record<string, { name?: string }>;
    /** `logs.lambda` is the functions' LoggingConfig. */
    logs?: unknown;
  };
  functions: Record<string, FunctionDefinition>;
  resources?: {
    Resources?: Record<string, { Type?: string; Properties?: Record<string, unknown> }>;
    /** Properties merged into the resources the framework generates (HttpApiStage, …). */
    extensions?: Record<string, { Properties?: Record<string, unknown> }>;
  };
}

export interface ScheduleRule {
  readonly functionKey: string;
  readonly expression: string;
  readonly ruleArn: string;
  /** `input` of the schedule event: sent instead of the Scheduled Event envelope. */
  readonly input: unknown;
}

export const LOCAL_ACCOUNT = '000000000000';

/** One `s3` event of serverless.yml, bucket name resolved. */
export interface S3Subscription {
  readonly functionKey: string;
  readonly bucket: string;
  /** As written in serverless.yml: `s3:ObjectCreated:*`, `s3:ObjectRemoved:Delete`, … */
  readonly event: string;
  readonly prefix: string | undefined;
  readonly suffix: string | undefined;
}
