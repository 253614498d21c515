import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { expect } from 'chai';
import { EmptyObjectError, ObjectNotFoundError, S3UnreachableError } from '../../lib/errors';
import { summariseObject } from '../../lib/object-summary';
import { type GetObjectResult, type ObjectReader, S3Client, S3ServiceError } from '../../lib/s3-client';
import { FakeS3 } from '../helpers/fake-s3';
import { rejection } from '../helpers/rejection';

const BUCKET = 'lambda-s3-test-dev';
const KEY = 'targets/a b+c.txt';
const ENDPOINT = 'http://localhost:4569';

/** A stand-in S3 client: answers every getObject with `answer`, and records what it was asked. */
class FakeReader implements ObjectReader {
  readonly calls: Array<{ bucket: string; key: string }> = [];
  answer: () => Promise<GetObjectResult> = () => Promise.reject(new Error('no answer set'));
  getObject(bucket: string, key: string): Promise<GetObjectResult> {
    this.calls.push({ bucket, key });
    return this.answer();
  }
  resolves(result: Partial<GetObjectResult>): void {
    this.answer = async () => ({
      body: Readable.from([]),
      contentType: undefined,
      contentLength: undefined,
      ...result,
    });
  }
  rejects(error: unknown): void {
    this.answer = () => Promise.reject(error);
  }
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

describe('summariseObject', () => {
  let s3: FakeReader;

  beforeEach(() => {
    s3 = new FakeReader();
  });

  describe('an object with content', () => {
    const chunks = [
      Buffer.from('first line\nsecond '),
      Buffer.from('line\n'),
      Buffer.from('日本語\nno newline at end'),
    ];
    const whole = Buffer.concat(chunks);

    beforeEach(() => {
      s3.resolves({ body: Readable.from(chunks), contentType: 'text/plain' });
    });

    it('asks S3 for the bucket and key it was given', async () => {
      await summariseObject({ bucket: BUCKET, key: KEY }, { s3 });
      expect(s3.calls).to.deep.equal([{ bucket: BUCKET, key: KEY }]);
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
    s3.resolves({ body: Readable.from([Buffer.from('x')]) });
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
    s3.resolves({ body: lazyChunks() });

    const summary = await summariseObject({ bucket: BUCKET, key: KEY }, { s3 });

    expect(produced).to.equal(chunkCount);
    expect(summary).to.deep.include({ size: chunkCount * chunkSize, lines: chunkCount / 2 });
    expect(summary.sha256).to.equal(expectedHash.digest('hex'));
  });

  describe('failures', () => {
    it('refuses a 0-byte object with EmptyObjectError naming its s3:// URL', async () => {
      s3.resolves({ body: Readable.from([]), contentLength: 0 });
      const error = await rejection(summariseObject({ bucket: BUCKET, key: KEY }, { s3 }));
      expect(error).to.be.instanceOf(EmptyObjectError);
      expect((error as Error).message).to.contain(`s3://${BUCKET}/${KEY}`);
    });

    it('refuses an object whose only chunk is empty with EmptyObjectError', async () => {
      s3.resolves({ body: Readable.from([Buffer.alloc(0)]) });
      const error = await rejection(summariseObject({ bucket: BUCKET, key: KEY }, { s3 }));
      expect(error).to.be.instanceOf(EmptyObjectError);
    });

    it('turns NoSuchKey into ObjectNotFoundError naming the s3:// URL', async () => {
      s3.rejects(new S3ServiceError('NoSuchKey', 'The specified key does not exist.', 404, 'R1'));
      const error = await rejection(summariseObject({ bucket: BUCKET, key: KEY }, { s3 }));
      expect(error).to.be.instanceOf(ObjectNotFoundError);
      expect((error as Error).name).to.equal('ObjectNotFoundError');
      expect((error as Error).message).to.contain(`s3://${BUCKET}/${KEY}`);
    });

    it('turns AccessDenied (a missing key, for a role without s3:ListBucket) into ObjectNotFoundError', async () => {
      s3.rejects(new S3ServiceError('AccessDenied', 'Access Denied', 403, 'R1'));
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
      s3.rejects(refused);
      const error = await rejection(
        summariseObject({ bucket: BUCKET, key: KEY }, { s3, s3Endpoint: ENDPOINT }),
      );
      expect(error).to.be.instanceOf(S3UnreachableError);
      expect((error as Error).message)
        .to.contain(ENDPOINT)
        .and.to.contain('ECONNREFUSED')
        .and.to.contain(`s3://${BUCKET}/${KEY}`);
    });

    it('with the real client: a refused connection, tried 3 times, is S3UnreachableError; a 404 is ObjectNotFoundError', async () => {
      const local = await FakeS3.start();
      const endpoint = local.endpoint;
      const attempts: number[] = [];
      const client = (at: string): S3Client =>
        new S3Client({
          region: 'ap-northeast-1',
          endpoint: at,
          credentials: () => ({ accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' }),
          sleep: async (ms) => {
            attempts.push(ms);
          },
        });
      try {
        const missing = await rejection(
          summariseObject({ bucket: BUCKET, key: KEY }, { s3: client(endpoint) }),
        );
        expect(missing).to.be.instanceOf(ObjectNotFoundError);
        expect(local.requests).to.have.length(1);
      } finally {
        await local.close();
      }
      // The same port, now closed.
      const error = await rejection(
        summariseObject({ bucket: BUCKET, key: KEY }, { s3: client(endpoint), s3Endpoint: endpoint }),
      );
      expect(error).to.be.instanceOf(S3UnreachableError);
      expect((error as Error).message)
        .to.contain(endpoint)
        .and.to.contain('ECONNREFUSED');
      expect(attempts, 'two waits: three attempts').to.have.length(2);
    });

    it('says "the S3 endpoint" when unreachable without a configured endpoint', async () => {
      s3.rejects(Object.assign(new Error('getaddrinfo ENOTFOUND s3'), { code: 'ENOTFOUND' }));
      const error = await rejection(summariseObject({ bucket: BUCKET, key: KEY }, { s3 }));
      expect(error).to.be.instanceOf(S3UnreachableError);
      expect((error as Error).message).to.contain('Cannot reach S3 at the S3 endpoint');
    });

    it('rethrows any other error unchanged', async () => {
      const denied = new S3ServiceError('SlowDown', 'Please reduce your request rate.', 503, 'R1');
      s3.rejects(denied);
      const error = await rejection(
        summariseObject({ bucket: BUCKET, key: KEY }, { s3, s3Endpoint: ENDPOINT }),
      );
      expect(error).to.equal(denied);
    });

    it('rethrows another system error (ECONNRESET) unchanged', async () => {
      const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
      s3.rejects(reset);
      const error = await rejection(summariseObject({ bucket: BUCKET, key: KEY }, { s3 }));
      expect(error).to.equal(reset);
    });
  });
});
