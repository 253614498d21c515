import { JsonDirectory } from './json-directory';
import { stateLayout } from './layout';
import type { PendingEvent, UndeliverableEntry } from '../model/async-events';

type StateLog = (level: 'warn' | 'error', message: string) => void;

function isCount(value: unknown): boolean {
  return Number.isInteger(value) && (value as number) >= 0;
}

/** Why a stored pending event cannot be run as it is, or undefined (the file is then quarantined). */
export function pendingEventProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return 'not an event';
  const event = value as Partial<Record<keyof PendingEvent, unknown>>;
  const missing: string[] = (['requestId', 'functionKey'] as const).filter(
    (field) => typeof event[field] !== 'string',
  );
  missing.push(
    ...(['receivedAt', 'dueAt'] as const).filter((field) => !Number.isFinite(event[field] as number)),
  );
  missing.push(...(['attempts', 'throttles'] as const).filter((field) => !isCount(event[field])));
  if (event.runningAttempt !== undefined && !isCount(event.runningAttempt)) missing.push('runningAttempt');
  if (!('payload' in event)) missing.push('payload');
  return missing.length > 0 ? `pending event without a valid ${missing.join(', ')}` : undefined;
}

/** `<stateDir>/async/pending`: one file per queued event, named by its request id. */
export function pendingDirectory(stateDir: string, log?: StateLog): JsonDirectory<PendingEvent> {
  return new JsonDirectory<PendingEvent>(stateLayout(stateDir).pending, {
    kind: 'pending-event',
    validate: pendingEventProblem,
    stateDir,
    log,
  });
}

/** `<stateDir>/async/undeliverable`: records whose destination could not take them. */
export function undeliverableDirectory(stateDir: string, log?: StateLog): JsonDirectory<UndeliverableEntry> {
  return new JsonDirectory<UndeliverableEntry>(stateLayout(stateDir).undeliverable, {
    kind: 'undeliverable-record',
    validate: (value) =>
      typeof value === 'object' && value !== null && 'event' in value && 'record' in value
        ? undefined
        : 'not an undeliverable record (event, record, reason)',
    stateDir,
    log,
  });
}
