import type { IncomingMessage, Server, ServerResponse } from 'node:http';

/** S3's limit on a key, in UTF-8 bytes. */
const MAX_KEY_BYTES = 1024;

/**
 * s3rver stores `<key>._S3rver_metadata.json` as a file, so one path segment of a key may not exceed the
 * filesystem's 255-byte name limit minus that suffix; past it, s3rver's write stream fails uncaught and takes
 * the whole offline process down.
 */
export const MAX_LOCAL_SEGMENT_BYTES = 255 - '._S3rver_metadata.json'.length;

/**
 * Why a write to `url` (path style: /bucket/key) must be refused before it reaches the local S3, or undefined.
 * Keys over 1,024 bytes are refused as S3 does; longer segments than the local S3 can store get a clear error.
 */
export function keyProblem(
  method: string | undefined,
  url: string | undefined,
): { code: string; message: string } | undefined {
  if (method !== 'PUT' && method !== 'POST') return undefined;
  let key: string;
  try {
    key = decodeURIComponent(new URL(url ?? '/', 'http://local').pathname.split('/').slice(2).join('/'));
  } catch {
    return undefined; // Not ours to judge: the local S3 answers malformed requests itself.
  }
  const bytes = Buffer.byteLength(key);
  if (bytes > MAX_KEY_BYTES) {
    return {
      code: 'KeyTooLongError',
      message: `Your key is too long: ${bytes} bytes, S3 allows ${MAX_KEY_BYTES}.`,
    };
  }
  const longest = Math.max(0, ...key.split('/').map((segment) => Buffer.byteLength(segment)));
  if (longest > MAX_LOCAL_SEGMENT_BYTES) {
    return {
      code: 'KeyTooLongError',
      message: `Offline limit: the local S3 keeps each object as a file, so a key segment between slashes may be at most ${MAX_LOCAL_SEGMENT_BYTES} bytes (this one is ${longest}). AWS accepts it; split the key with / to try it offline.`,
    };
  }
  return undefined;
}

/** Puts keyProblem in front of the local S3 server's request handlers: an S3 error instead of a crash. */
export function guardKeyLengths(s3rver: { httpServer?: Server }): void {
  const server = s3rver.httpServer;
  if (!server) throw new Error('offline-async: the local S3 server (s3rver 3.7 httpServer) was not found.');
  const handlers = server.listeners('request') as Array<
    (request: IncomingMessage, response: ServerResponse) => void
  >;
  server.removeAllListeners('request');
  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    const problem = keyProblem(request.method, request.url);
    if (problem) {
      response.writeHead(400, { 'content-type': 'application/xml' });
      response.end(
        `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${problem.code}</Code><Message>${problem.message}</Message></Error>`,
      );
      return;
    }
    for (const handler of handlers) handler.call(server, request, response);
  });
}
