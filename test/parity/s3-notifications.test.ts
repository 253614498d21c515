/**
 * Parity of the S3 event records offline sends with records recorded against AWS. The local S3 (s3rver, as
 * serverless-s3-local runs it) connected to the queue by connectLocalS3, as the offline stack connects it: the
 * path every upload takes offline, up to the queue. The uploads repeat the recorded tests' own bodies, so eTags
 * match to the byte.
 */
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import type { S3EventRecord } from 'aws-lambda';
import { expect } from 'chai';
import { waitFor } from '../../support/wait';
import { type LocalS3, startLocalS3 } from '../helpers/local-s3';
import { compareShape, describeDifferences, loadRecorded, recordedCase } from './shape';

const BUCKET = 'lambda-s3-test-dev';
const recordings = loadRecorded('s3-notifications.json');

describe('parity: S3 event records against recorded AWS records', function () {
  this.timeout(30_000);
  let local: LocalS3;
  let s3: S3Client;
  /** The records of the events queued for the function, in order. */
  const records = (): S3EventRecord[] => local.deliveries.flatMap((delivery) => delivery.payload.Records);

  before(async () => {
    local = await startLocalS3({
      bucket: BUCKET,
      // Every key: the recorded uploads are not under serverless.yml's targets/ prefix.
      subscriptions: [
        {
          functionKey: 's3Upload',
          bucket: BUCKET,
          event: 's3:ObjectCreated:*',
          prefix: undefined,
          suffix: undefined,
        },
      ],
      region: 'ap-northeast-1',
    });
    s3 = local.s3;
  });

  beforeEach(() => {
    local.deliveries.length = 0;
  });

  after(async () => {
    await local?.close();
  });

  async function offlineRecords(count: number): Promise<unknown[]> {
    await waitFor(`${count} S3 event(s)`, () => records().length >= count);
    return records();
  }

  function expectParity(name: string, offline: unknown[]): void {
    const source = recordedCase(recordings, name);
    const differences = compareShape(source.recorded, offline);
    expect(differences, `differs from ${source.test}:\n${describeDifferences(differences)}`).to.deep.equal(
      [],
    );
  }

  it('PutObject: two records, one caller and one owner principal', async () => {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'my_key_0', Body: 'something' }));
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'my_key_1', Body: 'something else' }));
    expectParity('put', await offlineRecords(2));
  });

  it('CopyObject: ObjectCreated:Copy with the eTag', async () => {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'copy-source', Body: 'something' }));
    await waitFor('the source upload event', () => records().length === 1);
    local.deliveries.length = 0;
    await s3.send(
      new CopyObjectCommand({ Bucket: BUCKET, Key: 'copy-target', CopySource: `${BUCKET}/copy-source` }),
    );
    expectParity('copy', await offlineRecords(1));
  });

  it('CompleteMultipartUpload: its own event name and the multipart eTag', async () => {
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'test-key' }));
    const part = await s3.send(
      new UploadPartCommand({
        Bucket: BUCKET,
        Key: 'test-key',
        UploadId,
        PartNumber: 1,
        Body: '1'.repeat(6144),
      }),
    );
    const completed = await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: BUCKET,
        Key: 'test-key',
        UploadId,
        MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] },
      }),
    );
    expectParity('complete-multipart-upload', await offlineRecords(1));
    expect(completed.ETag).to.equal('"8eabe9d6b43316e840b079170916c079-1"');
  });

  it('a key with a special character: form-URL-encoded', async () => {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'a@b', Body: 'something' }));
    expectParity('key-encoding', await offlineRecords(1));
  });
});
