import type { S3EventRecord, SQSRecord } from 'aws-lambda';
import { expect } from 'chai';
import { InvalidEventError } from '../../lib/errors';
import { parseObjectCreatedEvent } from '../../lib/s3-records';
import { loadEvent, s3PutEvent, s3PutRecord } from '../../support/fixtures';

const BUCKET = 'lambda-s3-test-dev';

/** Runs the parser and returns the InvalidEventError it threw, failing the test if it threw anything else. */
function parseError(event: unknown): InvalidEventError {
  let caught: unknown;
  try {
    parseObjectCreatedEvent(event);
  } catch (error) {
    caught = error;
  }
  expect(caught, 'parseObjectCreatedEvent should throw').to.be.instanceOf(InvalidEventError);
  const error = caught as InvalidEventError;
  expect(error.name).to.equal('InvalidEventError');
  return error;
}

function sqsRecord(): SQSRecord {
  return {
    messageId: '059f36b4-87a3-44ab-83d2-661975830a7d',
    receiptHandle: 'AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a',
    body: 'test',
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: '1545082649183',
      SenderId: 'AIDAIENQZJOLO23YVJ4VO',
      ApproximateFirstReceiveTimestamp: '1545082649185',
    },
    messageAttributes: {},
    md5OfBody: '098f6bcd4621d373cade4e832627b4f6',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:ap-northeast-1:123456789012:my-queue',
    awsRegion: 'ap-northeast-1',
  };
}

describe('parseObjectCreatedEvent', () => {
  describe('a valid S3 notification', () => {
    it('returns the record of events/s3-put.json with bucket, key, eventName and eventTime', () => {
      expect(parseObjectCreatedEvent(loadEvent('s3-put'))).to.deep.equal([
        {
          bucket: BUCKET,
          key: 'targets/test.txt',
          eventName: 'ObjectCreated:Put',
          eventTime: '2026-11-25T13:00:00.000Z',
        },
      ]);
    });

    it('returns every record, in order, not only Records[0]', () => {
      const keys = parseObjectCreatedEvent(
        s3PutEvent(['targets/one.txt', 'targets/two.txt', 'targets/three.txt']),
      ).map((record) => record.key);
      expect(keys).to.deep.equal(['targets/one.txt', 'targets/two.txt', 'targets/three.txt']);
    });

    it('decodes every key (+ is a space, %2B is a plus, UTF-8 escapes)', () => {
      const event = s3PutEvent([
        'targets/a+b%2Bc.txt',
        'targets/%E6%97%A5%E6%9C%AC.txt',
        'targets/100%25.txt',
      ]);
      expect(parseObjectCreatedEvent(event).map((record) => record.key)).to.deep.equal([
        'targets/a b+c.txt',
        'targets/日本.txt',
        'targets/100%.txt',
      ]);
    });

    it('accepts every ObjectCreated variant', () => {
      const event = s3PutEvent(['targets/a', 'targets/b', 'targets/c']);
      const names = ['ObjectCreated:Put', 'ObjectCreated:Copy', 'ObjectCreated:CompleteMultipartUpload'];
      event.Records.forEach((record, index) => {
        record.eventName = names[index] ?? '';
      });
      expect(parseObjectCreatedEvent(event).map((record) => record.eventName)).to.deep.equal(names);
    });

    it('gives an empty eventTime when a record has none', () => {
      const record: Record<string, unknown> = { ...s3PutRecord() };
      delete record.eventTime;
      const [parsed] = parseObjectCreatedEvent({ Records: [record] });
      expect(parsed?.eventTime).to.equal('');
    });
  });

  describe('an event that is not an S3 notification', () => {
    it('refuses a string, saying a "Records" array was expected', () => {
      const { message } = parseError('targets/test.txt');
      expect(message).to.contain('"Records" array').and.to.contain('a string');
    });

    it('refuses null', () => {
      expect(parseError(null).message).to.contain('"Records" array').and.to.contain('got null');
    });

    it('refuses an array', () => {
      expect(parseError([s3PutRecord()]).message)
        .to.contain('"Records" array')
        .and.to.contain('an array');
    });

    it('refuses an empty object', () => {
      expect(parseError({}).message).to.contain('"Records" array').and.to.contain('an object with keys []');
    });

    it('refuses an object without Records, listing the keys it has', () => {
      const { message } = parseError(loadEvent('hello'));
      expect(message).to.contain('"Records" array').and.to.contain('[key1, key2, key3]');
    });

    it('refuses an object whose Records is not an array', () => {
      expect(parseError({ Records: s3PutRecord() }).message).to.contain('"Records" array');
    });

    it('refuses an empty Records array', () => {
      expect(parseError({ Records: [] }).message).to.contain('empty "Records" array');
    });
  });

  describe('a bad record', () => {
    it('refuses a record that is not an object, naming its index', () => {
      const event: { Records: unknown[] } = s3PutEvent(['targets/ok.txt']);
      event.Records.push(null);
      expect(parseError(event).message).to.contain('Records[1] is null');
    });

    it('refuses an aws:sqs record after a valid one, naming its index and aws:s3', () => {
      const event = { Records: [s3PutRecord(), sqsRecord()] };
      const { message } = parseError(event);
      expect(message).to.contain('Records[1]').and.to.contain('"aws:sqs"').and.to.contain('aws:s3');
    });

    it('refuses a record without eventSource', () => {
      const record: Record<string, unknown> = { ...s3PutRecord() };
      delete record.eventSource;
      expect(parseError({ Records: [record] }).message)
        .to.contain('Records[0]')
        .and.to.contain('aws:s3');
    });

    it('refuses an ObjectRemoved:Delete record, naming the event', () => {
      const event = s3PutEvent(['targets/ok.txt', 'targets/gone.txt']);
      const removed = event.Records[1];
      if (removed === undefined) throw new Error('fixture has no second record');
      removed.eventName = 'ObjectRemoved:Delete';
      const { message } = parseError(event);
      expect(message)
        .to.contain('Records[1]')
        .and.to.contain('"ObjectRemoved:Delete"')
        .and.to.contain('ObjectCreated events only');
    });

    it('refuses a record without eventName', () => {
      const record: Record<string, unknown> = { ...s3PutRecord() };
      delete record.eventName;
      expect(parseError({ Records: [record] }).message)
        .to.contain('Records[0]')
        .and.to.contain('ObjectCreated');
    });

    it('refuses a record without s3.bucket.name', () => {
      const record = s3PutRecord();
      const bucket: Partial<S3EventRecord['s3']['bucket']> = record.s3.bucket;
      delete bucket.name;
      expect(parseError({ Records: [record] }).message).to.contain('Records[0] has no s3.bucket.name');
    });

    it('refuses a record with an empty bucket name', () => {
      const record = s3PutRecord();
      record.s3.bucket.name = '';
      expect(parseError({ Records: [record] }).message).to.contain('Records[0] has no s3.bucket.name');
    });

    it('refuses a record without s3.object.key', () => {
      const event = s3PutEvent(['targets/ok.txt', 'targets/no-key.txt']);
      const object: Partial<S3EventRecord['s3']['object']> | undefined = event.Records[1]?.s3.object;
      if (object === undefined) throw new Error('fixture has no second record');
      delete object.key;
      expect(parseError(event).message).to.contain('Records[1] has no s3.object.key');
    });

    it('refuses a record without an s3 section', () => {
      const record: Record<string, unknown> = { ...s3PutRecord() };
      delete record.s3;
      expect(parseError({ Records: [record] }).message).to.contain('Records[0] has no s3.bucket.name');
    });

    it('refuses a key that is not valid URL encoding, naming the key', () => {
      expect(parseError(s3PutEvent(['targets/%E0%A4%A.txt'])).message).to.contain('"targets/%E0%A4%A.txt"');
    });
  });
});
