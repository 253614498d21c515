import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import type { APIGatewayProxyStructuredResultV2, S3Event, SQSEvent } from 'aws-lambda';
import { expect } from 'chai';
import { EmptyObjectError, InvalidEventError, ObjectNotFoundError } from '../../lib/errors';
import type { ObjectSummary } from '../../lib/object-summary';
import { FakeS3 } from '../helpers/fake-s3';
import { fakeContext, httpEvent, loadEvent, s3PutEvent } from '../../support/fixtures';

type HelloModule = typeof import('../../handlers/hello');
type S3UploadModule = typeof import('../../handlers/s3-upload');

// Mocha runs under tsx/cjs, which hooks require() but not import(): the handlers are loaded with a require
// bound to this file, after the environment they read at import time is set.
const requireFromHere = createRequire(__filename);

/** One Powertools Logger line, as parsed from stdout/stderr. */
interface LogLine {
  level: string;
  message: string;
  [attribute: string]: unknown;
}

const BUCKET = 'lambda-s3-test-dev';

/** The objects the local S3 stand-in holds, by decoded key; one was stored without a content type. */
const OBJECTS: Readonly<Record<string, { body: string; contentType?: string }>> = {
  'targets/a b+c.txt': { body: 'plus and space\n', contentType: 'text/plain' },
  'targets/日本.txt': { body: '一行目\n二行目\n三行目\n', contentType: 'text/plain; charset=utf-8' },
  'targets/test.txt': { body: 'Hello from lambda-notes!\n', contentType: 'text/plain' },
  'targets/data.bin': { body: 'no content type' },
  'targets/empty.txt': { body: '' },
};

function expectedSummary(key: string): ObjectSummary {
  const object = OBJECTS[key];
  if (object === undefined) throw new Error(`test S3 has no object ${key}`);
  const bytes = Buffer.from(object.body);
  return {
    bucket: BUCKET,
    key,
    size: bytes.length,
    // What S3 answers for an object stored without one (test/helpers/fake-s3.ts).
    contentType: object.contentType ?? 'binary/octet-stream',
    lines: object.body.split('\n').length - 1,
    sha256: createHash('sha256').update(bytes).digest('hex'),
  };
}

const originalStdoutWrite = process.stdout.write;
const originalStderrWrite = process.stderr.write;

function restoreOutput(): void {
  process.stdout.write = originalStdoutWrite;
  process.stderr.write = originalStderrWrite;
}

/**
 * Runs a handler with stdout and stderr captured (Powertools Logger writes one JSON line per call), restoring
 * both before returning so Mocha's own output is never swallowed.
 */
async function captured<T>(
  run: () => Promise<T>,
): Promise<{ outcome: PromiseSettledResult<T>; logs: LogLine[] }> {
  let output = '';
  const capture = ((chunk: string | Uint8Array): boolean => {
    output += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    return true;
  }) as typeof process.stdout.write;
  process.stdout.write = capture;
  process.stderr.write = capture;
  let outcome: PromiseSettledResult<T>;
  try {
    outcome = { status: 'fulfilled', value: await run() };
  } catch (reason) {
    outcome = { status: 'rejected', reason };
  } finally {
    restoreOutput();
  }
  const logs = output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as LogLine);
  return { outcome, logs };
}

function valueOf<T>(outcome: PromiseSettledResult<T>): T {
  if (outcome.status === 'rejected') throw outcome.reason;
  return outcome.value;
}

function reasonOf(outcome: PromiseSettledResult<unknown>): unknown {
  expect(outcome.status, 'the handler should reject').to.equal('rejected');
  return outcome.status === 'rejected' ? outcome.reason : undefined;
}

describe('handlers', () => {
  const VARIABLES = [
    'AWS_REGION',
    'S3_ENDPOINT',
    'AWS_ACCESS_KEY_ID',
    'AWS_SECRET_ACCESS_KEY',
    'AWS_SESSION_TOKEN',
  ] as const;
  const savedEnv = Object.fromEntries(VARIABLES.map((name) => [name, process.env[name]]));
  let hello: HelloModule['handler'];
  let s3Upload: S3UploadModule['handler'];
  let s3: FakeS3;

  /** The keys s3Upload asked the local S3 for, decoded. */
  const keysRead = (): string[] => s3.requests.map((request) => request.path.slice(`/${BUCKET}/`.length));

  before(async () => {
    s3 = await FakeS3.start();
    // lib/config reads the environment when first loaded, so the handlers are loaded only after this.
    Object.assign(process.env, {
      AWS_REGION: 'ap-northeast-1',
      S3_ENDPOINT: s3.endpoint,
      AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
      AWS_SECRET_ACCESS_KEY: 'secret',
      AWS_SESSION_TOKEN: 'token-from-lambda',
    });
    hello = (requireFromHere('../../handlers/hello') as HelloModule).handler;
    s3Upload = (requireFromHere('../../handlers/s3-upload') as S3UploadModule).handler;
  });

  afterEach(() => {
    restoreOutput();
  });

  after(async () => {
    await s3.close();
    for (const name of VARIABLES) {
      const value = savedEnv[name];
      if (value === undefined) Reflect.deleteProperty(process.env, name);
      else process.env[name] = value;
    }
  });

  describe('hello', () => {
    it('returns value1 for events/hello.json', async () => {
      const { outcome } = await captured(() => hello(loadEvent('hello'), fakeContext()));
      expect(valueOf(outcome)).to.equal('value1');
    });

    it('logs the three blueprint lines for events/hello.json', async () => {
      const { logs } = await captured(() => hello(loadEvent('hello'), fakeContext()));
      expect(logs.map((line) => line.message)).to.deep.equal([
        'value1 = value1',
        'value2 = value2',
        'value3 = value3',
      ]);
    });

    it('answers an HTTP request with 200 and a JSON body whose result is the key1 query parameter', async () => {
      const { outcome } = await captured(() =>
        hello(httpEvent({ key1: 'from-query', key2: 'b' }), fakeContext()),
      );
      const response = valueOf(outcome) as APIGatewayProxyStructuredResultV2;
      expect(response.statusCode).to.equal(200);
      expect(response.headers).to.deep.equal({ 'content-type': 'application/json' });
      expect(JSON.parse(response.body ?? '')).to.deep.equal({
        result: 'from-query',
        key1: 'from-query',
        key2: 'b',
        key3: null,
      });
    });

    it('answers an HTTP request without a query string with 200 and a null result', async () => {
      const { outcome } = await captured(() => hello(httpEvent(undefined), fakeContext()));
      const response = valueOf(outcome) as APIGatewayProxyStructuredResultV2;
      expect(response.statusCode).to.equal(200);
      expect(JSON.parse(response.body ?? '')).to.deep.equal({
        result: null,
        key1: null,
        key2: null,
        key3: null,
      });
    });

    it('returns the scheduled time for events/schedule.json', async () => {
      const { outcome } = await captured(() => hello(loadEvent('schedule'), fakeContext()));
      expect(valueOf(outcome)).to.deep.equal({ scheduledAt: '2026-11-25T13:00:00Z' });
    });

    it('rejects an event it does not handle with InvalidEventError', async () => {
      const { outcome } = await captured(() => hello({ Records: [] }, fakeContext()));
      expect(reasonOf(outcome)).to.be.instanceOf(InvalidEventError);
    });
  });

  describe('s3Upload', () => {
    beforeEach(() => {
      s3.reset();
      for (const [key, object] of Object.entries(OBJECTS)) {
        s3.put(BUCKET, key, {
          body: Buffer.from(object.body),
          ...(object.contentType && { contentType: object.contentType }),
        });
      }
    });

    const threeKeys = ['targets/a+b%2Bc.txt', 'targets/%E6%97%A5%E6%9C%AC.txt', 'targets/data.bin'];
    const threeDecoded = ['targets/a b+c.txt', 'targets/日本.txt', 'targets/data.bin'];

    it('returns one summary per record, in record order', async () => {
      const { outcome } = await captured(() => s3Upload(s3PutEvent(threeKeys), fakeContext()));
      expect(valueOf(outcome)).to.deep.equal(threeDecoded.map(expectedSummary));
    });

    it('reads each object once, by its decoded key', async () => {
      await captured(() => s3Upload(s3PutEvent(threeKeys), fakeContext()));
      expect(keysRead()).to.deep.equal(threeDecoded);
    });

    it("reads with the function role's credentials, session token included (Lambda's environment)", async () => {
      await captured(() => s3Upload(s3PutEvent(['targets/test.txt']), fakeContext()));
      const headers = s3.requests[0]?.headers ?? {};
      expect(headers['x-amz-security-token']).to.equal('token-from-lambda');
      expect(headers.authorization).to.match(
        /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/ap-northeast-1\/s3\//,
      );
    });

    it('logs one "object processed" line per record with bucket, decoded key, size and contentType', async () => {
      const { logs } = await captured(() => s3Upload(s3PutEvent(threeKeys), fakeContext()));
      const processed = logs.filter((line) => line.message === 'object processed');
      expect(processed).to.have.length(3);
      processed.forEach((line, index) => {
        const expected = expectedSummary(threeDecoded[index] ?? '');
        expect(line).to.include({
          level: 'INFO',
          bucket: BUCKET,
          key: expected.key,
          size: expected.size,
          contentType: expected.contentType,
        });
      });
    });

    it('publishes ObjectsProcessed and BytesProcessed as one Embedded Metric Format line', async () => {
      const { logs } = await captured(() => s3Upload(s3PutEvent(threeKeys), fakeContext()));
      const emf = logs.filter((line) => '_aws' in line);
      expect(emf).to.have.length(1);
      type EmfLine = Record<string, unknown> & { _aws: { CloudWatchMetrics: Array<{ Namespace: string }> } };
      const [line] = emf as unknown as EmfLine[];
      expect(line?._aws.CloudWatchMetrics[0]?.Namespace).to.equal('lambda-notes');
      expect(line?.ObjectsProcessed).to.deep.equal([1, 1, 1]);
      const bytes = threeDecoded.map((key) => expectedSummary(key).size);
      expect(line?.BytesProcessed).to.deep.equal(bytes);
    });

    it('logs with the request id of the invocation context', async () => {
      const context = fakeContext();
      const { logs } = await captured(() => s3Upload(s3PutEvent(['targets/test.txt']), context));
      expect(logs.find((line) => line.message === 'object processed')).to.include({
        function_request_id: context.awsRequestId,
      });
    });

    it('skips a folder marker without reading it', async () => {
      const { outcome } = await captured(() => s3Upload(s3PutEvent(['targets/folder/']), fakeContext()));
      expect(valueOf(outcome)).to.deep.equal([]);
      expect(keysRead()).to.deep.equal([]);
    });

    it('still processes the other records of an event that has a folder marker', async () => {
      const { outcome } = await captured(() =>
        s3Upload(s3PutEvent(['targets/folder/', 'targets/test.txt']), fakeContext()),
      );
      expect(valueOf(outcome)).to.deep.equal([expectedSummary('targets/test.txt')]);
      expect(keysRead()).to.deep.equal(['targets/test.txt']);
    });

    it('rejects with EmptyObjectError for an empty object instead of swallowing it', async () => {
      const { outcome } = await captured(() =>
        s3Upload(s3PutEvent(['targets/test.txt', 'targets/empty.txt']), fakeContext()),
      );
      expect(reasonOf(outcome)).to.be.instanceOf(EmptyObjectError);
    });

    it('logs "object failed" with the key before rethrowing', async () => {
      const { logs } = await captured(() => s3Upload(s3PutEvent(['targets/empty.txt']), fakeContext()));
      const failed = logs.filter((line) => line.message === 'object failed');
      expect(failed).to.have.length(1);
      expect(failed[0]).to.include({ level: 'ERROR', bucket: BUCKET, key: 'targets/empty.txt' });
    });

    it('rejects with ObjectNotFoundError when the object is gone', async () => {
      const { outcome } = await captured(() => s3Upload(s3PutEvent(['targets/deleted.txt']), fakeContext()));
      const reason = reasonOf(outcome);
      expect(reason).to.be.instanceOf(ObjectNotFoundError);
      expect((reason as Error).message).to.contain(`s3://${BUCKET}/targets/deleted.txt`);
    });

    it('rejects a non-S3 event with InvalidEventError without reading anything', async () => {
      const sqsEvent: SQSEvent = {
        Records: [
          {
            messageId: '059f36b4-87a3-44ab-83d2-661975830a7d',
            receiptHandle: 'AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a',
            body: 'targets/test.txt',
            attributes: {
              ApproximateReceiveCount: '1',
              SentTimestamp: '1545082649183',
              SenderId: 'AIDAIENQZJOLO23YVJ4VO',
              ApproximateFirstReceiveTimestamp: '1545082649185',
            },
            messageAttributes: {},
            md5OfBody: 'e7b3f2a7d9f0c0a3a4d4a0f6e5a1c2b3',
            eventSource: 'aws:sqs',
            eventSourceARN: 'arn:aws:sqs:ap-northeast-1:123456789012:my-queue',
            awsRegion: 'ap-northeast-1',
          },
        ],
      };
      // The handler is typed for S3 events; Lambda delivers whatever the trigger sends.
      const { outcome } = await captured(() => s3Upload(sqsEvent as unknown as S3Event, fakeContext()));
      expect(reasonOf(outcome)).to.be.instanceOf(InvalidEventError);
      expect(keysRead()).to.deep.equal([]);
    });
  });
});
