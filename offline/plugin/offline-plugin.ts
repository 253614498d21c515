/**
 * The offline emulation of Lambda, as a plugin of this project. Every run of a function, whatever asks for it
 * (HTTP, the Invoke API, the async queue, a schedule), goes to the project's execution environments: `node`
 * processes behind Lambda's Runtime API (offline/environments/). The async event sources (S3 notifications,
 * schedules, Invoke with InvocationType=Event) are taken from the stock plugins and every such event goes through
 * one durable local queue with Lambda's retry policy and destinations. The stock plugins still do what they do
 * well: serverless-s3-local serves S3, serverless-offline serves the HTTP API.
 */
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { RouteFunctionError, routeToEnvironments } from '../adapters/serverless-offline-http';
import { AsyncInvoker } from '../core/async-invoker';
import { DeadLetterConsole } from '../console/dead-letters';
import { EventJournal } from '../observability/event-journal';
import { startConsoleServer } from '../console/server';
import { TestEvents } from '../console/test-events';
import { Concurrency } from '../environments/concurrency';
import { FunctionRunner, type RunOutcome, syncOutcome } from '../environments/function-runner';
import { EnvironmentPool } from '../environments/pool';
import { processMemory } from '../environments/process-memory';
import { InvocationLogs } from '../observability/invocation-logs';
import { InvokeApi, type SyncOutcome, startInvokeApiServer } from '../api/invoke-api';
import { LocalQueue } from '../state/local-queue';
import { connectLocalS3, localS3Of } from '../adapters/local-s3';
import { MetricsRecorder } from '../observability/metrics-recorder';
import { pendingDirectory, undeliverableDirectory } from '../state/queue-store';
import { sequencerFactory } from '../core/s3-records';
import { Scheduler } from '../core/schedule/scheduler';
import {
  asyncFunctions,
  functionName,
  functionSpecs,
  reservedConcurrency,
  s3Subscriptions,
  scheduleRules,
  takeAsyncEvents,
} from '../core/service-model';
import { stateDirOf, stateLayout } from '../state/layout';
import { lockStateDir } from '../state/lock';
import type { EventSource, RunResult } from '../model/async-events';
import { LOCAL_ACCOUNT, type ServiceDefinition } from '../model/service';

export interface PluginLog {
  notice(message: string): void;
  info(message: string): void;
  warning(message: string): void;
  error(message: string): void;
}

interface Serverless {
  service: ServiceDefinition & { custom?: Record<string, Record<string, unknown> | undefined> };
  config: { servicePath: string };
  pluginManager: { plugins: object[] };
}

/** Fixed by the pinned serverless-s3-local: its S3 credentials. */
const LOCAL_S3_CREDENTIALS = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' };

/**
 * Queued events a function runs at once by default: one per core. Each runs in an environment, a process of its
 * own; measured on 2 cores (bench/README.md), a 300-upload burst went 43 /s with 10 pollers, 61 /s with 4 and
 * 78 /s with 2, and each environment holds ~45 MB: more processes than cores only contend.
 */
export function defaultPollers(): number {
  return Math.max(2, availableParallelism());
}

/** How long an idle execution environment is kept (AWS gives no figure; the notes see 10–20 minutes). */
const DEFAULT_IDLE_SECONDS = 600;

export interface OfflineSettings {
  /** LAMBDA_ASYNC_TIME_SCALE: 1 = AWS's real delays. */
  readonly timeScale: number;
  readonly stateDir: string;
  readonly metricsPort: number;
  /** LAMBDA_IDLE_SECONDS × the time scale, in ms: how long an idle environment lives. */
  readonly idleMs: number;
  /** LAMBDA_ASYNC_POLLERS: queued events of a function run at once (each in an environment of its own). */
  readonly asyncPollers: number;
}

function positiveNumber(name: string, raw: string | undefined, fallback: number, hint: string): number {
  const value = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isFinite(value) || value <= 0) {
    throw new Error(`${name} must be a positive number (${hint}), got "${raw}".`);
  }
  return value;
}

/** Environment knobs of the emulation, read and validated once. */
export function readOfflineSettings(env: NodeJS.ProcessEnv, servicePath: string): OfflineSettings {
  const timeScale = positiveNumber(
    'LAMBDA_ASYNC_TIME_SCALE',
    env.LAMBDA_ASYNC_TIME_SCALE,
    1,
    "1 = AWS's real delays",
  );
  const idleSeconds = positiveNumber(
    'LAMBDA_IDLE_SECONDS',
    env.LAMBDA_IDLE_SECONDS,
    DEFAULT_IDLE_SECONDS,
    'how long an idle execution environment is kept, before the time scale',
  );
  const asyncPollers = positiveNumber(
    'LAMBDA_ASYNC_POLLERS',
    env.LAMBDA_ASYNC_POLLERS,
    defaultPollers(),
    "queued events of a function run at once; default: this machine's cores",
  );
  if (!Number.isInteger(asyncPollers)) {
    throw new Error(`LAMBDA_ASYNC_POLLERS must be a whole number, got "${env.LAMBDA_ASYNC_POLLERS}".`);
  }
  const metricsPort = Number(env.OFFLINE_METRICS_PORT || 3004);
  if (!Number.isInteger(metricsPort) || metricsPort < 0 || metricsPort > 65_535) {
    throw new Error(`OFFLINE_METRICS_PORT must be a port number, got "${env.OFFLINE_METRICS_PORT}".`);
  }
  return {
    timeScale,
    stateDir: stateDirOf(env, servicePath),
    metricsPort,
    idleMs: idleSeconds * 1000 * timeScale,
    asyncPollers,
  };
}

/** How long a stop waits for the async runs and writes under way. */
const STOP_DRAIN_MS = 10_000;

/** The runtime each environment runs: the project's own, next to this file. */
const BOOTSTRAP = join(__dirname, '..', 'environments', 'bootstrap.cjs');

export class OfflineAsync {
  #invoker: AsyncInvoker | undefined;
  #releaseLock: (() => Promise<void>) | undefined;
  #parentWatch: NodeJS.Timeout | undefined;
  #scheduler: Scheduler | undefined;
  #pool: EnvironmentPool | undefined;
  #runner: FunctionRunner | undefined;
  #metrics: MetricsRecorder | undefined;
  #metricsServer: Server | undefined;
  readonly #journal = new EventJournal();
  readonly #logs = new InvocationLogs();
  readonly #functionKeyByName = new Map<string, string>();
  #invokeServer: Server | undefined;
  #lambdaEndpoint: { host: string; port: number } | undefined;
  readonly #subscriptions;
  readonly #schedules;
  readonly #settings: OfflineSettings;
  /** A configuration error found in the constructor: reported (and the process ended) by prepare(). */
  readonly #settingsError: unknown;
  /** What the environments take from this machine: where programs are (a bundle may spawn one). */
  readonly #hostVariables: Record<string, string>;

  constructor(
    private readonly serverless: Serverless,
    private readonly cliOptions: Record<string, unknown>,
    private readonly log: PluginLog,
  ) {
    const { service } = serverless;
    let settings: OfflineSettings;
    try {
      settings = readOfflineSettings(process.env, serverless.config.servicePath);
    } catch (error) {
      this.#settingsError = error;
      settings = {
        timeScale: 1,
        stateDir: '',
        metricsPort: 0,
        idleMs: DEFAULT_IDLE_SECONDS * 1000,
        asyncPollers: 2,
      };
    }
    this.#settings = settings;
    this.#subscriptions = s3Subscriptions(service);
    this.#schedules = scheduleRules(service);
    for (const key of Object.keys(service.functions))
      this.#functionKeyByName.set(functionName(service, key), key);
    this.#hostVariables = {};
    for (const name of ['PATH', 'SystemRoot']) {
      const value = process.env[name];
      if (value !== undefined) this.#hostVariables[name] = value;
    }
  }

  /** What every function gets offline and under `sls invoke local`: the local S3 endpoint and credentials. */
  localEnvironment(): Record<string, string> {
    const s3 = this.serverless.service.custom?.s3 ?? {};
    const host = typeof s3.host === 'string' ? s3.host : 'localhost';
    const port = s3.port === undefined ? 4569 : Number(s3.port);
    // Lambda sets AWS_LAMBDA_INITIALIZATION_TYPE (the environments do too); `invoke local` does not, and the
    // logger's cold_start flag reads it.
    return {
      S3_ENDPOINT: `http://${host}:${port}`,
      ...LOCAL_S3_CREDENTIALS,
      AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
    };
  }

  /**
   * after the framework's own before:invoke:local:loadEnvVars, which has written the function's environment
   * into process.env: points the handler at the local S3 unless `--env` set these variables.
   */
  prepareInvokeLocal(): void {
    const given = new Set(
      [this.cliOptions.env ?? []].flat().map((assignment) => String(assignment).split('=')[0]),
    );
    for (const [name, value] of Object.entries(this.localEnvironment())) {
      if (!given.has(name)) process.env[name] = value;
    }
  }

  /** before:offline:start:init — runs before serverless-s3-local and serverless-offline read the events. */
  async prepare(): Promise<void> {
    try {
      if (this.#settingsError !== undefined) throw this.#settingsError;
      this.#releaseLock = await lockStateDir(this.#settings.stateDir, { ports: this.#ports() }, (error) =>
        this.#log('error', `the lock on ${this.#settings.stateDir} was lost: ${error.message}`),
      );
      this.#watchParent();
      const { service } = this.serverless;
      this.#metrics = new MetricsRecorder(Object.keys(service.functions));
      takeAsyncEvents(service);
      this.#takeLambdaPort();
      await routeToEnvironments(
        new Set(Object.keys(service.functions)),
        (functionKey, event, clientContext) => this.#runForHttp(functionKey, event, clientContext),
      );
    } catch (error) {
      this.#fatal(error);
    }
  }

  /** The ports this stack listens on, for the lock's holder info. */
  #ports(): Record<string, number | string> {
    const s3 = this.serverless.service.custom?.s3 ?? {};
    const offline = this.serverless.service.custom?.['serverless-offline'] ?? {};
    const ports: Record<string, number | string> = {};
    for (const [name, value] of [
      ['http', offline.httpPort],
      ['lambda', offline.lambdaPort],
      ['s3', s3.port],
      ['metrics', this.#settings.metricsPort],
    ] as const) {
      if (typeof value === 'number' || typeof value === 'string') ports[name] = value;
    }
    return ports;
  }

  /**
   * A fatal start-up error: the message alone (no stack), then exit non-zero at once — the servers already
   * listening would otherwise keep the process (and its ports) alive with nothing working.
   */
  #fatal(error: unknown): never {
    const text =
      error instanceof Error
        ? `${error.name === 'Error' ? '' : `${error.name}: `}${error.message}`
        : String(error);
    process.stderr.write(`\n✖ offline could not start: ${text}\n`);
    process.exit(1);
  }

  /**
   * The stack must not outlive whoever started it. Started by `npm start` (an IPC channel), it stops when the
   * channel closes — the launcher died, even by kill -9; otherwise it stops when its parent process changes.
   */
  #watchParent(): void {
    const stopNow = (why: string): void => {
      this.log.warning(`[async] ${why}: stopping`);
      clearInterval(this.#parentWatch);
      process.kill(process.pid, 'SIGTERM');
    };
    if (process.channel) {
      process.once('disconnect', () => stopNow('the launcher (npm start) is gone'));
      process.channel.unref();
      return;
    }
    const parent = process.ppid;
    if (parent <= 1) return;
    this.#parentWatch = setInterval(() => {
      if (process.ppid !== parent) stopNow(`the parent process ${parent} is gone`);
    }, 250).unref();
  }

  /** after:offline:start:init — the local S3 and the Lambda endpoint are up. */
  async start(): Promise<void> {
    try {
      await this.#start();
    } catch (error) {
      this.#fatal(error);
    }
  }

  async #startEnvironments(): Promise<FunctionRunner> {
    const { service, config } = this.serverless;
    const metrics = this.#metrics;
    if (!metrics) throw new Error('offline-async: start() before prepare()');
    // serverless-esbuild's build folder, which it gives serverless-offline as `location`.
    const location = service.custom?.['serverless-offline']?.location;
    const taskRoot = resolve(config.servicePath, typeof location === 'string' ? location : '');
    const { idleMs, stateDir } = this.#settings;
    const pool = new EnvironmentPool({
      functions: functionSpecs(service, { taskRoot, local: this.localEnvironment() }),
      idleMs,
      tmpRoot: stateLayout(stateDir).environments,
      bootstrap: BOOTSTRAP,
      hostVariables: this.#hostVariables,
      memory: await processMemory(),
      write: (stream, text) => process[stream].write(text),
      log: (message) => this.#log('info', message),
      newId: randomUUID,
      now: Date.now,
    });
    await pool.prepare();
    this.#pool = pool;
    return new FunctionRunner({
      pool,
      concurrency: new Concurrency(reservedConcurrency(service)),
      logs: this.#logs,
      metrics,
      write: (text) => process.stdout.write(text),
      now: Date.now,
    });
  }

  async #start(): Promise<void> {
    const { service } = this.serverless;
    const { stateDir, timeScale, idleMs, asyncPollers } = this.#settings;
    const functions = asyncFunctions(service, timeScale, asyncPollers);
    this.#runner = await this.#startEnvironments();
    const queues = new Map<string, LocalQueue>();
    const stateLog = (level: 'warn' | 'error', message: string): void => this.#log(level, message);
    this.#invoker = new AsyncInvoker({
      functions,
      pending: pendingDirectory(stateDir, stateLog),
      undeliverable: undeliverableDirectory(stateDir, stateLog),
      run: (functionKey, payload, info) => this.#runAsync(functionKey, payload, info),
      sendToQueue: async (queueName, body, deduplicationKey) => {
        const queue = queues.get(queueName) ?? new LocalQueue(stateDir, queueName, Date.now, stateLog);
        queues.set(queueName, queue);
        await queue.send(body, deduplicationKey);
      },
      now: Date.now,
      newId: randomUUID,
      setTimer: (callback, ms) => setTimeout(callback, ms),
      clearTimer: (timer) => clearTimeout(timer as NodeJS.Timeout),
      log: (level, message) => this.#log(level, message),
      notify: (notice) => {
        this.#metrics?.asyncNotice(notice);
        this.#journal.notice(notice);
      },
    });
    this.#listenToLocalS3();
    const resume = await this.#invoker.resume();
    this.#scheduler = new Scheduler({
      region: service.provider.region,
      now: Date.now,
      newId: randomUUID,
      setTimer: (callback, ms) => setTimeout(callback, ms),
      clearTimer: (timer) => clearTimeout(timer as NodeJS.Timeout),
      fire: (functionKey, event, rule) => {
        this.#enqueue(functionKey, event, { kind: 'schedule', rule }).catch(() => undefined);
      },
      log: (message) => this.log.notice(`[async] ${message}`),
    });
    this.#scheduler.start(this.#schedules);
    const policies = [...functions.values()]
      .map(
        (fn) =>
          `${fn.key}: ${fn.policy.maximumRetryAttempts} retries, max age ${fn.policy.maximumEventAgeSeconds} s, on failure → ${fn.onFailure ? (fn.onFailure.kind === 'sqs' ? fn.onFailure.queueName : fn.onFailure.kind) : 'dropped'}`,
      )
      .join('; ');
    this.log.notice(`[async] ${policies}`);
    this.#invokeServer = await this.#startInvokeApi();
    await this.#startConsole(functions);
    this.log.notice(
      `[async] queue ready: time scale ${timeScale} (a 1 minute retry delay waits ${(60 * timeScale).toFixed(timeScale < 1 / 60 ? 3 : 1)} s; an idle environment ends after ${(idleMs / 1000).toFixed(idleMs < 10_000 ? 1 : 0)} s), ${asyncPollers} queued events of a function at once, state in ${stateDir}, ${resume.resumed} pending event(s) resumed${resume.interrupted > 0 ? ` (${resume.interrupted} had a run under way at the last stop: they may run twice)` : ''}`,
    );
  }

  /** The local console (Test, Monitor, Async events, DLQ, Environments, Logs) on the metrics port. */
  async #startConsole(functions: ReturnType<typeof asyncFunctions>): Promise<void> {
    const metrics = this.#metrics;
    const pool = this.#pool;
    if (!metrics || !pool) return;
    const { service, config } = this.serverless;
    // The console's Test goes through the same Invoke API as `aws lambda invoke --endpoint-url`.
    const address = this.#invokeServer?.address();
    if (typeof address !== 'object' || address === null) {
      throw new Error('offline-async: the Lambda Invoke API is not listening; the console cannot start.');
    }
    const lambda = new LambdaClient({
      region: service.provider.region,
      endpoint: `http://localhost:${address.port}`,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      maxAttempts: 1,
    });
    const deadLetterQueues = [
      ...new Set(
        [...functions.values()].flatMap((fn) =>
          fn.onFailure?.kind === 'sqs' ? [fn.onFailure.queueName] : [],
        ),
      ),
    ];
    metrics.subscribe((record) => this.#journal.invocation(record));
    this.#metricsServer = await startConsoleServer(
      {
        recorder: metrics,
        journal: this.#journal,
        functions: Object.keys(service.functions).map((key) => ({ key, name: functionName(service, key) })),
        testEvents: new TestEvents(join(config.servicePath, 'events'), this.#settings.stateDir),
        deadLetters: new DeadLetterConsole(this.#settings.stateDir, deadLetterQueues, lambda),
        lambda,
        logs: this.#logs,
        environments: { list: () => pool.list(), idleMs: this.#settings.idleMs },
      },
      this.#settings.metricsPort,
    );
    this.log.notice(
      `[async] console: http://localhost:${this.#settings.metricsPort}/ (Test, Monitor, Async events, DLQ, Environments, Logs; npm run metrics)`,
    );
  }

  /**
   * offline:functionsUpdated:cleanup — serverless-esbuild rebuilt the bundles after a code change: every
   * environment is replaced (idle ones now, busy ones after their run), so that the next run loads the new code.
   */
  async reload(): Promise<void> {
    this.#pool?.reload();
    this.log.notice('[async] code changed: new runs start new environments with the new bundle');
  }

  /**
   * before:offline:start:end — stops intake, waits (bounded) for the runs and writes under way, so that a
   * clean stop leaves no finished run unrecorded; what is still queued stays on disk for the next start.
   */
  async stop(): Promise<void> {
    this.#scheduler?.stop();
    clearInterval(this.#parentWatch);
    if (this.#invoker) {
      const unfinished = await this.#invoker.stop(STOP_DRAIN_MS);
      if (unfinished > 0) {
        this.#log(
          'warn',
          `${unfinished} async run(s) or write(s) still under way after ${STOP_DRAIN_MS / 1000} s; stopping anyway (they resume at the next start)`,
        );
      }
    }
    await this.#pool?.stop().catch(() => undefined);
    this.#metricsServer?.close();
    this.#invokeServer?.close();
    await this.#releaseLock?.().catch(() => undefined);
  }

  #log(level: 'info' | 'warn' | 'error', message: string): void {
    const line = `[async] ${message}`;
    if (level === 'error') this.log.error(line);
    else if (level === 'warn') this.log.warning(line);
    else this.log.notice(line);
  }

  /** Queues an event; the promise resolves once it is durable and rejects (after a log line) if it is not. */
  async #enqueue(functionKey: string, payload: unknown, source: EventSource): Promise<void> {
    const invoker = this.#invoker;
    if (!invoker) throw new Error('the async queue is not started');
    try {
      await invoker.enqueue(functionKey, payload, { source });
    } catch (error) {
      this.log.error(
        `[async] could not queue an event for ${functionKey}: ${error instanceof Error ? error.message : String(error)}`,
      );
      throw error;
    }
  }

  #started(): FunctionRunner {
    const runner = this.#runner;
    if (!runner) throw new Error('the offline stack is still starting');
    return runner;
  }

  /** One attempt of a queued event, under the event's request id. */
  async #runAsync(
    functionKey: string,
    payload: unknown,
    info: { requestId: string; attempt: number; eventAgeMs: number },
  ): Promise<RunResult> {
    const { outcome } = await this.#started().run(functionKey, payload, {
      requestId: info.requestId,
      async: { attempt: info.attempt, eventAgeMs: info.eventAgeMs },
    });
    if (outcome.kind === 'throttled') return { throttled: true };
    return outcome.kind === 'result'
      ? { ok: true, result: outcome.payload }
      : { ok: false, error: outcome.payload };
  }

  /** A RequestResponse Invoke, answered as Lambda answers it. */
  async #invokeSync(
    functionKey: string,
    event: unknown,
    options: { requestId: string; clientContext: unknown; tail: boolean },
  ): Promise<SyncOutcome> {
    return syncOutcome(
      await this.#started().run(functionKey, event, {
        requestId: options.requestId,
        clientContext: options.clientContext,
      }),
    );
  }

  /** A request of serverless-offline's HTTP API: the result, or the function's error thrown for it to map. */
  async #runForHttp(functionKey: string, event: unknown, clientContext: unknown): Promise<unknown> {
    const { outcome } = await this.#started().run(functionKey, event, {
      requestId: randomUUID(),
      ...(clientContext === undefined || clientContext === null ? {} : { clientContext }),
    });
    return httpAnswer(outcome);
  }

  #listenToLocalS3(): void {
    const { service } = this.serverless;
    connectLocalS3(
      localS3Of(this.serverless.pluginManager.plugins),
      {
        subscriptions: this.#subscriptions,
        region: service.provider.region,
        functionName: (functionKey) => functionName(service, functionKey),
        sequencer: sequencerFactory(),
      },
      (delivery) => this.#enqueue(delivery.functionKey, delivery.payload, delivery.source),
    );
  }

  /**
   * Lambda's Invoke API is ours (offline/invoke-api.ts): it takes the Lambda port from serverless.yml / the CLI,
   * and serverless-offline's own Invoke server, which it starts regardless, is moved to a free port nobody uses.
   */
  #takeLambdaPort(): void {
    const custom = (this.serverless.service.custom ??= {});
    const options = (custom['serverless-offline'] ??= {});
    const port = Number(this.cliOptions.lambdaPort ?? options.lambdaPort ?? 3002);
    if (!Number.isInteger(port) || port < 0 || port > 65_535) {
      throw new Error(
        `offline-async: the Lambda port must be a port number, got "${String(options.lambdaPort)}".`,
      );
    }
    const host = this.cliOptions.host ?? options.host ?? 'localhost';
    this.#lambdaEndpoint = { host: String(host), port };
    options.lambdaPort = 0;
    if (this.cliOptions.lambdaPort !== undefined) this.cliOptions.lambdaPort = 0;
  }

  async #startInvokeApi(): Promise<Server> {
    const endpoint = this.#lambdaEndpoint;
    if (!endpoint) throw new Error('offline-async: the Lambda port was not taken before start.');
    const { service } = this.serverless;
    const invoker = this.#invoker;
    if (!invoker) throw new Error('offline-async: the async queue is not started.');
    const api = new InvokeApi({
      region: service.provider.region,
      accountId: LOCAL_ACCOUNT,
      functions: this.#functionKeyByName,
      newRequestId: randomUUID,
      invoke: (functionKey, event, options) => this.#invokeSync(functionKey, event, options),
      enqueue: (functionKey, payload, options) => invoker.enqueue(functionKey, payload, options),
      log: (level, message) => this.#log(level, message),
    });
    const server = await startInvokeApiServer(api, endpoint, (level, message) => this.#log(level, message));
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : endpoint.port;
    this.log.notice(
      `[async] Lambda Invoke API: http://${endpoint.host}:${port} (aws lambda invoke --endpoint-url …)`,
    );
    return server;
  }
}

/** What serverless-offline's HTTP server gets for a run: the result, or an error it answers with a 502. */
export function httpAnswer(outcome: RunOutcome): unknown {
  if (outcome.kind === 'result') return outcome.payload;
  if (outcome.kind === 'throttled')
    throw new RouteFunctionError('TooManyRequestsException', 'Rate Exceeded.');
  throw new RouteFunctionError(outcome.payload.errorType, outcome.payload.errorMessage);
}
