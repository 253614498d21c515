/**
 * The dead-letter queue as the console shows it: list, show, redrive one or all, purge — on the local queue of
 * the running offline stack. A redrive is what `npm run dlq -- redrive` does (and the same code): an
 * asynchronous Invoke of the function with the original event, then the message is deleted, only once the
 * invocation was accepted.
 */
import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import { decodeS3Key } from '../../lib/s3-keys';
import type { DestinationRecord } from '../destination-record';
import { LocalQueue } from '../local-queue';
import type { EventSource } from './event-journal';

/** The destination record a message carries, or undefined when the body is something else. */
export function parseDestinationRecord(body: string): DestinationRecord | undefined {
  try {
    const record = JSON.parse(body) as Partial<DestinationRecord> | null;
    return record?.version === '1.0' && record.requestContext ? (record as DestinationRecord) : undefined;
  } catch {
    return undefined;
  }
}

/** arn:aws:lambda:<region>:<account>:function:<name>:$LATEST → <name> */
export function functionNameOf(record: DestinationRecord): string {
  return record.requestContext.functionArn.split(':')[6] ?? record.requestContext.functionArn;
}

/**
 * Invokes the record's function asynchronously with its original event; resolves with the function's name once
 * Lambda answered 202 Accepted, rejects otherwise (the caller then keeps the message).
 */
export async function redriveRecord(lambda: LambdaClient, record: DestinationRecord): Promise<string> {
  const functionName = functionNameOf(record);
  const { StatusCode } = await lambda.send(
    new InvokeCommand({
      FunctionName: functionName,
      InvocationType: 'Event',
      Payload: Buffer.from(JSON.stringify(record.requestPayload)),
    }),
  );
  if (StatusCode !== 202) throw new Error(`invoke answered ${StatusCode}, not 202 Accepted`);
  return functionName;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** What an event's payload says about where it came from: an S3 record, a schedule, or else a direct Invoke. */
export function sourceOfPayload(payload: unknown): EventSource {
  if (isObject(payload) && Array.isArray(payload.Records)) {
    const [record] = payload.Records as unknown[];
    if (isObject(record) && record.eventSource === 'aws:s3' && isObject(record.s3)) {
      const { bucket, object } = record.s3;
      const encoded = isObject(object) && typeof object.key === 'string' ? object.key : '';
      let key = encoded;
      try {
        key = decodeS3Key(encoded);
      } catch {
        // Shown as it came.
      }
      return {
        kind: 's3',
        bucket: isObject(bucket) && typeof bucket.name === 'string' ? bucket.name : '',
        key,
        eventName: typeof record.eventName === 'string' ? record.eventName : '',
      };
    }
  }
  if (isObject(payload) && payload.source === 'aws.events' && payload['detail-type'] === 'Scheduled Event') {
    const [arn] = Array.isArray(payload.resources) ? (payload.resources as unknown[]) : [];
    return { kind: 'schedule', rule: typeof arn === 'string' ? (arn.split(':rule/')[1] ?? arn) : '' };
  }
  return { kind: 'invoke' };
}

export interface DeadLetterView {
  messageId: string;
  sentAt: number;
  /** Absent when the message is not a Lambda destination record. */
  functionName?: string;
  requestId?: string;
  condition?: string;
  attempts?: number;
  errorType?: string;
  errorMessage?: string;
  source?: EventSource;
}

export class UnknownMessageError extends Error {
  override name = 'UnknownMessageError';
}

export interface RedriveOutcome {
  redriven: Array<{ messageId: string; functionName: string }>;
  skipped: Array<{ messageId: string; reason: string }>;
}

/** The console's view of the local dead-letter queues (the onFailure SQS destinations of serverless.yml). */
export class DeadLetterConsole {
  readonly #queues: Map<string, LocalQueue>;

  constructor(
    stateDir: string,
    queueNames: readonly string[],
    private readonly lambda: LambdaClient,
  ) {
    this.#queues = new Map(queueNames.map((name) => [name, new LocalQueue(stateDir, name)]));
  }

  get queueNames(): string[] {
    return [...this.#queues.keys()];
  }

  #queue(name: string): LocalQueue {
    const queue = this.#queues.get(name);
    if (!queue) throw new UnknownMessageError(`no dead-letter queue named "${name}".`);
    return queue;
  }

  async list(queueName: string): Promise<DeadLetterView[]> {
    return (await this.#queue(queueName).list()).map((message) => {
      const view: DeadLetterView = {
        messageId: message.MessageId,
        sentAt: Number(message.Attributes.SentTimestamp),
      };
      const record = parseDestinationRecord(message.Body);
      if (!record) return view;
      const error = isObject(record.responsePayload) ? record.responsePayload : {};
      return {
        ...view,
        functionName: functionNameOf(record),
        requestId: record.requestContext.requestId,
        condition: record.requestContext.condition,
        attempts: record.requestContext.approximateInvokeCount,
        ...(typeof error.errorType === 'string' ? { errorType: error.errorType } : {}),
        ...(typeof error.errorMessage === 'string' ? { errorMessage: error.errorMessage } : {}),
        source: sourceOfPayload(record.requestPayload),
      };
    });
  }

  /** One message: its destination record, or its body as is. */
  async show(queueName: string, messageId: string): Promise<unknown> {
    const message = (await this.#queue(queueName).list()).find((m) => m.MessageId === messageId);
    if (!message) throw new UnknownMessageError(`no message ${messageId} in ${queueName}.`);
    return parseDestinationRecord(message.Body) ?? message.Body;
  }

  /** Redrives one message (by id) or all; a message is deleted only after its invocation was accepted. */
  async redrive(queueName: string, messageId?: string): Promise<RedriveOutcome> {
    const queue = this.#queue(queueName);
    const messages = (await queue.list()).filter((m) => messageId === undefined || m.MessageId === messageId);
    if (messageId !== undefined && messages.length === 0)
      throw new UnknownMessageError(`no message ${messageId} in ${queueName}.`);
    const outcome: RedriveOutcome = { redriven: [], skipped: [] };
    for (const message of messages) {
      const record = parseDestinationRecord(message.Body);
      if (!record) {
        outcome.skipped.push({
          messageId: message.MessageId,
          reason: 'not a Lambda destination record, so its function is unknown',
        });
        continue;
      }
      const functionName = await redriveRecord(this.lambda, record);
      await queue.delete(message.MessageId);
      outcome.redriven.push({ messageId: message.MessageId, functionName });
    }
    return outcome;
  }

  async purge(queueName: string): Promise<number> {
    return this.#queue(queueName).purge();
  }
}
