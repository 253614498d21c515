/**
 * Lambda's asynchronous invocation policy, as documented in
 * https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html — pure, clock passed in.
 *
 * - A function error is retried up to maximumRetryAttempts (0–2, default 2) more times, 1 minute before the
 *   first retry and 2 minutes before the second.
 * - Throttles are retried with exponential backoff from 1 second up to 5 minutes; they do not count as attempts.
 * - An event older than maximumEventAge (60–21600 s, default 6 h) is not attempted again.
 * Every duration is multiplied by `timeScale` (1 = AWS's real delays) so that demos and tests run fast.
 */

export const DEFAULT_MAXIMUM_RETRY_ATTEMPTS = 2;
export const DEFAULT_MAXIMUM_EVENT_AGE_SECONDS = 21_600;
const RETRY_DELAYS_MS = [60_000, 120_000] as const;
const THROTTLE_BACKOFF_FIRST_MS = 1_000;
const THROTTLE_BACKOFF_MAX_MS = 300_000;

export interface AsyncPolicy {
  readonly maximumRetryAttempts: number;
  readonly maximumEventAgeSeconds: number;
  readonly timeScale: number;
}

/** What is known of one queued event. Times are epoch milliseconds. */
export interface EventProgress {
  readonly receivedAt: number;
  /** Function runs so far (throttled tries excluded): AWS's approximateInvokeCount. */
  readonly attempts: number;
  readonly throttles: number;
}

export type Condition = 'RetriesExhausted' | 'EventAgeExceeded' | 'ZeroReservedConcurrency';

export type Decision =
  | { readonly action: 'retry'; readonly delayMs: number }
  | { readonly action: 'discard'; readonly condition: Condition };

export class InvalidAsyncConfigError extends Error {
  override name = 'InvalidAsyncConfigError';
}

function numeric(value: unknown): unknown {
  return typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
}

/** Validates a function's async settings as CloudFormation would (AWS::Lambda::EventInvokeConfig). */
export function asyncPolicy(
  functionKey: string,
  settings: { maximumRetryAttempts?: unknown; maximumEventAge?: unknown },
  timeScale: number,
): AsyncPolicy {
  // `--param` values reach here as strings ("0"); CloudFormation takes numeric strings too.
  const retries = numeric(settings.maximumRetryAttempts ?? DEFAULT_MAXIMUM_RETRY_ATTEMPTS);
  const age = numeric(settings.maximumEventAge ?? DEFAULT_MAXIMUM_EVENT_AGE_SECONDS);
  if (!Number.isInteger(retries) || (retries as number) < 0 || (retries as number) > 2) {
    throw new InvalidAsyncConfigError(
      `functions.${functionKey}.maximumRetryAttempts must be 0, 1 or 2, got ${String(retries)}.`,
    );
  }
  if (!Number.isInteger(age) || (age as number) < 60 || (age as number) > 21_600) {
    throw new InvalidAsyncConfigError(
      `functions.${functionKey}.maximumEventAge must be whole seconds from 60 to 21600, got ${String(age)}.`,
    );
  }
  if (!(timeScale > 0) || !Number.isFinite(timeScale)) {
    throw new InvalidAsyncConfigError(
      `The async time scale must be a positive number, got ${String(timeScale)}.`,
    );
  }
  return { maximumRetryAttempts: retries as number, maximumEventAgeSeconds: age as number, timeScale };
}

function maximumAgeMs(policy: AsyncPolicy): number {
  return policy.maximumEventAgeSeconds * 1000 * policy.timeScale;
}

/** Before each run: an event past its maximum age is discarded instead. */
export function isExpired(policy: AsyncPolicy, progress: EventProgress, now: number): boolean {
  return now - progress.receivedAt > maximumAgeMs(policy);
}

/**
 * After a function error (progress.attempts already counts the failed run). Lambda gives up as soon as the
 * next retry could not start within maximumEventAge, so the record arrives within the age, not after the wait:
 * with maximumEventAge 60 the record (EventAgeExceeded) follows the first attempt, with 90 the second
 * (LocalStack's test_lambda_destinations.py::TestLambdaDestinationSqs::test_lambda_destination_default_retries
 * and the Lambda guide's "Configuring error handling for asynchronous invocation").
 */
export function afterFunctionError(policy: AsyncPolicy, progress: EventProgress, now: number): Decision {
  const retriesDone = progress.attempts - 1;
  if (retriesDone >= policy.maximumRetryAttempts) return { action: 'discard', condition: 'RetriesExhausted' };
  const delayMs = (RETRY_DELAYS_MS[retriesDone] ?? RETRY_DELAYS_MS[1]) * policy.timeScale;
  if (isExpired(policy, progress, now + delayMs)) return { action: 'discard', condition: 'EventAgeExceeded' };
  return { action: 'retry', delayMs };
}

/**
 * After a throttle (progress.throttles already counts this one): back off; when the next try could not start
 * within the event's maximum age, give up now (EventAgeExceeded) rather than after the wait.
 */
export function afterThrottle(policy: AsyncPolicy, progress: EventProgress, now: number): Decision {
  const backoff = Math.min(
    THROTTLE_BACKOFF_FIRST_MS * 2 ** Math.max(0, progress.throttles - 1),
    THROTTLE_BACKOFF_MAX_MS,
  );
  const delayMs = backoff * policy.timeScale;
  if (isExpired(policy, progress, now + delayMs)) return { action: 'discard', condition: 'EventAgeExceeded' };
  return { action: 'retry', delayMs };
}
