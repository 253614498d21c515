/**
 * The local Lambda console (http://localhost:3004/): Test, Monitor, Async events, Dead-letter queue, Environments
 * and Logs on one page, served by the offline process from files of the repository and node_modules only. It keeps serving
 * `/metrics.json` (what `npm run metrics` prints), `/series.json` and `/recent.json` as before.
 *
 * It runs actions (invoke, redrive, purge), so it listens on localhost only, answers only requests addressed to
 * its own host name (no DNS rebinding), and takes actions only as same-origin JSON POSTs: a page of another
 * site cannot send one without a CORS preflight, which this server never grants.
 */
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { dirname, join } from 'node:path';
import type { BuildFailure } from '../environments/build-status';
import type { EnvironmentView } from '../environments/environment-types';
import type { MachineBoundView } from '../environments/machine-bound';
import type { InvocationLogEntry } from '../observability/invocation-logs';
import type { MetricsRecorder } from '../observability/metrics-recorder';
import type { ApiRequest, ApiResponse } from '../api/invoke-api';
import {
  type AsyncInvoke,
  type DeadLetterSummary,
  type LocalDeadLetterQueue,
  NoSuchMessageError,
  summarize,
} from '../state/dead-letter-queue';
import type { EventJournal, EventStatus } from '../observability/event-journal';
import type { GetResponse, PostResponse } from './contract';
import { parseEventJson, TestEventError, type TestEvents } from './test-events';
import { streamInvoke } from './invoke-stream';
import { isObject } from '../../lib/is-object';

/** What the Logs tab reads. */
export interface InvocationLogSource {
  entries(filter?: {
    functionKey?: string;
    requestId?: string;
    logStream?: string;
    limit?: number;
  }): InvocationLogEntry[];
}

export interface ConsoleSources {
  readonly recorder: MetricsRecorder;
  readonly journal: EventJournal;
  /** serverless.yml keys and the deployed names (`lambda-notes-dev-hello`). */
  readonly functions: ReadonlyArray<{ key: string; name: string }>;
  readonly testEvents: TestEvents;
  /** The local dead-letter queues (SQS onFailure destinations of serverless.yml), by queue name. */
  readonly deadLetterQueues: ReadonlyMap<string, LocalDeadLetterQueue>;
  /** Redrives an event: hands it to the async queue, as an asynchronous Invoke of the function would. */
  readonly redrive: AsyncInvoke;
  /** The offline Lambda Invoke API, called in process: the console's Test is an Invoke like the CLI's. */
  readonly invokeApi: { handle(request: ApiRequest): Promise<ApiResponse> };
  readonly logs?: InvocationLogSource;
  /** The execution environments, live then recently ended (the Environments tab). */
  readonly environments?: {
    list(): EnvironmentView[];
    /** The machine's bound: environments alive at most, now, and runs waiting for one. */
    machine(): MachineBoundView;
    readonly idleMs: number;
    /** The functions whose last build failed (their runs fail until it is fixed). */
    buildFailures?(): BuildFailure[];
  };
}

/** The Invoke API's limit for a synchronous request payload. */
const MAX_BODY_BYTES = 6 * 1024 * 1024;

/** The page's ES modules, served by name from page/ (each one must be listed: only these files are served). */
const PAGE_MODULES = [
  'main.js',
  'dom.js',
  'tabs.js',
  'test-tab.js',
  'monitor-tab.js',
  'events-tab.js',
  'dlq-tab.js',
  'environments-tab.js',
  'logs-tab.js',
];

const STATIC: Record<string, { file: string; type: string }> = {
  '/': { file: join(__dirname, 'page', 'index.html'), type: 'text/html; charset=utf-8' },
  ...Object.fromEntries(
    PAGE_MODULES.map((name) => [
      `/${name}`,
      { file: join(__dirname, 'page', name), type: 'text/javascript; charset=utf-8' },
    ]),
  ),
  '/console.css': { file: join(__dirname, 'page', 'console.css'), type: 'text/css; charset=utf-8' },
  '/vendor/uPlot.iife.min.js': {
    file: join(dirname(require.resolve('uplot/package.json')), 'dist', 'uPlot.iife.min.js'),
    type: 'text/javascript; charset=utf-8',
  },
  '/vendor/uPlot.min.css': {
    file: join(dirname(require.resolve('uplot/package.json')), 'dist', 'uPlot.min.css'),
    type: 'text/css; charset=utf-8',
  },
};

const STATUSES: readonly EventStatus[] = ['in-progress', 'succeeded', 'failed', 'dropped', 'undeliverable'];

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Host names this server answers to: the loopback names with its own port. */
function allowedHosts(port: number): Set<string> {
  return new Set([`localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`]);
}

async function readJsonBody(request: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, 'The request is larger than 6 MB.');
    chunks.push(chunk);
  }
  try {
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
    if (isObject(body)) return body;
  } catch {
    // answered below
  }
  throw new HttpError(400, 'The request body must be a JSON object.');
}

export interface InvokeView {
  functionKey: string;
  invocationType: 'RequestResponse' | 'Event';
  statusCode: number;
  /** "Unhandled" when the function threw; the payload then holds errorType and errorMessage. */
  functionError?: string;
  payload: unknown;
  requestId?: string;
  /** The handler's run time as the runner measured it (sync calls). */
  durationMs?: number;
  /** The request's round trip through the Invoke API. */
  roundTripMs: number;
  /** The invocation's log: LogResult when the Invoke API sends it, else the log source's entry. */
  log?: string;
  logSource?: 'LogResult' | 'log source';
}

function decodePayload(text: string): unknown {
  if (text === '') return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** A Lambda service error's message (Lambda words it `message` or `Message`). */
function serviceErrorMessage(body: string): string {
  const parsed = decodePayload(body);
  if (isObject(parsed)) {
    const message = parsed.message ?? parsed.Message;
    if (typeof message === 'string') return message;
  }
  return body;
}

async function invoke(sources: ConsoleSources, body: Record<string, unknown>): Promise<InvokeView> {
  const fn = sources.functions.find((f) => f.key === body.functionKey);
  if (!fn) throw new HttpError(400, `Choose a function (${sources.functions.map((f) => f.key).join(', ')}).`);
  const invocationType = body.invocationType === 'Event' ? 'Event' : 'RequestResponse';
  if (typeof body.event !== 'string') throw new HttpError(400, 'The event must be sent as text.');
  const payload = Buffer.from(JSON.stringify(parseEventJson(body.event)));
  const started = Date.now();
  const startedAt = performance.now();
  const answer = await sources.invokeApi.handle({
    method: 'POST',
    url: `/2015-03-31/functions/${encodeURIComponent(fn.name)}/invocations`,
    headers: {
      'x-amz-invocation-type': invocationType,
      ...(invocationType === 'RequestResponse' ? { 'x-amz-log-type': 'Tail' } : {}),
    },
    body: payload,
    bodyBytes: payload.length,
  });
  const header = (name: string): string | undefined =>
    Object.entries(answer.headers).find(([key]) => key.toLowerCase() === name)?.[1];
  const errorType = header('x-amzn-errortype');
  const requestId = header('x-amzn-requestid');
  const logResult = header('x-amz-log-result');
  const functionError = errorType ?? header('x-amz-function-error');
  const view: InvokeView = {
    functionKey: fn.key,
    invocationType,
    statusCode: answer.status,
    // The Invoke API refused the call (throttled, payload too large…): shown as Lambda's error.
    payload:
      errorType === undefined
        ? decodePayload(answer.body)
        : { errorType, errorMessage: serviceErrorMessage(answer.body) },
    roundTripMs: Math.round((performance.now() - startedAt) * 100) / 100,
    ...(functionError ? { functionError } : {}),
    ...(requestId ? { requestId } : {}),
    ...(logResult
      ? { log: Buffer.from(logResult, 'base64').toString('utf8'), logSource: 'LogResult' as const }
      : {}),
  };
  if (invocationType === 'RequestResponse') {
    const record = sources.recorder
      .recent(50)
      .findLast((r) => r.functionKey === fn.key && r.mode === 'sync' && r.start >= started);
    if (record && record.outcome !== 'throttled') view.durationMs = Math.round(record.durationMs * 100) / 100;
  }
  if (view.log === undefined && view.requestId !== undefined && sources.logs) {
    const [entry] = sources.logs.entries({ functionKey: fn.key, requestId: view.requestId, limit: 1 });
    if (entry) {
      view.log = entry.lines.join('\n');
      view.logSource = 'log source';
    }
  }
  return view;
}

function timelines(sources: ConsoleSources, query: URLSearchParams): GetResponse<'/api/timelines'> {
  const status = query.get('status') || undefined;
  if (status !== undefined && !STATUSES.includes(status as EventStatus))
    throw new HttpError(400, `status must be one of ${STATUSES.join(', ')}.`);
  return sources.journal.timelines({
    ...(query.get('function') ? { functionKey: query.get('function') as string } : {}),
    ...(status ? { status: status as EventStatus } : {}),
  });
}

function timeRange(
  query: URLSearchParams,
  startedAt: number,
): { periodMs: number; from: number; to: number } {
  const period = Number(query.get('period') ?? 60);
  if (![10, 60, 300].includes(period)) throw new HttpError(400, 'period must be 10, 60 or 300 (seconds).');
  const to = Date.now() + 1;
  const range = query.get('range') ?? 'start';
  if (range === 'start') return { periodMs: period * 1000, from: startedAt, to };
  const minutes = Number(range);
  if (!Number.isInteger(minutes) || minutes <= 0 || minutes > 7 * 24 * 60)
    throw new HttpError(400, 'range must be "start" or a number of minutes up to a week.');
  return { periodMs: period * 1000, from: to - minutes * 60_000, to };
}

function deadLetterQueue(sources: ConsoleSources, value: unknown): LocalDeadLetterQueue {
  const [first] = sources.deadLetterQueues.values();
  if (first === undefined) throw new HttpError(404, 'No function has an SQS onFailure destination.');
  if (typeof value !== 'string' || value === '') return first;
  const queue = sources.deadLetterQueues.get(value);
  if (queue === undefined) throw new HttpError(404, `No dead-letter queue named "${value}".`);
  return queue;
}

async function deadLetterList(queue: LocalDeadLetterQueue): Promise<DeadLetterSummary[]> {
  return (await queue.list()).map(summarize);
}

/** GET routes answering JSON. */
async function getJson(sources: ConsoleSources, path: string, query: URLSearchParams): Promise<unknown> {
  const { recorder } = sources;
  switch (path) {
    case '/metrics.json':
      return { since: new Date(recorder.startedAt).toISOString(), functions: recorder.summary() };
    case '/series.json':
      return recorder.series(1000);
    case '/recent.json':
      return recorder.recent();
    case '/api/overview':
      return {
        since: recorder.startedAt,
        functions: sources.functions,
        deadLetterQueues: [...sources.deadLetterQueues.keys()],
        logsConnected: sources.logs !== undefined,
      } satisfies GetResponse<'/api/overview'>;
    case '/api/metrics': {
      try {
        return {
          ...recorder.timeSeries(timeRange(query, recorder.startedAt)),
          summary: recorder.summary(),
        } satisfies GetResponse<'/api/metrics'>;
      } catch (error) {
        if (error instanceof RangeError) throw new HttpError(400, error.message);
        throw error;
      }
    }
    case '/api/events':
      return sources.testEvents.list() satisfies Promise<GetResponse<'/api/events'>>;
    case '/api/event': {
      const kind = query.get('kind') === 'saved' ? 'saved' : 'fixture';
      const name = query.get('name') ?? '';
      return {
        kind,
        name,
        text: await sources.testEvents.read(kind, name),
      } satisfies GetResponse<'/api/event'>;
    }
    case '/api/timelines':
      return timelines(sources, query);
    case '/api/dlq': {
      const queue = deadLetterQueue(sources, query.get('queue'));
      return { queue: queue.name, messages: await deadLetterList(queue) } satisfies GetResponse<'/api/dlq'>;
    }
    case '/api/dlq/message': {
      const letter = await deadLetterQueue(sources, query.get('queue')).show(query.get('id') ?? '');
      return letter.record ?? letter.body;
    }
    case '/api/logs':
      if (!sources.logs) return { connected: false, entries: [] } satisfies GetResponse<'/api/logs'>;
      return {
        connected: true,
        entries: sources.logs.entries({
          ...(query.get('function') ? { functionKey: query.get('function') as string } : {}),
          ...(query.get('requestId') ? { requestId: (query.get('requestId') as string).trim() } : {}),
          ...(query.get('logStream') ? { logStream: query.get('logStream') as string } : {}),
          limit: 100,
        }),
      } satisfies GetResponse<'/api/logs'>;
    case '/api/environments':
      return {
        now: Date.now(),
        idleMs: sources.environments?.idleMs ?? null,
        machine: sources.environments?.machine() ?? null,
        environments: sources.environments?.list() ?? [],
        buildFailures: sources.environments?.buildFailures?.() ?? [],
      } satisfies GetResponse<'/api/environments'>;
    default:
      throw new HttpError(404, `No such page: ${path}`);
  }
}

async function postJson(
  sources: ConsoleSources,
  path: string,
  body: Record<string, unknown>,
): Promise<unknown> {
  switch (path) {
    case '/api/invoke':
      return invoke(sources, body) satisfies Promise<PostResponse<'/api/invoke'>>;
    case '/api/events':
      return {
        name: await sources.testEvents.save(body.name, body.text),
        kind: 'saved',
      } satisfies PostResponse<'/api/events'>;
    case '/api/dlq/redrive': {
      const queue = deadLetterQueue(sources, body.queue);
      if (typeof body.messageId !== 'string') {
        return {
          outcomes: await queue.redriveAll(sources.redrive),
        } satisfies PostResponse<'/api/dlq/redrive'>;
      }
      await queue.show(body.messageId);
      return {
        outcomes: [await queue.redrive(body.messageId, sources.redrive)],
      } satisfies PostResponse<'/api/dlq/redrive'>;
    }
    case '/api/dlq/purge':
      return {
        deleted: await deadLetterQueue(sources, body.queue).purge(),
      } satisfies PostResponse<'/api/dlq/purge'>;
    default:
      throw new HttpError(404, `No such action: ${path}`);
  }
}

/** Refuses a POST that is not a same-origin JSON request from this console's own page. */
function checkAction(request: IncomingMessage, host: string): void {
  const type = (request.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/json') throw new HttpError(415, 'Actions take a JSON body (application/json).');
  const origin = request.headers.origin;
  if (origin !== undefined && origin !== `http://${host}`)
    throw new HttpError(403, `Actions are only accepted from the console's own page, not from ${origin}.`);
  const site = request.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none')
    throw new HttpError(403, "Actions are only accepted from the console's own page.");
}

function send(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  });
  response.end(JSON.stringify(body));
}

export function startConsoleServer(
  sources: ConsoleSources,
  port: number,
  host = 'localhost',
): Promise<Server> {
  let hosts = allowedHosts(port);
  const server = createServer((request, response) => {
    void (async () => {
      const hostHeader = request.headers.host ?? '';
      try {
        if (!hosts.has(hostHeader))
          throw new HttpError(421, `This console answers on localhost only, not ${hostHeader}.`);
        const url = new URL(request.url ?? '/', `http://${hostHeader}`);
        if (request.method === 'GET' || request.method === 'HEAD') {
          const asset = STATIC[url.pathname];
          if (asset) {
            response.writeHead(200, {
              'content-type': asset.type,
              'cache-control': 'no-cache',
              'x-content-type-options': 'nosniff',
              'content-security-policy':
                "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'",
            });
            response.end(await readFile(asset.file));
            return;
          }
          send(response, 200, await getJson(sources, url.pathname, url.searchParams));
        } else if (request.method === 'POST') {
          checkAction(request, hostHeader);
          if (url.pathname === '/api/invoke-stream') {
            const body = await readJsonBody(request);
            const fn = sources.functions.find((f) => f.key === body.functionKey);
            if (!fn) throw new HttpError(400, 'Choose a function.');
            if (typeof body.event !== 'string') throw new HttpError(400, 'The event must be sent as text.');
            await streamInvoke(sources.invokeApi, fn.name, body.event, response);
            return;
          }
          send(response, 200, await postJson(sources, url.pathname, await readJsonBody(request)));
        } else {
          response.writeHead(405, { allow: 'GET, POST' }).end();
        }
      } catch (error) {
        if (error instanceof HttpError) send(response, error.status, { message: error.message });
        else if (error instanceof TestEventError) send(response, 400, { message: error.message });
        else if (error instanceof NoSuchMessageError) send(response, 404, { message: error.message });
        else send(response, 500, { message: error instanceof Error ? error.message : String(error) });
      }
    })();
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const address = server.address();
      // Port 0 (a free port) is only known once listening.
      if (typeof address === 'object' && address) hosts = allowedHosts(address.port);
      resolve(server);
    });
  });
}
