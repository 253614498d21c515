// @ts-check
'use strict';
/**
 * The runtime inside an offline execution environment: what AWS's Node.js runtime does in a Lambda sandbox. It
 * loads the handler named by _HANDLER under LAMBDA_TASK_ROOT (the Init phase), then asks Lambda's Runtime API for
 * one event at a time and answers each with the handler's result or error
 * (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html). Console output is formatted as the Node.js
 * runtime formats it; a thrown error is logged as "Invoke Error" as it is there.
 *
 * The offline stack ends this process (idle, timeout, memory, stop): it ignores SIGINT and SIGTERM, which a
 * terminal or a process-group stop also sends to it, so that the stack can drain a run under way first. If the
 * stack itself is gone, the Runtime API stops answering and this process exits.
 *
 * Plain CommonJS with no dependency, type-checked through JSDoc: it must start as fast as a bare `node`.
 */
const api = require('./runtime-api-client.cjs');
const { invocation, logError, patchConsole } = require('./console-log.cjs');
const { errorPayload } = require('./errors.cjs');
const { loadHandler } = require('./handler-loader.cjs');
const { contextFor, invoke } = require('./invoke.cjs');
const { callbackClient } = require('./runtime-generation.cjs');
const { installAwsLambdaGlobal, isStreamingHandler, runStreamingHandler } = require('./response-stream.cjs');

/** @typedef {import('./runtime-api-client.cjs').ErrorPayload} ErrorPayload */

const env = process.env;
patchConsole();

/**
 * The Node.js runtime's answer to an error that escapes every handler: logged, reported for the request under
 * way (or as an init error), then the process exits with the runtime's codes (128, 129).
 * @param {string} label
 * @param {unknown} error
 * @param {ErrorPayload} payload
 * @param {number} exitCode
 */
function fatal(label, error, payload, exitCode) {
  logError(label, error);
  const { requestId } = invocation;
  const reported =
    requestId === undefined ? api.postInitError(payload) : api.postInvocationError(requestId, payload);
  reported.finally(() => process.exit(exitCode));
}

process.on('uncaughtException', (error) => fatal('Uncaught Exception', error, errorPayload(error), 129));
process.on('unhandledRejection', (reason) => {
  const error = Object.assign(new Error(String(reason)), {
    name: 'Runtime.UnhandledPromiseRejection',
    reason,
  });
  fatal('Unhandled Promise Rejection', error, { ...errorPayload(error), errorMessage: String(reason) }, 128);
});
for (const signal of /** @type {const} */ (['SIGINT', 'SIGTERM'])) process.on(signal, () => undefined);

// Should the stack die without ending this process, its parent changes: nobody is left to send events.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) process.kill(-process.pid, 'SIGKILL'); // its environment's group: children too
}, 1000).unref();

async function main() {
  /** @type {Function} */
  let handler;
  let streaming = false;
  try {
    installAwsLambdaGlobal();
    handler = await loadHandler(String(env._HANDLER), String(env.LAMBDA_TASK_ROOT));
    streaming = isStreamingHandler(handler);
  } catch (error) {
    logError('Init Error', error);
    await api.postInitError(errorPayload(error));
    process.exit(1);
  }
  for (;;) {
    const next = await api.nextInvocation();
    const requestId = String(next.headers['lambda-runtime-aws-request-id']);
    invocation.requestId = requestId;
    const traceId = next.headers['lambda-runtime-trace-id'];
    if (typeof traceId === 'string') env._X_AMZN_TRACE_ID = traceId;
    else delete env._X_AMZN_TRACE_ID;
    if (streaming) {
      await runStreamingHandler(
        handler,
        JSON.parse(next.body),
        contextFor(requestId, next.headers),
        requestId,
        (/** @type {unknown} */ error) => logError('Invoke Error', error),
      );
    } else {
      try {
        const body = await invoke(handler, JSON.parse(next.body), contextFor(requestId, next.headers));
        await api.postResponse(requestId, body);
      } catch (error) {
        logError('Invoke Error', error);
        await api.postInvocationError(requestId, errorPayload(error));
      }
    }
    // The v3 client keeps the last request id for lines written between invocations; the v4 client has none.
    if (!callbackClient) invocation.requestId = undefined;
  }
}

void main();
