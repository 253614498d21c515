// @ts-check
'use strict';
/**
 * Console output as AWS's Node.js runtime clients write it (v3 src/LogPatch.js, v4 src/logging/*): every line on
 * stdout, in order, at the levels TRACE to FATAL (`console.fatal` included); a line below AWS_LAMBDA_LOG_LEVEL is
 * dropped; AWS_LAMBDA_LOG_FORMAT=JSON writes `{timestamp, level, requestId, message}` objects (an Error's type,
 * message and stack as fields), the Text format `timestamp\trequestId\tLEVEL\tmessage` with inner newlines as
 * carriage returns, so that CloudWatch keeps a line as one event.
 *
 * Outside an invocation the v4 client (nodejs24.x) writes the request id `-`; the v3 client writes `undefined`
 * before the first invocation and the last request id after it (it never clears it).
 */
const { format } = require('node:util');
const { callbackClient } = require('./runtime-generation.cjs');

/** @typedef {{ name: string, priority: number }} Level */

/** @type {Record<string, Level>} */
const LEVELS = {
  TRACE: { name: 'TRACE', priority: 1 },
  DEBUG: { name: 'DEBUG', priority: 2 },
  INFO: { name: 'INFO', priority: 3 },
  WARN: { name: 'WARN', priority: 4 },
  ERROR: { name: 'ERROR', priority: 5 },
  FATAL: { name: 'FATAL', priority: 6 },
};

const json = String(process.env.AWS_LAMBDA_LOG_FORMAT ?? '').toUpperCase() === 'JSON';
const minimum = LEVELS[String(process.env.AWS_LAMBDA_LOG_LEVEL ?? '').toUpperCase()] ?? LEVELS.TRACE;

/** @type {{ requestId: string | undefined }} the request under way, for console lines */
const invocation = { requestId: undefined };

/** The request id a line carries (see above). */
const currentRequestId = () => invocation.requestId ?? (callbackClient ? undefined : '-');

/**
 * An Error as its JSON fields: its constructor's name, message and stack lines, then its own properties.
 * @param {unknown} _key
 * @param {unknown} value
 */
function errorFields(_key, value) {
  if (!(value instanceof Error)) return value;
  return Object.assign(
    {
      errorType: value.constructor?.name ?? 'UnknownError',
      errorMessage: value.message,
      stackTrace: typeof value.stack === 'string' ? value.stack.split('\n') : value.stack,
    },
    value,
  );
}

/**
 * @param {Level} level
 * @param {unknown[]} args
 * @returns {string}
 */
function jsonLine(level, args) {
  /** @type {Record<string, unknown>} */
  const record = { timestamp: new Date().toISOString(), level: level.name, requestId: currentRequestId() };
  if (args.length <= 1) {
    record.message = args[0];
    try {
      return JSON.stringify(record, errorFields);
    } catch {
      record.message = format(record.message);
      return JSON.stringify(record);
    }
  }
  record.message = format(...args);
  const error = args.slice(1).find((param) => param instanceof Error);
  if (error instanceof Error) {
    record.errorType = error.constructor?.name ?? 'UnknownError';
    record.errorMessage = error.message;
    record.stackTrace = typeof error.stack === 'string' ? error.stack.split('\n') : [];
  }
  return JSON.stringify(record);
}

/**
 * One line as the runtime writes it, newline included.
 * @param {Level} level
 * @param {unknown[]} args
 */
function logLine(level, args) {
  const line = json
    ? jsonLine(level, args)
    : `${new Date().toISOString()}\t${currentRequestId()}\t${level.name}\t${format(...args)}`;
  return `${line.replaceAll('\n', '\r')}\n`;
}

/** Replaces the console's methods with the runtime's; a level below the minimum writes nothing. */
function patchConsole() {
  const methods = /** @type {const} */ (['trace', 'debug', 'info', 'warn', 'error', 'fatal']);
  const target = /** @type {Record<string, (...args: unknown[]) => void>} */ (
    /** @type {unknown} */ (console)
  );
  for (const method of methods) {
    const level = LEVELS[method.toUpperCase()] ?? LEVELS.INFO;
    target[method] =
      level.priority >= minimum.priority
        ? (...args) => process.stdout.write(logLine(level, args))
        : () => undefined;
  }
  target.log = target.info ?? (() => undefined);
}

/**
 * An Error's fields for the Text format's error lines: type, message, code, its own properties, stack lines.
 * @param {unknown} _key
 * @param {unknown} value
 */
function enumerableFields(_key, value) {
  if (!(value instanceof Error)) return value;
  const fields = Object.assign(
    {
      errorType: value.name,
      errorMessage: value.message,
      code: /** @type {{ code?: unknown }} */ (value).code,
    },
    value,
  );
  if (typeof value.stack === 'string') Object.assign(fields, { stack: value.stack.split('\n') });
  return fields;
}

/** @param {unknown} value */
const intoError = (value) => (value instanceof Error ? value : new Error(String(value)));

/**
 * The runtime's own line about an error ("Invoke Error", "Init Error", "Uncaught Exception"): an ERROR line with
 * the error and its own fields, as the runtime clients' structuredConsole.logError writes it.
 * @param {string} label
 * @param {unknown} thrown
 */
function logError(label, thrown) {
  const error = intoError(thrown);
  if (json) {
    console.error(error);
    return;
  }
  let formatted;
  try {
    formatted = `\t${JSON.stringify(error, enumerableFields)}`;
  } catch {
    formatted = `\t${JSON.stringify({ errorType: error.name, errorMessage: error.message, trace: String(error.stack).split('\n') })}`;
  }
  console.error(label, formatted);
}

module.exports = { invocation, logLine, logError, patchConsole, LEVELS };
