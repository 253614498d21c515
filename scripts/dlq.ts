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
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageCommand,
  GetQueueUrlCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import {
  type AsyncInvoke,
  type DeadLetter,
  functionNameOf,
  LocalDeadLetterQueue,
  NoSuchMessageError,
  parseRecord as parseBody,
  type RedriveOutcome,
  skipped,
  summarize,
} from '../offline/state/dead-letter-queue';
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

/** The two places a dead-letter queue can be. */
interface DeadLetterQueue {
  readonly description: string;
  list(): Promise<DeadLetter[]>;
  delete(messageId: string): Promise<void>;
  /** Makes listed messages visible again at once (SQS hides what it hands out). */
  release(): Promise<void>;
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
          const body = m.Body ?? '';
          found.set(messageId, {
            messageId,
            sentAt: new Date(Number(m.Attributes?.SentTimestamp ?? 0)),
            body,
            record: parseBody(body),
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

function summary(letter: DeadLetter): string {
  const { functionName, condition, attempts, errorType, errorMessage, source } = summarize(letter);
  if (functionName === undefined)
    return `${letter.messageId}  ${letter.sentAt.toISOString()}  (not a Lambda destination record)`;
  return [
    letter.messageId,
    letter.sentAt.toISOString(),
    functionName,
    condition,
    `${attempts} attempt(s)`,
    errorType ? `${errorType}: ${errorMessage ?? ''}` : '',
    source?.kind === 's3' ? `key ${source.key}` : '',
  ]
    .filter(Boolean)
    .join('  ');
}

/** `list`: a line per message, or with --json each destination record (a message that is not one as its body). */
function printList(letters: readonly DeadLetter[], description: string, json: boolean): void {
  if (json) {
    process.stdout.write(
      `${JSON.stringify(
        letters.map((l) => l.record ?? l.body),
        null,
        2,
      )}\n`,
    );
    return;
  }
  process.stdout.write(`${letters.length} message(s) in ${description}\n`);
  for (const letter of letters) process.stdout.write(`${summary(letter)}\n`);
}

/** `show`: the message's destination record, or its body when it is not one. */
function printLetter(letter: DeadLetter): void {
  process.stdout.write(`${JSON.stringify(letter.record ?? letter.body, null, 2)}\n`);
}

/** Prints what a redrive did with one message. */
function report(outcome: RedriveOutcome): void {
  if (outcome.status === 'redriven') {
    process.stdout.write(
      `redriven ${outcome.messageId} → ${outcome.functionName} (async invocation accepted, message deleted)\n`,
    );
  } else {
    process.stderr.write(`skipped ${outcome.messageId}: ${outcome.explanation}\n`);
  }
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

/** An asynchronous Invoke (InvocationType Event) through Lambda's Invoke API, offline or on AWS. */
function asyncInvoke(target: Target): AsyncInvoke {
  const { lambda, endpoint } = invokerFor(target);
  return async (functionName, payload) => {
    const { StatusCode } = await lambda
      .send(
        new InvokeCommand({
          FunctionName: functionName,
          InvocationType: 'Event',
          Payload: Buffer.from(JSON.stringify(payload)),
        }),
      )
      .catch((error: unknown) => {
        throw explainAwsError(error, target, endpoint);
      });
    if (StatusCode !== 202) throw new Error(`invoke answered ${StatusCode}, not 202 Accepted`);
  };
}

/** The offline queue: every command goes through the module the console uses too. */
async function local(
  target: Target,
  command: string | undefined,
  messageId: string | undefined,
  json: boolean,
): Promise<void> {
  const { stateDir } = offlineEndpoints();
  const queue = new LocalDeadLetterQueue(stateDir, deadLetterQueueName(target.stage), (level, message) =>
    process.stderr.write(`${level}: ${message}\n`),
  );
  try {
    switch (command) {
      case 'list':
        printList(await queue.list(), queue.description, json);
        return;
      case 'show': {
        if (messageId === undefined)
          throw new UsageError('show needs a message id (see `npm run dlq -- list`).');
        printLetter(await queue.show(messageId));
        return;
      }
      case 'redrive': {
        const invoke = asyncInvoke(target);
        if (messageId !== undefined) {
          await queue.show(messageId);
          const outcome = await queue.redrive(messageId, invoke);
          report(outcome);
          if (outcome.status === 'skipped' && outcome.reason === 'taken-by-another-run') process.exitCode = 1;
          return;
        }
        const outcomes = await queue.redriveAll(invoke, report);
        const redriven = outcomes.filter((outcome) => outcome.status === 'redriven').length;
        process.stdout.write(`${redriven} message(s) redriven from ${queue.description}\n`);
        return;
      }
      case 'purge':
        process.stdout.write(`${await queue.purge()} message(s) deleted from ${queue.description}\n`);
        return;
      default:
        throw new UsageError(usage(command));
    }
  } catch (error) {
    if (error instanceof NoSuchMessageError) throw new UsageError(error.message);
    throw error;
  }
}

function usage(command: string | undefined): string {
  return `${command === undefined ? 'missing command' : `unknown command "${command}"`}; use list [--json] | show <id> | redrive [<id>] | purge, with --stage <s> for AWS.`;
}

async function redrive(queue: DeadLetterQueue, target: Target, letters: DeadLetter[]): Promise<void> {
  const invoke = asyncInvoke(target);
  let redriven = 0;
  for (const letter of letters) {
    const { record } = letter;
    if (!record) {
      report(skipped(letter.messageId, 'not-a-record'));
      continue;
    }
    const functionName = functionNameOf(record);
    await invoke(functionName, record.requestPayload);
    await queue.delete(letter.messageId);
    redriven += 1;
    report({ messageId: letter.messageId, status: 'redriven', functionName });
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
  if (target.kind === 'offline') {
    await local(target, command, messageId, values.json);
    return;
  }
  const queue = sqsQueue(target);
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
      printList(letters, queue.description, values.json);
      await queue.release();
      return;
    case 'show': {
      if (messageId === undefined)
        throw new UsageError('show needs a message id (see `npm run dlq -- list`).');
      const [letter] = pick();
      if (letter) printLetter(letter);
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
      throw new UsageError(usage(command));
  }
}

void runMain(main);
