import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { GetObjectCommand, type GetObjectCommandOutput, NoSuchKey, S3Client } from '@aws-sdk/client-s3';
import { type AwsClientStub, mockClient } from 'aws-sdk-client-mock';
import { expect } from 'chai';
import { EmptyObjectError, ObjectNotFoundError, S3UnreachableError } from '../../lib/errors';
import { summariseObject } from '../../lib/object-summary';

const BUCKET = 'lambda-s3-test-dev';
const KEY = 'targets/a b+c.txt';
const ENDPOINT = 'http://localhost:4569';

/**
 * summariseObject only iterates the Body. A plain async iterable stands in for the SDK's stream: it lacks the
 * SDK's transformToByteArray()/transformToString() on purpose, so reading the body whole would fail here.
 */
function streamingBody(source: AsyncIterable<Uint8Array>): GetObjectCommandOutput['Body'] {
  return source as unknown as GetObjectCommandOutput['Body'];
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the promise to reject, but it resolved');
}

describe('summariseObject', () => {
  let s3Mock: AwsClientStub<S3Client>;
  let s3: S3Client;

  before(() => {
    s3Mock = mockClient(S3Client);
    // Region and credentials are never used: the mock answers send() before any middleware runs.
    s3 = new S3Client({ region: 'ap-northeast-1' });
  });

  afterEach(() => {
    s3Mock.reset();
  });

  after(() => {
    s3Mock.restore();
  });

  describe('an object with content', () => {
    const chunks = [
      Buffer.from('first line\nsecond '),
      Buffer.from('line\n'),
      Buffer.from('日本語\nno newline at end'),
    ];
    const whole = Buffer.concat(chunks);

    beforeEach(() => {
      s3Mock
        .on(GetObjectCommand)
        .resolves({ Body: streamingBody(Readable.from(chunks)), ContentType: 'text/plain' });
    });

    it('asks S3 for the bucket and key it was given', async () => {
      await summariseObject({ bucket: BUCKET, key: KEY }, { s3 });
      const calls = s3Mock.commandCalls(GetObjectCommand);
      expect(calls).to.have.length(1);
      expect(calls[0]?.args[0].input).to.deep.equal({ Bucket: BUCKET, Key: KEY });
    });

    it('returns the bucket and key', async () => {
      const summary = await summariseObject({ bucket: BUCKET, key: KEY }, { s3 });
      expect(summary).to.include({ bucket: BUCKET, key: KEY });
    });

    it('counts the bytes of every chunk', async () => {
      const summary = await summariseObject({ bucket: BUCKET, key: KEY }, { s3 });
      expect(summary.size).to.equal(whole.length);
    });

    it('counts newline bytes across chunks (a last line without a newline is not counted, as with wc -l)', async () => {
      const summary = await summariseObject({ bucket: BUCKET, key: KEY }, { s3 });
      expect(summary.lines).to.equal(3);
    });

    it('hashes the bytes of every chunk in order', async () => {
      const summary = await summariseObject({ bucket: BUCKET, key: KEY }, { s3 });
      expect(summary.sha256).to.equal(sha256(whole));
    });

    it('passes the object ContentType through', async () => {
      const summary = await summariseObject({ bucket: BUCKET, key: KEY }, { s3 });
      expect(summary.contentType).to.equal('text/plain');
    });
  });

  it('defaults contentType to binary/octet-stream when S3 gives none', async () => {
    s3Mock.on(GetObjectCommand).resolves({ Body: streamingBody(Readable.from([Buffer.from('x')])) });
    const summary = await summariseObject({ bucket: BUCKET, key: KEY }, { s3 });
    expect(summary.contentType).to.equal('binary/octet-stream');
  });

  it('reads the body as a stream: 1,000 lazily produced 64 KiB chunks, each used before the next', async () => {
    const chunkCount = 1_000;
    const chunkSize = 64 * 1024;
    const expectedHash = createHash('sha256');
    let produced = 0;
    // One buffer, refilled before every yield: code that kept chunks to join them later would hash
    // 1,000 copies of the last fill and fail the sha256 check below.
    const buffer = Buffer.alloc(chunkSize);
    async function* lazyChunks(): AsyncGenerator<Uint8Array> {
      for (let index = 0; index < chunkCount; index += 1) {
        buffer.fill(0x20 + (index % 90));
        if (index % 2 === 0) buffer[index % chunkSize] = 0x0a;
        expectedHash.update(buffer);
        produced += 1;
        yield buffer;
      }
    }
    s3Mock.on(GetObjectCommand).resolves({ Body: streamingBody(lazyChunks()) });

    const summary = await summariseObject({ bucket: BUCKET, key: KEY }, { s3 });

    expect(produced).to.equal(chunkCount);
    expect(summary).to.deep.include({ size: chunkCount * chunkSize, lines: chunkCount / 2 });
    expect(summary.sha256).to.equal(expectedHash.digest('hex'));
  });

  describe('failures', () => {
    it('refuses a 0-byte object with EmptyObjectError naming its s3:// URL', async () => {
      s3Mock.on(GetObjectCommand).resolves({ Body: streamingBody(Readable.from([])), ContentLength: 0 });
      const error = await rejection(summariseObject({ bucket: BUCKET, key: KEY }, { s3 }));
      expect(error).to.be.instanceOf(EmptyObjectError);
      expect((error as Error).message).to.contain(`s3://${BUCKET}/${KEY}`);
    });

    it('refuses an object whose only chunk is empty with EmptyObjectError', async () => {
      s3Mock.on(GetObjectCommand).resolves({ Body: streamingBody(Readable.from([Buffer.alloc(0)])) });
      const error = await rejection(summariseObject({ bucket: BUCKET, key: KEY }, { s3 }));
      expect(error).to.be.instanceOf(EmptyObjectError);
    });

    it('refuses a response without Body with EmptyObjectError', async () => {
      s3Mock.on(GetObjectCommand).resolves({});
      const error = await rejection(summariseObject({ bucket: BUCKET, key: KEY }, { s3 }));
      expect(error).to.be.instanceOf(EmptyObjectError);
    });

    it('turns NoSuchKey into ObjectNotFoundError naming the s3:// URL', async () => {
      s3Mock.on(GetObjectCommand).rejects(new NoSuchKey({ message: 'x', $metadata: {} }));
      const error = await rejection(summariseObject({ bucket: BUCKET, key: KEY }, { s3 }));
      expect(error).to.be.instanceOf(ObjectNotFoundError);
      expect((error as Error).name).to.equal('ObjectNotFoundError');
      expect((error as Error).message).to.contain(`s3://${BUCKET}/${KEY}`);
    });

    it('turns AccessDenied (a missing key, for a role without s3:ListBucket) into ObjectNotFoundError', async () => {
      s3Mock
        .on(GetObjectCommand)
        .rejects(Object.assign(new Error('Access Denied'), { name: 'AccessDenied' }));
      const error = await rejection(summariseObject({ bucket: BUCKET, key: KEY }, { s3 }));
      expect(error).to.be.instanceOf(ObjectNotFoundError);
      expect((error as Error).message)
        .to.contain(`s3://${BUCKET}/${KEY}`)
        .and.to.contain('AccessDenied');
    });

    it('turns ECONNREFUSED into S3UnreachableError naming the endpoint and the s3:// URL', async () => {
      const refused = Object.assign(new Error(`connect ECONNREFUSED 127.0.0.1:4569`), {
        code: 'ECONNREFUSED',
        errno: -111,
        syscall: 'connect',
        address: '127.0.0.1',
        port: 4569,
      });
      s3Mock.on(GetObjectCommand).rejects(refused);
      const error = await rejection(
        summariseObject({ bucket: BUCKET, key: KEY }, { s3, s3Endpoint: ENDPOINT }),
      );
      expect(error).to.be.instanceOf(S3UnreachableError);
      expect((error as Error).message)
        .to.contain(ENDPOINT)
        .and.to.contain('ECONNREFUSED')
        .and.to.contain(`s3://${BUCKET}/${KEY}`);
    });

    it('says "the S3 endpoint" when unreachable without a configured endpoint', async () => {
      s3Mock
        .on(GetObjectCommand)
        .rejects(Object.assign(new Error('getaddrinfo ENOTFOUND s3'), { code: 'ENOTFOUND' }));
      const error = await rejection(summariseObject({ bucket: BUCKET, key: KEY }, { s3 }));
      expect(error).to.be.instanceOf(S3UnreachableError);
      expect((error as Error).message).to.contain('Cannot reach S3 at the S3 endpoint');
    });

    it('rethrows any other error unchanged', async () => {
      const denied = Object.assign(new Error('Slow Down'), { name: 'SlowDown', $metadata: {} });
      s3Mock.on(GetObjectCommand).rejects(denied);
      const error = await rejection(
        summariseObject({ bucket: BUCKET, key: KEY }, { s3, s3Endpoint: ENDPOINT }),
      );
      expect(error).to.equal(denied);
    });

    it('rethrows another system error (ECONNRESET) unchanged', async () => {
      const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
      s3Mock.on(GetObjectCommand).rejects(reset);
      const error = await rejection(summariseObject({ bucket: BUCKET, key: KEY }, { s3 }));
      expect(error).to.equal(reset);
    });
  });
});
