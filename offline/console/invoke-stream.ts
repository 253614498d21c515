/**
 * The Test tab's streamed invoke: the console calls InvokeWithResponseStream in process and passes each event on
 * to the page as one line of JSON as it comes (`application/x-ndjson`), so the page shows the answer as the
 * function writes it. The last line says how the run ended (InvokeComplete, the log, the timings).
 */
import type { ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { EventStreamCodec } from '@smithy/core/event-streams';
import { fromUtf8, toUtf8 } from '@smithy/core/serde';
import type { ApiRequest, ApiResponse } from '../api/invoke-api';
import type { InvokeComplete } from '../api/event-stream';
import type { StreamLine } from './contract';
import { parseEventJson } from './test-events';

const codec = new EventStreamCodec(toUtf8, fromUtf8);

const round2 = (value: number): number => Math.round(value * 100) / 100;

/**
 * Writes the lines of one streamed invoke; throws (before anything is written) for a request the console refuses.
 * @param functionName the deployed name of the function picked in the tab
 */
export async function streamInvoke(
  invokeApi: { handle(request: ApiRequest): Promise<ApiResponse> },
  functionName: string,
  eventText: string,
  response: ServerResponse,
): Promise<void> {
  const payload = Buffer.from(JSON.stringify(parseEventJson(eventText)));
  const startedAt = performance.now();
  const answer = await invokeApi.handle({
    method: 'POST',
    url: `/2021-11-15/functions/${encodeURIComponent(functionName)}/response-streaming-invocations`,
    headers: { 'x-amz-log-type': 'Tail' },
    body: payload,
    bodyBytes: payload.length,
  });
  response.writeHead(200, {
    'content-type': 'application/x-ndjson; charset=utf-8',
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  });
  const write = (line: StreamLine): void => {
    response.write(`${JSON.stringify(line)}\n`);
  };
  const requestId = Object.entries(answer.headers).find(
    ([name]) => name.toLowerCase() === 'x-amzn-requestid',
  )?.[1];
  if (!answer.stream) {
    // Refused before the function ran (throttled, not found, payload too large): Lambda's error as it is.
    write({
      kind: 'end',
      statusCode: answer.status,
      error: answer.body,
      roundTripMs: round2(performance.now() - startedAt),
    });
    response.end();
    return;
  }
  let firstChunkMs: number | undefined;
  // A chunk may end inside a character: the text is decoded across chunks.
  const text = new TextDecoder('utf-8');
  try {
    await writeEvents();
  } catch (error) {
    write({
      kind: 'end',
      statusCode: answer.status,
      error: String(error),
      roundTripMs: round2(performance.now() - startedAt),
    });
  }
  response.end();

  async function writeEvents(): Promise<void> {
    for await (const frame of answer.stream ?? []) {
      if (response.destroyed) break;
      const message = codec.decode(frame);
      const eventType = message.headers[':event-type']?.value;
      if (eventType === 'PayloadChunk') {
        firstChunkMs ??= round2(performance.now() - startedAt);
        write({ kind: 'chunk', text: text.decode(message.body, { stream: true }) });
      } else if (eventType === 'InvokeComplete') {
        const complete = JSON.parse(toUtf8(message.body)) as InvokeComplete;
        write({
          kind: 'end',
          statusCode: answer.status,
          ...(requestId ? { requestId } : {}),
          ...(complete.ErrorCode ? { errorCode: complete.ErrorCode } : {}),
          ...(complete.ErrorDetails ? { errorDetails: complete.ErrorDetails } : {}),
          ...(complete.LogResult !== undefined
            ? { log: Buffer.from(complete.LogResult, 'base64').toString('utf8') }
            : {}),
          ...(firstChunkMs === undefined ? {} : { firstChunkMs }),
          roundTripMs: round2(performance.now() - startedAt),
        });
      }
    }
  }
}
