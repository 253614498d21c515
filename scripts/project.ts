/**
 * Names and local endpoints the scripts share with serverless.yml (test/template checks they agree).
 */
import { resolve } from 'node:path';

export const SERVICE = 'lambda-notes';
export const DEFAULT_REGION = 'ap-northeast-1';
export const OFFLINE_STAGE = 'dev';

export const uploadBucketName = (stage: string): string => `lambda-s3-test-${stage}`;
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
    stateDir: resolve(__dirname, '..', env.OFFLINE_STATE_DIR || '.offline'),
  };
}

/** The local S3's fixed credentials (serverless-s3-local); the offline Lambda endpoint accepts any. */
export const LOCAL_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

/** Where a script talks to: the offline stack (default) or a deployed stage. */
export type Target =
  | { kind: 'offline'; stage: string; region: string }
  | { kind: 'aws'; stage: string; region: string; profile: string | undefined };

export function targetFrom(options: { stage?: string; profile?: string; region?: string }): Target {
  if (options.stage === undefined && options.profile === undefined && options.region === undefined) {
    return { kind: 'offline', stage: OFFLINE_STAGE, region: DEFAULT_REGION };
  }
  return {
    kind: 'aws',
    stage: options.stage ?? OFFLINE_STAGE,
    region: options.region ?? DEFAULT_REGION,
    profile: options.profile,
  };
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
      `no AWS credentials for stage "${target.stage}": pass --profile <name> or run \`aws configure\`.`,
    );
  }
  return error;
}
