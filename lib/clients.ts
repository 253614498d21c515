import { config, readCredentials } from './config';
import { S3Client } from './s3-client';

/** Built once per container so connections are reused across invocations. */
export const s3 = new S3Client({
  region: config.region,
  // Offline: the local S3, buckets by path (http://localhost:4569/<bucket>/<key>).
  endpoint: config.s3Endpoint,
  credentials: () => readCredentials(),
  maxAttempts: config.maxAttempts,
  // The local S3 predates flexible checksums and sends none; on AWS, as the SDK does by default.
  validateChecksums: config.s3Endpoint === undefined,
});
