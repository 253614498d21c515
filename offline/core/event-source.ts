/**
 * Where an event came from, read from its payload alone: an S3 notification, a scheduled event, or else a direct
 * Invoke. For events whose source the queue did not record (kept by an older version) and for dead-letter records.
 */
import { decodeS3Key } from '../../lib/s3-keys';
import type { EventSource } from '../model/async-events';
import { isObject } from '../../lib/is-object';

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
