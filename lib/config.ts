import { ConfigurationError } from './errors';
import type { Credentials } from './sigv4';

/** Everything the functions read from their environment, validated once at cold start. */
export interface Config {
  /** Region of the S3 client: the function's own region (Lambda sets AWS_REGION). */
  readonly region: string;
  /**
   * Set only offline (`npm start`, `sls invoke local`): the local S3 endpoint. Unset in AWS, where the
   * client uses the regional endpoint.
   */
  readonly s3Endpoint: string | undefined;
  /** Attempts per S3 request, the first included: 3 unless AWS_MAX_ATTEMPTS says otherwise (as for the AWS SDK). */
  readonly maxAttempts: number;
}

export function readConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const region = env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  if (!region) {
    throw new ConfigurationError(
      'AWS_REGION is not set (Lambda sets it; offline, serverless.yml provider.region does).',
    );
  }
  const s3Endpoint = env.S3_ENDPOINT || undefined;
  if (s3Endpoint !== undefined && !/^https?:\/\/[^/\s]+\/?$/.test(s3Endpoint)) {
    throw new ConfigurationError(
      `S3_ENDPOINT must be an http(s) URL such as http://localhost:4569, got "${s3Endpoint}".`,
    );
  }
  const attempts = env.AWS_MAX_ATTEMPTS || '3';
  const maxAttempts = Number(attempts);
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1) {
    throw new ConfigurationError(`AWS_MAX_ATTEMPTS must be a whole number ≥ 1, got "${attempts}".`);
  }
  return { region, s3Endpoint, maxAttempts };
}

/**
 * The function role's credentials, which Lambda puts in the environment (offline, the offline plugin puts the
 * local S3's there). Read when S3 is first called, so that a function that never calls it never needs them.
 */
export function readCredentials(env: NodeJS.ProcessEnv = process.env): Credentials {
  const { AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey } = env;
  if (!accessKeyId || !secretAccessKey) {
    throw new ConfigurationError(
      'AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set (Lambda sets them from the function role; offline, the offline plugin does).',
    );
  }
  return { accessKeyId, secretAccessKey, sessionToken: env.AWS_SESSION_TOKEN || undefined };
}

export const config: Config = readConfig();
