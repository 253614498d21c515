import { createHash } from 'node:crypto';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { ChecksumMismatchError, createChecksum } from '../../lib/checksums';
import { requestTarget, S3Client, type S3ClientOptions, S3ServiceError } from '../../lib/s3-client';
import { errorAnswer, FakeS3, resetAnswer } from '../helpers/fake-s3';
import { rejection } from '../helpers/rejection';

const BUCKET = 'lambda-s3-test-dev';
const CREDENTIALS = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret', sessionToken: 'session-token' };

async function readAll(body: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}

/** A port nothing listens on: bound, noted, closed. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('S3Client (GetObject against a local S3 stand-in)', () => {
  let s3: FakeS3;
  let sleeps: number[];

  function client(options: Partial<S3ClientOptions> = {}): S3Client {
    return new S3Client({
      region: 'ap-northeast-1',
      endpoint: s3.endpoint,
      credentials: () => CREDENTIALS,
      // The largest delay the policy allows, recorded instead of waited.
      random: () => 0.999,
      sleep: async (ms) => {
        sleeps.push(ms);
      },
      ...options,
    });
  }

  before(async () => {
    s3 = await FakeS3.start();
  });

  beforeEach(() => {
    s3.reset();
    sleeps = [];
  });

  after(async () => {
    await s3.close();
  });

  describe('a stored object', () => {
    beforeEach(() => {
      s3.put(BUCKET, 'targets/a b+c.txt', { body: Buffer.from('one\ntwo\n'), contentType: 'text/plain' });
    });

    it('streams the body and gives its content type and length', async () => {
      const result = await client().getObject(BUCKET, 'targets/a b+c.txt');
      expect(result.contentType).to.equal('text/plain');
      expect(result.contentLength).to.equal(8);
      expect((await readAll(result.body)).toString()).to.equal('one\ntwo\n');
    });

    it('asks for it by path with the key encoded once, as S3 wants', async () => {
      await readAll((await client().getObject(BUCKET, 'targets/a b+c.txt')).body);
      expect(s3.requests.map((request) => [request.method, request.rawPath])).to.deep.equal([
        ['GET', `/${BUCKET}/targets/a%20b%2Bc.txt`],
      ]);
    });

    it('signs with the credentials and region, and sends the session token', async () => {
      await readAll((await client().getObject(BUCKET, 'targets/a b+c.txt')).body);
      const headers = s3.requests[0]?.headers ?? {};
      expect(headers.authorization).to.match(
        /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/ap-northeast-1\/s3\/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token, Signature=[0-9a-f]{64}$/,
      );
      expect(headers['x-amz-security-token']).to.equal('session-token');
      expect(headers.host).to.equal(new URL(s3.endpoint).host);
    });

    it('reads the credentials once, at the first request', async () => {
      let reads = 0;
      const reader = client({
        credentials: () => {
          reads += 1;
          return CREDENTIALS;
        },
      });
      expect(reads).to.equal(0);
      await readAll((await reader.getObject(BUCKET, 'targets/a b+c.txt')).body);
      await readAll((await reader.getObject(BUCKET, 'targets/a b+c.txt')).body);
      expect(reads).to.equal(1);
    });

    it('reuses one kept-alive connection for consecutive requests', async () => {
      const reader = client();
      await readAll((await reader.getObject(BUCKET, 'targets/a b+c.txt')).body);
      await readAll((await reader.getObject(BUCKET, 'targets/a b+c.txt')).body);
      expect(s3.requests.map((request) => request.headers.connection)).to.deep.equal([
        'keep-alive',
        'keep-alive',
      ]);
      expect(s3.connections).to.equal(1);
    });
  });

  it('streams a large body in constant memory: the server stays at most a few MB ahead of the reader', async () => {
    const chunk = Buffer.alloc(1024 * 1024, 0x61);
    const chunks = 128;
    let sent = 0;
    let maxAhead = 0;
    s3.script.push((response) => {
      response.writeHead(200, { 'content-length': chunk.length * chunks });
      const writeMore = (): void => {
        while (sent < chunks) {
          sent += 1;
          if (!response.write(chunk)) {
            response.once('drain', writeMore);
            return;
          }
        }
        response.end();
      };
      writeMore();
    });
    const result = await client().getObject(BUCKET, 'targets/large.bin');
    let received = 0;
    const hash = createHash('sha256');
    for await (const part of result.body) {
      received += part.length;
      hash.update(part);
      maxAhead = Math.max(maxAhead, sent * chunk.length - received);
    }
    expect(received).to.equal(chunk.length * chunks);
    expect(hash.digest('hex')).to.equal(
      createHash('sha256')
        .update(Buffer.concat(Array.from({ length: chunks }, () => chunk)))
        .digest('hex'),
    );
    // Buffering the body would let the server write all 128 MB before the first chunk is read.
    expect(maxAhead).to.be.below(16 * 1024 * 1024);
  });

  describe('errors S3 answers', () => {
    it('gives NoSuchKey as an S3ServiceError named NoSuchKey, with its message and status, after one attempt', async () => {
      const error = await rejection(client().getObject(BUCKET, 'targets/missing.txt'));
      expect(error).to.be.instanceOf(S3ServiceError);
      expect(error).to.include({
        name: 'NoSuchKey',
        statusCode: 404,
        message: 'The specified key does not exist.',
      });
      expect(s3.requests).to.have.length(1);
    });

    it('does not retry AccessDenied (403)', async () => {
      s3.script.push(errorAnswer(403, 'AccessDenied', 'Access Denied'));
      const error = await rejection(client().getObject(BUCKET, 'targets/x.txt'));
      expect(error).to.include({ name: 'AccessDenied', statusCode: 403 });
      expect(s3.requests).to.have.length(1);
    });

    it('does not retry another 4xx (400 InvalidRequest)', async () => {
      s3.script.push(errorAnswer(400, 'InvalidRequest'));
      await rejection(client().getObject(BUCKET, 'targets/x.txt'));
      expect(s3.requests).to.have.length(1);
    });

    it('names an error answer without a body by its status (404 → NotFound)', async () => {
      s3.script.push((response) => {
        response.writeHead(404);
        response.end();
      });
      const error = await rejection(client().getObject(BUCKET, 'targets/x.txt'));
      expect(error).to.include({ name: 'NotFound', statusCode: 404 });
    });
  });

  describe('retries, as the AWS SDK v3 standard strategy', () => {
    it('tries a 500 three times in all, with backoff below 50 ms then 100 ms, then gives the last error', async () => {
      s3.script.push(
        ...Array.from({ length: 3 }, () =>
          errorAnswer(500, 'InternalError', 'We encountered an internal error.'),
        ),
      );
      const error = await rejection(client().getObject(BUCKET, 'targets/x.txt'));
      expect(error).to.include({ name: 'InternalError', statusCode: 500 });
      expect(s3.requests).to.have.length(3);
      expect(sleeps).to.deep.equal([49, 99]);
    });

    it('succeeds when a retry does (503, then the object)', async () => {
      s3.put(BUCKET, 'targets/x.txt', { body: Buffer.from('x') });
      s3.script.push(errorAnswer(503, 'ServiceUnavailable'));
      const result = await client().getObject(BUCKET, 'targets/x.txt');
      expect((await readAll(result.body)).toString()).to.equal('x');
      expect(s3.requests).to.have.length(2);
    });

    it('backs off from 1 s for throttling (SlowDown): below 1,000 ms then 2,000 ms', async () => {
      s3.script.push(
        ...Array.from({ length: 3 }, () => errorAnswer(503, 'SlowDown', 'Please reduce your request rate.')),
      );
      const error = await rejection(client().getObject(BUCKET, 'targets/x.txt'));
      expect(error).to.include({ name: 'SlowDown' });
      expect(sleeps).to.deep.equal([999, 1998]);
    });

    it('retries 429 as throttling', async () => {
      s3.put(BUCKET, 'targets/x.txt', { body: Buffer.from('x') });
      s3.script.push(errorAnswer(429, 'TooManyRequests'));
      await readAll((await client().getObject(BUCKET, 'targets/x.txt')).body);
      expect(sleeps).to.deep.equal([999]);
    });

    it('waits at least what Retry-After asks, up to 5 s more than its own delay', async () => {
      s3.put(BUCKET, 'targets/x.txt', { body: Buffer.from('x') });
      s3.script.push(errorAnswer(503, 'ServiceUnavailable', 'busy', { 'retry-after': '3' }));
      await readAll((await client().getObject(BUCKET, 'targets/x.txt')).body);
      expect(sleeps).to.have.length(1);
      expect(sleeps[0]).to.be.within(2_900, 3_000);
    });

    it('does not retry 501, a server error the SDK does not consider transient', async () => {
      s3.script.push(errorAnswer(501, 'NotImplemented'));
      await rejection(client().getObject(BUCKET, 'targets/x.txt'));
      expect(s3.requests).to.have.length(1);
    });

    it('retries a dropped connection (ECONNRESET)', async () => {
      s3.put(BUCKET, 'targets/x.txt', { body: Buffer.from('x') });
      s3.script.push(resetAnswer);
      await readAll((await client().getObject(BUCKET, 'targets/x.txt')).body);
      expect(s3.requests).to.have.length(2);
    });

    it('tries a refused connection three times, then gives ECONNREFUSED', async () => {
      const port = await closedPort();
      const error = await rejection(
        client({ endpoint: `http://127.0.0.1:${port}` }).getObject(BUCKET, 'targets/x.txt'),
      );
      expect(error).to.have.property('code', 'ECONNREFUSED');
      expect(sleeps).to.have.length(2);
    });

    it('honours maxAttempts', async () => {
      s3.script.push(...Array.from({ length: 5 }, () => errorAnswer(500, 'InternalError')));
      await rejection(client({ maxAttempts: 5 }).getObject(BUCKET, 'targets/x.txt'));
      expect(s3.requests).to.have.length(5);
    });

    it('stops retrying when the retry quota (500 tokens, 14 a retry) is spent; each success gives one back', async () => {
      const reader = client({ maxAttempts: 100 });
      s3.script.push(...Array.from({ length: 40 }, () => errorAnswer(500, 'InternalError')));
      await rejection(reader.getObject(BUCKET, 'targets/x.txt'));
      // 35 retries cost 490 of 500 tokens: 36 attempts.
      expect(s3.requests).to.have.length(36);

      s3.reset();
      s3.put(BUCKET, 'targets/x.txt', { body: Buffer.from('x') });
      s3.script.push(errorAnswer(500, 'InternalError'));
      await rejection(reader.getObject(BUCKET, 'targets/x.txt'));
      expect(s3.requests, '10 tokens left: no retry').to.have.length(1);
      // Four successes: 14 tokens, one retry's worth.
      for (let success = 0; success < 4; success += 1) {
        await readAll((await reader.getObject(BUCKET, 'targets/x.txt')).body);
      }
      s3.reset();
      s3.put(BUCKET, 'targets/x.txt', { body: Buffer.from('x') });
      s3.script.push(errorAnswer(500, 'InternalError'));
      await readAll((await reader.getObject(BUCKET, 'targets/x.txt')).body);
      expect(s3.requests).to.have.length(2);
    });

    it('corrects its clock when S3 answers RequestTimeTooSkewed with its Date, and signs the retry with it', async () => {
      s3.put(BUCKET, 'targets/x.txt', { body: Buffer.from('x') });
      const serverTime = new Date(Date.now() + 60 * 60_000);
      s3.script.push(
        errorAnswer(
          403,
          'RequestTimeTooSkewed',
          'The difference between the request time and the current time is too large.',
          {
            date: serverTime.toUTCString(),
          },
        ),
      );
      await readAll((await client().getObject(BUCKET, 'targets/x.txt')).body);
      const [first, second] = s3.requests.map((request) => String(request.headers['x-amz-date']));
      expect(s3.requests).to.have.length(2);
      expect(first?.slice(0, 11)).to.not.equal(second?.slice(0, 11));
      const signedAt = Date.parse(
        (second ?? '').replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z'),
      );
      expect(Math.abs(signedAt - serverTime.getTime())).to.be.below(60_000);
    });
  });

  describe('checksums, as the SDK checks them on AWS', () => {
    const body = Buffer.from('checked body\n');
    const digest = (algorithm: 'crc32' | 'crc64nvme' | 'sha256'): string => {
      const checksum = createChecksum(algorithm);
      checksum.update(body);
      return checksum.digest();
    };

    it('asks for the checksum with x-amz-checksum-mode only when told to', async () => {
      s3.put(BUCKET, 'targets/x.txt', { body });
      await readAll((await client().getObject(BUCKET, 'targets/x.txt')).body);
      await readAll((await client({ validateChecksums: true }).getObject(BUCKET, 'targets/x.txt')).body);
      expect(s3.requests.map((request) => request.headers['x-amz-checksum-mode'])).to.deep.equal([
        undefined,
        'ENABLED',
      ]);
    });

    for (const algorithm of ['crc32', 'crc64nvme', 'sha256'] as const) {
      it(`accepts a body that matches its ${algorithm} checksum`, async () => {
        s3.put(BUCKET, 'targets/x.txt', {
          body,
          headers: { [`x-amz-checksum-${algorithm}`]: digest(algorithm) },
        });
        const result = await client({ validateChecksums: true }).getObject(BUCKET, 'targets/x.txt');
        expect(await readAll(result.body)).to.deep.equal(body);
      });
    }

    it('fails at the end of a body that does not match its checksum', async () => {
      s3.put(BUCKET, 'targets/x.txt', {
        body,
        headers: { 'x-amz-checksum-crc64nvme': Buffer.alloc(8).toString('base64') },
      });
      const result = await client({ validateChecksums: true }).getObject(BUCKET, 'targets/x.txt');
      const error = await rejection(readAll(result.body));
      expect(error).to.be.instanceOf(ChecksumMismatchError);
      expect((error as Error).message).to.contain('x-amz-checksum-crc64nvme');
    });

    it("skips a multipart upload's checksum of parts (…-3)", async () => {
      s3.put(BUCKET, 'targets/x.txt', { body, headers: { 'x-amz-checksum-crc32': 'AAAAAA==-3' } });
      const result = await client({ validateChecksums: true }).getObject(BUCKET, 'targets/x.txt');
      expect(await readAll(result.body)).to.deep.equal(body);
    });
  });

  describe('where a request goes (https://docs.aws.amazon.com/AmazonS3/latest/userguide/VirtualHosting.html)', () => {
    it('on AWS: the bucket as host name of the regional endpoint, over https', () => {
      expect(
        requestTarget('ap-northeast-1', undefined, 'lambda-s3-test-dev', 'targets/a b.txt'),
      ).to.deep.equal({
        protocol: 'https:',
        hostname: 'lambda-s3-test-dev.s3.ap-northeast-1.amazonaws.com',
        port: 443,
        host: 'lambda-s3-test-dev.s3.ap-northeast-1.amazonaws.com',
        path: '/targets/a%20b.txt',
      });
    });

    it('on AWS: a bucket with dots (not valid in the TLS certificate) in the path', () => {
      expect(requestTarget('ap-northeast-1', undefined, 'my.bucket', 'k')).to.include({
        hostname: 's3.ap-northeast-1.amazonaws.com',
        path: '/my.bucket/k',
      });
    });

    it('in the China regions: the amazonaws.com.cn domain', () => {
      expect(requestTarget('cn-north-1', undefined, 'b-1', 'k').hostname).to.equal(
        'b-1.s3.cn-north-1.amazonaws.com.cn',
      );
    });

    it('offline: the endpoint, the bucket in the path, the port in the Host header', () => {
      expect(
        requestTarget('ap-northeast-1', new URL('http://localhost:4569'), 'lambda-s3-test-dev', 'targets/x'),
      ).to.deep.equal({
        protocol: 'http:',
        hostname: 'localhost',
        port: 4569,
        host: 'localhost:4569',
        path: '/lambda-s3-test-dev/targets/x',
      });
    });
  });
});
