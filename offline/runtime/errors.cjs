// @ts-check
'use strict';
/** The error payloads of AWS's Node.js runtime: what it reports for a thrown value, and its own error types. */

/** @typedef {import('./runtime-api-client.cjs').ErrorPayload} ErrorPayload */

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
 * An error of the runtime itself, named as AWS names it (Runtime.HandlerNotFound, …).
 * @param {string} name
 * @param {string} message
 * @returns {Error}
 */
function runtimeError(name, message) {
  return Object.assign(new Error(message), { name });
}

module.exports = { errorPayload, runtimeError };
