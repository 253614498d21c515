// @ts-check
'use strict';
/** One invocation of the handler: its context object and its result, by promise or by callback. */

const env = process.env;

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

module.exports = { runHandler, contextFor };
