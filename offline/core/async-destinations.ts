/**
 * The end of an async event: its record (core/destination-record.ts) handed to the destination of its outcome —
 * an SQS queue, another function's queue — or, when the destination cannot take it, kept as undeliverable; with
 * no destination a failed event is dropped, as Lambda drops it. The queue (async-invoker.ts) forgets the event only
 * after this has resolved.
 */
import { destinationRecord } from './destination-record';
import type {
  AsyncEventNotice,
  AsyncFunction,
  Destination,
  EventSource,
  PendingEvent,
  UndeliverableEntry,
} from '../model/async-events';
import type { DestinationCondition } from '../model/outcomes';
import type { JsonDirectory } from '../state/json-directory';
import { stableMessageId } from '../state/local-queue';

export interface DestinationDeps {
  /** Events whose destination could not take them: kept, never dropped. */
  readonly undeliverable: JsonDirectory<UndeliverableEntry>;
  sendToQueue(queueName: string, body: string, deduplicationKey: string): Promise<void>;
  /** Queues the record as an event of a destination function. */
  accept(
    functionKey: string,
    payload: unknown,
    options: { requestId: string; source: EventSource },
  ): Promise<unknown>;
  now(): number;
  log(level: 'info' | 'warn' | 'error', message: string): void;
  notify?(notice: AsyncEventNotice): void;
}

function describe(destination: Destination): string {
  switch (destination.kind) {
    case 'sqs':
      return `SQS queue ${destination.queueName}`;
    case 'function':
      return `function ${destination.functionKey}`;
    case 'unsupported':
      return destination.description;
  }
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Hands the record to the destination for this outcome; rejects only when not even the undeliverable copy is kept. */
export async function deliverOutcome(
  deps: DestinationDeps,
  fn: AsyncFunction,
  event: PendingEvent,
  condition: DestinationCondition,
): Promise<void> {
  const { log } = deps;
  const tag = `λ ${fn.key} ${event.requestId}`;
  const at = deps.now();
  const destination = condition === 'Success' ? fn.onSuccess : fn.onFailure;
  if (destination === undefined) {
    if (condition !== 'Success') {
      log('error', `${tag}: ${condition} and no onFailure destination: event DROPPED (as Lambda would)`);
      deps.notify?.({ type: 'dropped', functionKey: fn.key, requestId: event.requestId, condition, at });
    }
    return;
  }
  const record = destinationRecord({
    requestId: event.requestId,
    functionArn: fn.arn,
    condition,
    approximateInvokeCount: event.attempts,
    requestPayload: event.payload,
    timestamp: new Date(at),
    lastOutcome: condition === 'ZeroReservedConcurrency' ? undefined : event.lastOutcome,
  });
  const where = describe(destination);
  // The same event and condition always give the same key: sent again after a crash, it replaces itself.
  const deduplicationKey = `${event.requestId}:${condition}`;
  try {
    await deliver(deps, destination, record, deduplicationKey);
  } catch (error) {
    const reason = message(error);
    log(
      'error',
      `${tag}: ${condition} record could NOT be delivered to ${where} (${reason}); kept in ${deps.undeliverable.path}`,
    );
    deps.notify?.({
      type: 'delivery-failed',
      functionKey: fn.key,
      requestId: event.requestId,
      destination: where,
      reason,
      at,
    });
    await deps.undeliverable.put(event.requestId, { event, record, reason });
    return;
  }
  if (condition !== 'Success' || fn.onSuccess !== undefined) {
    log(
      condition === 'Success' ? 'info' : 'warn',
      `${tag}: ${condition} after ${event.attempts} attempt(s); record sent to ${where}`,
    );
  }
  deps.notify?.({
    type: 'done',
    functionKey: fn.key,
    requestId: event.requestId,
    condition,
    destination: where,
    ...(condition !== 'Success' && destination.kind === 'sqs'
      ? { deadLetter: { queue: destination.queueName, messageId: stableMessageId(deduplicationKey) } }
      : {}),
    at,
  });
}

async function deliver(
  deps: DestinationDeps,
  destination: Destination,
  record: unknown,
  deduplicationKey: string,
): Promise<void> {
  switch (destination.kind) {
    case 'sqs':
      return deps.sendToQueue(destination.queueName, JSON.stringify(record), deduplicationKey);
    case 'function': {
      // A destination function's event gets an id derived from the record's, so a resend replaces it.
      await deps.accept(destination.functionKey, record, {
        requestId: stableMessageId(deduplicationKey),
        source: { kind: 'invoke' },
      });
      return;
    }
    case 'unsupported':
      throw new Error(`${destination.description} is not emulated offline`);
  }
}
