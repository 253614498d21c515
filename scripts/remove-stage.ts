/**
 * Removes a deployed stage: empties its upload bucket first (CloudFormation cannot delete a bucket that holds
 * objects), then runs `sls remove`.
 *
 *   npm run remove -- --stage dev [--profile p] [--region r] [--bucket b]
 *
 * S3 keeps a deleted bucket's name reserved for a while: deploying the same stage again at once can fail with
 * OperationAborted. This script says so and how to go on (wait, or deploy with another --param=uploadBucket).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DeleteObjectsCommand, ListObjectsCommand, NoSuchBucket, S3Client } from '@aws-sdk/client-s3';
import { explainAwsError, runMain, targetFrom, uploadBucketName, UsageError } from './project';

/** Deletes every object of the bucket, 1,000 (S3's maximum) per request; returns how many. */
export async function emptyBucket(s3: Pick<S3Client, 'send'>, bucket: string): Promise<number> {
  let deleted = 0;
  for (;;) {
    // Always the first page, since the previous one was deleted. ListObjects (v1): the local S3 cannot make
    // ListObjectsV2 continuation tokens on Node 20 and fails on any truncated listing.
    const { Contents = [] } = await s3.send(new ListObjectsCommand({ Bucket: bucket, MaxKeys: 1000 }));
    if (Contents.length === 0) return deleted;
    const { Errors = [] } = await s3.send(
      new DeleteObjectsCommand({
        Bucket: bucket,
        Delete: { Objects: Contents.map(({ Key }) => ({ Key })), Quiet: true },
      }),
    );
    if (Errors.length > 0) {
      throw new Error(
        `could not delete ${Errors.length} object(s), e.g. ${Errors[0]?.Key}: ${Errors[0]?.Message}`,
      );
    }
    deleted += Contents.length;
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      stage: { type: 'string' },
      profile: { type: 'string' },
      region: { type: 'string' },
      bucket: { type: 'string' },
    },
  });
  if (values.stage === undefined)
    throw new UsageError('give the stage to remove: npm run remove -- --stage <stage>.');
  const target = targetFrom(values);
  if (target.kind !== 'aws')
    throw new UsageError('give the stage to remove: npm run remove -- --stage <stage>.');
  const bucket = values.bucket ?? uploadBucketName(target.stage);
  const s3 = new S3Client({ region: target.region, ...(target.profile ? { profile: target.profile } : {}) });

  try {
    const deleted = await emptyBucket(s3, bucket);
    process.stdout.write(`emptied s3://${bucket} (${deleted} object(s) deleted)\n`);
  } catch (error) {
    if (error instanceof NoSuchBucket || (error as Error).name === 'NoSuchBucket') {
      process.stdout.write(`s3://${bucket} does not exist; nothing to empty\n`);
    } else {
      throw explainAwsError(error, target, undefined);
    }
  }

  const args = ['remove', '--stage', target.stage, '--region', target.region];
  if (target.profile) args.push('--aws-profile', target.profile);
  if (values.bucket) args.push(`--param=uploadBucket=${values.bucket}`);
  const serverless = join(__dirname, '..', 'node_modules', 'serverless', 'bin', 'serverless.js');
  const result = spawnSync(process.execPath, [serverless, ...args], {
    stdio: 'inherit',
    env: { ...process.env, SLS_TELEMETRY_DISABLED: '1' },
  });
  if (result.status !== 0) throw new UsageError(`sls ${args.join(' ')} failed (exit ${result.status}).`);
  process.stdout.write(
    `stage ${target.stage} removed. S3 may keep the name ${bucket} reserved for a while: a deploy right away can fail with OperationAborted — wait, or deploy with --param="uploadBucket=<another name>".\n`,
  );
}

if (require.main === module) void runMain(main);
