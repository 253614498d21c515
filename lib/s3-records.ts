import type { S3EventRecord } from 'aws-lambda';
import { InvalidEventError } from './errors';
import { decodeS3Key } from './s3-keys';
import { isObject } from './is-object';

/** What the upload path needs from one S3 notification record, key already decoded. */
export interface ObjectCreated {
  readonly bucket: string;
  readonly key: string;
  readonly eventName: string;
  readonly eventTime: string;
}

function describe(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object'
    ? `an object with keys [${Object.keys(value).join(', ')}]`
    : `a ${typeof value}`;
}

/**
 * Validates an S3 notification event at the edge and returns every record, keys decoded.
 * Anything else (no Records, a record from another service, a removal) is refused with a message saying what
 * was wrong, because retrying such an event can never succeed.
 */
export function parseObjectCreatedEvent(event: unknown): ObjectCreated[] {
  if (!isObject(event) || !Array.isArray(event.Records)) {
    throw new InvalidEventError(
      `Expected an S3 notification event with a "Records" array, got ${describe(event)}.`,
    );
  }
  if (event.Records.length === 0) {
    throw new InvalidEventError('The S3 notification event has an empty "Records" array.');
  }
  return event.Records.map((record: unknown, index) => parseRecord(record, index));
}

function parseRecord(record: unknown, index: number): ObjectCreated {
  const where = `Records[${index}]`;
  if (!isObject(record)) {
    throw new InvalidEventError(`${where} is ${describe(record)}, not an S3 record.`);
  }
  if (record.eventSource !== 'aws:s3') {
    throw new InvalidEventError(
      `${where} has eventSource ${JSON.stringify(record.eventSource)}; this function handles S3 notifications (aws:s3) only.`,
    );
  }
  const { eventName, eventTime, s3 } = record as Partial<S3EventRecord> & Record<string, unknown>;
  if (typeof eventName !== 'string' || !eventName.startsWith('ObjectCreated:')) {
    throw new InvalidEventError(
      `${where} is ${JSON.stringify(eventName)}; this function handles ObjectCreated events only.`,
    );
  }
  const bucket: unknown = isObject(s3) && isObject(s3.bucket) ? s3.bucket.name : undefined;
  const key: unknown = isObject(s3) && isObject(s3.object) ? s3.object.key : undefined;
  if (typeof bucket !== 'string' || bucket === '') {
    throw new InvalidEventError(`${where} has no s3.bucket.name.`);
  }
  if (typeof key !== 'string' || key === '') {
    throw new InvalidEventError(`${where} has no s3.object.key.`);
  }
  return {
    bucket,
    key: decodeS3Key(key),
    eventName,
    eventTime: typeof eventTime === 'string' ? eventTime : '',
  };
}
