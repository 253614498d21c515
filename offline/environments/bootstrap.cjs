// @ts-check
'use strict';
/**
 * The runtime inside an offline execution environment: what AWS's Node.js runtime does in a Lambda sandbox, in
 * one small file. It loads the handler named by _HANDLER under LAMBDA_TASK_ROOT (the Init phase), then asks
 * Lambda's Runtime API for one event at a time and answers each with the handler's result or error
 * (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html). Console output is formatted as the Node.js
 * runtime formats it (timestamp, request id, level); a thrown error is logged as "Invoke Error" as it is there.
 *
 * The offline stack ends this process (idle, timeout, memory, stop): it ignores SIGINT and SIGTERM, which a
 * terminal or a process-group stop also sends to it, so that the stack can drain a run under way first. If the
 * stack itself is gone, the Runtime API stops answering and this process exits.
 *
 * Plain CommonJS with no dependency, type-checked through JSDoc: it must start as fast as a bare `node`.
 */
const http = require('node:http');
const { basename, dirname, resolve } = require('node:path');
const { pathToFileURL } = require('node:url');
const { format } = require('node:util');

/** @typedef {{ errorType: string, errorMessage: string, trace: string[] }} ErrorPayload */

const env = process.env;
const [apiHost, apiPort] = String(env.AWS_LAMBDA_RUNTIME_API).split(':');
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const RUNTIME = '/2018-06-01/runtime';

/** @type {string | undefined} the request under way, for console lines and for an error that escapes it */
let currentRequestId;

/**
 * @param {'GET' | 'POST'} method
 * @param {string} path
 * @param {string} [body]
 * @param {Record<string, string>} [headers]
 * @returns {Promise<{ status: number, headers: import('node:http').IncomingHttpHeaders, body: string }>}
 */
function call(method, path, body, headers = {}) {
  return new Promise((done, fail) => {
    const request = http.request(
      { host: apiHost, port: Number(apiPort), method, path: `${RUNTIME}${path}`, agent, headers },
      (response) => {
        const chunks = /** @type {Buffer[]} */ ([]);
        response.on('data', (chunk) => chunks.push(chunk));
        response.on('end', () =>
          done({
            status: response.statusCode ?? 0,
            headers: response.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        response.on('error', fail);
      },
    );
    request.on('error', fail);
    request.end(body);
  });
}

/**
 * The Runtime API is part of the stack that started this process: without it there is nothing left to do.
 * @param {unknown} error
 * @returns {never}
 */
function apiGone(error) {
  process.stderr.write(
    `offline runtime: the Runtime API at ${env.AWS_LAMBDA_RUNTIME_API} is gone (${String(error)})\n`,
  );
  process.exit(1);
}

/**
 * What the Node.js runtime reports for a thrown value: the error's name, message and stack lines; for a value
 * that is not an Error, its typeof and its text.
 * @param {unknown} error
 * @returns {ErrorPayload}
 */
function errorPayload(error) {
  if (error instanceof Error) {
    return { errorType: error.name, errorMessage: error.message, trace: (error.stack ?? '').split('\n') };
  }
  return { errorType: typeof error, errorMessage: String(error), trace: [] };
}

/**
 * A console line as the Node.js runtime writes it in the Text log format: timestamp, request id, level, the
 * message, with inner newlines turned into carriage returns so that CloudWatch keeps it as one event.
 * @param {string} level
 * @param {unknown[]} args
 */
function logLine(level, args) {
  const message = format(...args).replaceAll('\n', '\r');
  return `${new Date().toISOString()}\t${currentRequestId ?? 'undefined'}\t${level}\t${message}\n`;
}

/**
 * The runtime's own line for an error: "Invoke Error", a space and a tab, then the error as JSON.
 * @param {string} label
 * @param {ErrorPayload} payload
 */
function errorLine(label, payload) {
  const { errorType, errorMessage, trace } = payload;
  return logLine('ERROR', [`${label} \t${JSON.stringify({ errorType, errorMessage, stack: trace })}`]);
}

for (const [method, level, stream] of /** @type {const} */ ([
  ['log', 'INFO', 'stdout'],
  ['info', 'INFO', 'stdout'],
  ['debug', 'DEBUG', 'stdout'],
  ['warn', 'WARN', 'stderr'],
  ['error', 'ERROR', 'stderr'],
  ['trace', 'TRACE', 'stderr'],
])) {
  console[method] = (...args) => process[stream].write(logLine(level, args));
}

/**
 * Loads `file.export` of _HANDLER under LAMBDA_TASK_ROOT, trying .js, .mjs and .cjs as the Node.js runtime does;
 * the error types are the runtime's own.
 * @returns {Promise<Function>}
 */
async function loadHandler() {
  const handlerSetting = String(env._HANDLER);
  const name = basename(handlerSetting);
  const dot = name.indexOf('.');
  if (dot <= 0) {
    throw Object.assign(new Error(`Bad handler ${handlerSetting}`), { name: 'Runtime.MalformedHandlerName' });
  }
  const modulePath = resolve(String(env.LAMBDA_TASK_ROOT), dirname(handlerSetting), name.slice(0, dot));
  const exportPath = name.slice(dot + 1).split('.');
  /** @type {Record<string, unknown> | undefined} */
  let module;
  for (const extension of ['.js', '.mjs', '.cjs']) {
    const file = `${modulePath}${extension}`;
    try {
      module = extension === '.mjs' ? await import(pathToFileURL(file).href) : require(file);
      break;
    } catch (error) {
      const code = /** @type {{ code?: string }} */ (error).code;
      if (code === 'ERR_REQUIRE_ESM') {
        module = await import(pathToFileURL(file).href);
        break;
      }
      const missing = code === 'MODULE_NOT_FOUND' || code === 'ERR_MODULE_NOT_FOUND';
      if (!missing || !String(/** @type {Error} */ (error).message).includes(file)) throw error;
    }
  }
  if (module === undefined) {
    throw Object.assign(new Error(`Error: Cannot find module '${name.slice(0, dot)}'`), {
      name: 'Runtime.ImportModuleError',
    });
  }
  /** @type {unknown} */
  let handler = module;
  for (const key of exportPath) handler = /** @type {Record<string, unknown>} */ (handler)?.[key];
  if (handler === undefined) {
    throw Object.assign(new Error(`${name} is undefined or not exported`), {
      name: 'Runtime.HandlerNotFound',
    });
  }
  if (typeof handler !== 'function') {
    throw Object.assign(new Error(`${name} is not a function`), { name: 'Runtime.HandlerNotFound' });
  }
  return handler;
}

/**
 * @param {Function} handler
 * @param {unknown} event
 * @param {object} context
 * @returns {Promise<unknown>}
 */
function runHandler(handler, event, context) {
  return new Promise((succeed, fail) => {
    const callback = (/** @type {unknown} */ error, /** @type {unknown} */ result = undefined) =>
      error === undefined || error === null ? succeed(result) : fail(error);
    const withCallback = {
      ...context,
      done: callback,
      succeed: (/** @type {unknown} */ result) => callback(null, result),
      fail: (/** @type {unknown} */ error) => callback(error ?? 'handled'),
    };
    const returned = handler(event, withCallback, callback);
    if (returned !== null && typeof returned === 'object' && typeof returned.then === 'function') {
      returned.then(succeed, fail);
    } else if (handler.length < 3) {
      succeed(returned);
    }
  });
}

/** @param {string} value */
function parseJsonHeader(value) {
  try {
    return JSON.parse(value);
  } catch {
    return undefined;
  }
}

/**
 * @param {string} requestId
 * @param {import('node:http').IncomingHttpHeaders} headers
 */
function contextFor(requestId, headers) {
  const deadline = Number(headers['lambda-runtime-deadline-ms']);
  const clientContext = headers['lambda-runtime-client-context'];
  const identity = headers['lambda-runtime-cognito-identity'];
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionVersion: env.AWS_LAMBDA_FUNCTION_VERSION,
    functionName: env.AWS_LAMBDA_FUNCTION_NAME,
    memoryLimitInMB: env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    logGroupName: env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: env.AWS_LAMBDA_LOG_STREAM_NAME,
    ...(typeof clientContext === 'string' ? { clientContext: parseJsonHeader(clientContext) } : {}),
    ...(typeof identity === 'string' ? { identity: parseJsonHeader(identity) } : {}),
    invokedFunctionArn: headers['lambda-runtime-invoked-function-arn'],
    awsRequestId: requestId,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
}

/**
 * Resolves once everything written to stdout and stderr has reached the pipes: a pipe that is full makes Node
 * queue writes, and the answer must not overtake the run's last lines (the environment closes the run's log
 * when the answer comes).
 * @returns {Promise<unknown>}
 */
function flushed() {
  return Promise.all(
    [process.stdout, process.stderr].map(
      (stream) => new Promise((done) => stream.write('', () => done(undefined))),
    ),
  );
}

/**
 * @param {string} path
 * @param {ErrorPayload} payload
 */
async function postError(path, payload) {
  await flushed();
  return call('POST', path, JSON.stringify(payload), {
    'content-type': 'application/json',
    'lambda-runtime-function-error-type': payload.errorType,
  });
}

/**
 * The Node.js runtime's answer to an error that escapes every handler: logged, reported for the request under
 * way (or as an init error), then the process exits with the runtime's codes (128, 129).
 * @param {string} label
 * @param {ErrorPayload} payload
 * @param {number} exitCode
 */
function fatal(label, payload, exitCode) {
  process.stderr.write(errorLine(label, payload));
  const path = currentRequestId === undefined ? '/init/error' : `/invocation/${currentRequestId}/error`;
  postError(path, payload).finally(() => process.exit(exitCode));
}

process.on('uncaughtException', (error) => fatal('Uncaught Exception', errorPayload(error), 129));
process.on('unhandledRejection', (reason) =>
  fatal(
    'Unhandled Promise Rejection',
    { ...errorPayload(reason), errorType: 'Runtime.UnhandledPromiseRejection', errorMessage: String(reason) },
    128,
  ),
);
for (const signal of /** @type {const} */ (['SIGINT', 'SIGTERM'])) process.on(signal, () => undefined);

// Should the stack die without ending this process, its parent changes: nobody is left to send events.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) process.exit(1);
}, 1000).unref();

async function main() {
  /** @type {Function} */
  let handler;
  try {
    handler = await loadHandler();
  } catch (error) {
    const payload = errorPayload(error);
    process.stderr.write(errorLine('Init Error', payload));
    await postError('/init/error', payload).catch(apiGone);
    process.exit(1);
  }
  for (;;) {
    const next = await call('GET', '/invocation/next').catch(apiGone);
    const requestId = String(next.headers['lambda-runtime-aws-request-id']);
    currentRequestId = requestId;
    const traceId = next.headers['lambda-runtime-trace-id'];
    if (typeof traceId === 'string') env._X_AMZN_TRACE_ID = traceId;
    else delete env._X_AMZN_TRACE_ID;
    try {
      const result = await runHandler(handler, JSON.parse(next.body), contextFor(requestId, next.headers));
      await flushed();
      await call('POST', `/invocation/${requestId}/response`, JSON.stringify(result) ?? 'null', {
        'content-type': 'application/json',
      }).catch(apiGone);
    } catch (error) {
      const payload = errorPayload(error);
      process.stderr.write(errorLine('Invoke Error', payload));
      await postError(`/invocation/${requestId}/error`, payload).catch(apiGone);
    }
    currentRequestId = undefined;
  }
}

void main();
