// @ts-check
'use strict';
/**
 * One invocation of the handler: its context object and its answer, as the runtime client of the function's
 * runtime gives them. nodejs24.x (v4 client, src/runtime/buffered-invoke-processor.ts): `await handler(event,
 * context)`. nodejs22.x and older (v3 client, src/Runtime.js and src/CallbackContext.js): the handler also gets
 * a callback and `context.done/succeed/fail`; with `callbackWaitsForEmptyEventLoop` (the default) a callback's
 * result is sent once the event loop is empty; a synchronous handler that never calls back answers null when the
 * loop empties, an async one whose promise never settles fails with Runtime.NodeJsExit.
 */
const { runtimeError } = require('./errors.cjs');
const { isAsync } = require('./handler-loader.cjs');
const { callbackClient } = require('./runtime-generation.cjs');

const env = process.env;

/** What runs when the event loop empties during a v3 invocation (src/BeforeExitListener.js). */
let beforeExit = () => undefined;
process.on('beforeExit', () => beforeExit());

/** @param {unknown} value */
const isPromise = (value) =>
  value !== null &&
  typeof value === 'object' &&
  typeof (/** @type {{ then?: unknown }} */ (value).then) === 'function';

/**
 * The response body: `undefined` is sent as null; a value JSON cannot hold fails the invocation.
 * @param {unknown} result
 * @returns {string}
 */
function serialize(result) {
  try {
    return JSON.stringify(result === undefined ? null : result) ?? 'null';
  } catch {
    throw callbackClient
      ? new Error('Unable to stringify response body')
      : runtimeError('Runtime.JSONStringifyError', 'Unable to stringify response body');
  }
}

/**
 * @param {Function} handler
 * @param {unknown} event
 * @param {Record<string, unknown>} context
 * @returns {Promise<unknown>}
 */
function runWithCallback(handler, event, context) {
  return new Promise((succeed, fail) => {
    let completed = false;
    let finished = false;
    let waitForEmptyEventLoop = true;
    const complete = (/** @type {unknown} */ result) => {
      if (completed) {
        console.error(
          'Invocation has already been reported as done. Cannot call complete more than once per invocation.',
        );
        return;
      }
      completed = true;
      succeed(result);
    };
    const done = (/** @type {unknown} */ error, /** @type {unknown} */ result) => {
      beforeExit = () => undefined;
      if (error !== undefined && error !== null) fail(error);
      else complete(result);
    };
    const callback = (/** @type {unknown} */ error, /** @type {unknown} */ result) => {
      beforeExit = () => undefined;
      if (error !== undefined && error !== null) fail(error);
      else if (!waitForEmptyEventLoop) complete(result);
      else beforeExit = () => void setImmediate(() => complete(result));
    };
    /** Only the first of callback, done, succeed and fail counts (src/CallbackContext.js). */
    const once =
      (/** @type {(...args: unknown[]) => void} */ call) =>
      (/** @type {unknown[]} */ ...args) => {
        if (finished) return;
        call(...args);
        finished = true;
      };
    const callbackContext = {
      ...context,
      get callbackWaitsForEmptyEventLoop() {
        return waitForEmptyEventLoop;
      },
      set callbackWaitsForEmptyEventLoop(value) {
        waitForEmptyEventLoop = value;
      },
      done: once(done),
      succeed: once((/** @type {unknown} */ result) => done(null, result)),
      fail: once((/** @type {unknown} */ error) =>
        error === undefined || error === null ? done('handled', undefined) : done(error, null),
      ),
    };
    const asyncHandler = isAsync(handler);
    beforeExit = () => {
      completed = true;
      if (asyncHandler) {
        fail(
          runtimeError(
            'Runtime.NodeJsExit',
            'The Lambda runtime client detected an unexpected Node.js exit code. This is most commonly caused by a Promise that was never settled. For more information, see https://nodejs.org/docs/latest/api/process.html#exit-codes',
          ),
        );
      } else succeed(null);
    };
    const onceCallback = once(callback);
    try {
      const returned = handler(event, callbackContext, onceCallback);
      if (isPromise(returned)) {
        /** @type {Promise<unknown>} */ (returned)
          .then(callbackContext.succeed, callbackContext.fail)
          .catch(callbackContext.fail);
      }
    } catch (error) {
      onceCallback(error);
    }
  });
}

/**
 * Runs the handler on one event; resolves with the response body, rejects with what the invocation fails with.
 * @param {Function} handler
 * @param {unknown} event
 * @param {Record<string, unknown>} context
 * @returns {Promise<string>}
 */
async function invoke(handler, event, context) {
  const result = callbackClient
    ? await runWithCallback(handler, event, context)
    : await handler(event, context);
  return serialize(result);
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
 * @returns {Record<string, unknown>}
 */
function contextFor(requestId, headers) {
  const deadline = Number(headers['lambda-runtime-deadline-ms']);
  const clientContext = headers['lambda-runtime-client-context'];
  const identity = headers['lambda-runtime-cognito-identity'];
  return {
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

module.exports = { invoke, contextFor };
