/**
 * The operations on a local dead-letter queue (an SQS destination offline): list, show, redrive one or all,
 * purge. Used by `npm run dlq` and callable from a console page. Every change takes the message out of the
 * queue first with an atomic rename, so two runs at once (two redrives, a redrive and a purge) never both act
 * on one message: the second is told that another run took it.
 */
import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import { LocalQueue, type QueueMessage } from './local-queue';
import type { DestinationRecord } from '../model/outcomes';

export interface DeadLetter {
  readonly messageId: string;
  readonly sentAt: Date;
  readonly body: string;
  /** The Lambda destination record the body holds, when it is one. */
  readonly record: DestinationRecord | undefined;
}

/** No such message (any more). */
export class NoSuchMessageError extends Error {
  override name = 'NoSuchMessageError';
}

export function parseRecord(body: string): DestinationRecord | undefined {
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

function letter(message: QueueMessage): DeadLetter {
  return {
    messageId: message.MessageId,
    sentAt: new Date(Number(message.Attributes.SentTimestamp)),
    body: message.Body,
    record: parseRecord(message.Body),
  };
}

/** Invokes a function asynchronously with an event; resolves once the invocation was accepted (202). */
export type AsyncInvoke = (functionName: string, payload: unknown) => Promise<void>;

/** An AsyncInvoke through Lambda's Invoke API (InvocationType Event), offline or on AWS. */
export function asyncInvokeWith(lambda: LambdaClient): AsyncInvoke {
  return async (functionName, payload) => {
    const { StatusCode } = await lambda.send(
      new InvokeCommand({
        FunctionName: functionName,
        InvocationType: 'Event',
        Payload: Buffer.from(JSON.stringify(payload)),
      }),
    );
    if (StatusCode !== 202) throw new Error(`invoke answered ${StatusCode}, not 202 Accepted`);
  };
}

export type RedriveOutcome =
  | { readonly messageId: string; readonly status: 'redriven'; readonly functionName: string }
  | { readonly messageId: string; readonly status: 'taken-by-another-run' }
  | { readonly messageId: string; readonly status: 'not-a-record' };

export class LocalDeadLetterQueue {
  readonly #queue: LocalQueue;

  constructor(stateDir: string, queueName: string, log?: (level: 'warn' | 'error', message: string) => void) {
    this.#queue = new LocalQueue(stateDir, queueName, Date.now, log);
  }

  get description(): string {
    return `local queue ${this.#queue.name} (${this.#queue.path})`;
  }

  async list(): Promise<DeadLetter[]> {
    return (await this.#queue.list()).map(letter);
  }

  async show(messageId: string): Promise<DeadLetter> {
    const found = (await this.list()).find((entry) => entry.messageId === messageId);
    if (!found) throw new NoSuchMessageError(`no message ${messageId} in ${this.description}.`);
    return found;
  }

  /**
   * Invokes the record's function again with its original event, then deletes the message — only once the
   * invocation was accepted; if it was not, the message is put back.
   */
  async redrive(messageId: string, invoke: AsyncInvoke): Promise<RedriveOutcome> {
    const taken = await this.#queue.take(messageId);
    if (taken === undefined) return { messageId, status: 'taken-by-another-run' };
    const record = parseRecord(taken.value.Body);
    if (record === undefined) {
      await taken.release();
      return { messageId, status: 'not-a-record' };
    }
    const functionName = functionNameOf(record);
    try {
      await invoke(functionName, record.requestPayload);
    } catch (error) {
      await taken.release();
      throw error;
    }
    await taken.commit();
    return { messageId, status: 'redriven', functionName };
  }

  /** Redrives one message (by id) or every message; a message another run took meanwhile is reported so. */
  async redriveAll(
    invoke: AsyncInvoke,
    onEach: (outcome: RedriveOutcome) => void = () => undefined,
  ): Promise<RedriveOutcome[]> {
    const outcomes: RedriveOutcome[] = [];
    for (const entry of await this.list()) {
      const outcome = await this.redrive(entry.messageId, invoke);
      outcomes.push(outcome);
      onEach(outcome);
    }
    return outcomes;
  }

  /** Deletes one message; NoSuchMessageError when it is not there (never was, or another run took it). */
  async delete(messageId: string): Promise<void> {
    if (!(await this.#queue.delete(messageId))) {
      throw new NoSuchMessageError(
        `no message ${messageId} in ${this.description} (another run may have redriven or purged it just now).`,
      );
    }
  }

  /** Deletes every message; returns how many this run deleted. */
  purge(): Promise<number> {
    return this.#queue.purge();
  }
}
