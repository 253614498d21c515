/**
 * Removes a deployed stage: empties its upload bucket first (CloudFormation cannot delete a bucket that holds
 * objects), then runs `sls remove`.
 *
 *   npm run remove -- --stage dev [--aws-profile p] [--region r] [--force]
 *
 * A stage whose bucket is retained (prod: DeletionPolicy Retain, see the stack's UploadBucketRetained output)
 * keeps its bucket and objects; removing it still deletes its functions, queue and alarms, so it asks for the
 * stage's name first, or takes --force (no terminal: --force is required).
 * A stack without an upload bucket (what a first deploy that rolled back leaves: ROLLBACK_COMPLETE, or
 * UPDATE_ROLLBACK_COMPLETE when the framework's own first step had succeeded) has nothing to empty or keep: it is
 * removed without a question, and the script says so.
 * S3 keeps a deleted bucket's name reserved for a while: deploying the same stage again at once can fail with
 * OperationAborted. This script says so and how to go on.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { parseArgs } from 'node:util';
import { DeleteObjectsCommand, ListObjectsCommand, NoSuchBucket, S3Client } from '@aws-sdk/client-s3';
import {
  AWS_OPTIONS,
  awsClientConfig,
  type DeployedStage,
  explainAwsError,
  requireStack,
  runMain,
  stageSettingsFile,
  type Target,
  targetFrom,
  UsageError,
} from './project';

/** Deletes every object of the bucket, 1,000 (S3's maximum) per request; returns how many. */
export async function emptyBucket(
  s3: Pick<S3Client, 'send'>,
  bucket: string,
  expectedOwner?: string,
): Promise<number> {
  const owner = expectedOwner === undefined ? {} : { ExpectedBucketOwner: expectedOwner };
  let deleted = 0;
  for (;;) {
    // Always the first page, since the previous one was deleted. ListObjects (v1): the local S3 cannot make
    // ListObjectsV2 continuation tokens on Node 20 and fails on any truncated listing.
    const { Contents = [] } = await s3.send(
      new ListObjectsCommand({ Bucket: bucket, MaxKeys: 1000, ...owner }),
    );
    if (Contents.length === 0) return deleted;
    const { Errors = [] } = await s3.send(
      new DeleteObjectsCommand({
        Bucket: bucket,
        Delete: { Objects: Contents.map(({ Key }) => ({ Key })), Quiet: true },
        ...owner,
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

/** What remove does to the world besides AWS's API: injected by tests. */
export interface RemoveIo {
  out(text: string): void;
  /** The answer to a question on the terminal; undefined when there is no terminal to ask on. */
  ask(question: string): Promise<string | undefined>;
  /** Runs `sls <args>`; returns its exit code. */
  serverless(args: string[]): number | null;
}

const processIo: RemoveIo = {
  out: (text) => process.stdout.write(text),
  async ask(question) {
    if (!process.stdin.isTTY) return undefined;
    const terminal = createInterface({ input: process.stdin, output: process.stdout });
    try {
      return await terminal.question(question);
    } finally {
      terminal.close();
    }
  },
  serverless(args) {
    const serverless = join(__dirname, '..', 'node_modules', 'serverless', 'bin', 'serverless.js');
    return spawnSync(process.execPath, [serverless, ...args], {
      stdio: 'inherit',
      env: { ...process.env, SLS_TELEMETRY_DISABLED: '1' },
    }).status;
  },
};

export async function main(argv: string[] = process.argv.slice(2), io: RemoveIo = processIo): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { ...AWS_OPTIONS, force: { type: 'boolean', default: false } },
  });
  if (values.stage === undefined)
    throw new UsageError('give the stage to remove: npm run remove -- --stage <stage>.');
  const target = targetFrom(values);
  if (target.kind !== 'aws')
    throw new UsageError('give the stage to remove: npm run remove -- --stage <stage>.');
  const deployed = await requireStack(target, 'nothing to remove (another --region?)');
  const bucket = deployed.uploadBucket;

  if (bucket === undefined) {
    // A first deploy that rolled back: CloudFormation deleted what it had made, the bucket with it.
    io.out(
      `stack ${deployed.stackName} (${deployed.stackStatus}) has no upload bucket — what a first deploy that rolled back leaves: nothing to empty or keep\n`,
    );
  } else {
    await confirmRemoval(deployed, bucket, target.stage, values.force, io);
    await emptyUnlessRetained(deployed, bucket, target, io);
  }

  const args = ['remove', '--stage', target.stage, '--region', target.region];
  if (target.profile) args.push('--aws-profile', target.profile);
  const status = io.serverless(args);
  if (status !== 0) throw new UsageError(`sls ${args.join(' ')} failed (exit ${status}).`);
  if (bucket === undefined) {
    io.out(
      `stage ${target.stage} removed: stack ${deployed.stackName} (${deployed.stackStatus}) deleted. Deploy it afresh with npm run deploy -- --stage ${target.stage}.\n`,
    );
  } else if (deployed.uploadBucketRetained) {
    io.out(
      `stage ${target.stage} removed; s3://${bucket} kept. A new deploy of the stage cannot create a bucket of that name while it exists: move its objects and delete it, or deploy with --param="uploadBucket=<another name>".\n`,
    );
  } else {
    io.out(
      `stage ${target.stage} removed. S3 may keep the name ${bucket} reserved for a while: a deploy right away can fail with OperationAborted — wait, or deploy with --param="uploadBucket=<another name>".\n`,
    );
  }
  const settings = stageSettingsFile(target.stage);
  if (existsSync(settings))
    io.out(`its settings stay in ${settings} for the next deploy (delete the file to forget them)\n`);
}

/**
 * A stage whose bucket is retained (or may be: deployed before the stack said) keeps data or loses a queue of dead
 * letters: removed only once the stage's name is typed, or with --force.
 */
async function confirmRemoval(
  deployed: DeployedStage,
  bucket: string,
  stage: string,
  force: boolean,
  io: RemoveIo,
): Promise<void> {
  // A stack deployed before it said whether its bucket is retained: its bucket goes with it, so ask too.
  const unknown = deployed.outputs.UploadBucketRetained === undefined;
  if ((!deployed.uploadBucketRetained && !unknown) || force) return;
  const what = unknown
    ? `stage ${stage} was deployed without the UploadBucketRetained output: removing it empties and deletes s3://${bucket} with its functions, queue (and any dead letters in it) and alarms`
    : `stage ${stage} keeps its bucket s3://${bucket} (retained), but its functions, queue (and any dead letters in it) and alarms go`;
  const answer = await io.ask(`${what}.\nType the stage name to remove it: `);
  if (answer === undefined)
    throw new UsageError(`${what}: confirm with --force (npm run remove -- --stage ${stage} --force).`);
  if (answer.trim() !== stage) throw new UsageError(`not confirmed; stage ${stage} left as it is.`);
}

/** CloudFormation cannot delete a bucket that holds objects: empties it, unless it is retained. */
async function emptyUnlessRetained(
  deployed: DeployedStage,
  bucket: string,
  target: Target & { kind: 'aws' },
  io: RemoveIo,
): Promise<void> {
  if (deployed.uploadBucketRetained) {
    io.out(`s3://${bucket} is retained: its objects stay, and the bucket outlives the stack\n`);
    return;
  }
  const s3 = new S3Client(awsClientConfig(target));
  try {
    const deleted = await emptyBucket(s3, bucket, deployed.account);
    io.out(`emptied s3://${bucket} (${deleted} object(s) deleted)\n`);
  } catch (error) {
    if (error instanceof NoSuchBucket || (error as Error).name === 'NoSuchBucket') {
      io.out(`s3://${bucket} does not exist; nothing to empty\n`);
    } else {
      throw explainAwsError(error, target, undefined);
    }
  }
}

if (require.main === module) void runMain(() => main());
