import { LocalDeadLetterQueue } from '../offline/state/dead-letter-queue';
import type { DestinationRecord } from '../offline/model/outcomes';

export const DLQ_NAME = 'lambda-notes-dev-dlq';

/** The destination records in a stack's local dead-letter queue. */
export function deadLetters(stateDir: string): Promise<DestinationRecord[]> {
  return new LocalDeadLetterQueue(stateDir, DLQ_NAME).records();
}

/** The (encoded) S3 key of the event a destination record carries. */
export function recordKey(record: DestinationRecord): string | undefined {
  return (record.requestPayload as { Records?: Array<{ s3: { object: { key: string } } }> }).Records?.[0]?.s3
    .object.key;
}
