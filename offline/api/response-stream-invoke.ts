/**
 * InvokeWithResponseStream (https://docs.aws.amazon.com/lambda/latest/api/API_InvokeWithResponseStream.html): a
 * 200 whose headers go out with the function's first chunk (Content-Type is the stream's own, the SDK's
 * ResponseStreamContentType), then a PayloadChunk event per chunk as it arrives, and InvokeComplete once the run
 * is over (its ErrorCode and ErrorDetails for a failed run, LogResult for LogType Tail). A function that does not
 * stream answers as one PayloadChunk of its JSON result.
 */
import type { ThrottleReason } from '../environments/concurrency';
import type { ApiResponse, SyncOutcome } from './invoke-api';
import { invokeComplete, payloadChunk, type InvokeComplete } from './event-stream';

/** A response streamed by the function, as the environment hands it over. */
export interface StartedStream {
  readonly contentType: string;
  chunks(): AsyncIterable<Uint8Array>;
}

/** What the run of an InvokeWithResponseStream gives the Invoke API. */
export type StreamAnswer = ApiResponse | { readonly throttled: ThrottleReason };

export async function responseStreamAnswer(
  run: (onStream: (response: StartedStream) => void) => Promise<SyncOutcome>,
  requestId: string,
  tail: boolean,
): Promise<StreamAnswer> {
  let begin: (response: StartedStream) => void = () => undefined;
  const started = new Promise<StartedStream>((resolve) => {
    begin = resolve;
  });
  const outcome = run((response) => begin(response));
  // Read by the events below; a client that goes away before the end leaves it unread.
  outcome.catch(() => undefined);
  const first = await Promise.race([started, outcome.then(() => undefined)]);
  if (first === undefined) {
    const ended = await outcome;
    if (ended.kind === 'throttled') return { throttled: ended.reason };
  }
  return {
    status: 200,
    headers: {
      'Content-Type': first?.contentType ?? 'application/json',
      'x-amzn-RequestId': requestId,
      'X-Amz-Executed-Version': '$LATEST',
    },
    body: '',
    stream: events(first, outcome, tail),
  };
}

async function* events(
  response: StartedStream | undefined,
  outcome: Promise<SyncOutcome>,
  tail: boolean,
): AsyncGenerator<Uint8Array, void, undefined> {
  if (response) for await (const chunk of response.chunks()) yield payloadChunk(chunk);
  let result: SyncOutcome;
  try {
    result = await outcome;
  } catch {
    // The headers are gone already: the failure can only be told in the last event.
    yield invokeComplete({
      ErrorCode: 'ServiceException',
      ErrorDetails: 'The Lambda service encountered an internal error.',
    });
    return;
  }
  if (response === undefined && result.kind === 'result') {
    const body = result.raw?.body ?? JSON.stringify(result.payload === undefined ? null : result.payload);
    yield payloadChunk(Buffer.from(body ?? 'null'));
  }
  const complete: InvokeComplete = {
    ...(result.kind === 'function-error'
      ? { ErrorCode: String(result.payload.errorType), ErrorDetails: String(result.payload.errorMessage) }
      : {}),
    ...(tail && result.kind !== 'throttled' && result.logTail !== undefined
      ? { LogResult: result.logTail }
      : {}),
  };
  yield invokeComplete(complete);
}
