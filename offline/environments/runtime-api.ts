/**
 * Lambda's Runtime API, the side Lambda serves (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html):
 * the runtime inside an execution environment asks for the next event (`GET /invocation/next`, answered when
 * there is one) and answers it (`POST /invocation/{id}/response` or `/error`), or reports that it could not start
 * (`POST /init/error`). One RuntimeApi serves one environment, one invocation at a time, as on Lambda. The state
 * machine is plain code; `startRuntimeApiServer` is its node:http edge on a free loopback port.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { FunctionErrorPayload } from '../model/outcomes';
import { StreamedResponse } from './streamed-response';

/** Lambda's limit on what a function returns (its error message names this figure). */
export const RESPONSE_PAYLOAD_LIMIT = 6_291_556;

/** One event handed to the runtime, with the headers Lambda sends along. */
export interface Invocation {
  readonly requestId: string;
  /** The event as JSON text. */
  readonly event: string;
  /** Epoch ms when the function times out (Lambda-Runtime-Deadline-Ms). */
  readonly deadlineMs: number;
  readonly invokedFunctionArn: string;
  readonly traceId: string;
  /** JSON text of the client context, when the caller sent one. */
  readonly clientContext?: string;
  /** JSON text of the Cognito identity, when there is one. */
  readonly cognitoIdentity?: string;
}

/** How the runtime answered an invocation. */
export type RuntimeAnswer =
  | { readonly kind: 'response'; readonly body: string }
  /** A streamed response, over and complete: its chunks went to whoever read the StreamedResponse. */
  | { readonly kind: 'streamed' }
  | { readonly kind: 'error'; readonly payload: FunctionErrorPayload };

export interface RuntimeApiListener {
  /** The runtime asked for an event: the first time, its Init phase is over. */
  ready(): void;
  answered(requestId: string, answer: RuntimeAnswer): void;
  /** The runtime started a streamed response: the listener must read it (its end is then `answered`). */
  streamStarted?(requestId: string, response: StreamedResponse): void;
  initFailed(payload: FunctionErrorPayload): void;
  /** The runtime's `next` waits: no event is there for it. */
  waiting?(): void;
}

export interface ApiReply {
  readonly status: number;
  readonly headers?: Record<string, string>;
  readonly body: string;
}

const PREFIX = '/2018-06-01/runtime';
const INVOCATION = /^\/2018-06-01\/runtime\/invocation\/([^/]+)\/(response|error)$/;

function reply(status: number, body: unknown): ApiReply {
  return { status, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
}

const ACCEPTED = reply(202, { status: 'OK' });

/** A body that is not the runtime's JSON error: kept as the message, typed by the header when there is one. */
export function runtimeErrorPayload(body: string, errorTypeHeader: string | undefined): FunctionErrorPayload {
  try {
    const parsed = JSON.parse(body) as unknown;
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) {
      const fields = parsed as Record<string, unknown>;
      return {
        ...fields,
        errorType:
          typeof fields.errorType === 'string' ? fields.errorType : (errorTypeHeader ?? 'Runtime.Unknown'),
        errorMessage: typeof fields.errorMessage === 'string' ? fields.errorMessage : '',
      };
    }
  } catch {
    // not JSON: the text is the message
  }
  return { errorType: errorTypeHeader ?? 'Runtime.Unknown', errorMessage: body };
}

export class RuntimeApi {
  /** The runtime's pending `next`, answered when an invocation is assigned. */
  #waiting: ((invocation: Invocation) => void) | undefined;
  /** Assigned while the runtime was not waiting: handed to its next `next`. */
  #queued: Invocation | undefined;
  /** Handed to the runtime, not answered yet. */
  #current: string | undefined;
  /** The runtime has asked for an event at least once (its Init phase is over). */
  #asked = false;

  constructor(private readonly listener: RuntimeApiListener) {}

  /** Hands an event to the runtime (the environment runs one at a time: the caller waits for its answer). */
  assign(invocation: Invocation): void {
    if (this.#current !== undefined || this.#queued !== undefined) {
      throw new Error(`the runtime is busy with ${this.#current ?? this.#queued?.requestId}`);
    }
    const waiting = this.#waiting;
    if (waiting) {
      this.#waiting = undefined;
      this.#current = invocation.requestId;
      waiting(invocation);
    } else {
      this.#queued = invocation;
    }
  }

  async handle(
    method: string,
    path: string,
    body: string,
    headers: Record<string, string | undefined>,
  ): Promise<ApiReply> {
    if (method === 'GET' && path === `${PREFIX}/invocation/next`) return this.#next();
    if (method === 'POST' && path === `${PREFIX}/init/error`) {
      this.listener.initFailed(runtimeErrorPayload(body, headers['lambda-runtime-function-error-type']));
      return ACCEPTED;
    }
    const match = method === 'POST' ? INVOCATION.exec(path) : null;
    if (!match)
      return reply(404, { errorMessage: `No route ${method} ${path}`, errorType: 'InvalidRequest' });
    const [, requestId, kind] = match;
    // An answer with no invocation under way (twice, before any event, while waiting) is a state transition the
    // runtime may not make: rapid's 403, the state it is in named (lambda/rapi/handler/invocationresponse.go).
    if (this.#current === undefined) {
      const to = kind === 'error' ? 'InvocationErrorResponse' : 'InvocationResponse';
      return reply(403, {
        errorMessage: `State transition from ${this.#stateName()} to ${to} failed for runtime. Error: State transition is not allowed`,
        errorType: 'InvalidStateTransition',
      });
    }
    if (requestId === undefined || requestId !== this.#current) {
      return reply(400, { errorMessage: 'Invalid request ID', errorType: 'InvalidRequestID' });
    }
    this.#current = undefined;
    if (kind === 'error') {
      this.listener.answered(requestId, {
        kind: 'error',
        payload: runtimeErrorPayload(body, headers['lambda-runtime-function-error-type']),
      });
      return ACCEPTED;
    }
    if (Buffer.byteLength(body) > RESPONSE_PAYLOAD_LIMIT) {
      this.listener.answered(requestId, { kind: 'error', payload: responseTooLarge() });
      return reply(413, {
        errorMessage: `Exceeded maximum allowed payload size (${RESPONSE_PAYLOAD_LIMIT} bytes).`,
        errorType: 'RequestEntityTooLarge',
      });
    }
    this.listener.answered(requestId, { kind: 'response', body });
    return ACCEPTED;
  }

  /** rapid's name of the runtime's state (lambda/core/states.go), when no invocation is under way. */
  #stateName(): string {
    if (this.#waiting !== undefined) return 'Ready';
    return this.#asked ? 'RuntimeResponseSentState' : 'Started';
  }

  /**
   * A response the runtime streams (`Lambda-Runtime-Function-Response-Mode` set): handed to the listener as it
   * starts; the invocation is answered when it ends, with the error of its trailers if it has one. A mode other
   * than `streaming` is refused as the runtime interface emulator refuses it (rapi/handler/invocationresponse.go).
   */
  async handleStream(path: string, mode: string, response: StreamedResponse): Promise<ApiReply> {
    const match = INVOCATION.exec(path);
    const requestId = match?.[1];
    if (!match || requestId === undefined || requestId !== this.#current) {
      void response.discard();
      return match
        ? reply(400, { errorMessage: 'Invalid request ID', errorType: 'InvalidRequestID' })
        : reply(404, { errorMessage: `No route POST ${path}`, errorType: 'InvalidRequest' });
    }
    if (mode !== 'streaming') {
      void response.discard();
      this.#current = undefined;
      this.listener.answered(requestId, {
        kind: 'error',
        payload: { errorType: 'Runtime.InvalidResponseModeHeader', errorMessage: '' },
      });
      return reply(400, {
        errorMessage: 'Invalid function response mode',
        errorType: 'InvalidFunctionResponseMode',
      });
    }
    if (this.listener.streamStarted) this.listener.streamStarted(requestId, response);
    else void response.discard();
    const end = await response.ended;
    this.#current = undefined;
    if (end.cut) {
      this.listener.answered(requestId, { kind: 'error', payload: end.cut });
      await response.finished();
      return end.cut.errorType === 'Function.ResponseSizeTooLarge'
        ? reply(413, { errorMessage: end.cut.errorMessage, errorType: 'RequestEntityTooLarge' })
        : reply(400, {
            errorMessage: 'HTTP request detected as truncated',
            errorType: 'TruncatedHTTPRequest',
          });
    }
    this.listener.answered(
      requestId,
      end.trailers
        ? {
            kind: 'error',
            payload: runtimeErrorPayload(
              Buffer.from(end.trailers.errorBody, 'base64').toString('utf8'),
              end.trailers.errorType,
            ),
          }
        : { kind: 'streamed' },
    );
    return ACCEPTED;
  }

  #next(): Promise<ApiReply> | ApiReply {
    if (this.#current !== undefined || this.#waiting !== undefined) {
      return reply(403, {
        errorMessage:
          'State transition from Running to Ready failed for runtime. Error: State transition is not allowed',
        errorType: 'InvalidStateTransition',
      });
    }
    this.#asked = true;
    this.listener.ready();
    const queued = this.#queued;
    if (queued) {
      this.#queued = undefined;
      this.#current = queued.requestId;
      return nextReply(queued);
    }
    return new Promise((handOut) => {
      this.#waiting = (invocation) => handOut(nextReply(invocation));
      this.listener.waiting?.();
    });
  }
}

/** What Lambda answers a function whose result is over the limit (the caller gets it as the function error). */
export function responseTooLarge(): FunctionErrorPayload {
  return {
    errorMessage: `Response payload size exceeded maximum allowed payload size (${RESPONSE_PAYLOAD_LIMIT} bytes).`,
    errorType: 'Function.ResponseSizeTooLarge',
  };
}

function nextReply(invocation: Invocation): ApiReply {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'lambda-runtime-aws-request-id': invocation.requestId,
    'lambda-runtime-deadline-ms': String(invocation.deadlineMs),
    'lambda-runtime-invoked-function-arn': invocation.invokedFunctionArn,
    'lambda-runtime-trace-id': invocation.traceId,
  };
  if (invocation.clientContext !== undefined)
    headers['lambda-runtime-client-context'] = invocation.clientContext;
  if (invocation.cognitoIdentity !== undefined)
    headers['lambda-runtime-cognito-identity'] = invocation.cognitoIdentity;
  return { status: 200, headers, body: invocation.event };
}

/** Reads a request body, keeping at most `limit + 1` bytes (enough to know it is over the limit). */
async function readBody(request: IncomingMessage, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let kept = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    if (kept > limit) continue;
    chunks.push(chunk);
    kept += chunk.length;
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The Runtime API on 127.0.0.1 and a free port (the environment's AWS_LAMBDA_RUNTIME_API). */
export function startRuntimeApiServer(api: RuntimeApi, streamLimit?: number): Promise<Server> {
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    void (async () => {
      const mode = request.headers['lambda-runtime-function-response-mode'];
      // Only a response streams: an error (`/error`) is one JSON body whatever the runtime says.
      if (request.method === 'POST' && typeof mode === 'string' && request.url?.endsWith('/response')) {
        const answer = await api.handleStream(
          request.url ?? '/',
          mode,
          new StreamedResponse(request, streamLimit),
        );
        if (!response.destroyed) response.writeHead(answer.status, answer.headers).end(answer.body);
        return;
      }
      const body = await readBody(request, RESPONSE_PAYLOAD_LIMIT);
      const headers: Record<string, string | undefined> = {};
      for (const [name, value] of Object.entries(request.headers))
        headers[name] = Array.isArray(value) ? value[0] : value;
      const answer = await api.handle(request.method ?? 'GET', request.url ?? '/', body, headers);
      response.writeHead(answer.status, answer.headers).end(answer.body);
    })().catch((error: unknown) => {
      if (!response.headersSent) response.writeHead(500).end(String(error));
    });
  });
  // The runtime's `next` waits as long as the environment is idle: no timeout may end it.
  server.requestTimeout = 0;
  server.headersTimeout = 0;
  server.keepAliveTimeout = 0;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}
