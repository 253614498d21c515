// @ts-check
'use strict';
/**
 * Response streaming as AWS's Node.js runtime client does it (aws-lambda-nodejs-runtime-interface-client: v3
 * src/ResponseStream.js, HttpResponseStream.js, UserFunction.js; v4 src/stream/*.ts,
 * src/runtime/streaming-invoke-processor.ts): the `awslambda` global, and one invocation of a streaming handler,
 * whose response is a chunked `POST …/invocation/{id}/response` with `Lambda-Runtime-Function-Response-Mode:
 * streaming`, an error reported in the `Lambda-Runtime-Function-Error-Type` / `-Error-Body` (base64 JSON) trailers.
 */
const http = require('node:http');
const net = require('node:net');
const { errorPayload, runtimeError } = require('./errors.cjs');
const { RUNTIME } = require('./runtime-api-client.cjs');

/** @typedef {import('./runtime-api-client.cjs').ErrorPayload} ErrorPayload */
/** @typedef {(chunk: string | Uint8Array) => void} RawWrite */
/**
 * What a streaming handler gets as its response stream: the writable half of the request, as AWS exposes it.
 * @typedef {{
 *   write(chunk: unknown, encoding?: BufferEncoding, callback?: (error?: Error | null) => void): boolean,
 *   end(...args: unknown[]): unknown,
 *   setContentType(contentType: string): void,
 *   _onBeforeFirstWrite: ((write: RawWrite) => void) | undefined,
 *   readonly writableFinished: boolean,
 *   readonly writableEnded: boolean,
 *   [name: string]: unknown,
 * }} ResponseStream
 */

/** The symbols AWS's `streamifyResponse` marks a handler with (Symbol.for: shared with any copy of the client). */
const STREAMING = Symbol.for('aws.lambda.runtime.handler.streaming');
const HIGH_WATER_MARK = Symbol.for('aws.lambda.runtime.handler.streaming.highWaterMark');
const STREAM_RESPONSE = 'response';

/** What the handler's stream exposes of the request: a Writable's methods and an EventEmitter's, as AWS's does. */
const STREAM_METHODS = [
  ...['cork', 'uncork', 'destroy', 'end'],
  ...['on', 'once', 'off', 'emit', 'addListener', 'prependListener', 'prependOnceListener'],
  ...['removeListener', 'removeAllListeners', 'listeners', 'rawListeners', 'listenerCount', 'eventNames'],
  ...['setMaxListeners', 'getMaxListeners'],
];

const HTTP_INTEGRATION_CONTENT_TYPE = 'application/vnd.awslambda.http-integration-response';
/** Eight NUL bytes end the JSON prelude of an HTTP integration response. */
const PRELUDE_DELIMITER_BYTES = 8;

/** Lets a handler answer through a function URL: a JSON prelude (status, headers, cookies), then the body. */
class HttpResponseStream {
  /**
   * @param {ResponseStream} stream
   * @param {unknown} prelude
   * @returns {ResponseStream}
   */
  static from(stream, prelude) {
    stream.setContentType(HTTP_INTEGRATION_CONTENT_TYPE);
    const metadata = JSON.stringify(prelude);
    stream._onBeforeFirstWrite = (write) => {
      write(metadata);
      write(new Uint8Array(PRELUDE_DELIMITER_BYTES));
    };
    return stream;
  }
}

/**
 * Defines `awslambda` before the handler loads, as the Node.js runtime does, unless the function opts out with
 * AWS_LAMBDA_NODEJS_NO_GLOBAL_AWSLAMBDA (v3 UserFunction.js).
 */
function installAwsLambdaGlobal() {
  const optOut = process.env.AWS_LAMBDA_NODEJS_NO_GLOBAL_AWSLAMBDA;
  if (optOut === '1' || optOut === 'true') return;
  Object.assign(globalThis, {
    awslambda: {
      /**
       * @param {Function} handler
       * @param {{ highWaterMark?: unknown }} [options]
       */
      streamifyResponse(handler, options) {
        Object.assign(handler, { [STREAMING]: STREAM_RESPONSE });
        if (typeof options?.highWaterMark === 'number') {
          Object.assign(handler, { [HIGH_WATER_MARK]: Math.trunc(options.highWaterMark) });
        }
        return handler;
      },
      HttpResponseStream,
    },
  });
}

/**
 * @param {Function} handler
 * @param {symbol} mark
 */
const markOf = (handler, mark) =>
  /** @type {Record<symbol, unknown>} */ (/** @type {unknown} */ (handler))[mark];

/**
 * Whether the handler streams its response; any other mark than AWS's is refused at init as AWS refuses it.
 * @param {Function} handler
 * @returns {boolean}
 */
function isStreamingHandler(handler) {
  const mode = markOf(handler, STREAMING);
  if (mode === undefined || mode === null || mode === false) return false;
  if (mode === STREAM_RESPONSE) return true;
  throw runtimeError('Runtime.MalformedStreamingHandler', 'Only response streaming is supported.');
}

/**
 * The response of one invocation as a chunked request to the Runtime API, opened at the first write.
 * @param {string} requestId
 * @param {number | undefined} highWaterMark
 */
function openResponseStream(requestId, highWaterMark) {
  const [host, port] = String(process.env.AWS_LAMBDA_RUNTIME_API).split(':');
  let written = false;
  const request = http.request({
    host,
    port: Number(port),
    method: 'POST',
    path: `${RUNTIME}/invocation/${encodeURIComponent(requestId)}/response`,
    headers: {
      'Lambda-Runtime-Function-Response-Mode': 'streaming',
      Trailer: ['Lambda-Runtime-Function-Error-Type', 'Lambda-Runtime-Function-Error-Body'],
      'Content-Type': 'application/octet-stream',
      'Transfer-Encoding': 'chunked',
    },
    // A connection of its own, with the handler's highWaterMark (AWS sets it on the socket the same way).
    createConnection: (options) =>
      net.createConnection({
        .../** @type {net.NetConnectOpts} */ (options),
        ...(highWaterMark ? { highWaterMark } : {}),
      }),
  });
  /** @type {Promise<void>} settles when the Runtime API has answered the whole request */
  const answered = new Promise((resolve, reject) => {
    request.on('response', (response) => {
      response.resume();
      response.on('end', () => resolve());
      response.on('aborted', () => reject(new Error('the Runtime API aborted the response')));
    });
    request.on('error', (error) => {
      // A write after the handler ended the stream fails that write alone (its callback gets the error): the
      // response it ended stays whole. AWS's client destroys the request here, which can lose a response still
      // in flight; a complete response is kept here instead.
      if (
        request.writableEnded &&
        /** @type {{ code?: string }} */ (error).code === 'ERR_STREAM_WRITE_AFTER_END'
      )
        return;
      reject(error);
      request.destroy(error);
    });
  });
  // Nobody may be waiting yet (a handler still running): the rejection is read when the runtime awaits it.
  answered.catch(() => undefined);

  const rawWrite = request.write.bind(request);
  /** @type {ResponseStream} */
  const stream = /** @type {ResponseStream} */ ({});
  for (const method of STREAM_METHODS) {
    const bound = /** @type {Record<string, Function>} */ (/** @type {unknown} */ (request))[method];
    stream[method] = bound?.bind(request);
  }
  stream._onBeforeFirstWrite = undefined;
  stream.setContentType = (contentType) => {
    if (written) {
      throw runtimeError('Runtime.InvalidStreamingOperation', 'Cannot set content-type, too late.');
    }
    request.setHeader('Content-Type', contentType);
  };
  stream.write = (chunk, encoding, callback) => {
    const data =
      typeof chunk === 'string' || chunk instanceof Uint8Array
        ? chunk
        : (JSON.stringify(chunk) ?? 'undefined');
    if (!written && typeof stream._onBeforeFirstWrite === 'function') stream._onBeforeFirstWrite(rawWrite);
    written = true;
    return encoding === undefined ? rawWrite(data, callback) : rawWrite(data, encoding, callback);
  };
  for (const name of [
    'writableFinished',
    'writableEnded',
    'writableNeedDrain',
    'writableHighWaterMark',
    'writableCorked',
    'writableLength',
    'writableObjectMode',
    'writable',
    'destroyed',
  ]) {
    Object.defineProperty(stream, name, {
      get: () => /** @type {Record<string, unknown>} */ (/** @type {unknown} */ (request))[name],
      enumerable: true,
    });
  }

  /**
   * Ends the response with the error in its trailers; a request already ended or broken is left as it is.
   * @param {unknown} error
   * @returns {Promise<void>}
   */
  function fail(error) {
    if (request.writableEnded || request.destroyed) return Promise.resolve();
    const payload = errorPayload(error);
    request.addTrailers({
      'Lambda-Runtime-Function-Error-Type': payload.errorType,
      'Lambda-Runtime-Function-Error-Body': Buffer.from(JSON.stringify(payload)).toString('base64'),
    });
    return new Promise((done) => {
      request.end(() => done());
      request.once('error', () => done());
    });
  }

  return { stream, answered, fail };
}

/**
 * One invocation of a streaming handler: `handler(event, responseStream, context)`, which must return a promise
 * and end the stream; what it returns is ignored (with a warning), as AWS ignores it.
 * @param {Function} handler
 * @param {unknown} event
 * @param {object} context
 * @param {string} requestId
 * @param {(error: unknown) => void} logInvokeError
 * @returns {Promise<void>} once the Runtime API has the whole response
 */
async function runStreamingHandler(handler, event, context, requestId, logInvokeError) {
  const highWaterMark = markOf(handler, HIGH_WATER_MARK);
  const { stream, answered, fail } = openResponseStream(
    requestId,
    typeof highWaterMark === 'number' && highWaterMark > 0 ? highWaterMark : undefined,
  );
  try {
    const returned = handler(event, stream, context);
    if (returned === null || typeof returned !== 'object' || typeof returned.then !== 'function') {
      throw new Error('Streaming does not support non-async handlers.');
    }
    const result = await returned;
    if (result !== undefined) console.warn('Streaming handlers ignore return values.');
    await answered;
    if (!stream.writableFinished) throw new Error('Response stream is not finished.');
  } catch (error) {
    logInvokeError(error);
    await fail(error);
    await answered.catch(() => undefined);
  }
}

module.exports = { installAwsLambdaGlobal, isStreamingHandler, runStreamingHandler, HttpResponseStream };
