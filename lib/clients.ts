import { S3Client } from '@aws-sdk/client-s3';
import { config } from './config';

/** Built once per container so connections are reused across invocations. */
export const s3 = new S3Client(
  config.s3Endpoint === undefined
    ? { region: config.region }
    : {
        region: config.region,
        endpoint: config.s3Endpoint,
        // The local S3 serves buckets by path (http://localhost:4569/<bucket>/<key>).
        forcePathStyle: true,
        // The local S3 predates flexible checksums; sending them only when an operation requires one keeps
        // uploads byte-for-byte what the client sent.
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
      },
);
