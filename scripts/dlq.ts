/**
 * The dead-letter queue, where async events land after all their attempts failed (serverless.yml
 * destinations.onFailure). Offline it is the local queue of `npm start`; with --stage the stage's SQS queue.
 *
 *   npm run dlq -- list [--json]       the records: function, condition, attempts, error
 *   npm run dlq -- show <messageId>    one record in full
 *   npm run dlq -- redrive [<messageId>]  invoke the function again (asynchronously) with the original event,
 *                                      then delete the message — only once the invocation was accepted
 *   npm run dlq -- purge               delete every message
 *   … [--stage <stage>] [--aws-profile <p>] [--region <r>]   (the region kept by npm run deploy by default)
 */
import { parseArgs } from 'node:util';
import { LambdaClient } from '@aws-sdk/client-lambda';
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageCommand,
  GetQueueUrlCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { functionNameOf, parseDestinationRecord, redriveRecord } from '../offline/console/dead-letters';
import type { DestinationRecord } from '../offline/destination-record';
import { LocalQueue } from '../offline/local-queue';
import {
  AWS_OPTIONS,
  deadLetterQueueName,
  explainAwsError,
  LOCAL_CREDENTIALS,
  offlineEndpoints,
  runMain,
  type Target,
  targetFrom,
  UsageError,
} from './project';

interface DeadLetter {
  readonly messageId: string;
  readonly sentAt: Date;
  readonly body: string;
}

/** The two places a dead-letter queue can be. */
interface DeadLetterQueue {
  readonly description: string;
  list(): Promise<DeadLetter[]>;
  delete(messageId: string): Promise<void>;
  /** Makes listed messages visible again at once (SQS hides what it hands out). */
  release(): Promise<void>;
}

function localQueue(target: Target): DeadLetterQueue {
  const { stateDir } = offlineEndpoints();
  const queue = new LocalQueue(stateDir, deadLetterQueueName(target.stage));
  return {
    description: `local queue ${queue.name} (${stateDir})`,
    async list() {
      return (await queue.list()).map((m) => ({
        messageId: m.MessageId,
        sentAt: new Date(Number(m.Attributes.SentTimestamp)),
        body: m.Body,
      }));
    },
    async delete(messageId) {
      if (!(await queue.delete(messageId))) throw new UsageError(`no message ${messageId} in ${queue.name}.`);
    },
    async release() {},
  };
}

/**
 * SQS has no "peek": listing receives every message with a short visibility timeout (they reappear after it)
 * and keeps the receipt handles so that delete can follow.
 */
function sqsQueue(target: Target & { kind: 'aws' }): DeadLetterQueue {
  const sqs = new SQSClient({
    region: target.region,
    ...(target.profile ? { profile: target.profile } : {}),
  });
  const name = deadLetterQueueName(target.stage);
  const receipts = new Map<string, string>();
  let url: string | undefined;
  const queueUrl = async (): Promise<string> => {
    url ??= (await sqs.send(new GetQueueUrlCommand({ QueueName: name }))).QueueUrl;
    if (!url) throw new UsageError(`queue ${name} not found in ${target.region}.`);
    return url;
  };
  return {
    description: `SQS queue ${name} (${target.region})`,
    async list() {
      const found = new Map<string, DeadLetter>();
      for (;;) {
        const { Messages = [] } = await sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: await queueUrl(),
            MaxNumberOfMessages: 10,
            VisibilityTimeout: 30,
            WaitTimeSeconds: 1,
            MessageSystemAttributeNames: ['SentTimestamp'],
          }),
        );
        const fresh = Messages.filter((m) => m.MessageId && !found.has(m.MessageId));
        if (fresh.length === 0) break;
        for (const m of fresh) {
          const messageId = m.MessageId as string;
          receipts.set(messageId, m.ReceiptHandle ?? '');
          found.set(messageId, {
            messageId,
            sentAt: new Date(Number(m.Attributes?.SentTimestamp ?? 0)),
            body: m.Body ?? '',
          });
        }
      }
      return [...found.values()];
    },
    async delete(messageId) {
      const receipt = receipts.get(messageId);
      if (receipt === undefined)
        throw new UsageError(`no message ${messageId} in ${name} (or it is being read elsewhere).`);
      await sqs.send(new DeleteMessageCommand({ QueueUrl: await queueUrl(), ReceiptHandle: receipt }));
      receipts.delete(messageId);
    },
    async release() {
      // Otherwise the listed messages stay hidden for the visibility timeout: a redrive right after a list
      // would find nothing, and the DLQ alarm would see an empty queue.
      const handles = [...receipts.values()];
      for (let i = 0; i < handles.length; i += 10) {
        await sqs.send(
          new ChangeMessageVisibilityBatchCommand({
            QueueUrl: await queueUrl(),
            Entries: handles.slice(i, i + 10).map((handle, index) => ({
              Id: `m${i + index}`,
              ReceiptHandle: handle,
              VisibilityTimeout: 0,
            })),
          }),
        );
      }
      receipts.clear();
    },
  };
}

const parseRecord = (letter: DeadLetter): DestinationRecord | undefined =>
  parseDestinationRecord(letter.body);

function summary(letter: DeadLetter, record: DestinationRecord | undefined): string {
  if (!record)
    return `${letter.messageId}  ${letter.sentAt.toISOString()}  (not a Lambda destination record)`;
  const { condition, approximateInvokeCount } = record.requestContext;
  const fn = functionNameOf(record);
  const error = record.responsePayload as { errorType?: string; errorMessage?: string } | undefined;
  const s3Key = (
    record.requestPayload as { Records?: Array<{ s3?: { object?: { key?: string } } }> } | undefined
  )?.Records?.[0]?.s3?.object?.key;
  return [
    letter.messageId,
    letter.sentAt.toISOString(),
    fn,
    condition,
    `${approximateInvokeCount} attempt(s)`,
    error?.errorType ? `${error.errorType}: ${error.errorMessage ?? ''}` : '',
    s3Key ? `key ${s3Key}` : '',
  ]
    .filter(Boolean)
    .join('  ');
}

function invokerFor(target: Target): { lambda: LambdaClient; endpoint: string | undefined } {
  if (target.kind === 'offline') {
    const endpoint = offlineEndpoints().lambda;
    return {
      endpoint,
      lambda: new LambdaClient({ region: target.region, endpoint, credentials: LOCAL_CREDENTIALS }),
    };
  }
  return {
    endpoint: undefined,
    lambda: new LambdaClient({
      region: target.region,
      ...(target.profile ? { profile: target.profile } : {}),
    }),
  };
}

async function redrive(queue: DeadLetterQueue, target: Target, letters: DeadLetter[]): Promise<void> {
  const { lambda, endpoint } = invokerFor(target);
  let redriven = 0;
  for (const letter of letters) {
    const record = parseRecord(letter);
    if (!record) {
      process.stderr.write(
        `skipped ${letter.messageId}: not a Lambda destination record, so its function is unknown\n`,
      );
      continue;
    }
    const functionName = await redriveRecord(lambda, record).catch((error: unknown) => {
      throw explainAwsError(error, target, endpoint);
    });
    await queue.delete(letter.messageId);
    redriven += 1;
    process.stdout.write(
      `redriven ${letter.messageId} → ${functionName} (async invocation accepted, message deleted)\n`,
    );
  }
  process.stdout.write(`${redriven} message(s) redriven from ${queue.description}\n`);
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      json: { type: 'boolean', default: false },
      ...AWS_OPTIONS,
    },
  });
  const [command, messageId] = positionals;
  const target = targetFrom(values);
  const queue = target.kind === 'offline' ? localQueue(target) : sqsQueue(target);
  const letters = await queue.list().catch((error: unknown) => {
    throw explainAwsError(error, target, undefined);
  });
  const pick = (): DeadLetter[] => {
    if (messageId === undefined) return letters;
    const letter = letters.find((l) => l.messageId === messageId);
    if (!letter) throw new UsageError(`no message ${messageId} in ${queue.description}.`);
    return [letter];
  };

  switch (command) {
    case 'list':
      if (values.json) {
        process.stdout.write(
          `${JSON.stringify(
            letters.map((l) => parseRecord(l) ?? l.body),
            null,
            2,
          )}\n`,
        );
      } else {
        process.stdout.write(`${letters.length} message(s) in ${queue.description}\n`);
        for (const letter of letters) process.stdout.write(`${summary(letter, parseRecord(letter))}\n`);
      }
      await queue.release();
      return;
    case 'show': {
      if (messageId === undefined)
        throw new UsageError('show needs a message id (see `npm run dlq -- list`).');
      const [letter] = pick();
      process.stdout.write(`${JSON.stringify(parseRecord(letter as DeadLetter) ?? letter?.body, null, 2)}\n`);
      await queue.release();
      return;
    }
    case 'redrive':
      try {
        await redrive(queue, target, pick());
      } finally {
        await queue.release();
      }
      return;
    case 'purge':
      for (const letter of letters) await queue.delete(letter.messageId);
      process.stdout.write(`${letters.length} message(s) deleted from ${queue.description}\n`);
      return;
    default:
      throw new UsageError(
        `${command === undefined ? 'missing command' : `unknown command "${command}"`}; use list [--json] | show <id> | redrive [<id>] | purge, with --stage <s> for AWS.`,
      );
  }
}

void runMain(main);
