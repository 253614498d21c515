/**
 * A local HTTP server that answers GetObject as S3 does (path-style: /<bucket>/<key>), for unit tests of the S3
 * client and the handlers. Started on a free port by the test, closed in after(). Error bodies follow S3's REST
 * error format: https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StoredObject {
  readonly body: Buffer;
  /** As given at upload. S3 answers binary/octet-stream for an object stored without one (see answer()). */
  readonly contentType?: string;
  /** Extra answer headers, e.g. x-amz-checksum-crc32. */
  readonly headers?: Readonly<Record<string, string>>;
}

export interface ReceivedRequest {
  readonly method: string;
  /** As sent on the wire (still percent-encoded). */
  readonly rawPath: string;
  /** Decoded: /<bucket>/<key>. */
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
}

/** A scripted answer for the next request, instead of the stored object. */
export type Answer = (response: ServerResponse, request: ReceivedRequest) => void;

export function s3ErrorXml(code: string, message: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>4442587FB7D0A2F9</RequestId></Error>`;
}

/** An S3 error answer: status, XML body with Code and Message. */
export function errorAnswer(
  status: number,
  code: string,
  message = code,
  headers: Record<string, string> = {},
): Answer {
  return (response) => {
    response.writeHead(status, { 'content-type': 'application/xml', ...headers });
    response.end(s3ErrorXml(code, message));
  };
}

/** The connection dropped before any answer: the client sees ECONNRESET ("socket hang up"). */
export const resetAnswer: Answer = (response) => {
  response.socket?.destroy();
};

export class FakeS3 {
  readonly objects = new Map<string, StoredObject>();
  readonly requests: ReceivedRequest[] = [];
  /** Answers used one per request, in order, before stored objects are served again. */
  readonly script: Answer[] = [];
  /** TCP connections accepted since the last reset. */
  connections = 0;

  private constructor(
    private readonly server: ReturnType<typeof createServer>,
    readonly endpoint: string,
  ) {}

  static async start(): Promise<FakeS3> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', resolve);
    });
    const { port } = server.address() as AddressInfo;
    const fake = new FakeS3(server, `http://127.0.0.1:${port}`);
    server.on('request', (request: IncomingMessage, response: ServerResponse) =>
      fake.answer(request.method ?? '', request.url ?? '/', request.headers, response),
    );
    server.on('connection', () => {
      fake.connections += 1;
    });
    return fake;
  }

  put(bucket: string, key: string, object: StoredObject): void {
    this.objects.set(`/${bucket}/${key}`, object);
  }

  reset(): void {
    this.objects.clear();
    this.requests.length = 0;
    this.script.length = 0;
    this.connections = 0;
  }

  private answer(
    method: string,
    rawPath: string,
    headers: IncomingHttpHeaders,
    response: ServerResponse,
  ): void {
    const received = { method, rawPath, path: decodeURIComponent(rawPath), headers };
    this.requests.push(received);
    const scripted = this.script.shift();
    if (scripted) {
      scripted(response, received);
      return;
    }
    const object = this.objects.get(received.path);
    if (!object) {
      errorAnswer(404, 'NoSuchKey', 'The specified key does not exist.')(response, received);
      return;
    }
    // S3 always sends a Content-Type: for an object stored without one, binary/octet-stream (LocalStack's
    // tests/aws/services/s3/test_s3.py::TestS3::test_put_and_get_object_with_utf8_key, recorded against AWS:
    // put_object without ContentType, then get_object answers ContentType "binary/octet-stream").
    response.writeHead(200, {
      'content-length': object.body.length,
      'content-type': object.contentType ?? 'binary/octet-stream',
      ...object.headers,
    });
    response.end(object.body);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
