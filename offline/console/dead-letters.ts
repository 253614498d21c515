/**
 * The dead-letter queue as the console shows it: list, show, redrive one or all, purge — on the local queue of
 * the running offline stack, through the module `npm run dlq` uses (offline/dead-letter-queue.ts): a redrive is
 * an asynchronous Invoke of the function with the original event, and the message is deleted only once the
 * invocation was accepted; a message another run took meanwhile is reported, never acted on twice.
 */
import type { LambdaClient } from '@aws-sdk/client-lambda';
import { decodeS3Key } from '../../lib/s3-keys';
import {
  type AsyncInvoke,
  asyncInvokeWith,
  functionNameOf,
  LocalDeadLetterQueue,
  NoSuchMessageError,
  type RedriveOutcome as QueueRedriveOutcome,
} from '../state/dead-letter-queue';
import type { EventSource } from '../observability/event-journal';

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

const SKIP_REASONS: Record<Exclude<QueueRedriveOutcome['status'], 'redriven'>, string> = {
  'taken-by-another-run': 'another run took it just now (a redrive or purge elsewhere)',
  'not-a-record': 'not a Lambda destination record, so its function is unknown',
};

/** The console's view of the local dead-letter queues (the onFailure SQS destinations of serverless.yml). */
export class DeadLetterConsole {
  readonly #queues: Map<string, LocalDeadLetterQueue>;
  readonly #invoke: AsyncInvoke;

  constructor(stateDir: string, queueNames: readonly string[], lambda: LambdaClient) {
    this.#queues = new Map(queueNames.map((name) => [name, new LocalDeadLetterQueue(stateDir, name)]));
    this.#invoke = asyncInvokeWith(lambda);
  }

  get queueNames(): string[] {
    return [...this.#queues.keys()];
  }

  #queue(name: string): LocalDeadLetterQueue {
    const queue = this.#queues.get(name);
    if (!queue) throw new UnknownMessageError(`no dead-letter queue named "${name}".`);
    return queue;
  }

  async list(queueName: string): Promise<DeadLetterView[]> {
    return (await this.#queue(queueName).list()).map(({ messageId, sentAt, record }) => {
      const view: DeadLetterView = { messageId, sentAt: sentAt.getTime() };
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
    try {
      const letter = await this.#queue(queueName).show(messageId);
      return letter.record ?? letter.body;
    } catch (error) {
      if (error instanceof NoSuchMessageError) throw new UnknownMessageError(error.message);
      throw error;
    }
  }

  /** Redrives one message (by id) or all; a message is deleted only after its invocation was accepted. */
  async redrive(queueName: string, messageId?: string): Promise<RedriveOutcome> {
    const queue = this.#queue(queueName);
    let outcomes: QueueRedriveOutcome[];
    if (messageId === undefined) {
      outcomes = await queue.redriveAll(this.#invoke);
    } else {
      if (!(await queue.list()).some((letter) => letter.messageId === messageId))
        throw new UnknownMessageError(`no message ${messageId} in ${queueName}.`);
      outcomes = [await queue.redrive(messageId, this.#invoke)];
    }
    const result: RedriveOutcome = { redriven: [], skipped: [] };
    for (const outcome of outcomes) {
      if (outcome.status === 'redriven')
        result.redriven.push({ messageId: outcome.messageId, functionName: outcome.functionName });
      else result.skipped.push({ messageId: outcome.messageId, reason: SKIP_REASONS[outcome.status] });
    }
    return result;
  }

  purge(queueName: string): Promise<number> {
    return this.#queue(queueName).purge();
  }
}
