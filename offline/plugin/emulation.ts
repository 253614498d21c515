/**
 * The composition root: builds the running emulation from serverless.yml and the settings — the execution
 * environments and the runner, the durable async queue fed by the local S3, the schedules and the Invoke API, the
 * Invoke API's server and the console — and stops it again. Every run of a function goes to the runner.
 */
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import { join, resolve } from 'node:path';
import { listenToBuilds } from '../adapters/esbuild-builds';
import { connectLocalS3, type LocalS3Server } from '../adapters/local-s3';
import { InvokeApi, type InvokeApiDeps, type SyncOutcome, startInvokeApiServer } from '../api/invoke-api';
import { startConsoleServer } from '../console/server';
import { TestEvents } from '../console/test-events';
import { AsyncInvoker } from '../core/async-invoker';
import { HttpThrottle, stageThrottle } from '../core/http-throttle';
import { sequencerFactory } from '../core/s3-records';
import { Scheduler } from '../core/schedule/scheduler';
import { asyncFunctions, functionName, functionSpecs, reservedConcurrency } from '../core/service-model';
import { BuildStatus } from '../environments/build-status';
import { Concurrency } from '../environments/concurrency';
import { assertDebugPortFree, debugBanner, debuggedSpecs } from '../environments/debugging';
import { FunctionRunner, syncOutcome } from '../environments/function-runner';
import { defaultMaxEnvironments, machineFacts } from '../environments/machine-bound';
import { EnvironmentPool } from '../environments/pool';
import { processMemory } from '../environments/process-memory';
import type { AsyncFunction, EventSource } from '../model/async-events';
import {
  LOCAL_ACCOUNT,
  type S3Subscription,
  type ScheduleRule,
  type ServiceDefinition,
} from '../model/service';
import { EventJournal } from '../observability/event-journal';
import { InvocationLogs } from '../observability/invocation-logs';
import { runtimeNode } from '../environments/runtime-node';
import { MetricsRecorder } from '../observability/metrics-recorder';
import { TerminalOutput } from '../observability/terminal-output';
import { LocalDeadLetterQueue } from '../state/dead-letter-queue';
import { stateLayout } from '../state/layout';
import { LocalQueue } from '../state/local-queue';
import { pendingDirectory, undeliverableDirectory } from '../state/queue-store';
import { asyncRunResult, httpAnswer } from './run-outcomes';
import { type CustomSettings, localEnvironment, type OfflineSettings } from './settings';

/** How long a stop waits for the async runs and writes under way. */
const STOP_DRAIN_MS = 10_000;

/** The runtime each environment runs: the project's own. */
const BOOTSTRAP = join(__dirname, '..', 'runtime', 'bootstrap.cjs');

export type EmulationLog = (level: 'info' | 'warn' | 'error', message: string) => void;

export interface EmulationOptions {
  readonly service: ServiceDefinition & { custom?: CustomSettings };
  readonly servicePath: string;
  readonly settings: OfflineSettings;
  /** serverless.yml's `s3` and `schedule` events, read before the stock plugins were kept from them. */
  readonly subscriptions: readonly S3Subscription[];
  readonly schedules: readonly ScheduleRule[];
  /** Where the Invoke API listens (the Lambda port). */
  readonly lambdaEndpoint: { readonly host: string; readonly port: number };
  /** The local S3 server serverless-s3-local runs. */
  readonly localS3: LocalS3Server;
  readonly log: EmulationLog;
}

/** What the environments take from this machine: where programs are (a bundle may spawn one). */
function hostVariables(): Record<string, string> {
  const variables: Record<string, string> = {};
  for (const name of ['PATH', 'SystemRoot']) {
    const value = process.env[name];
    if (value !== undefined) variables[name] = value;
  }
  return variables;
}

function listeningPort(server: Server, fallback: number): number {
  const address = server.address();
  return typeof address === 'object' && address ? address.port : fallback;
}

export class Emulation {
  readonly #pool: EnvironmentPool;
  readonly #runner: FunctionRunner;
  readonly #invoker: AsyncInvoker;
  readonly #scheduler: Scheduler;
  readonly #builds: BuildStatus;
  readonly #httpThrottle: HttpThrottle;
  readonly #servers: Server[] = [];
  #stopListening: () => void = () => undefined;

  private constructor(
    private readonly options: EmulationOptions,
    parts: {
      pool: EnvironmentPool;
      runner: FunctionRunner;
      invoker: AsyncInvoker;
      scheduler: Scheduler;
      builds: BuildStatus;
      httpThrottle: HttpThrottle;
    },
  ) {
    this.#pool = parts.pool;
    this.#builds = parts.builds;
    this.#runner = parts.runner;
    this.#invoker = parts.invoker;
    this.#scheduler = parts.scheduler;
    this.#httpThrottle = parts.httpThrottle;
  }

  /** Starts everything; the local S3 and serverless-offline are already up. */
  static async start(options: EmulationOptions): Promise<Emulation> {
    const { service, servicePath, settings, log } = options;
    const { stateDir, timeScale, idleMs, asyncPollers } = settings;
    const stage = stageThrottle(service);
    const httpThrottle = new HttpThrottle(stage, Date.now, (message) => log('warn', message));
    log(
      'info',
      stage.defaults
        ? `HTTP API stage throttle: ${stage.defaults.rateLimit} requests/s, burst ${stage.defaults.burstLimit}, per route (serverless.yml); past it API Gateway's 429`
        : 'HTTP API: no stage throttle in serverless.yml',
    );
    const metrics = new MetricsRecorder(Object.keys(service.functions));
    const journal = new EventJournal();
    const logs = new InvocationLogs();
    const terminal = new TerminalOutput();
    process.once('exit', () => terminal.flush());

    // serverless-esbuild's build folder, which it gives serverless-offline as `location`.
    const location = service.custom?.['serverless-offline']?.location;
    const taskRoot = resolve(servicePath, typeof location === 'string' ? location : '');
    // LAMBDA_DEBUG: the debugged functions get an inspector port, and their timeout is lifted (debugging.ts).
    const specs = debuggedSpecs(
      functionSpecs(service, { taskRoot, local: localEnvironment(service.custom) }),
      settings.debug,
    );
    const debugged = new Set(
      [...specs.values()].filter((spec) => spec.debugPort !== undefined).map((spec) => spec.key),
    );
    // Refused before anything starts, as AWS refuses the reservation (a clear error, the stack does not start).
    const concurrency = new Concurrency(reservedConcurrency(service), settings.accountConcurrency, debugged);
    const bound =
      settings.maxEnvironments === undefined
        ? defaultMaxEnvironments(
            machineFacts(),
            [...specs.values()].map((spec) => spec.memorySizeMb),
          )
        : { max: settings.maxEnvironments, why: 'LAMBDA_MAX_ENVIRONMENTS' };
    log(
      'info',
      `machine bound: at most ${bound.max} environments alive at once (${bound.why}); runs past it wait for one. ` +
        `Account concurrency ${settings.accountConcurrency} (LAMBDA_ACCOUNT_CONCURRENCY), ${concurrency.unreservedLimit} unreserved: runs past it are throttled`,
    );
    const pool = new EnvironmentPool({
      functions: specs,
      maxEnvironments: bound.max,
      idleMs,
      tmpRoot: stateLayout(stateDir).environments,
      bootstrap: BOOTSTRAP,
      hostVariables: hostVariables(),
      memory: await processMemory(),
      write: (stream, text) => terminal.write(stream, text),
      log: (message) => log('info', message),
      newId: randomUUID,
      now: Date.now,
    });
    for (const runtime of new Set([...pool.functions.values()].map((spec) => spec.runtime))) {
      const { fallback } = runtimeNode(runtime);
      if (fallback) log('warn', fallback);
    }
    await pool.prepare();
    const builds = new BuildStatus(specs.values());
    const stopListening = listenToBuilds((report) =>
      builds.record(report.entryPoints, report.errors, report.endedAt),
    );
    const runner = new FunctionRunner({
      buildFailure: (functionKey) => builds.failure(functionKey),
      pool,
      concurrency,
      logs,
      metrics,
      write: (text) => terminal.write('stdout', text),
      now: Date.now,
    });

    const functions = asyncFunctions(service, timeScale, asyncPollers);
    const queues = new Map<string, LocalQueue>();
    const stateLog = (level: 'warn' | 'error', message: string): void => log(level, message);
    const invoker = new AsyncInvoker({
      functions,
      pending: pendingDirectory(stateDir, stateLog),
      undeliverable: undeliverableDirectory(stateDir, stateLog),
      run: async (functionKey, payload, info) => {
        const { outcome } = await runner.run(functionKey, payload, {
          requestId: info.requestId,
          async: { attempt: info.attempt, eventAgeMs: info.eventAgeMs },
        });
        return asyncRunResult(outcome);
      },
      sendToQueue: async (queueName, body, deduplicationKey) => {
        const queue = queues.get(queueName) ?? new LocalQueue(stateDir, queueName, Date.now, stateLog);
        queues.set(queueName, queue);
        await queue.send(body, deduplicationKey);
      },
      now: Date.now,
      newId: randomUUID,
      setTimer: (callback, ms) => setTimeout(callback, ms),
      clearTimer: (timer) => clearTimeout(timer as NodeJS.Timeout),
      log,
      notify: (notice) => {
        metrics.asyncNotice(notice);
        journal.notice(notice);
      },
    });
    /** Queues an event; resolves once it is durable, rejects (after a log line) if it is not. */
    const enqueue = async (functionKey: string, payload: unknown, source: EventSource): Promise<void> => {
      try {
        await invoker.enqueue(functionKey, payload, { source });
      } catch (error) {
        log(
          'error',
          `could not queue an event for ${functionKey}: ${error instanceof Error ? error.message : String(error)}`,
        );
        throw error;
      }
    };
    connectLocalS3(
      options.localS3,
      {
        subscriptions: options.subscriptions,
        region: service.provider.region,
        functionName: (functionKey) => functionName(service, functionKey),
        sequencer: sequencerFactory(),
      },
      (delivery) => enqueue(delivery.functionKey, delivery.payload, delivery.source),
    );
    for (const key of debugged) {
      const spec = specs.get(key);
      if (spec?.debugPort === undefined) continue;
      await assertDebugPortFree(key, spec.debugPort);
      log('info', debugBanner(spec));
      await pool.prestart(key);
    }
    const resume = await invoker.resume();
    const scheduler = new Scheduler({
      region: service.provider.region,
      now: Date.now,
      newId: randomUUID,
      setTimer: (callback, ms) => setTimeout(callback, ms),
      clearTimer: (timer) => clearTimeout(timer as NodeJS.Timeout),
      fire: (functionKey, event, rule) => {
        enqueue(functionKey, event, { kind: 'schedule', rule }).catch(() => undefined);
      },
      log: (message) => log('info', message),
    });
    scheduler.start(options.schedules);
    log(
      'info',
      [...functions.values()]
        .map(
          (fn) =>
            `${fn.key}: ${fn.policy.maximumRetryAttempts} retries, max age ${fn.policy.maximumEventAgeSeconds} s, on failure → ${fn.onFailure ? (fn.onFailure.kind === 'sqs' ? fn.onFailure.queueName : fn.onFailure.kind) : 'dropped'}`,
        )
        .join('; '),
    );

    const emulation = new Emulation(options, { pool, runner, invoker, scheduler, builds, httpThrottle });
    emulation.#stopListening = stopListening;
    const functionKeyByName = new Map(
      Object.keys(service.functions).map((key) => [functionName(service, key), key]),
    );
    const invokeApi = new InvokeApi({
      region: service.provider.region,
      accountId: LOCAL_ACCOUNT,
      functions: functionKeyByName,
      newRequestId: randomUUID,
      invoke: (functionKey, event, invokeOptions) => emulation.#invokeSync(functionKey, event, invokeOptions),
      enqueue: (functionKey, payload, enqueueOptions) =>
        invoker.enqueue(functionKey, payload, enqueueOptions),
      log,
    });
    const { lambdaEndpoint } = options;
    const invokeServer = await startInvokeApiServer(invokeApi, lambdaEndpoint, log);
    emulation.#servers.push(invokeServer);
    log(
      'info',
      `Lambda Invoke API: http://${lambdaEndpoint.host}:${listeningPort(invokeServer, lambdaEndpoint.port)} (aws lambda invoke --endpoint-url …)`,
    );

    emulation.#servers.push(
      await startConsoleServer(
        {
          recorder: metrics,
          journal,
          functions: [...functionKeyByName].map(([name, key]) => ({ key, name })),
          testEvents: new TestEvents(join(servicePath, 'events'), stateDir),
          deadLetterQueues: deadLetterQueues(functions, stateDir),
          // A redrive is an asynchronous Invoke of the function with the original event: straight to the queue.
          redrive: async (name, payload) => {
            const functionKey = functionKeyByName.get(name);
            if (functionKey === undefined) throw new Error(`no function named ${name} in serverless.yml`);
            await invoker.enqueue(functionKey, payload, { source: { kind: 'invoke' } });
          },
          invokeApi,
          logs,
          environments: {
            list: () => pool.list(),
            machine: () => pool.machine(),
            idleMs,
            buildFailures: () => builds.list(),
          },
        },
        settings.metricsPort,
      ),
    );
    log(
      'info',
      `console: http://localhost:${settings.metricsPort}/ (Test, Monitor, Async events, DLQ, Environments, Logs; npm run metrics)`,
    );
    log(
      'info',
      `queue ready: time scale ${timeScale} (a 1 minute retry delay waits ${(60 * timeScale).toFixed(timeScale < 1 / 60 ? 3 : 1)} s; an idle environment ends after ${(idleMs / 1000).toFixed(idleMs < 10_000 ? 1 : 0)} s), ${asyncPollers} queued events of a function at once, state in ${stateDir}, ${resume.resumed} pending event(s) resumed${resume.interrupted > 0 ? ` (${resume.interrupted} had a run under way at the last stop: they may run twice)` : ''}`,
    );
    return emulation;
  }

  /** A RequestResponse Invoke, answered as Lambda answers it. */
  async #invokeSync(
    functionKey: string,
    event: unknown,
    options: Parameters<InvokeApiDeps['invoke']>[2],
  ): Promise<SyncOutcome> {
    return syncOutcome(
      await this.#runner.run(functionKey, event, {
        requestId: options.requestId,
        clientContext: options.clientContext,
        ...(options.onStream ? { onStream: options.onStream } : {}),
      }),
    );
  }

  /** Whether the HTTP API stage's throttle lets a request of the route through (a token taken). */
  admitHttp(routeKey: string): boolean {
    return this.#httpThrottle.admit(routeKey);
  }

  /** A request of serverless-offline's HTTP API: the result, or the function's error thrown for it to map. */
  async runForHttp(functionKey: string, event: unknown, clientContext: unknown): Promise<unknown> {
    const { outcome } = await this.#runner.run(functionKey, event, {
      requestId: randomUUID(),
      ...(clientContext === undefined || clientContext === null ? {} : { clientContext }),
    });
    return httpAnswer(outcome);
  }

  /**
   * serverless-esbuild rebuilt the bundles after a code change: every environment is replaced (idle ones now,
   * busy ones after their run), so that the next run loads the new code.
   */
  reload(): void {
    this.#pool.reload();
    this.#builds.codeReloaded();
  }

  /**
   * Stops intake, waits (bounded) for the runs and writes under way, so that a clean stop leaves no finished run
   * unrecorded; what is still queued stays on disk for the next start.
   */
  async stop(): Promise<void> {
    this.#scheduler.stop();
    this.#stopListening();
    const unfinished = await this.#invoker.stop(STOP_DRAIN_MS);
    if (unfinished > 0) {
      this.options.log(
        'warn',
        `${unfinished} async run(s) or write(s) still under way after ${STOP_DRAIN_MS / 1000} s; stopping anyway (they resume at the next start)`,
      );
    }
    await this.#pool.stop().catch(() => undefined);
    for (const server of this.#servers) server.close();
  }
}

/** The local dead-letter queues: the SQS onFailure destinations of serverless.yml, by queue name. */
function deadLetterQueues(
  functions: ReadonlyMap<string, AsyncFunction>,
  stateDir: string,
): Map<string, LocalDeadLetterQueue> {
  const queues = new Map<string, LocalDeadLetterQueue>();
  for (const fn of functions.values()) {
    if (fn.onFailure?.kind === 'sqs' && !queues.has(fn.onFailure.queueName))
      queues.set(fn.onFailure.queueName, new LocalDeadLetterQueue(stateDir, fn.onFailure.queueName));
  }
  return queues;
}
