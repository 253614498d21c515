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
import { join, resolve } from 'node:path';
import { routeToEnvironments } from '../adapters/serverless-offline-http';
import { AsyncInvoker } from '../core/async-invoker';
import { EventJournal } from '../observability/event-journal';
import { startConsoleServer } from '../console/server';
import { TestEvents } from '../console/test-events';
import { LocalDeadLetterQueue } from '../state/dead-letter-queue';
import { Concurrency } from '../environments/concurrency';
import { FunctionRunner, syncOutcome } from '../environments/function-runner';
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
import { stateLayout } from '../state/layout';
import { lockStateDir } from '../state/lock';
import type { EventSource, RunResult } from '../model/async-events';
import { LOCAL_ACCOUNT, type ServiceDefinition } from '../model/service';
import { exitWithError, watchParent } from './process-guard';
import { asyncRunResult, httpAnswer } from './run-outcomes';
import {
  configuredPorts,
  type CustomSettings,
  DEFAULT_IDLE_SECONDS,
  lambdaEndpoint,
  localEnvironment,
  type OfflineSettings,
  readOfflineSettings,
} from './settings';

export interface PluginLog {
  notice(message: string): void;
  info(message: string): void;
  warning(message: string): void;
  error(message: string): void;
}

interface Serverless {
  service: ServiceDefinition & { custom?: CustomSettings };
  config: { servicePath: string };
  pluginManager: { plugins: object[] };
}

/** How long a stop waits for the async runs and writes under way. */
const STOP_DRAIN_MS = 10_000;

/** The runtime each environment runs: the project's own, next to this file. */
const BOOTSTRAP = join(__dirname, '..', 'environments', 'bootstrap.cjs');

export class OfflineAsync {
  #invoker: AsyncInvoker | undefined;
  #releaseLock: (() => Promise<void>) | undefined;
  #stopWatchingParent: (() => void) | undefined;
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
    return localEnvironment(this.serverless.service.custom);
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
      const { stateDir, metricsPort } = this.#settings;
      const ports = configuredPorts(this.serverless.service.custom, metricsPort);
      this.#releaseLock = await lockStateDir(stateDir, { ports }, (error) =>
        this.#log('error', `the lock on ${stateDir} was lost: ${error.message}`),
      );
      this.#stopWatchingParent = watchParent((why) => {
        this.log.warning(`[async] ${why}: stopping`);
        process.kill(process.pid, 'SIGTERM');
      });
      const { service } = this.serverless;
      this.#metrics = new MetricsRecorder(Object.keys(service.functions));
      takeAsyncEvents(service);
      this.#takeLambdaPort();
      await routeToEnvironments(
        new Set(Object.keys(service.functions)),
        (functionKey, event, clientContext) => this.#runForHttp(functionKey, event, clientContext),
      );
    } catch (error) {
      exitWithError(error);
    }
  }

  /** after:offline:start:init — the local S3 and the Lambda endpoint are up. */
  async start(): Promise<void> {
    try {
      await this.#start();
    } catch (error) {
      exitWithError(error);
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
    const invokeApi = this.#invokeApi();
    this.#invokeServer = await this.#startInvokeApi(invokeApi);
    await this.#startConsole(functions, invokeApi);
    this.log.notice(
      `[async] queue ready: time scale ${timeScale} (a 1 minute retry delay waits ${(60 * timeScale).toFixed(timeScale < 1 / 60 ? 3 : 1)} s; an idle environment ends after ${(idleMs / 1000).toFixed(idleMs < 10_000 ? 1 : 0)} s), ${asyncPollers} queued events of a function at once, state in ${stateDir}, ${resume.resumed} pending event(s) resumed${resume.interrupted > 0 ? ` (${resume.interrupted} had a run under way at the last stop: they may run twice)` : ''}`,
    );
  }

  /** The local console (Test, Monitor, Async events, DLQ, Environments, Logs) on the metrics port. */
  async #startConsole(functions: ReturnType<typeof asyncFunctions>, invokeApi: InvokeApi): Promise<void> {
    const metrics = this.#metrics;
    const pool = this.#pool;
    const invoker = this.#invoker;
    if (!metrics || !pool || !invoker) return;
    const { service, config } = this.serverless;
    const { stateDir } = this.#settings;
    const deadLetterQueues = new Map(
      [...functions.values()].flatMap((fn) =>
        fn.onFailure?.kind === 'sqs'
          ? [[fn.onFailure.queueName, new LocalDeadLetterQueue(stateDir, fn.onFailure.queueName)] as const]
          : [],
      ),
    );
    // A redrive is an asynchronous Invoke of the function with the original event: straight to the queue.
    const redrive = async (name: string, payload: unknown): Promise<void> => {
      const functionKey = this.#functionKeyByName.get(name);
      if (functionKey === undefined) throw new Error(`no function named ${name} in serverless.yml`);
      await invoker.enqueue(functionKey, payload, { source: { kind: 'invoke' } });
    };
    this.#metricsServer = await startConsoleServer(
      {
        recorder: metrics,
        journal: this.#journal,
        functions: Object.keys(service.functions).map((key) => ({ key, name: functionName(service, key) })),
        testEvents: new TestEvents(join(config.servicePath, 'events'), stateDir),
        deadLetterQueues,
        redrive,
        invokeApi,
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
    this.#stopWatchingParent?.();
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
    return asyncRunResult(outcome);
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
   * Lambda's Invoke API is ours (offline/api/invoke-api.ts): it takes the Lambda port from serverless.yml / the CLI,
   * and serverless-offline's own Invoke server, which it starts regardless, is moved to a free port nobody uses.
   */
  #takeLambdaPort(): void {
    const custom = (this.serverless.service.custom ??= {});
    this.#lambdaEndpoint = lambdaEndpoint(custom, this.cliOptions);
    (custom['serverless-offline'] ??= {}).lambdaPort = 0;
    if (this.cliOptions.lambdaPort !== undefined) this.cliOptions.lambdaPort = 0;
  }

  #invokeApi(): InvokeApi {
    const { service } = this.serverless;
    const invoker = this.#invoker;
    if (!invoker) throw new Error('offline-async: the async queue is not started.');
    return new InvokeApi({
      region: service.provider.region,
      accountId: LOCAL_ACCOUNT,
      functions: this.#functionKeyByName,
      newRequestId: randomUUID,
      invoke: (functionKey, event, options) => this.#invokeSync(functionKey, event, options),
      enqueue: (functionKey, payload, options) => invoker.enqueue(functionKey, payload, options),
      log: (level, message) => this.#log(level, message),
    });
  }

  async #startInvokeApi(api: InvokeApi): Promise<Server> {
    const endpoint = this.#lambdaEndpoint;
    if (!endpoint) throw new Error('offline-async: the Lambda port was not taken before start.');
    const server = await startInvokeApiServer(api, endpoint, (level, message) => this.#log(level, message));
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : endpoint.port;
    this.log.notice(
      `[async] Lambda Invoke API: http://${endpoint.host}:${port} (aws lambda invoke --endpoint-url …)`,
    );
    return server;
  }
}
