/**
 * Uploads a file under targets/ of the upload bucket, as the notes do with
 * `aws s3 cp test.txt s3://<bucket>/targets/` — to the local S3 by default, to a deployed stage with --stage.
 *
 *   npm run upload                        test.txt → local S3 (npm start must be running)
 *   npm run upload -- photo.jpg           any file
 *   npm run upload -- --stage dev [--aws-profile p] [--region r] [--bucket b]
 *
 * On AWS the bucket is the one the stage's stack names (its UploadBucketName output), and every request says
 * which account must own it (ExpectedBucketOwner): a name that another account owns gets 403, never the file.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { parseArgs } from 'node:util';
import { NoSuchBucket, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  AWS_OPTIONS,
  awsClientConfig,
  explainAwsError,
  LOCAL_CREDENTIALS,
  localUploadBucketName,
  offlineEndpoints,
  requireDeployedStage,
  runMain,
  type Target,
  targetFrom,
  UsageError,
} from './project';

const CONTENT_TYPES: Record<string, string> = {
  '.txt': 'text/plain',
  '.csv': 'text/csv',
  '.json': 'application/json',
  '.html': 'text/html',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.pdf': 'application/pdf',
};

function s3ClientFor(target: Target): { client: S3Client; endpoint: string | undefined } {
  if (target.kind === 'offline') {
    const endpoint = offlineEndpoints().s3;
    return {
      endpoint,
      client: new S3Client({
        region: target.region,
        endpoint,
        forcePathStyle: true,
        credentials: LOCAL_CREDENTIALS,
        requestChecksumCalculation: 'WHEN_REQUIRED',
      }),
    };
  }
  return { endpoint: undefined, client: new S3Client(awsClientConfig(target)) };
}

/** The bucket to write to and, on AWS, the account that must own it. */
async function destinationOf(
  target: Target,
  bucket: string | undefined,
): Promise<{ bucket: string; owner: string | undefined }> {
  if (target.kind === 'offline')
    return { bucket: bucket ?? localUploadBucketName(target.stage), owner: undefined };
  const deployed = await requireDeployedStage(target);
  return { bucket: bucket ?? deployed.uploadBucket, owner: deployed.account };
}

export async function main(argv: string[] = process.argv.slice(2)): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      ...AWS_OPTIONS,
      bucket: { type: 'string' },
      prefix: { type: 'string', default: 'targets/' },
    },
  });
  if (positionals.length > 1) throw new UsageError('give one file to upload (default: test.txt).');
  const file = positionals[0] ?? 'test.txt';
  const size = await stat(file).then(
    (info) => (info.isFile() ? info.size : Number.NaN),
    () => Number.NaN,
  );
  if (Number.isNaN(size)) throw new UsageError(`${file}: no such file.`);

  const target = targetFrom(values);
  const { bucket, owner } = await destinationOf(target, values.bucket);
  const key = `${values.prefix}${basename(file)}`;
  const contentType = CONTENT_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream';
  const { client, endpoint } = s3ClientFor(target);

  try {
    await client.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: createReadStream(file),
        ContentLength: size,
        ContentType: contentType,
        ...(owner === undefined ? {} : { ExpectedBucketOwner: owner }),
      }),
    );
  } catch (error) {
    if (error instanceof NoSuchBucket || (error as Error).name === 'NoSuchBucket') {
      throw new UsageError(
        `bucket ${bucket} does not exist${target.kind === 'aws' ? ` — deploy first: npm run deploy -- --stage ${target.stage}` : ''}.`,
      );
    }
    if (owner !== undefined && (error as Error).name === 'AccessDenied') {
      throw new UsageError(
        `S3 refused the upload to ${bucket}: it is not owned by account ${owner} (the account of stage ${target.stage}), or your credentials may not write to it.`,
      );
    }
    throw explainAwsError(error, target, endpoint);
  }
  const where =
    target.kind === 'offline' ? `the local S3 (${endpoint})` : `AWS ${target.region} (stage ${target.stage})`;
  process.stdout.write(
    `upload: ${file} (${size} bytes, ${contentType}) to s3://${bucket}/${key} on ${where}\n`,
  );
  if (target.kind === 'offline') process.stdout.write('s3Upload now runs for it: see the npm start log\n');
}

if (require.main === module) void runMain(() => main());
