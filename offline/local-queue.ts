import { createHash, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { JsonDirectory } from './json-directory';

/** A message as SQS's ReceiveMessage returns it (the fields the tools use). */
export interface QueueMessage {
  readonly MessageId: string;
  readonly Body: string;
  readonly MD5OfBody: string;
  readonly Attributes: { readonly SentTimestamp: string };
}

/** Where offline state lives; shared by the offline plugin and the scripts. */
export function localQueuePath(stateDir: string, queueName: string): string {
  return join(stateDir, 'queues', queueName);
}

/**
 * The offline stand-in for an SQS queue: durable (one file per message, survives restarts), in arrival order.
 * Used for destinations and dead-letter queues; read by `npm run dlq`.
 */
export class LocalQueue {
  readonly #messages: JsonDirectory<QueueMessage>;
  /** Orders messages sent in the same millisecond. */
  #sequence = 0;

  constructor(
    stateDir: string,
    readonly name: string,
    private readonly now: () => number = Date.now,
  ) {
    this.#messages = new JsonDirectory(localQueuePath(stateDir, name));
  }

  async send(body: string): Promise<QueueMessage> {
    const sentAt = this.now();
    const message: QueueMessage = {
      MessageId: randomUUID(),
      Body: body,
      MD5OfBody: createHash('md5').update(body).digest('hex'),
      Attributes: { SentTimestamp: String(sentAt) },
    };
    this.#sequence = (this.#sequence + 1) % 1_000_000;
    const order = `${String(sentAt).padStart(15, '0')}-${String(this.#sequence).padStart(6, '0')}`;
    await this.#messages.put(`${order}-${message.MessageId}`, message);
    return message;
  }

  async list(): Promise<QueueMessage[]> {
    return (await this.#messages.entries()).map((entry) => entry.value);
  }

  /** Deletes one message by id; false when no such message. */
  async delete(messageId: string): Promise<boolean> {
    const name = (await this.#messages.names()).find((entry) => entry.endsWith(`-${messageId}`));
    return name === undefined ? false : this.#messages.remove(name);
  }

  async purge(): Promise<number> {
    const names = await this.#messages.names();
    await Promise.all(names.map((name) => this.#messages.remove(name)));
    return names.length;
  }
}
