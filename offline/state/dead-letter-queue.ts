/**
 * The local dead-letter queue (an SQS on-failure destination offline), the one model of it: list, show, redrive
 * one or all, delete, purge, and what a record says (function, condition, attempts, error, source). Used by the
 * console, `npm run dlq` and the tests. Every change takes the message out of the queue first with an atomic
 * rename, so two runs at once (two redrives, a redrive and a purge) never both act on one message: the second
 * is told that another run took it.
 */
import { sourceOfPayload } from '../core/event-source';
import type { EventSource } from '../model/async-events';
import type { DestinationRecord } from '../model/outcomes';
import { LocalQueue, type QueueMessage } from './local-queue';

export interface DeadLetter {
  readonly messageId: string;
  readonly sentAt: Date;
  readonly body: string;
  /** The Lambda destination record the body holds, when it is one. */
  readonly record: DestinationRecord | undefined;
}

/** What a dead letter says, flat: the console's rows and the lines of `npm run dlq -- list`. */
export interface DeadLetterSummary {
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

export function summarize(letter: Pick<DeadLetter, 'messageId' | 'sentAt' | 'record'>): DeadLetterSummary {
  const { messageId, sentAt, record } = letter;
  const summary: DeadLetterSummary = { messageId, sentAt: sentAt.getTime() };
  if (!record) return summary;
  const error = (record.responsePayload ?? {}) as { errorType?: unknown; errorMessage?: unknown };
  return {
    ...summary,
    functionName: functionNameOf(record),
    requestId: record.requestContext.requestId,
    condition: record.requestContext.condition,
    attempts: record.requestContext.approximateInvokeCount,
    ...(typeof error.errorType === 'string' ? { errorType: error.errorType } : {}),
    ...(typeof error.errorMessage === 'string' ? { errorMessage: error.errorMessage } : {}),
    source: sourceOfPayload(record.requestPayload),
  };
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

export const SKIP_REASONS = {
  'taken-by-another-run': 'another run (a redrive or purge at the same time) took it first',
  'not-a-record': 'not a Lambda destination record, so its function is unknown',
} as const;

/** What a redrive did with one message (the console, `npm run dlq`, offline and on AWS). */
export type RedriveOutcome =
  | { readonly messageId: string; readonly status: 'redriven'; readonly functionName: string }
  | {
      readonly messageId: string;
      readonly status: 'skipped';
      readonly reason: keyof typeof SKIP_REASONS;
      readonly explanation: string;
    };

export function skipped(messageId: string, reason: keyof typeof SKIP_REASONS): RedriveOutcome {
  return { messageId, status: 'skipped', reason, explanation: SKIP_REASONS[reason] };
}

export class LocalDeadLetterQueue {
  readonly #queue: LocalQueue;

  constructor(stateDir: string, queueName: string, log?: (level: 'warn' | 'error', message: string) => void) {
    this.#queue = new LocalQueue(stateDir, queueName, Date.now, log);
  }

  get name(): string {
    return this.#queue.name;
  }

  get description(): string {
    return `local queue ${this.#queue.name} (${this.#queue.path})`;
  }

  async list(): Promise<DeadLetter[]> {
    return (await this.#queue.list()).map(letter);
  }

  /** The destination records (messages that are not one are left out). */
  async records(): Promise<DestinationRecord[]> {
    return (await this.list()).flatMap((entry) => (entry.record ? [entry.record] : []));
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
    if (taken === undefined) return skipped(messageId, 'taken-by-another-run');
    const record = parseRecord(taken.value.Body);
    if (record === undefined) {
      await taken.release();
      return skipped(messageId, 'not-a-record');
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

  /** Redrives every message; one another run took meanwhile is reported so. */
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
