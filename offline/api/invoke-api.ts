/**
 * Lambda's Invoke API, offline: the route the AWS CLI (`aws lambda invoke --endpoint-url`) and the SDKs call,
 * with Lambda's contract (https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html): invocation types
 * RequestResponse, Event and DryRun, FunctionName as a name, a partial or a full ARN with an optional qualifier,
 * `LogType: Tail`, Lambda's payload limits and error shapes, `x-amzn-RequestId` on every answer. Handlers run
 * in the execution environments; this module only speaks the API (a pure core, InvokeApi, that the console calls
 * in process, and a small node:http edge that the CLI and the SDKs reach).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { ThrottleReason } from '../environments/concurrency';
import type { FunctionErrorPayload } from '../model/outcomes';
import { responseStreamAnswer, type StartedStream } from './response-stream-invoke';

/** Request payload limits of the Invoke API (Lambda quotas; 6 MB sync, 1 MB async). */
export const SYNC_PAYLOAD_LIMIT = 6 * 1024 * 1024;
export const ASYNC_PAYLOAD_LIMIT = 1024 * 1024;

export type SyncOutcome =
  | {
      readonly kind: 'result';
      readonly payload: unknown;
      readonly logTail?: string;
      /** A streamed response answered whole: its bytes as they came, not JSON. */
      readonly raw?: { readonly body: string; readonly contentType: string };
    }
  | {
      readonly kind: 'function-error';
      readonly payload: FunctionErrorPayload | Record<string, unknown>;
      readonly logTail?: string;
    }
  | { readonly kind: 'throttled'; readonly reason: ThrottleReason };

export interface InvokeApiDeps {
  readonly region: string;
  readonly accountId: string;
  /** Deployed function name (lambda-notes-dev-hello) → serverless.yml function key (hello). */
  readonly functions: ReadonlyMap<string, string>;
  newRequestId(): string;
  /** Runs the handler synchronously (reserved concurrency and metrics apply); never rejects for a function error. */
  invoke(
    functionKey: string,
    event: unknown,
    options: {
      requestId: string;
      clientContext: unknown;
      tail: boolean;
      /** InvokeWithResponseStream: the function's streamed response, as it starts. */
      onStream?: (response: StartedStream) => void;
    },
  ): Promise<SyncOutcome>;
  /** The async queue: resolves once the event is durable, with the request id every attempt carries. */
  enqueue(
    functionKey: string,
    payload: unknown,
    options: { requestId: string; source: { kind: 'invoke' } },
  ): Promise<{ requestId: string }>;
  log(level: 'info' | 'warn' | 'error', message: string): void;
}

export interface ApiRequest {
  readonly method: string;
  /** Path and query, as received. */
  readonly url: string;
  readonly headers: Readonly<Record<string, string | undefined>>;
  /** The body, or its first bytes when it was larger than the edge keeps (bodyBytes says how large). */
  readonly body: Buffer;
  readonly bodyBytes: number;
}

export interface ApiResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
  /** A body written as it comes (InvokeWithResponseStream's events), instead of `body`. */
  readonly stream?: AsyncIterable<Uint8Array>;
}

const INVOKE_PATH = /^\/2015-03-31\/functions\/([^/]+)\/invocations\/?$/;
const INVOKE_ASYNC_PATH = /^\/2014-11-13\/functions\/([^/]+)\/invoke-async\/?$/;
const RESPONSE_STREAM_PATH = /^\/2021-11-15\/functions\/([^/]+)\/response-streaming-invocations\/?$/;

/** Lambda's FunctionName pattern (name, partial ARN, full ARN; optional qualifier). */
const FUNCTION_NAME =
  /^(?:arn:(?:aws[a-zA-Z-]*)?:lambda:)?(?:([a-z]{2}(?:(?:-gov)|(?:-iso[a-z]?))?-[a-z]+-\d):)?(?:(\d{12}):)?(?:function:)?([a-zA-Z0-9-_.]+)(?::(\$LATEST|[a-zA-Z0-9-_]+))?$/;
const FUNCTION_NAME_PATTERN_TEXT =
  '(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\\d{1}:)?(\\d{12}:)?(function:)?([a-zA-Z0-9-_\\.]+)(:(\\$LATEST|[a-zA-Z0-9-_]+))?';
const INVOCATION_TYPES = ['Event', 'RequestResponse', 'DryRun'] as const;
type InvocationType = (typeof INVOCATION_TYPES)[number];
const LOG_TYPES = ['None', 'Tail'] as const;

function json(
  status: number,
  requestId: string,
  body: unknown,
  extra: Record<string, string> = {},
): ApiResponse {
  return {
    status,
    headers: { 'Content-Type': 'application/json', 'x-amzn-RequestId': requestId, ...extra },
    body: JSON.stringify(body),
  };
}

/** A Lambda service error: the code in x-amzn-ErrorType, the body as Lambda words it. */
function serviceError(
  status: number,
  code: string,
  requestId: string,
  body: Record<string, unknown>,
): ApiResponse {
  return json(status, requestId, body, { 'x-amzn-ErrorType': code });
}

function validationError(requestId: string, value: string, member: string, constraint: string): ApiResponse {
  return serviceError(400, 'ValidationException', requestId, {
    message: `1 validation error detected: Value '${value}' at '${member}' failed to satisfy constraint: ${constraint}`,
  });
}

export class InvokeApi {
  readonly #decoder = new TextDecoder('utf-8', { fatal: true });

  constructor(private readonly deps: InvokeApiDeps) {}

  #arn(name: string, qualifier: string, account = this.deps.accountId): string {
    return `arn:aws:lambda:${this.deps.region}:${account}:function:${name}:${qualifier}`;
  }

  async handle(request: ApiRequest): Promise<ApiResponse> {
    const url = new URL(request.url, 'http://offline');
    const responseStream = RESPONSE_STREAM_PATH.exec(url.pathname);
    const invoke = INVOKE_PATH.exec(url.pathname) ?? responseStream;
    const invokeAsync = invoke ? null : INVOKE_ASYNC_PATH.exec(url.pathname);
    const requestId = this.deps.newRequestId();
    if ((!invoke && !invokeAsync) || request.method !== 'POST') {
      return serviceError(404, 'UnknownOperationException', requestId, { Type: 'User', message: null });
    }
    let rawName: string;
    try {
      rawName = decodeURIComponent((invoke ?? invokeAsync)?.[1] ?? '');
    } catch {
      rawName = (invoke ?? invokeAsync)?.[1] ?? '';
    }
    const target = this.#resolve(rawName, url.searchParams.get('Qualifier'), requestId);
    if ('status' in target) return target;

    if (invokeAsync) {
      // The deprecated InvokeAsync API: queued like InvocationType Event.
      return this.#event(target.functionKey, request, requestId, { Status: 202 });
    }

    const invocationType = request.headers['x-amz-invocation-type'] ?? 'RequestResponse';
    // InvokeWithResponseStream knows RequestResponse and DryRun only (ResponseStreamingInvocationType).
    const types = responseStream ? INVOCATION_TYPES.filter((type) => type !== 'Event') : INVOCATION_TYPES;
    if (!(types as readonly string[]).includes(invocationType)) {
      return validationError(
        requestId,
        invocationType,
        'invocationType',
        `Member must satisfy enum value set: [${types.join(', ')}]`,
      );
    }
    const logType = request.headers['x-amz-log-type'] ?? 'None';
    if (!(LOG_TYPES as readonly string[]).includes(logType)) {
      return validationError(
        requestId,
        logType,
        'logType',
        `Member must satisfy enum value set: [Tail, None]`,
      );
    }
    const type = invocationType as InvocationType;
    if (type === 'DryRun') return { status: 204, headers: { 'x-amzn-RequestId': requestId }, body: '' };
    if (type === 'Event') return this.#event(target.functionKey, request, requestId);
    return this.#sync(target.functionKey, request, requestId, logType === 'Tail', responseStream !== null);
  }

  /** FunctionName (+ Qualifier) → the function, or Lambda's error for it. */
  #resolve(
    rawName: string,
    qualifierParam: string | null,
    requestId: string,
  ): { functionKey: string } | ApiResponse {
    const match = FUNCTION_NAME.exec(rawName);
    if (!match || rawName.length > 170) {
      return validationError(
        requestId,
        rawName,
        'functionName',
        `Member must satisfy regular expression pattern: ${FUNCTION_NAME_PATTERN_TEXT}`,
      );
    }
    const [, region, account, name = '', arnQualifier] = match;
    if (qualifierParam !== null && !/^[a-zA-Z0-9$_-]{1,128}$/.test(qualifierParam)) {
      return validationError(
        requestId,
        qualifierParam,
        'qualifier',
        'Member must satisfy regular expression pattern: (|[a-zA-Z0-9$_-]+)',
      );
    }
    if (qualifierParam !== null && arnQualifier !== undefined && qualifierParam !== arnQualifier) {
      return serviceError(400, 'InvalidParameterValueException', requestId, {
        Type: 'User',
        message: 'The derived qualifier from the function name does not match the specified qualifier.',
      });
    }
    if (region !== undefined && region !== this.deps.region) {
      return serviceError(404, 'ResourceNotFoundException', requestId, {
        Type: 'User',
        Message: `Functions from '${region}' are not reachable in this region ('${this.deps.region}')`,
      });
    }
    const qualifier = qualifierParam ?? arnQualifier ?? '$LATEST';
    const functionKey = this.deps.functions.get(name);
    // Offline there is one account and only $LATEST (no published versions or aliases).
    if (
      functionKey === undefined ||
      qualifier !== '$LATEST' ||
      (account !== undefined && account !== this.deps.accountId)
    ) {
      return serviceError(404, 'ResourceNotFoundException', requestId, {
        Type: 'User',
        Message: `Function not found: ${this.#arn(name, qualifier, account)}`,
      });
    }
    return { functionKey };
  }

  /** The payload as JSON, or Lambda's 413 / 400 for it. */
  #payload(
    request: ApiRequest,
    invocationType: 'RequestResponse' | 'Event',
    requestId: string,
  ): { event: unknown } | ApiResponse {
    const limit = invocationType === 'Event' ? ASYNC_PAYLOAD_LIMIT : SYNC_PAYLOAD_LIMIT;
    if (request.bodyBytes > limit) {
      return serviceError(413, 'RequestEntityTooLargeException', requestId, {
        Type: 'User',
        message: `${request.bodyBytes} byte payload is too large for the ${invocationType} invocation type (limit ${limit} bytes)`,
      });
    }
    if (request.bodyBytes === 0) return { event: {} };
    try {
      return { event: JSON.parse(this.#decoder.decode(request.body)) as unknown };
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      return serviceError(400, 'InvalidRequestContentException', requestId, {
        Type: 'User',
        message: `Could not parse request body into json: Could not parse payload into json: ${reason}`,
      });
    }
  }

  async #event(
    functionKey: string,
    request: ApiRequest,
    fallbackRequestId: string,
    body?: unknown,
  ): Promise<ApiResponse> {
    const parsed = this.#payload(request, 'Event', fallbackRequestId);
    if ('status' in parsed) return parsed;
    try {
      const { requestId } = await this.deps.enqueue(functionKey, parsed.event, {
        requestId: fallbackRequestId,
        source: { kind: 'invoke' },
      });
      return body === undefined
        ? { status: 202, headers: { 'x-amzn-RequestId': requestId }, body: '' }
        : json(202, requestId, body);
    } catch (error) {
      // Not on disk, so not accepted: the caller must retry (as for Lambda's own 5xx).
      this.deps.log('error', `could not queue an Invoke (Event) for ${functionKey}: ${String(error)}`);
      return serviceError(500, 'ServiceException', fallbackRequestId, {
        Type: 'Service',
        message: 'The Lambda service encountered an internal error: the event could not be queued.',
      });
    }
  }

  async #sync(
    functionKey: string,
    request: ApiRequest,
    requestId: string,
    tail: boolean,
    streamed = false,
  ): Promise<ApiResponse> {
    const parsed = this.#payload(request, 'RequestResponse', requestId);
    if ('status' in parsed) return parsed;
    const clientContext = this.#clientContext(request.headers['x-amz-client-context'], requestId);
    if (clientContext !== undefined && 'status' in clientContext) return clientContext;
    const options = { requestId, clientContext: clientContext?.value, tail };

    let outcome: SyncOutcome;
    try {
      if (streamed) {
        const answer = await responseStreamAnswer(
          (onStream) => this.deps.invoke(functionKey, parsed.event, { ...options, onStream }),
          requestId,
          tail,
        );
        if (!('throttled' in answer)) return answer;
        outcome = { kind: 'throttled', reason: answer.throttled };
      } else outcome = await this.deps.invoke(functionKey, parsed.event, options);
    } catch (error) {
      this.deps.log('error', `Invoke of ${functionKey} failed in the offline runner: ${String(error)}`);
      return serviceError(500, 'ServiceException', requestId, {
        Type: 'Service',
        message: 'The Lambda service encountered an internal error.',
      });
    }
    if (outcome.kind === 'throttled') {
      return serviceError(429, 'TooManyRequestsException', requestId, {
        Reason: outcome.reason,
        Type: 'User',
        message: 'Rate Exceeded.',
      });
    }
    const headers: Record<string, string> = {
      'Content-Type': 'application/json',
      'x-amzn-RequestId': requestId,
      'X-Amz-Executed-Version': '$LATEST',
    };
    if (tail && outcome.logTail !== undefined) headers['X-Amz-Log-Result'] = outcome.logTail;
    if (outcome.kind === 'function-error') {
      return {
        status: 200,
        headers: { ...headers, 'X-Amz-Function-Error': 'Unhandled' },
        body: JSON.stringify(outcome.payload),
      };
    }
    // A result over Lambda's limit never gets here: the Runtime API refuses it (Function.ResponseSizeTooLarge).
    if (outcome.raw) {
      return {
        status: 200,
        headers: { ...headers, 'Content-Type': outcome.raw.contentType },
        body: outcome.raw.body,
      };
    }
    const body = JSON.stringify(outcome.payload === undefined ? null : outcome.payload) ?? 'null';
    return { status: 200, headers, body };
  }

  /** X-Amz-Client-Context: base64 of a JSON object (the function gets it as context.clientContext). */
  #clientContext(
    header: string | undefined,
    requestId: string,
  ): { value: unknown } | ApiResponse | undefined {
    if (header === undefined || header === '') return undefined;
    try {
      const value = JSON.parse(this.#decoder.decode(Buffer.from(header, 'base64'))) as unknown;
      if (typeof value === 'object' && value !== null && !Array.isArray(value)) return { value };
    } catch {
      // answered below
    }
    return serviceError(400, 'InvalidRequestContentException', requestId, {
      Type: 'User',
      message: 'Client context must be a valid Base64-encoded JSON object.',
    });
  }
}

/** Bytes of a request body kept in memory; beyond this only the size is counted (enough for the 413). */
const KEEP_BODY_BYTES = SYNC_PAYLOAD_LIMIT + 1;

function readBody(request: IncomingMessage): Promise<{ body: Buffer; bytes: number }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let kept = 0;
    let bytes = 0;
    request.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (kept < KEEP_BODY_BYTES) {
        chunks.push(chunk);
        kept += chunk.length;
      }
    });
    request.on('end', () => resolve({ body: Buffer.concat(chunks), bytes }));
    request.on('error', reject);
  });
}

function headerMap(request: IncomingMessage): Record<string, string | undefined> {
  const headers: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  return headers;
}

/** An answer whose body is written as it comes, chunked; a caller that goes away stops the reading. */
async function writeStream(response: ServerResponse, answer: ApiResponse): Promise<void> {
  response.writeHead(answer.status, answer.headers);
  for await (const bytes of answer.stream ?? []) {
    if (response.destroyed) break;
    if (!response.write(bytes))
      await new Promise((drained) => response.once('drain', drained).once('close', drained));
  }
  response.end();
}

/** The HTTP edge: one server on the Lambda port, every answer from InvokeApi.handle. */
export async function startInvokeApiServer(
  api: InvokeApi,
  listen: { host: string; port: number },
  log: (level: 'error', message: string) => void,
): Promise<Server> {
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    readBody(request)
      .then(({ body, bytes }) =>
        api.handle({
          method: request.method ?? 'GET',
          url: request.url ?? '/',
          headers: headerMap(request),
          body,
          bodyBytes: bytes,
        }),
      )
      .then(async (answer) => {
        if (answer.stream) return writeStream(response, answer);
        response.writeHead(answer.status, {
          ...answer.headers,
          'Content-Length': String(Buffer.byteLength(answer.body)),
        });
        response.end(answer.body);
      })
      .catch((error: unknown) => {
        log('error', `Lambda Invoke API: ${String(error)}`);
        if (!response.headersSent) {
          response.writeHead(500, {
            'Content-Type': 'application/json',
            'x-amzn-ErrorType': 'ServiceException',
          });
        }
        response.end(
          JSON.stringify({ Type: 'Service', message: 'The Lambda service encountered an internal error.' }),
        );
      });
  });
  // A slow handler may run up to its timeout (15 minutes at most); Node's default request timeout is 5 minutes.
  server.requestTimeout = 0;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}
