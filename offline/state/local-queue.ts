import { createHash, randomUUID } from 'node:crypto';
import { JsonDirectory, type TakenEntry } from './json-directory';
import { stateLayout } from './layout';

/** A message as SQS's ReceiveMessage returns it (the fields the tools use). */
export interface QueueMessage {
  readonly MessageId: string;
  readonly Body: string;
  readonly MD5OfBody: string;
  readonly Attributes: { readonly SentTimestamp: string };
}

/** A UUID-shaped id that is the same for the same key: a message sent again after a crash replaces itself. */
export function stableMessageId(key: string): string {
  const hex = createHash('sha256').update(key).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

function validMessage(value: unknown): string | undefined {
  const message = value as Partial<QueueMessage> | null;
  if (
    typeof message !== 'object' ||
    message === null ||
    typeof message.MessageId !== 'string' ||
    typeof message.Body !== 'string' ||
    typeof message.Attributes?.SentTimestamp !== 'string'
  ) {
    return 'not a queue message (MessageId, Body, Attributes.SentTimestamp)';
  }
  return undefined;
}

/**
 * The offline stand-in for an SQS queue: durable (one file per message, survives restarts), in arrival order.
 * Used for destinations and dead-letter queues; read by `npm run dlq`.
 */
export class LocalQueue {
  readonly #messages: JsonDirectory<QueueMessage>;

  constructor(
    stateDir: string,
    readonly name: string,
    private readonly now: () => number = Date.now,
    log?: (level: 'warn' | 'error', message: string) => void,
  ) {
    this.#messages = new JsonDirectory(stateLayout(stateDir).queue(name), {
      kind: 'queue-message',
      validate: validMessage,
      stateDir,
      log,
    });
  }

  get path(): string {
    return this.#messages.path;
  }

  /**
   * Sends a message. With a deduplication key (as SQS FIFO's MessageDeduplicationId) the message id and file
   * are derived from it: sending the same record again replaces it instead of adding a second one.
   */
  async send(body: string, deduplicationKey?: string): Promise<QueueMessage> {
    const message: QueueMessage = {
      MessageId: deduplicationKey === undefined ? randomUUID() : stableMessageId(deduplicationKey),
      Body: body,
      MD5OfBody: createHash('md5').update(body).digest('hex'),
      Attributes: { SentTimestamp: String(this.now()) },
    };
    await this.#messages.put(message.MessageId, message);
    return message;
  }

  /** Messages in the order they were sent. */
  async list(): Promise<QueueMessage[]> {
    return (await this.#messages.entries())
      .map((entry) => entry.value)
      .sort((a, b) => Number(a.Attributes.SentTimestamp) - Number(b.Attributes.SentTimestamp));
  }

  /** Takes one message out of the queue so that no other process can (see JsonDirectory.take). */
  take(messageId: string): Promise<TakenEntry<QueueMessage> | undefined> {
    return this.#messages.take(messageId);
  }

  /** Deletes one message by id; false when no such message. */
  async delete(messageId: string): Promise<boolean> {
    const taken = await this.take(messageId);
    if (taken === undefined) return false;
    await taken.commit();
    return true;
  }

  /** Deletes every message; returns how many this call deleted (another process may take some meanwhile). */
  async purge(): Promise<number> {
    let deleted = 0;
    for (const message of await this.list()) if (await this.delete(message.MessageId)) deleted += 1;
    return deleted;
  }
}
