import type { Context } from 'aws-lambda';

/**
 * One JSON line per log call in the exact shape of Powertools for AWS Lambda's Logger (2.x, PowertoolsLogFormatter):
 * level, message, timestamp, service, cold_start, function_arn, function_memory_size, function_name,
 * function_request_id, sampling_rate, xray_trace_id, then the call's own attributes; keys whose value is
 * undefined, null or '' left out; errors as {name, location, message, stack, cause, …}. INFO and DEBUG go to
 * stdout, WARN and ERROR to stderr. Powertools' Logger is not bundled: its imports alone cost hello 10–18 ms of
 * cold start (bench/README.md); test/unit/logger.test.ts holds this output against Powertools' own.
 * Not carried over, as this service uses none of them: POWERTOOLS_DEV's pretty printing, debug log sampling
 * (sampling_rate stays 0), log buffering, persistent keys, correlation ids.
 */

const LEVELS = { TRACE: 6, DEBUG: 8, INFO: 12, WARN: 16, ERROR: 20, CRITICAL: 24, SILENT: 28 } as const;
type LevelName = keyof typeof LEVELS;

/** Keys a log call may not set, as in Powertools (it drops them with a warning). */
const RESERVED_KEYS = new Set(['level', 'message', 'sampling_rate', 'service', 'timestamp']);

export type LogAttributes = Record<string, unknown>;

export interface LoggerOptions {
  readonly serviceName?: string | undefined;
  readonly env?: NodeJS.ProcessEnv;
  /** Where a line goes: stdout or stderr. For tests. */
  readonly write?: (stream: 'stdout' | 'stderr', line: string) => void;
}

function levelFrom(value: string | undefined): number | undefined {
  const name = value?.trim().toUpperCase();
  return name !== undefined && name in LEVELS ? LEVELS[name as LevelName] : undefined;
}

/** The Root of the X-Ray trace header Lambda sets per invocation (or keeps per request with concurrency). */
function xrayTraceId(env: NodeJS.ProcessEnv): string | undefined {
  const store = (globalThis as { awslambda?: { InvokeStore?: { getXRayTraceId(): string | undefined } } })
    .awslambda?.InvokeStore;
  const header = store?.getXRayTraceId() ?? env._X_AMZN_TRACE_ID ?? '';
  if (header === '') return undefined;
  if (!header.includes('=')) return header;
  for (const field of header.split(';')) {
    const [name, value] = field.split('=');
    if (name === 'Root') return value;
  }
  return undefined;
}

const pad = (value: number, length = 2): string => String(value).padStart(length, '0');

/** ISO 8601 in UTC, or with the local offset when TZ names another zone (Lambda sets TZ=:UTC). */
function formatTimestamp(date: Date, timezone: string | undefined): string {
  if (!timezone || timezone.includes('UTC')) return date.toISOString();
  const offset = -date.getTimezoneOffset();
  const sign = offset >= 0 ? '+' : '-';
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:` +
    `${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}` +
    `${sign}${pad(Math.floor(Math.abs(offset) / 60))}:${pad(Math.abs(offset) % 60)}`
  );
}

/** The first `(file:line:column)` of a stack, as `file:line`. */
function codeLocation(stack: string | undefined): string {
  for (const line of stack?.split('\n') ?? []) {
    const match = /\(([^()]*?):(\d+?):(\d+?)\)\\?$/.exec(line);
    if (match) return `${match[1]}:${Number(match[2])}`;
  }
  return '';
}

function formatError(error: Error): LogAttributes {
  const formatted: LogAttributes = {
    name: error.name,
    location: codeLocation(error.stack),
    message: error.message,
    stack: error.stack,
    cause: error.cause instanceof Error ? formatError(error.cause) : error.cause,
  };
  for (const key in error) {
    if (!['name', 'message', 'stack', 'cause'].includes(key)) {
      formatted[key] = (error as unknown as LogAttributes)[key];
    }
  }
  return formatted;
}

/** Errors as objects, BigInts as strings, circular references left out: Powertools' JSON replacer. */
function jsonReplacer(): (this: unknown, key: string, value: unknown) => unknown {
  const ancestors: unknown[] = [];
  return function (this: unknown, _key: string, value: unknown): unknown {
    const replaced = value instanceof Error ? formatError(value) : value;
    if (typeof replaced === 'bigint') return replaced.toString();
    if (typeof replaced === 'object' && replaced !== null) {
      while (ancestors.length > 0 && ancestors.at(-1) !== this) ancestors.pop();
      if (ancestors.includes(replaced)) return undefined;
      ancestors.push(replaced);
    }
    return replaced;
  };
}

interface InvocationFields {
  cold_start: boolean;
  function_arn: string;
  function_memory_size: string;
  function_name: string;
  function_request_id: string;
  tenant_id: string | undefined;
}

export class Logger {
  readonly #service: string;
  readonly #env: NodeJS.ProcessEnv;
  readonly #threshold: number;
  readonly #write: (stream: 'stdout' | 'stderr', line: string) => void;
  /** As Powertools: true for the first invocation of an on-demand container, false with provisioned concurrency. */
  #coldStart: boolean;
  #invocation: InvocationFields | undefined;

  constructor(options: LoggerOptions = {}) {
    this.#env = options.env ?? process.env;
    this.#service = options.serviceName || this.#env.POWERTOOLS_SERVICE_NAME || 'service_undefined';
    // Lambda's log level (advanced logging controls) wins over the function's own setting.
    this.#threshold =
      levelFrom(this.#env.AWS_LAMBDA_LOG_LEVEL) ??
      levelFrom(this.#env.POWERTOOLS_LOG_LEVEL) ??
      levelFrom(this.#env.LOG_LEVEL) ??
      LEVELS.INFO;
    this.#write = options.write ?? ((stream, line) => process[stream].write(line));
    this.#coldStart = this.#env.AWS_LAMBDA_INITIALIZATION_TYPE?.trim() === 'on-demand';
  }

  /** The invocation's fields for every line from now on; call it first thing in the handler. */
  addContext(context: Context): void {
    const coldStart = this.#coldStart;
    this.#coldStart = false;
    this.#invocation = {
      cold_start: coldStart,
      function_arn: context.invokedFunctionArn,
      function_memory_size: context.memoryLimitInMB,
      function_name: context.functionName,
      function_request_id: context.awsRequestId,
      tenant_id: (context as Context & { tenantId?: string }).tenantId,
    };
  }

  debug(message: string, attributes?: LogAttributes): void {
    this.#log('DEBUG', message, attributes);
  }

  info(message: string, attributes?: LogAttributes): void {
    this.#log('INFO', message, attributes);
  }

  warn(message: string, attributes?: LogAttributes): void {
    this.#log('WARN', message, attributes);
  }

  error(message: string, attributes?: LogAttributes): void {
    this.#log('ERROR', message, attributes);
  }

  #log(level: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR', message: string, attributes: LogAttributes = {}): void {
    if (LEVELS[level] < this.#threshold) return;
    const invocation = this.#invocation;
    const item: LogAttributes = {
      level,
      message,
      timestamp: formatTimestamp(new Date(), this.#env.TZ),
      service: this.#service,
      cold_start: invocation?.cold_start,
      function_arn: invocation?.function_arn,
      function_memory_size: invocation?.function_memory_size,
      function_name: invocation?.function_name,
      function_request_id: invocation?.function_request_id,
      sampling_rate: 0,
      xray_trace_id: xrayTraceId(this.#env),
      tenant_id: invocation?.tenant_id,
    };
    const dropped: string[] = [];
    for (const [key, value] of Object.entries(attributes)) {
      if (RESERVED_KEYS.has(key)) dropped.push(key);
      else item[key] = value;
    }
    for (const key of dropped) this.warn(`The key "${key}" is a reserved key and will be dropped.`);
    const line: LogAttributes = {};
    for (const [key, value] of Object.entries(item)) {
      if (value !== undefined && value !== null && value !== '') line[key] = value;
    }
    const stream = level === 'WARN' || level === 'ERROR' ? 'stderr' : 'stdout';
    this.#write(stream, `${JSON.stringify(line, jsonReplacer())}\n`);
  }
}

/** One JSON line per log call, with request id, function name and cold-start flag once addContext ran. */
export const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'lambda-notes' });
