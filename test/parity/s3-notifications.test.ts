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
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import type { S3EventRecord } from 'aws-lambda';
import { expect } from 'chai';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectLocalS3, type LocalS3Server } from '../../offline/adapters/local-s3';
import { sequencerFactory } from '../../offline/core/s3-records';
import { freePort } from '../../support/offline-stack';
import { waitFor } from '../../support/wait';
import { compareShape, describeDifferences, loadRecorded, recordedCase } from './shape';

interface S3rverInstance extends LocalS3Server {
  run(): Promise<unknown>;
  close(): Promise<void>;
}
type S3rverClass = new (options: {
  port: number;
  address: string;
  silent: boolean;
  directory: string;
  configureBuckets: Array<{ name: string; configs: string[] }>;
}) => S3rverInstance;

const S3rver = createRequire(__filename)('s3rver') as S3rverClass;
const BUCKET = 'lambda-s3-test-dev';
const recordings = loadRecorded('s3-notifications.json');

describe('parity: S3 event records against recorded AWS records', function () {
  this.timeout(30_000);
  let directory: string;
  let server: S3rverInstance;
  let s3: S3Client;
  /** The records of the events queued for the function, in order. */
  let records: S3EventRecord[] = [];

  before(async () => {
    directory = await mkdtemp(join(tmpdir(), 'lambda-notes-parity-s3-'));
    const port = await freePort();
    server = new S3rver({
      port,
      address: '127.0.0.1',
      silent: true,
      directory,
      configureBuckets: [{ name: BUCKET, configs: [] }],
    });
    await server.run();
    connectLocalS3(
      server,
      {
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
        functionName: (functionKey) => `lambda-notes-dev-${functionKey}`,
        sequencer: sequencerFactory(),
      },
      async (delivery) => {
        records.push(...delivery.payload.Records);
      },
    );
    s3 = new S3Client({
      region: 'ap-northeast-1',
      endpoint: `http://127.0.0.1:${port}`,
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      requestChecksumCalculation: 'WHEN_REQUIRED',
    });
  });

  beforeEach(() => {
    records = [];
  });

  after(async () => {
    s3?.destroy();
    await server?.close();
    await rm(directory, { recursive: true, force: true });
  });

  async function offlineRecords(count: number): Promise<unknown[]> {
    await waitFor(`${count} S3 event(s)`, () => records.length >= count);
    return records;
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
    await waitFor('the source upload event', () => records.length === 1);
    records = [];
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
