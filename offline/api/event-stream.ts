/**
 * The answer of InvokeWithResponseStream as Lambda frames it: an `application/vnd.amazon.eventstream` body of
 * `PayloadChunk` events (the function's bytes) and one `InvokeComplete` event at the end (ErrorCode, ErrorDetails,
 * LogResult). The framing (prelude, headers, CRC32s) is the Smithy event-stream codec the AWS SDKs decode with;
 * the event and member names are those of Lambda's API reference (InvokeWithResponseStreamResponseEvent,
 * InvokeResponseStreamUpdate, InvokeWithResponseStreamCompleteEvent).
 */
import { EventStreamCodec } from '@smithy/core/event-streams';
import { fromUtf8, toUtf8 } from '@smithy/core/serde';

const codec = new EventStreamCodec(toUtf8, fromUtf8);

function event(eventType: string, contentType: string, body: Uint8Array): Uint8Array {
  return codec.encode({
    headers: {
      ':event-type': { type: 'string', value: eventType },
      ':content-type': { type: 'string', value: contentType },
      ':message-type': { type: 'string', value: 'event' },
    },
    body,
  });
}

/** One chunk of the function's response. */
export function payloadChunk(bytes: Uint8Array): Uint8Array {
  return event('PayloadChunk', 'application/octet-stream', bytes);
}

export interface InvokeComplete {
  readonly ErrorCode?: string;
  readonly ErrorDetails?: string;
  /** The last 4 KB of the run's log, base64 (LogType Tail). */
  readonly LogResult?: string;
}

/** The last event: how the run ended. */
export function invokeComplete(complete: InvokeComplete): Uint8Array {
  return event('InvokeComplete', 'application/json', fromUtf8(JSON.stringify(complete)));
}
