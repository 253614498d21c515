import { sourceOfPayload } from '../../offline/core/event-source';
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import {
  CALLER_PRINCIPAL_ID,
  type LocalS3Record,
  multipartETag,
  OWNER_PRINCIPAL_ID,
  s3Deliveries,
  type S3Routing,
  sequencerFactory,
  subscriptionsFor,
  toAwsRecord,
} from '../../offline/core/s3-records';
import type { S3Subscription } from '../../offline/model/service';

const BUCKET = 'lambda-s3-test-dev';
const RAW_KEY = 'targets/a b+c%d&e=f 日本.txt';
const ENCODED_KEY = 'targets/a+b%2Bc%25d%26e%3Df+%E6%97%A5%E6%9C%AC.txt';
const CONTEXT = {
  region: 'ap-northeast-1',
  configurationId: 'lambda-notes-dev-s3Upload-uploads',
  sequencer: '0179A1B2C3D4E5F600',
};

/** A record as s3rver 3.7 emits it (lib/models/event.js): eventVersion 2.0, us-east-1, `arn:aws:s3: : :`, raw key. */
function s3rverRecord(overrides: { eventName?: string; key?: string; bucket?: string; eTag?: string } = {}) {
  return {
    eventVersion: '2.0',
    eventSource: 'aws:s3',
    awsRegion: 'us-east-1',
    eventTime: '2026-11-25T13:37:12.345Z',
    eventName: overrides.eventName ?? 'ObjectCreated:Put',
    userIdentity: { principalId: 'AWS:0123456789ABCDEF01234' },
    requestParameters: { sourceIPAddress: '127.0.0.1' },
    responseElements: { 'x-amz-request-id': '0123456789ABCDEF', 'x-amz-id-2': 'aGVsbG8=' },
    s3: {
      s3SchemaVersion: '1.0',
      configurationId: 'testConfigId',
      bucket: {
        name: overrides.bucket ?? BUCKET,
        ownerIdentity: { principalId: '0123456789ABCD' },
        arn: `arn:aws:s3: : :${overrides.bucket ?? BUCKET}`,
      },
      object: {
        key: overrides.key ?? RAW_KEY,
        sequencer: '19AB4F1C2D3',
        size: 12,
        eTag: overrides.eTag ?? '6f5902ac237024bdd0c176cb93063dc4',
      },
    },
  };
}

function subscription(overrides: Partial<S3Subscription> = {}): S3Subscription {
  return {
    functionKey: 's3Upload',
    bucket: BUCKET,
    event: 's3:ObjectCreated:*',
    prefix: undefined,
    suffix: undefined,
    ...overrides,
  };
}

function matches(sub: S3Subscription, record: LocalS3Record): boolean {
  return subscriptionsFor([sub], record).length === 1;
}

/** AWS: compare sequencers of the same key by padding the shorter with leading zeros, then as strings. */
function sequencerLess(a: string, b: string): boolean {
  const width = Math.max(a.length, b.length);
  return a.padStart(width, '0') < b.padStart(width, '0');
}

function md5(data: Buffer | string): string {
  return createHash('md5').update(data).digest('hex');
}

describe('s3-notifications', () => {
  describe('principal ids', () => {
    it('names the same caller and the same bucket owner in every record (s3rver draws new ones per event)', () => {
      const first = toAwsRecord(s3rverRecord(), CONTEXT);
      const other = s3rverRecord();
      other.userIdentity.principalId = 'AWS:FEDCBA9876543210FEDCB';
      other.s3.bucket.ownerIdentity.principalId = 'FEDCBA98765432';
      const second = toAwsRecord(other, CONTEXT);
      expect(second.userIdentity).to.deep.equal(first.userIdentity);
      expect(second.s3.bucket.ownerIdentity).to.deep.equal(first.s3.bucket.ownerIdentity);
    });

    it('shapes them as AWS does: an IAM user id for the caller, a canonical-style id for the owner', () => {
      expect(CALLER_PRINCIPAL_ID).to.match(/^AWS:AIDA[0-9A-Z]{17}$/);
      expect(OWNER_PRINCIPAL_ID).to.match(/^A[0-9A-Z]{13}$/);
    });
  });

  describe('multipartETag', () => {
    it("is the MD5 of the parts' binary MD5s and the number of parts", () => {
      const parts = [Buffer.alloc(5 * 1024 * 1024, 'a'), Buffer.from('tail')];
      const expected = `${md5(Buffer.concat(parts.map((part) => Buffer.from(md5(part), 'hex'))))}-2`;
      expect(multipartETag(parts.map((part) => `"${md5(part)}"`))).to.equal(expected);
    });

    it('matches the recorded one-part upload (test_object_created_complete_multipart_upload: 6144 bytes)', () => {
      // The recording's object is one part; its eTag is md5(md5(part)) + '-1' whatever the bytes were.
      const part = md5('x'.repeat(6144));
      expect(multipartETag([part])).to.equal(`${md5(Buffer.from(part, 'hex'))}-1`);
      expect(multipartETag([part])).to.match(/^[0-9a-f]{32}-1$/);
    });
  });

  describe('toAwsRecord', () => {
    it('turns an s3rver record into the record S3 itself sends', () => {
      expect(toAwsRecord(s3rverRecord(), CONTEXT)).to.deep.equal({
        eventVersion: '2.1',
        eventSource: 'aws:s3',
        awsRegion: 'ap-northeast-1',
        eventTime: '2026-11-25T13:37:12.345Z',
        eventName: 'ObjectCreated:Put',
        userIdentity: { principalId: CALLER_PRINCIPAL_ID },
        requestParameters: { sourceIPAddress: '127.0.0.1' },
        responseElements: { 'x-amz-request-id': '0123456789ABCDEF', 'x-amz-id-2': 'aGVsbG8=' },
        s3: {
          s3SchemaVersion: '1.0',
          configurationId: 'lambda-notes-dev-s3Upload-uploads',
          bucket: {
            name: BUCKET,
            ownerIdentity: { principalId: OWNER_PRINCIPAL_ID },
            arn: `arn:aws:s3:::${BUCKET}`,
          },
          object: {
            key: ENCODED_KEY,
            size: 12,
            eTag: '6f5902ac237024bdd0c176cb93063dc4',
            sequencer: '0179A1B2C3D4E5F600',
          },
        },
      });
    });

    it('sets eventVersion 2.1', () => {
      expect(toAwsRecord(s3rverRecord(), CONTEXT).eventVersion).to.equal('2.1');
    });

    it('uses the given region instead of s3rver us-east-1', () => {
      expect(toAwsRecord(s3rverRecord(), { ...CONTEXT, region: 'eu-west-3' }).awsRegion).to.equal(
        'eu-west-3',
      );
    });

    it('writes the bucket ARN without the spaces s3rver puts in it', () => {
      expect(toAwsRecord(s3rverRecord(), CONTEXT).s3.bucket.arn).to.equal(`arn:aws:s3:::${BUCKET}`);
    });

    it('form-URL-encodes the key: space as +, + & % = and non-ASCII percent-encoded, slashes kept', () => {
      expect(toAwsRecord(s3rverRecord(), CONTEXT).s3.object.key).to.equal(ENCODED_KEY);
    });

    it('uses the given sequencer and configurationId, not s3rver ones', () => {
      const { s3 } = toAwsRecord(s3rverRecord(), {
        ...CONTEXT,
        sequencer: '00ABC',
        configurationId: 'cfg-1',
      });
      expect([s3.object.sequencer, s3.configurationId]).to.deep.equal(['00ABC', 'cfg-1']);
    });

    it('names a Post with a multipart eTag ObjectCreated:CompleteMultipartUpload', () => {
      const record = s3rverRecord({
        eventName: 'ObjectCreated:Post',
        eTag: '6f5902ac237024bdd0c176cb93063dc4-3',
      });
      expect(toAwsRecord(record, CONTEXT).eventName).to.equal('ObjectCreated:CompleteMultipartUpload');
    });

    it('keeps ObjectCreated:Post for a form POST (single-part eTag)', () => {
      const record = s3rverRecord({ eventName: 'ObjectCreated:Post' });
      expect(toAwsRecord(record, CONTEXT).eventName).to.equal('ObjectCreated:Post');
    });

    it('does not rename a Put whose eTag happens to end in -digits', () => {
      const record = s3rverRecord({ eventName: 'ObjectCreated:Put', eTag: 'abc-2' });
      expect(toAwsRecord(record, CONTEXT).eventName).to.equal('ObjectCreated:Put');
    });
  });

  describe('subscriptionsFor', () => {
    it('matches a key under the prefix', () => {
      expect(matches(subscription({ prefix: 'targets/' }), s3rverRecord({ key: 'targets/a' }))).to.equal(
        true,
      );
    });

    it('treats the prefix as starts-with: "xtargets/a" is not under "targets/"', () => {
      expect(matches(subscription({ prefix: 'targets/' }), s3rverRecord({ key: 'xtargets/a' }))).to.equal(
        false,
      );
    });

    it('does not match a key that merely contains the prefix further in', () => {
      expect(
        matches(subscription({ prefix: 'targets/' }), s3rverRecord({ key: 'other/targets/a' })),
      ).to.equal(false);
    });

    it('treats regex characters in a prefix literally: "a.b/" does not match "aXb/file"', () => {
      expect(matches(subscription({ prefix: 'a.b/' }), s3rverRecord({ key: 'aXb/file' }))).to.equal(false);
    });

    it('treats regex characters in a prefix literally: "a.b/" matches "a.b/file"', () => {
      expect(matches(subscription({ prefix: 'a.b/' }), s3rverRecord({ key: 'a.b/file' }))).to.equal(true);
    });

    it('treats the suffix as ends-with', () => {
      const sub = subscription({ suffix: '.jpg' });
      expect([
        matches(sub, s3rverRecord({ key: 'photos/cat.jpg' })),
        matches(sub, s3rverRecord({ key: 'photos/cat.jpg.txt' })),
        matches(sub, s3rverRecord({ key: 'photos/catXjpg' })),
      ]).to.deep.equal([true, false, false]);
    });

    it('requires both prefix and suffix when both are given', () => {
      const sub = subscription({ prefix: 'targets/', suffix: '.txt' });
      expect([
        matches(sub, s3rverRecord({ key: 'targets/a.txt' })),
        matches(sub, s3rverRecord({ key: 'targets/a.csv' })),
        matches(sub, s3rverRecord({ key: 'other/a.txt' })),
      ]).to.deep.equal([true, false, false]);
    });

    it('does not match a record from another bucket', () => {
      expect(matches(subscription(), s3rverRecord({ bucket: 'another-bucket' }))).to.equal(false);
    });

    for (const eventName of ['ObjectCreated:Put', 'ObjectCreated:Copy', 'ObjectCreated:Post']) {
      it(`s3:ObjectCreated:* matches ${eventName}`, () => {
        expect(matches(subscription(), s3rverRecord({ eventName }))).to.equal(true);
      });
    }

    it('s3:ObjectCreated:* matches a multipart upload (CompleteMultipartUpload)', () => {
      const record = s3rverRecord({ eventName: 'ObjectCreated:Post', eTag: 'abc-3' });
      expect(matches(subscription(), record)).to.equal(true);
    });

    it('s3:ObjectCreated:* does not match ObjectRemoved:Delete', () => {
      expect(matches(subscription(), s3rverRecord({ eventName: 'ObjectRemoved:Delete' }))).to.equal(false);
    });

    it('an exact event name matches only itself', () => {
      const sub = subscription({ event: 's3:ObjectCreated:Put' });
      expect([
        matches(sub, s3rverRecord({ eventName: 'ObjectCreated:Put' })),
        matches(sub, s3rverRecord({ eventName: 'ObjectCreated:Copy' })),
        matches(sub, s3rverRecord({ eventName: 'ObjectCreated:Post' })),
      ]).to.deep.equal([true, false, false]);
    });

    it('s3:ObjectCreated:Post does not match a multipart upload, which AWS names CompleteMultipartUpload', () => {
      const sub = subscription({ event: 's3:ObjectCreated:Post' });
      expect(matches(sub, s3rverRecord({ eventName: 'ObjectCreated:Post', eTag: 'abc-3' }))).to.equal(false);
    });

    it('returns every matching subscription and only those', () => {
      const subs = [
        subscription({ functionKey: 'a', prefix: 'targets/' }),
        subscription({ functionKey: 'b', suffix: '.csv' }),
        subscription({ functionKey: 'c', event: 's3:ObjectRemoved:*' }),
        subscription({ functionKey: 'd' }),
      ];
      const found = subscriptionsFor(subs, s3rverRecord({ key: 'targets/x.txt' })).map(
        (sub) => sub.functionKey,
      );
      expect(found).to.deep.equal(['a', 'd']);
    });
  });

  describe('sequencerFactory', () => {
    it('gives 18 upper-case hex digits', () => {
      const next = sequencerFactory(() => Date.parse('2026-11-25T13:37:12.345Z'));
      expect(next()).to.match(/^[0-9A-F]{18}$/);
    });

    it('grows strictly when the clock does not move', () => {
      const next = sequencerFactory(() => 1_780_000_000_000);
      const values = [next(), next(), next()];
      expect(sequencerLess(values[0] ?? '', values[1] ?? '')).to.equal(true);
      expect(sequencerLess(values[1] ?? '', values[2] ?? '')).to.equal(true);
    });

    it('grows strictly when the clock goes backwards', () => {
      const times = [1_780_000_000_500, 1_780_000_000_000];
      const next = sequencerFactory(() => times.shift() ?? 0);
      const [first, second] = [next(), next()];
      expect(sequencerLess(first, second)).to.equal(true);
    });

    it('grows with the clock', () => {
      const times = [1_780_000_000_000, 1_780_000_000_001];
      const next = sequencerFactory(() => times.shift() ?? 0);
      const [first, second] = [next(), next()];
      expect(sequencerLess(first, second)).to.equal(true);
    });
  });

  describe('s3Deliveries', () => {
    /** Routing for `subscriptions` in the stack lambda-notes-dev, with a clock that does not move. */
    function routing(subscriptions: S3Subscription[]): S3Routing {
      return {
        subscriptions,
        region: 'ap-northeast-1',
        functionName: (functionKey) => `lambda-notes-dev-${functionKey}`,
        sequencer: sequencerFactory(() => 1_780_000_000_000),
      };
    }

    it('delivers a record only to the subscriptions whose prefix and suffix match its key', () => {
      const deliveries = s3Deliveries(
        { Records: [s3rverRecord({ key: 'targets/report.txt' })] },
        routing([
          subscription({ functionKey: 'texts', prefix: 'targets/', suffix: '.txt' }),
          subscription({ functionKey: 'images', prefix: 'targets/', suffix: '.jpg' }),
          subscription({ functionKey: 'others', prefix: 'other/' }),
        ]),
      );
      expect(deliveries.map((delivery) => delivery.functionKey)).to.deep.equal(['texts']);
    });

    it('delivers nothing for a record no subscription wants', () => {
      const notification = { Records: [s3rverRecord({ bucket: 'another-bucket' })] };
      expect(s3Deliveries(notification, routing([subscription()]))).to.deep.equal([]);
    });

    it('sends one record to each of two subscriptions, each in its own event with its own configurationId', () => {
      const deliveries = s3Deliveries(
        { Records: [s3rverRecord()] },
        routing([subscription({ functionKey: 's3Upload' }), subscription({ functionKey: 'audit' })]),
      );
      expect(
        deliveries.map(({ functionKey, payload }) => [
          functionKey,
          payload.Records.length,
          payload.Records[0].s3.configurationId,
        ]),
      ).to.deep.equal([
        ['s3Upload', 1, `lambda-notes-dev-s3Upload-${BUCKET}`],
        ['audit', 1, `lambda-notes-dev-audit-${BUCKET}`],
      ]);
    });

    it("names the source by bucket, the object's key (as sourceOfPayload reads it from the record) and the event name", () => {
      const [delivery] = s3Deliveries({ Records: [s3rverRecord()] }, routing([subscription()]));
      expect(delivery?.payload.Records[0].s3.object.key).to.equal(ENCODED_KEY);
      expect(sourceOfPayload(delivery?.payload)).to.deep.equal(delivery?.source);
      expect(delivery?.source).to.deep.equal({
        kind: 's3',
        bucket: BUCKET,
        key: RAW_KEY,
        eventName: 'ObjectCreated:Put',
      });
    });

    it('names a completed multipart upload ObjectCreated:CompleteMultipartUpload in the record and the source', () => {
      const record = s3rverRecord({
        eventName: 'ObjectCreated:Post',
        eTag: '6f5902ac237024bdd0c176cb93063dc4-2',
      });
      const [delivery] = s3Deliveries({ Records: [record] }, routing([subscription()]));
      expect([delivery?.payload.Records[0].eventName, delivery?.source.eventName]).to.deep.equal([
        'ObjectCreated:CompleteMultipartUpload',
        'ObjectCreated:CompleteMultipartUpload',
      ]);
    });

    it('gives every delivered record a greater sequencer, across records and subscriptions', () => {
      const deliveries = s3Deliveries(
        { Records: [s3rverRecord({ key: 'targets/a' }), s3rverRecord({ key: 'targets/b' })] },
        routing([subscription({ functionKey: 's3Upload' }), subscription({ functionKey: 'audit' })]),
      );
      const sequencers = deliveries.map((delivery) => delivery.payload.Records[0].s3.object.sequencer);
      expect(sequencers).to.have.length(4);
      for (let i = 1; i < sequencers.length; i++) {
        expect(sequencerLess(sequencers[i - 1] ?? '', sequencers[i] ?? ''), `${i}`).to.equal(true);
      }
    });
  });
});
