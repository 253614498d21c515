/**
 * The JSON the console's page (page/*.js) and its server (server.ts) exchange: for every route the page calls,
 * what it sends (a query, or a JSON body for an action) and what it gets back. The server checks each answer
 * against these types (`satisfies`); the page imports them in JSDoc and `tsc -p tsconfig.page.json` checks its
 * use of them. Queries and bodies are checked on the page's side only: the server reads them as untrusted input
 * and answers a bad one with 4xx and an {@link ErrorBody}.
 *
 * Shapes the server takes from its sources (metrics, journal, dead-letter queue, logs, environments) are those
 * sources' own types, re-exported here; JSON drops the properties whose value is `undefined`.
 */
import type { BuildFailure } from '../environments/build-status';
import type { EnvironmentState, EnvironmentView } from '../environments/environment-types';
import type { MachineBoundView } from '../environments/machine-bound';
import type { AttemptStep, EventStatus, EventTimeline } from '../observability/event-journal';
import type { InvocationLogEntry } from '../observability/invocation-logs';
import type { FunctionMetrics, TimePoint, TimeSeries } from '../observability/metrics-recorder';
import type { DeadLetterSummary, RedriveOutcome } from '../state/dead-letter-queue';
import type { InvokeView } from './server';
import type { TestEventEntry } from './test-events';

export type { EventSource } from '../model/async-events';
export type {
  AttemptStep,
  DeadLetterSummary,
  BuildFailure,
  EnvironmentState,
  EnvironmentView,
  EventStatus,
  EventTimeline,
  FunctionMetrics,
  InvocationLogEntry,
  InvokeView,
  RedriveOutcome,
  TestEventEntry,
  TimePoint,
  TimeSeries,
};

/** The body of every answer that is not 200. */
export interface ErrorBody {
  message: string;
}

/** What the page needs first: the functions, the dead-letter queues, and when the offline stack started. */
export interface Overview {
  /** Epoch ms. */
  since: number;
  /** serverless.yml keys and the deployed names (`lambda-notes-dev-hello`). */
  functions: ReadonlyArray<{ key: string; name: string }>;
  deadLetterQueues: string[];
  logsConnected: boolean;
}

/** The Monitor graphs' periods, and the run's totals (`npm run metrics -- --json`). */
export type MetricsView = TimeSeries & { summary: Record<string, FunctionMetrics> };

export interface TestEventText {
  kind: TestEventEntry['kind'];
  name: string;
  /** The event as stored: a fixture keeps its formatting. */
  text: string;
}

export interface DeadLetterList {
  queue: string;
  messages: DeadLetterSummary[];
}

/** No log source connected: the handlers' output is only in the `npm start` terminal. */
export type LogsView = { connected: false; entries: [] } | { connected: true; entries: InvocationLogEntry[] };

export interface EnvironmentsView {
  /** The server's clock, epoch ms. */
  now: number;
  /** How long an idle environment lives; null when no environment pool is connected. */
  idleMs: number | null;
  /** The machine's bound (LAMBDA_MAX_ENVIRONMENTS) and the runs waiting for it; null without a pool. */
  machine: MachineBoundView | null;
  /** Live ones, then recently ended ones. */
  environments: EnvironmentView[];
  /** Functions whose last build failed: their runs fail with this error until a build succeeds. */
  buildFailures: BuildFailure[];
}

export interface InvokeRequest {
  functionKey: string;
  invocationType: InvokeView['invocationType'];
  /** The event as the editor holds it: the server parses it, and says why when it is not JSON. */
  event: string;
}

/**
 * One line of a streamed Test (`POST /api/invoke-stream`, body `{functionKey, event}`, answered as ndjson): a chunk
 * of the response as the function wrote it, then how the run ended.
 */
export type StreamLine =
  | { kind: 'chunk'; text: string }
  | {
      kind: 'end';
      statusCode: number;
      requestId?: string;
      /** InvokeComplete's ErrorCode and ErrorDetails, for a run that failed. */
      errorCode?: string;
      errorDetails?: string;
      log?: string;
      /** From the call to the first chunk, and to the end. */
      firstChunkMs?: number;
      roundTripMs: number;
      /** Lambda's error, for a call refused before the function ran. */
      error?: string;
    };

/** The GET routes: a query of strings, as form controls hold them (empty means "not set"). */
export interface GetRoutes {
  '/api/overview': { query: Record<string, never>; response: Overview };
  '/api/metrics': {
    /** period: 10, 60 or 300 (seconds); range: "start" or a number of minutes up to a week. */
    query: { period: string; range: string };
    response: MetricsView;
  };
  '/api/events': { query: Record<string, never>; response: TestEventEntry[] };
  '/api/event': { query: { kind: string; name: string }; response: TestEventText };
  '/api/timelines': {
    /** status: an {@link EventStatus}. */
    query: { function: string; status: string };
    response: EventTimeline[];
  };
  '/api/dlq': { query: { queue: string }; response: DeadLetterList };
  /** The message's Lambda destination record, or its body as text when it is not one. */
  '/api/dlq/message': { query: { queue: string; id: string }; response: unknown };
  '/api/logs': { query: { function: string; requestId: string; logStream: string }; response: LogsView };
  '/api/environments': { query: Record<string, never>; response: EnvironmentsView };
}

/** The actions: same-origin POSTs of a JSON body. */
export interface PostRoutes {
  '/api/invoke': { body: InvokeRequest; response: InvokeView };
  '/api/events': { body: { name: string; text: string }; response: { name: string; kind: 'saved' } };
  /** One message by id, or every message of the queue. */
  '/api/dlq/redrive': {
    body: { queue: string; messageId?: string };
    response: { outcomes: RedriveOutcome[] };
  };
  '/api/dlq/purge': { body: { queue: string }; response: { deleted: number } };
}

export type GetPath = keyof GetRoutes;
export type GetQuery<P extends GetPath> = GetRoutes[P]['query'];
export type GetResponse<P extends GetPath> = GetRoutes[P]['response'];
export type PostPath = keyof PostRoutes;
export type PostBody<P extends PostPath> = PostRoutes[P]['body'];
export type PostResponse<P extends PostPath> = PostRoutes[P]['response'];
