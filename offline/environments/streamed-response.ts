/**
 * A response the runtime streams to the Runtime API (`Lambda-Runtime-Function-Response-Mode: streaming`, chunked),
 * read as it arrives: its chunks go on to the run's caller while the function still runs. How it ended is known
 * after its last chunk: complete, or with the error the runtime put in its trailers
 * (`Lambda-Runtime-Function-Error-Type`, `Lambda-Runtime-Function-Error-Body`: base64 of the error's JSON), or cut
 * (the runtime died, or the response went past the limit). AWS's reference for the server side is the runtime
 * interface emulator (internal/lambda/core/directinvoke/directinvoke.go: sendStreamingInvokeResponse).
 */
import type { IncomingMessage } from 'node:http';
import type { FunctionErrorPayload } from '../model/outcomes';

/**
 * Lambda's limit on a streamed response: 200 MB ("response streaming functions can return payloads up to 200 MB",
 * Lambda developer guide, Response streaming for Lambda functions; 20 MB before July 2025).
 */
export const STREAMED_RESPONSE_LIMIT = 200 * 1024 * 1024;

/** How a streamed response ended: its size, and the error it ended with, if any. */
export interface StreamEnd {
  readonly bytes: number;
  /** The runtime's error trailers, as sent (the Runtime API turns them into the function's error). */
  readonly trailers?: { readonly errorType: string; readonly errorBody: string };
  /** The response did not end as the runtime meant it to: cut at the limit, or its connection broken. */
  readonly cut?: FunctionErrorPayload;
}

/** What Lambda reports for a response past its limit (the runtime interface emulator's Function.ResponseSizeTooLarge). */
export function responseSizeTooLarge(limit: number): FunctionErrorPayload {
  return {
    errorMessage: `Response payload size exceeded maximum allowed payload size (${limit} bytes).`,
    errorType: 'Function.ResponseSizeTooLarge',
  };
}

const TRUNCATED: FunctionErrorPayload = {
  errorType: 'Runtime.TruncatedResponse',
  errorMessage: 'The response stream of the runtime was cut before its end.',
};

export class StreamedResponse {
  readonly contentType: string;
  /** Settles once the response is over, whoever reads it. */
  readonly ended: Promise<StreamEnd>;
  #settle: (end: StreamEnd) => void = () => undefined;
  #taken = false;

  constructor(
    private readonly source: IncomingMessage,
    private readonly limit: number = STREAMED_RESPONSE_LIMIT,
  ) {
    const contentType = source.headers['content-type'];
    this.contentType = typeof contentType === 'string' ? contentType : 'application/octet-stream';
    this.ended = new Promise((settle) => {
      this.#settle = settle;
    });
  }

  /**
   * The chunks as the runtime sends them (one reader only). Past the limit the response is cut: the caller learns
   * it at once, the rest is read and dropped (the runtime's request then gets its 413). A reader that stops early
   * (its client went away) leaves the runtime to finish: the rest is dropped, and the response is over when the
   * runtime ends it ("streamed responses are not interrupted or stopped when the invoking client connection is
   * broken", Lambda developer guide, Response streaming for Lambda functions).
   */
  async *chunks(): AsyncGenerator<Buffer, void, undefined> {
    if (this.#taken) throw new Error('a streamed response is read once');
    this.#taken = true;
    let bytes = 0;
    let cut: FunctionErrorPayload | undefined;
    let readToEnd = false;
    try {
      for await (const chunk of this.source.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
        bytes += chunk.length;
        if (bytes > this.limit) {
          cut = responseSizeTooLarge(this.limit);
          return;
        }
        yield chunk;
      }
      readToEnd = true;
    } catch {
      // the connection broke (the runtime was killed)
      cut = TRUNCATED;
    } finally {
      const settle = (): void => {
        const errorType = this.source.trailers['lambda-runtime-function-error-type'];
        const errorBody = this.source.trailers['lambda-runtime-function-error-body'] ?? '';
        const broken = cut === undefined && !this.source.complete;
        this.#settle({
          bytes,
          ...(cut === undefined ? {} : { cut }),
          ...(broken ? { cut: TRUNCATED } : {}),
          ...(cut === undefined && !broken && errorType ? { trailers: { errorType, errorBody } } : {}),
        });
      };
      if (readToEnd || cut === TRUNCATED) settle();
      else {
        this.source.resume();
        if (cut) settle();
        else void this.finished().then(settle);
      }
    }
  }

  /**
   * The whole response as one body, for a caller that did not ask for a stream (Invoke, an async event): Lambda
   * buffers it under the buffered limit (the emulator's sendPayloadLimitedResponse), past which it is an error.
   */
  async collect(
    limit: number,
  ): Promise<{ readonly body: string } | { readonly error: FunctionErrorPayload }> {
    const kept: Buffer[] = [];
    let bytes = 0;
    for await (const chunk of this.chunks()) {
      bytes += chunk.length;
      if (bytes > limit) return { error: responseSizeTooLarge(limit) };
      kept.push(chunk);
    }
    return { body: Buffer.concat(kept).toString('utf8') };
  }

  /** Resolves once the runtime's request is over (read to its end, or closed). */
  finished(): Promise<void> {
    if (this.source.complete || this.source.destroyed) return Promise.resolve();
    return new Promise((done) => {
      this.source.once('end', done).once('close', done);
    });
  }

  /** Reads and drops the response (nobody is waiting for it any more). */
  async discard(): Promise<void> {
    if (this.#taken) return;
    for await (const chunk of this.chunks()) void chunk;
  }
}
