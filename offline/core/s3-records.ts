import type { S3EventRecord } from 'aws-lambda';
import { createHash } from 'node:crypto';
import { encodeS3Key } from '../../lib/s3-keys';
import type { EventSource } from '../model/async-events';
import { LOCAL_ACCOUNT, type S3Subscription } from '../model/service';

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

/** Upper-case hex of a hash of `seed`: stable ids in AWS's character set. */
function stableId(seed: string, length: number): string {
  return createHash('sha256').update(seed).digest('hex').slice(0, length).toUpperCase();
}

/**
 * S3 names the bucket owner and the caller in every record, the same ids every time (s3rver makes new random ones
 * per event). Offline there is one account and every caller acts as one IAM user of it.
 */
export const OWNER_PRINCIPAL_ID = `A${stableId(`${LOCAL_ACCOUNT}:owner`, 13)}`;
export const CALLER_PRINCIPAL_ID = `AWS:AIDA${stableId(`${LOCAL_ACCOUNT}:caller`, 17)}`;

/**
 * The ETag S3 gives an object made by CompleteMultipartUpload: the MD5 of the parts' binary MD5s, then `-<parts>`
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html).
 */
export function multipartETag(partETags: readonly string[]): string {
  const digests = partETags.map((etag) => Buffer.from(etag.replace(/"/g, ''), 'hex'));
  return `${createHash('md5').update(Buffer.concat(digests)).digest('hex')}-${partETags.length}`;
}

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
    userIdentity: { principalId: CALLER_PRINCIPAL_ID },
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
        ownerIdentity: { principalId: OWNER_PRINCIPAL_ID },
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

/** What decides where the records of a local S3 notification go and how they are named. */
export interface S3Routing {
  readonly subscriptions: readonly S3Subscription[];
  /** The stack's region: S3 sends the bucket's, s3rver always says us-east-1. */
  readonly region: string;
  /** A function's deployed name; S3's configurationId here is `<name>-<bucket>`. */
  readonly functionName: (functionKey: string) => string;
  /** One per delivered record, growing (sequencerFactory). */
  readonly sequencer: () => string;
}

/** One event for one function: S3 sends each record on its own, once per matching configuration. */
export interface S3Delivery {
  readonly functionKey: string;
  readonly payload: { readonly Records: [S3EventRecord] };
  readonly source: Extract<EventSource, { kind: 's3' }>;
}

/** The events a notification of the local S3 (its Records) makes for the function subscriptions. */
export function s3Deliveries(
  notification: { readonly Records: readonly LocalS3Record[] },
  routing: S3Routing,
): S3Delivery[] {
  return notification.Records.flatMap((record) =>
    subscriptionsFor(routing.subscriptions, record).map((subscription) => {
      const awsRecord = toAwsRecord(record, {
        region: routing.region,
        configurationId: `${routing.functionName(subscription.functionKey)}-${subscription.bucket}`,
        sequencer: routing.sequencer(),
      });
      return {
        functionKey: subscription.functionKey,
        payload: { Records: [awsRecord] },
        source: {
          kind: 's3',
          bucket: subscription.bucket,
          // The object's key, as the console and `npm run dlq` show a source (the record has it encoded).
          key: record.s3.object.key,
          eventName: awsRecord.eventName,
        },
      };
    }),
  );
}
