/**
 * A function's logging configuration (Lambda's LoggingConfig), as serverless.yml gives it (osls compiles a
 * function's `logs`, or else `provider.logs.lambda`, into LoggingConfig: logFormat, applicationLogLevel,
 * systemLogLevel, logGroup), and what Lambda makes of it inside the environment: AWS_LAMBDA_LOG_FORMAT,
 * AWS_LAMBDA_LOG_LEVEL (log levels apply to the JSON format only; INFO when JSON sets none) and
 * AWS_LAMBDA_LOG_GROUP_NAME ("Defined runtime environment variables" and "Log-level filtering" in the Lambda
 * developer guide).
 */

export type LogFormat = 'Text' | 'JSON';

export interface LoggingConfig {
  readonly format: LogFormat;
  /** TRACE … FATAL; JSON format only. */
  readonly applicationLogLevel?: string;
  /** DEBUG, INFO or WARN; JSON format only. */
  readonly systemLogLevel?: string;
  readonly logGroup?: string;
}

const APPLICATION_LEVELS = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'];
const SYSTEM_LEVELS = ['DEBUG', 'INFO', 'WARN'];

const pick = (value: unknown, allowed: readonly string[]): string | undefined =>
  typeof value === 'string' && allowed.includes(value.toUpperCase()) ? value.toUpperCase() : undefined;

/** The function's `logs`, else the provider's `logs.lambda` (the whole object, as osls takes it). */
export function loggingConfig(functionLogs: unknown, providerLogs: unknown): LoggingConfig {
  const lambdaLogs =
    typeof providerLogs === 'object' && providerLogs !== null
      ? (providerLogs as Record<string, unknown>).lambda
      : undefined;
  const logs = (functionLogs ?? lambdaLogs ?? {}) as Record<string, unknown>;
  const format: LogFormat = String(logs.logFormat ?? '').toUpperCase() === 'JSON' ? 'JSON' : 'Text';
  const applicationLogLevel = pick(logs.applicationLogLevel, APPLICATION_LEVELS);
  const systemLogLevel = pick(logs.systemLogLevel, SYSTEM_LEVELS);
  return {
    format,
    ...(format === 'JSON' ? { applicationLogLevel: applicationLogLevel ?? 'INFO' } : {}),
    ...(format === 'JSON' ? { systemLogLevel: systemLogLevel ?? 'INFO' } : {}),
    ...(typeof logs.logGroup === 'string' ? { logGroup: logs.logGroup } : {}),
  };
}

/** The variables Lambda sets from the configuration (they override the function's own, as reserved ones do). */
export function loggingVariables(
  config: LoggingConfig | undefined,
  functionName: string,
): Record<string, string> {
  return {
    AWS_LAMBDA_LOG_GROUP_NAME: config?.logGroup ?? `/aws/lambda/${functionName}`,
    ...(config?.format === 'JSON' ? { AWS_LAMBDA_LOG_FORMAT: 'JSON' } : {}),
    ...(config?.applicationLogLevel === undefined
      ? {}
      : { AWS_LAMBDA_LOG_LEVEL: config.applicationLogLevel }),
  };
}
