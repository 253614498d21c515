import type { S3EventRecord } from 'aws-lambda';
import { encodeS3Key } from '../lib/s3-keys';

/** One `s3` event of serverless.yml, bucket name resolved. */
export interface S3Subscription {
  readonly functionKey: string;
  readonly bucket: string;
  /** As written in serverless.yml: `s3:ObjectCreated:*`, `s3:ObjectRemoved:Delete`, … */
  readonly event: string;
  readonly prefix: string | undefined;
  readonly suffix: string | undefined;
}

/** The record the local S3 server (s3rver 3.7) emits: raw key, eventVersion 2.0, region us-east-1. */
export interface LocalS3Record {
  readonly eventName: string;
  readonly eventTime: string;
  readonly userIdentity?: { principalId: string };
  readonly requestParameters?: { sourceIPAddress: string };
  readonly responseElements?: Record<string, string>;
  readonly s3: {
    readonly bucket: { readonly name: string; readonly ownerIdentity?: { principalId: string } };
    readonly object: {
      readonly key: string;
      readonly size?: number;
      readonly eTag?: string;
      readonly sequencer?: string;
    };
  };
}

const MULTIPART_ETAG = /-\d+$/;

/** AWS's name for the event: s3rver reports a completed multipart upload as `Post` too. */
function awsEventName(record: LocalS3Record): string {
  if (record.eventName === 'ObjectCreated:Post' && MULTIPART_ETAG.test(record.s3.object.eTag ?? '')) {
    return 'ObjectCreated:CompleteMultipartUpload';
  }
  return record.eventName;
}

function eventMatches(pattern: string, eventName: string): boolean {
  const wanted = pattern.replace(/^s3:/, '');
  return wanted.endsWith(':*') ? eventName.startsWith(wanted.slice(0, -1)) : wanted === eventName;
}

/** S3's filter rules are plain starts-with / ends-with on the (unencoded) key. */
export function subscriptionsFor(
  subscriptions: readonly S3Subscription[],
  record: LocalS3Record,
): S3Subscription[] {
  const { key } = record.s3.object;
  const eventName = awsEventName(record);
  return subscriptions.filter(
    (sub) =>
      sub.bucket === record.s3.bucket.name &&
      eventMatches(sub.event, eventName) &&
      (sub.prefix === undefined || key.startsWith(sub.prefix)) &&
      (sub.suffix === undefined || key.endsWith(sub.suffix)),
  );
}

/**
 * The record as S3 itself would send it: eventVersion 2.1, the function's region, `arn:aws:s3:::<bucket>`, the
 * key form-URL-encoded. s3rver's sequencer is a millisecond clock; the caller passes one that grows per event.
 */
export function toAwsRecord(
  record: LocalS3Record,
  context: { region: string; configurationId: string; sequencer: string },
): S3EventRecord {
  const { bucket, object } = record.s3;
  const eventName = awsEventName(record);
  return {
    eventVersion: '2.1',
    eventSource: 'aws:s3',
    awsRegion: context.region,
    eventTime: record.eventTime,
    eventName,
    userIdentity: record.userIdentity ?? { principalId: 'AWS:LOCAL' },
    requestParameters: record.requestParameters ?? { sourceIPAddress: '127.0.0.1' },
    responseElements: {
      'x-amz-request-id': record.responseElements?.['x-amz-request-id'] ?? '',
      'x-amz-id-2': record.responseElements?.['x-amz-id-2'] ?? '',
    },
    s3: {
      s3SchemaVersion: '1.0',
      configurationId: context.configurationId,
      bucket: {
        name: bucket.name,
        ownerIdentity: bucket.ownerIdentity ?? { principalId: 'LOCAL' },
        arn: `arn:aws:s3:::${bucket.name}`,
      },
      object: {
        key: encodeS3Key(object.key),
        ...(object.size === undefined ? {} : { size: object.size }),
        ...(object.eTag === undefined ? {} : { eTag: object.eTag }),
        sequencer: context.sequencer,
      },
    },
  } as S3EventRecord;
}

/** S3's sequencer: hex that grows for successive events (compare only for the same key). */
export function sequencerFactory(now: () => number = Date.now): () => string {
  let last = 0n;
  return () => {
    const next = BigInt(now()) * 1_000_000n;
    last = next > last ? next : last + 1n;
    return last.toString(16).toUpperCase().padStart(18, '0');
  };
}
