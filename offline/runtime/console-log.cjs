// @ts-check
'use strict';
/**
 * Console output as the Node.js runtime writes it in the Text log format: timestamp, request id, level, the
 * message, with inner newlines turned into carriage returns so that CloudWatch keeps it as one event.
 */
const { format } = require('node:util');

/** @typedef {import('./runtime-api-client.cjs').ErrorPayload} ErrorPayload */

/** @type {{ requestId: string | undefined }} the request under way, for console lines */
const invocation = { requestId: undefined };

/**
 * @param {string} level
 * @param {unknown[]} args
 */
function logLine(level, args) {
  const message = format(...args).replaceAll('\n', '\r');
  return `${new Date().toISOString()}\t${invocation.requestId ?? 'undefined'}\t${level}\t${message}\n`;
}

/**
 * The runtime's own line for an error: the label, a space and a tab, then the error as JSON.
 * @param {string} label
 * @param {ErrorPayload} payload
 */
function errorLine(label, payload) {
  const { errorType, errorMessage, trace } = payload;
  return logLine('ERROR', [`${label} \t${JSON.stringify({ errorType, errorMessage, stack: trace })}`]);
}

/** Replaces the console's methods with the runtime's. */
function patchConsole() {
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
}

module.exports = { invocation, logLine, errorLine, patchConsole };
