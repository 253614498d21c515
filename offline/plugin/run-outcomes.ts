/**
 * What each caller gets of a function's run (the Invoke API's answer is syncOutcome, next to the runner): the
 * async queue a RunResult to decide retries on, serverless-offline's HTTP server a value or an error.
 */
import { RouteFunctionError } from '../adapters/serverless-offline-http';
import type { RunOutcome } from '../environments/function-runner';
import type { RunResult } from '../model/async-events';

/** An attempt of a queued event: its result, its error, or a throttle (which is not an attempt). */
export function asyncRunResult(outcome: RunOutcome): RunResult {
  if (outcome.kind === 'throttled') return { throttled: true, reason: outcome.reason };
  return outcome.kind === 'result'
    ? { ok: true, result: outcome.payload }
    : { ok: false, error: outcome.payload };
}

/** A request of the HTTP API: the result, or an error serverless-offline answers with a 502. */
export function httpAnswer(outcome: RunOutcome): unknown {
  if (outcome.kind === 'result') return outcome.payload;
  if (outcome.kind === 'throttled')
    throw new RouteFunctionError('TooManyRequestsException', 'Rate Exceeded.');
  throw new RouteFunctionError(outcome.payload.errorType, outcome.payload.errorMessage);
}
