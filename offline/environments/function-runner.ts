/**
 * One run of a function, whatever asked for it (the Invoke API, HTTP, the async queue): a unit of concurrency
 * (or a throttle), an execution environment, and the run's log as Lambda writes it around the function's own
 * lines (START, END, REPORT). The outcome is recorded for the metrics; nothing here decides retries.
 */
import { randomBytes } from 'node:crypto';
import { type InvocationLogs, logTail } from '../observability/invocation-logs';
import type { SyncOutcome } from '../api/invoke-api';
import type { MetricsRecorder, Outcome } from '../observability/metrics-recorder';
import { type BuildFailure, buildFailurePayload } from './build-status';
import { type Concurrency, isThrottle, type ThrottleReason } from './concurrency';
import type { RunRequest, RunResult } from './environment-types';
import type { EnvironmentPool } from './pool';
import type { FunctionErrorPayload } from '../model/outcomes';

export type RunOutcome =
  | {
      readonly kind: 'result';
      readonly payload: unknown;
      /** A streamed response answered whole (a plain Invoke of a streaming function): its bytes, not JSON. */
      readonly raw?: { readonly body: string; readonly contentType: string };
    }
  | { readonly kind: 'function-error'; readonly payload: FunctionErrorPayload }
  | { readonly kind: 'throttled'; readonly reason: ThrottleReason };

export interface RunOptions {
  readonly requestId: string;
  readonly clientContext?: unknown;
  /** An attempt of a queued (asynchronous) event. */
  readonly async?: { readonly attempt: number; readonly eventAgeMs: number };
  /** The caller reads a streamed response as it arrives (InvokeWithResponseStream). */
  readonly onStream?: RunRequest['onStream'];
}

export interface RunnerDeps {
  readonly pool: EnvironmentPool;
  readonly concurrency: Concurrency;
  readonly logs: InvocationLogs;
  readonly metrics: MetricsRecorder;
  /** Lambda's own lines (START, END, REPORT) for the offline terminal. */
  write(text: string): void;
  /** Why the function's code cannot run now: its last build failed (build-status.ts). */
  buildFailure?(functionKey: string): BuildFailure | undefined;
  now(): number;
}

/** An X-Ray trace header as Lambda passes it (Root=1-<epoch seconds, hex>-<96 random bits>). */
export function traceHeader(now: number): string {
  const seconds = Math.floor(now / 1000)
    .toString(16)
    .padStart(8, '0');
  return `Root=1-${seconds}-${randomBytes(12).toString('hex')};Parent=${randomBytes(8).toString('hex')};Sampled=0`;
}

/** The runtime's answer as the caller gets it: JSON, or the text itself if a runtime sent something else. */
function parseBody(body: string): unknown {
  try {
    return JSON.parse(body) as unknown;
  } catch {
    return body;
  }
}

/** A run as the Invoke API answers it (RequestResponse). */
export function syncOutcome(run: { readonly outcome: RunOutcome; readonly logTail?: string }): SyncOutcome {
  if (run.outcome.kind === 'throttled') return run.outcome;
  return { ...run.outcome, ...(run.logTail === undefined ? {} : { logTail: run.logTail }) };
}

export class FunctionRunner {
  constructor(private readonly deps: RunnerDeps) {}

  async run(
    functionKey: string,
    event: unknown,
    options: RunOptions,
  ): Promise<{ readonly outcome: RunOutcome; readonly logTail?: string }> {
    const { pool, concurrency, logs, metrics } = this.deps;
    const spec = pool.functions.get(functionKey);
    if (!spec) throw new Error(`No function "${functionKey}" in serverless.yml.`);
    const start = this.deps.now();
    const observed = {
      functionKey,
      mode: options.async ? ('async' as const) : ('sync' as const),
      start,
      requestId: options.requestId,
      ...(options.async ? { attempt: options.async.attempt, eventAgeMs: options.async.eventAgeMs } : {}),
    };
    const buildFailure = this.deps.buildFailure?.(functionKey);
    if (buildFailure !== undefined) {
      // One line a run in the terminal, where the developer looks after a save; no environment runs stale code.
      this.deps.write(`λ ${functionKey}: not run, its last build failed: ${buildFailure.error}\n`);
      metrics.record({ ...observed, durationMs: 0, outcome: 'error', concurrency: 0 });
      return { outcome: { kind: 'function-error', payload: buildFailurePayload(buildFailure) } };
    }
    const slot = concurrency.inTurns(functionKey)
      ? await concurrency.inTurn(functionKey)
      : concurrency.acquire(functionKey);
    if (isThrottle(slot)) {
      metrics.record({
        ...observed,
        durationMs: 0,
        outcome: 'throttled',
        concurrency: concurrency.running(functionKey),
      });
      return { outcome: { kind: 'throttled', reason: slot.throttled } };
    }
    let result: RunResult;
    let capture;
    try {
      const environment = await pool.acquire(functionKey);
      try {
        const system = spec.logging
          ? {
              format: spec.logging.format,
              ...(spec.logging.systemLogLevel ? { level: spec.logging.systemLogLevel } : {}),
            }
          : undefined;
        capture = logs.begin(
          functionKey,
          options.requestId,
          this.deps.now(),
          environment.options.logStream,
          system,
        );
        this.deps.write(capture.entry.lines.map((line) => `${line}\n`).join(''));
        result = await environment.run(
          {
            requestId: options.requestId,
            event: JSON.stringify(event) ?? 'null',
            invokedFunctionArn: spec.arn,
            traceId: traceHeader(this.deps.now()),
            ...(options.clientContext === undefined
              ? {}
              : { clientContext: JSON.stringify(options.clientContext) }),
            ...(options.onStream === undefined ? {} : { onStream: options.onStream }),
          },
          capture,
        );
      } finally {
        pool.release(environment);
      }
    } finally {
      slot.release();
    }
    const { outcome } = result;
    const died =
      result.status === 'error' && !outcome.ok ? [outcome.error.errorMessage, outcome.error.errorType] : [];
    const added = capture.finish(
      {
        durationMs: result.durationMs,
        memorySizeMb: spec.memorySizeMb,
        maxMemoryUsedMb: result.maxMemoryUsedMb,
        ...(result.initDurationMs === undefined ? {} : { initDurationMs: result.initDurationMs }),
        ...(result.status === undefined ? {} : { status: result.status }),
        ...(result.reportErrorType === undefined ? {} : { errorType: result.reportErrorType }),
      },
      died,
    );
    this.deps.write(added.map((line) => `${line}\n`).join(''));
    const recorded: Outcome = outcome.ok ? 'success' : 'error';
    metrics.record({
      ...observed,
      durationMs: result.durationMs,
      outcome: recorded,
      concurrency: slot.concurrent,
    });
    return {
      outcome: outcome.ok
        ? {
            kind: 'result',
            payload: parseBody(outcome.body),
            ...(outcome.streamed
              ? { raw: { body: outcome.body, contentType: outcome.streamed.contentType } }
              : {}),
          }
        : { kind: 'function-error', payload: outcome.error },
      logTail: logTail(capture.entry.lines),
    };
  }
}
