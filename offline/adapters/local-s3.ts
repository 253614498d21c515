/**
 * The one adapter for the local S3: serverless-s3-local 0.8.5 runs s3rver 3.7.1, and this module is the only code
 * that reaches into either. It finds the running s3rver (localS3Of), puts this project's rules in front of it
 * (keys it cannot store, disk errors, S3's ETags) and connects its notifications to the async queue
 * (connectLocalS3). What the notifications become is pure code: core/s3-records.ts.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { dirname, join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  type LocalS3Record,
  multipartETag,
  type S3Delivery,
  s3Deliveries,
  type S3Routing,
} from '../core/s3-records';
import { describeCause } from '../state/json-directory';
import { installedVersion, requireVersion } from './package-version';

const S3_LOCAL_WRITTEN_FOR = '0.8.5';
const S3RVER_WRITTEN_FOR = '3.7.1';

/** S3's limit on a key, in UTF-8 bytes. */
const MAX_KEY_BYTES = 1024;

/**
 * s3rver stores `<key>._S3rver_metadata.json` as a file, so one path segment of a key may not exceed the
 * filesystem's 255-byte name limit minus that suffix; past it, s3rver's write stream fails uncaught and takes
 * the whole offline process down.
 */
export const MAX_LOCAL_SEGMENT_BYTES = 255 - '._S3rver_metadata.json'.length;

export interface S3Problem {
  readonly status: number;
  readonly code: string;
  readonly message: string;
}

/**
 * s3rver joins bucket and key into a file path: a `.` or `..` segment, an empty one (`//`) or a NUL byte would
 * reach outside its directory or collide with another key. AWS accepts such keys; offline they are refused.
 */
function pathProblem(segments: readonly string[]): S3Problem | undefined {
  // The last segment may be empty: `folder/` is an ordinary key.
  const inner = segments.slice(0, -1);
  const last = segments[segments.length - 1] ?? '';
  if ([...segments].some((segment) => segment.includes('\0'))) {
    return {
      status: 400,
      code: 'InvalidArgument',
      message: 'Offline limit: a key may not contain a NUL byte.',
    };
  }
  if ([...inner, last].some((segment) => segment === '.' || segment === '..') || inner.includes('')) {
    return {
      status: 400,
      code: 'InvalidArgument',
      message:
        'Offline limit: the local S3 keeps each object as a file, so a key may not have "." or ".." segments or an empty segment ("//"); AWS accepts them, but offline they would reach outside the bucket\'s folder.',
    };
  }
  return undefined;
}

/**
 * Why a request for `url` (path style: /bucket/key) must be refused before it reaches the local S3, or
 * undefined. Any method: a path that leaves the bucket's folder; writes: keys over 1,024 bytes (as S3) and
 * segments longer than the local S3 can store.
 */
export function keyProblem(method: string | undefined, url: string | undefined): S3Problem | undefined {
  let segments: string[];
  try {
    // Not `new URL(...)`: it resolves `..` segments (also encoded ones) away before they could be seen.
    const path = (url ?? '/').split('?')[0] ?? '/';
    const absolute = /^[a-z]+:\/\/[^/]*/i.exec(path) ? path.replace(/^[a-z]+:\/\/[^/]*/i, '') : path;
    segments = absolute
      .split('/')
      .slice(1)
      .map((segment) => decodeURIComponent(segment));
  } catch {
    return undefined; // Not ours to judge: the local S3 answers malformed requests itself.
  }
  const uploadId = /[?&]uploadId=([^&]*)/.exec(url ?? '')?.[1];
  if (uploadId !== undefined && !/^[A-Za-z0-9_-]+$/.test(uploadId)) {
    return { status: 404, code: 'NoSuchUpload', message: 'The specified upload does not exist.' };
  }
  if (segments.length === 1 && segments[0] === '') return undefined; // ListBuckets
  const traversal = pathProblem(segments);
  if (traversal) return traversal;
  if (method !== 'PUT' && method !== 'POST') return undefined;
  const key = segments.slice(1).join('/');
  const bytes = Buffer.byteLength(key);
  if (bytes > MAX_KEY_BYTES) {
    return {
      status: 400,
      code: 'KeyTooLongError',
      message: `Your key is too long: ${bytes} bytes, S3 allows ${MAX_KEY_BYTES}.`,
    };
  }
  const longest = Math.max(0, ...segments.slice(1).map((segment) => Buffer.byteLength(segment)));
  if (longest > MAX_LOCAL_SEGMENT_BYTES) {
    return {
      status: 400,
      code: 'KeyTooLongError',
      message: `Offline limit: the local S3 keeps each object as a file, so a key segment between slashes may be at most ${MAX_LOCAL_SEGMENT_BYTES} bytes (this one is ${longest}). AWS accepts it; split the key with / to try it offline.`,
    };
  }
  return undefined;
}

function escapeXml(text: string): string {
  return text.replace(
    /[<>&"']/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c] ?? c,
  );
}

/** S3's error body. */
export function s3ErrorXml(problem: { code: string; message: string }): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${problem.code}</Code><Message>${escapeXml(problem.message)}</Message></Error>`;
}

type RequestHandler = (request: IncomingMessage, response: ServerResponse) => void;

interface KoaContext {
  status: number;
  type: string;
  body: unknown;
  method: string;
  path: string;
}
type Middleware = (ctx: KoaContext, next: () => Promise<void>) => Promise<void>;

interface S3rverStore {
  putObject(object: { bucket: string; key: string; content: unknown; metadata: unknown }): Promise<unknown>;
  putMetadata(bucket: string, key: string, metadata: unknown, md5: string): Promise<void>;
  getResourcePath(bucket: string, key: string | undefined, resource: string): string;
  putPart(
    bucket: string,
    uploadId: string,
    partNumber: number,
    content: NodeJS.ReadableStream,
  ): Promise<unknown>;
  putObjectMultipart(
    bucket: string,
    uploadId: string,
    parts: Array<{ number: number; etag: string }>,
  ): Promise<{ md5: string; size: number }>;
  copyObject(...args: unknown[]): Promise<Record<string, unknown>>;
}

/** The parts of s3rver 3.7.1 (a Koa app) and of its FilesystemStore this module adapts. */
export interface LocalS3Server {
  httpServer?: Server;
  middleware?: Middleware[];
  callback?: () => RequestHandler;
  store?: S3rverStore;
  on(event: 'event', listener: (event: unknown) => void): unknown;
  emit(event: string | symbol, ...args: unknown[]): boolean;
}

/** The events a request emitted; the request's answer waits for these promises (see guardLocalS3). */
const eventsOfRequest = new AsyncLocalStorage<Array<Promise<unknown>>>();

/**
 * Call from s3rver's 'event' listener with the promise that the event is durable: the PUT's answer waits for
 * it, and becomes a 500 if it rejects. Outside a request there is nothing to hold.
 */
function holdResponseUntil(promise: Promise<unknown>): void {
  eventsOfRequest.getStore()?.push(promise);
}

function requireShape(s3rver: LocalS3Server): asserts s3rver is LocalS3Server & {
  httpServer: Server;
  middleware: Middleware[];
  callback: () => RequestHandler;
  store: S3rverStore;
} {
  if (
    !s3rver.httpServer ||
    !Array.isArray(s3rver.middleware) ||
    typeof s3rver.callback !== 'function' ||
    typeof s3rver.on !== 'function' ||
    typeof s3rver.emit !== 'function' ||
    typeof s3rver.store?.putObject !== 'function' ||
    typeof s3rver.store.putMetadata !== 'function' ||
    typeof s3rver.store.getResourcePath !== 'function' ||
    typeof s3rver.store.putPart !== 'function' ||
    typeof s3rver.store.putObjectMultipart !== 'function' ||
    typeof s3rver.store.copyObject !== 'function'
  ) {
    throw new Error(
      'offline-async: the local S3 server is not the one this adapter was written for (s3rver 3.7.1: a Koa app with httpServer, middleware, on/emit, store.putObject/putMetadata/getResourcePath/putPart/putObjectMultipart/copyObject).',
    );
  }
}

/**
 * An error s3rver answers as S3's 500 InternalError with this message: its error handler turns any error into
 * InternalError and keeps the message of those marked `expose` (koa's convention), instead of its generic text.
 */
function exposedInternalError(message: string): Error {
  return Object.assign(new Error(message), { expose: true, status: 500 });
}

/**
 * s3rver's filesystem store writes an object with a stream that has no error handler: a full disk or a
 * vanished folder throws an uncaught exception and stops the whole stack. The same write, with its errors
 * turned into S3's 500 InternalError naming the folder and the cause.
 */
function guardStoreWrites(store: S3rverStore): void {
  /** Writes content to path (its folder made first); size and MD5 as s3rver reports them. */
  const write = async (path: string, content: unknown): Promise<{ size: number; md5: string }> => {
    const md5 = createHash('md5');
    let size = 0;
    await mkdir(dirname(path), { recursive: true });
    const source = Buffer.isBuffer(content) ? [content] : (content as NodeJS.ReadableStream);
    await pipeline(
      source,
      new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          md5.update(chunk);
          size += chunk.length;
          callback(null, chunk);
        },
      }),
      createWriteStream(path),
    );
    return { size, md5: md5.digest('hex') };
  };
  store.putObject = async (object) => {
    const objectPath = store.getResourcePath(object.bucket, object.key, 'object');
    try {
      const { size, md5 } = await write(objectPath, object.content);
      await store.putMetadata(object.bucket, object.key, object.metadata, md5);
      return { size, md5 };
    } catch (error) {
      throw exposedInternalError(
        `The local S3 could not store the object in ${dirname(objectPath)} (${describeCause(error)}).`,
      );
    }
  };
  store.putPart = async (bucket, uploadId, partNumber, content) => {
    const partPath = join(store.getResourcePath(bucket, '', 'uploads'), uploadId, String(partNumber));
    try {
      const { size, md5 } = await write(partPath, content);
      await writeFile(`${partPath}.md5`, md5);
      return { size, md5 };
    } catch (error) {
      throw exposedInternalError(
        `The local S3 could not store the part in ${dirname(partPath)} (${describeCause(error)}).`,
      );
    }
  };
}

/**
 * Gives the local S3 the ETags S3 gives: a multipart object's `<md5 of part md5s>-<n>` (answered by
 * CompleteMultipartUpload, kept for GET/HEAD, in its ObjectCreated:CompleteMultipartUpload record), and a Copy
 * record's eTag (s3rver leaves it out).
 */
function reportAwsETags(s3rver: LocalS3Server, store: S3rverStore): void {
  const putObjectMultipart = store.putObjectMultipart.bind(store);
  store.putObjectMultipart = async (bucket, uploadId, parts) => {
    const keyFile = join(store.getResourcePath(bucket, undefined, 'uploads'), uploadId, 'key');
    const key = (await readFile(keyFile)).toString();
    const result = await putObjectMultipart(bucket, uploadId, parts);
    const etag = multipartETag([...parts].sort((a, b) => a.number - b.number).map((part) => part.etag));
    await writeFile(store.getResourcePath(bucket, key, 'object.md5'), etag);
    return { ...result, md5: etag };
  };

  const copiedETags = new Map<string, string>();
  const copyObject = store.copyObject.bind(store);
  store.copyObject = async (...args: unknown[]) => {
    const metadata = await copyObject(...args);
    const [, , destBucket, destKey] = args;
    if (typeof metadata.etag === 'string')
      copiedETags.set(`${String(destBucket)}/${String(destKey)}`, metadata.etag);
    return metadata;
  };

  const emit = s3rver.emit.bind(s3rver);
  s3rver.emit = (event: string | symbol, ...args: unknown[]) => {
    const [payload] = args as [
      { Records?: Array<{ eventName?: string; s3?: LocalS3Record['s3'] }> } | undefined,
    ];
    if (event === 'event') {
      for (const record of payload?.Records ?? []) {
        if (record.eventName !== 'ObjectCreated:Copy' || !record.s3) continue;
        const id = `${record.s3.bucket.name}/${record.s3.object.key}`;
        const etag = copiedETags.get(id);
        copiedETags.delete(id);
        if (etag !== undefined && record.s3.object.eTag === undefined) {
          (record.s3.object as { eTag?: string }).eTag = etag.replace(/"/g, '');
        }
      }
    }
    return emit(event, ...args);
  };
}

/**
 * Puts this project's rules in front of the local S3 (s3rver 3.7.1):
 * - requests whose key would leave the bucket's folder, or that it cannot store, get S3's XML error;
 * - a write that fails on disk gets S3's 500 instead of crashing the process;
 * - multipart and copied objects get the ETags S3 gives them (reportAwsETags);
 * - s3rver emits its notification event *before* it answers the PUT; the answer now also waits for every
 *   promise the event's listener handed to holdResponseUntil (the event being durable in the async queue),
 *   and is a 500 InternalError when one rejects — so a 200 means the event will run.
 * The middleware is put first in s3rver's Koa chain and the chain recomposed into the server's handler.
 */
function guardLocalS3(s3rver: LocalS3Server): void {
  requireShape(s3rver);
  guardStoreWrites(s3rver.store);
  reportAwsETags(s3rver, s3rver.store);
  s3rver.middleware.unshift(async (ctx, next) => {
    const held: Array<Promise<unknown>> = [];
    await eventsOfRequest.run(held, next);
    if (held.length === 0) return;
    try {
      await Promise.all(held);
    } catch (error) {
      ctx.status = 500;
      ctx.type = 'application/xml';
      ctx.body = s3ErrorXml({
        code: 'InternalError',
        message: `The object was stored but its event could not be queued for the function (${error instanceof Error ? error.message : String(error)}); nothing will run for it. Upload it again.`,
      });
    }
  });
  const handler = s3rver.callback();
  const server = s3rver.httpServer;
  server.removeAllListeners('request');
  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    const problem = keyProblem(request.method, request.url);
    if (problem) {
      response.writeHead(problem.status, { 'content-type': 'application/xml' });
      response.end(s3ErrorXml(problem));
      return;
    }
    handler(request, response);
  });
}

const ADAPTER = 'The local S3 adapter (offline/adapters/local-s3.ts)';

/**
 * The s3rver that serverless-s3-local runs (its `client`, set once its offline:start:init hook has started it).
 * Refuses another version of serverless-s3-local.
 */
export function localS3Of(plugins: readonly object[]): LocalS3Server {
  requireVersion('serverless-s3-local', S3_LOCAL_WRITTEN_FOR, ADAPTER);
  const plugin = plugins.find((candidate) => candidate.constructor.name === 'ServerlessS3Local');
  if (plugin === undefined) {
    throw new Error(
      'offline-async: serverless-s3-local is not loaded, and the offline stack needs its local S3: list serverless-s3-local under plugins in serverless.yml.',
    );
  }
  const { client } = plugin as { client?: unknown };
  if (typeof client !== 'object' || client === null) {
    throw new Error(
      `offline-async: serverless-s3-local ${S3_LOCAL_WRITTEN_FOR} has no running S3 server (its client is ${client === null ? 'null' : typeof client}): it did not start, or it starts later than this stack expects.`,
    );
  }
  return client as LocalS3Server;
}

/**
 * Connects the local S3 to the async queue: this project's rules are put in front of it (guardLocalS3), and each
 * notification it emits becomes the deliveries s3Deliveries makes for `routing`, each handed to `enqueue`. The
 * request's answer waits for every enqueue: a 200 only once its events are durable. Refuses another s3rver than
 * the one serverless-s3-local loads at the pinned version.
 */
export function connectLocalS3(
  s3rver: LocalS3Server,
  routing: S3Routing,
  enqueue: (delivery: S3Delivery) => Promise<void>,
): void {
  const s3rverOfS3Local = installedVersion('s3rver', dirname(require.resolve('serverless-s3-local')));
  requireVersion('s3rver', S3RVER_WRITTEN_FOR, ADAPTER, s3rverOfS3Local);
  guardLocalS3(s3rver);
  s3rver.on('event', (notification) => {
    for (const delivery of s3Deliveries(notification as { Records: LocalS3Record[] }, routing)) {
      holdResponseUntil(enqueue(delivery));
    }
  });
}
