// @ts-check
'use strict';
/**
 * Which of AWS's Node.js runtime clients this function's runtime runs: nodejs24.x and later run the v4 client
 * (handlers take `(event, context)`, callback-style handlers are refused at init), nodejs22.x and older the v3
 * client (callbacks, `callbackWaitsForEmptyEventLoop`). The runtime is read from AWS_EXECUTION_ENV
 * (`AWS_Lambda_nodejs24.x`), as AWS's clients read it.
 */

const runtimeName = String(process.env.AWS_EXECUTION_ENV ?? '').replace(/^AWS_Lambda_/, '');
const major = Number(/^nodejs(\d+)/.exec(runtimeName)?.[1] ?? Number.NaN);

/** True for the v3 client's runtimes (nodejs22.x and older); an unknown runtime gets the newest client. */
const callbackClient = Number.isFinite(major) && major < 24;

module.exports = { runtimeName, callbackClient };
