/**
 * A run whose runtime streams its response: the caller that asked for a stream reads it as it arrives; any other
 * caller gets it buffered as one body under Lambda's buffered limit, as a plain Invoke of a streaming function
 * answers ("You can still invoke your function without response streaming by directly calling the Invoke API
 * operation", Lambda developer guide, config-rs-invoke-furls; the runtime interface emulator's
 * sendPayloadLimitedResponse copies at most that limit and reports Function.ResponseSizeTooLarge past it).
 */
import type { RunRequest, RunResult } from './environment-types';
import { RESPONSE_PAYLOAD_LIMIT, type RuntimeAnswer } from './runtime-api';
import type { StreamedResponse } from './streamed-response';
import type { FunctionErrorPayload } from '../model/outcomes';

export interface StreamedRun {
  readonly contentType: string;
  /** Resolves once the response is read: the buffered body, or the error that stopped it (past the limit). */
  readonly read: Promise<{ readonly body: string } | { readonly error: FunctionErrorPayload }>;
}

export function readStream(request: RunRequest, response: StreamedResponse): StreamedRun {
  if (request.onStream) {
    request.onStream(response);
    return { contentType: response.contentType, read: response.ended.then(() => ({ body: '' })) };
  }
  return { contentType: response.contentType, read: response.collect(RESPONSE_PAYLOAD_LIMIT) };
}

/** The run's outcome once its runtime answered: the buffer's own error first, then the runtime's answer. */
export async function streamedOutcome(
  streamed: StreamedRun,
  answer: RuntimeAnswer,
): Promise<RunResult['outcome']> {
  const read = await streamed.read;
  if ('error' in read) return { ok: false, error: read.error };
  if (answer.kind === 'error') return { ok: false, error: answer.payload };
  return { ok: true, body: read.body, streamed: { contentType: streamed.contentType } };
}
