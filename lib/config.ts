import { ConfigurationError } from './errors';

/** Everything the functions read from their environment, validated once at cold start. */
export interface Config {
  /** Region of the S3 client: the function's own region (Lambda sets AWS_REGION). */
  readonly region: string;
  /**
   * Set only offline (`npm start`, `sls invoke local`): the local S3 endpoint. Unset in AWS, where the
   * SDK uses the regional endpoint.
   */
  readonly s3Endpoint: string | undefined;
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
  return { region, s3Endpoint };
}

export const config: Config = readConfig();
