/**
 * The offline emulation of Lambda's asynchronous invocation, as a plugin of this project. It takes the async
 * event sources (S3 notifications, schedules, Invoke with InvocationType=Event) away from the stock plugins and
 * puts every such event through one durable local queue with Lambda's retry policy and destinations.
 * The stock plugins still do what they do well: serverless-s3-local serves S3, serverless-offline runs handlers.
 */
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { AsyncInvoker, type EventSource, type RunResult } from './async-invoker';
import { functionErrorPayload } from './destination-record';
import { HandlerOutput } from './handler-output';
import type { InvocationLogs } from './invocation-logs';
import { InvokeApi, type SyncOutcome, startInvokeApiServer } from './invoke-api';
import { LocalQueue } from './local-queue';
import { guardLocalS3, holdResponseUntil, type LocalS3Server } from './local-s3-guard';
import { pendingDirectory, undeliverableDirectory } from './queue-state';
import { lockStateDir } from './state-lock';
import {
  type LocalS3Record,
  type LocalS3Server as S3ServerWithETags,
  reportAwsETags,
  sequencerFactory,
  subscriptionsFor,
  toAwsRecord,
} from './s3-notifications';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { DeadLetterConsole } from './console/dead-letters';
import { EventJournal } from './console/event-journal';
import { startConsoleServer } from './console/server';
import { TestEvents } from './console/test-events';
import { type AsyncRunInfo, MetricsRecorder } from './metrics';
import { Scheduler } from './scheduler';
import {
  asyncFunctions,
  functionName,
  LOCAL_ACCOUNT,
  reservedConcurrency,
  s3Subscriptions,
  scheduleRules,
  type ServiceDefinition,
  takeAsyncEvents,
} from './service-model';

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

interface OfflineLambdaFunction {
  readonly functionName: string;
  setEvent(event: unknown): void;
  setClientContext(context: unknown): void;
  runHandler(): Promise<unknown>;
}

interface OfflineLambda {
  create(lambdas: Array<{ functionKey: string; functionDefinition: unknown }>): void;
  get(functionKey: string): OfflineLambdaFunction;
  cleanup(): Promise<unknown>;
}

/** What Lambda answers when a function is at its reserved concurrency. */
class TooManyRequestsException extends Error {
  override name = 'TooManyRequestsException';
}

/** Fixed by the pinned serverless-s3-local: its S3 credentials. */
const LOCAL_S3_CREDENTIALS = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' };

/** Environment knobs of the emulation, read and validated once. */
export function readOfflineSettings(
  env: NodeJS.ProcessEnv,
  servicePath: string,
): { timeScale: number; stateDir: string; metricsPort: number } {
  const raw = env.LAMBDA_ASYNC_TIME_SCALE;
  const timeScale = raw === undefined || raw === '' ? 1 : Number(raw);
  if (!Number.isFinite(timeScale) || timeScale <= 0) {
    throw new Error(
      `LAMBDA_ASYNC_TIME_SCALE must be a positive number (1 = AWS's real delays), got "${raw}".`,
    );
  }
  const metricsPort = Number(env.OFFLINE_METRICS_PORT || 3004);
  if (!Number.isInteger(metricsPort) || metricsPort < 0 || metricsPort > 65_535) {
    throw new Error(`OFFLINE_METRICS_PORT must be a port number, got "${env.OFFLINE_METRICS_PORT}".`);
  }
  return { timeScale, stateDir: resolve(servicePath, env.OFFLINE_STATE_DIR || '.offline'), metricsPort };
}

/** Where the pinned serverless-offline keeps the modules this plugin hooks into. */
function offlineModuleUrl(relativePath: string): string {
  const offlineSrc = dirname(require.resolve('serverless-offline'));
  return pathToFileURL(join(offlineSrc, relativePath)).href;
}

const PATCHED = Symbol.for('lambda-notes.offline-async.patched');

/**
 * serverless-offline notices that this plugin says better: its line per run (with a request id of its own; REPORT
 * has the right one) and its Invoke server's address (moved to a free port; the Lambda port is ours).
 */
const SUPERSEDED_NOTICE =
  /^(?:\(λ: [^)]*\) RequestId: .*Billed Duration: |Offline \[http for lambda\] listening on )/;

/** serverless-offline's own default (terminateIdleLambdaTime): idle workers stop after a minute. */
const IDLE_RUNNER_MS = 60_000;

/** How long a stop waits for the async runs and writes under way. */
const STOP_DRAIN_MS = 10_000;

export class OfflineAsync {
  #invoker: AsyncInvoker | undefined;
  #releaseLock: (() => Promise<void>) | undefined;
  #parentWatch: NodeJS.Timeout | undefined;
  #scheduler: Scheduler | undefined;
  #lambda: OfflineLambda | undefined;
  /** Async runs under way per runner, so that a runner is only stopped once its runs are over. */
  readonly #inFlight = new Map<OfflineLambda, number>();
  readonly #retired = new Set<OfflineLambda>();
  #idleTimer: NodeJS.Timeout | undefined;
  #metrics: MetricsRecorder | undefined;
  #metricsServer: Server | undefined;
  readonly #journal = new EventJournal();
  /** Set just before an async run so that the recorder knows its attempt and event age. */
  readonly #asyncRuns = new WeakMap<OfflineLambdaFunction, AsyncRunInfo>();
  readonly #functionKeyByName = new Map<string, string>();
  /** Set just before a sync Invoke's run: its request id (the one the caller gets). */
  readonly #syncRuns = new WeakMap<OfflineLambdaFunction, { requestId: string }>();
  readonly #output = new HandlerOutput((text) => process.stdout.write(text));
  #invokeServer: Server | undefined;
  #lambdaEndpoint: { host: string; port: number } | undefined;
  readonly #subscriptions;
  readonly #schedules;
  readonly #settings: ReturnType<typeof readOfflineSettings>;
  /** A configuration error found in the constructor: reported (and the process ended) by prepare(). */
  readonly #settingsError: unknown;

  constructor(
    private readonly serverless: Serverless,
    private readonly cliOptions: Record<string, unknown>,
    private readonly log: PluginLog,
  ) {
    const { service } = serverless;
    let settings: ReturnType<typeof readOfflineSettings>;
    try {
      settings = readOfflineSettings(process.env, serverless.config.servicePath);
    } catch (error) {
      this.#settingsError = error;
      settings = { timeScale: 1, stateDir: '', metricsPort: 0 };
    }
    this.#settings = settings;
    this.#subscriptions = s3Subscriptions(service);
    this.#schedules = scheduleRules(service);
    for (const key of Object.keys(service.functions))
      this.#functionKeyByName.set(functionName(service, key), key);
  }

  /** What every function gets offline and under `sls invoke local`: the local S3 endpoint and credentials. */
  localEnvironment(): Record<string, string> {
    const s3 = this.serverless.service.custom?.s3 ?? {};
    const host = typeof s3.host === 'string' ? s3.host : 'localhost';
    const port = s3.port === undefined ? 4569 : Number(s3.port);
    // Lambda sets AWS_LAMBDA_INITIALIZATION_TYPE; the stock offline runners do not, and the logger's
    // cold_start flag reads it.
    return {
      S3_ENDPOINT: `http://${host}:${port}`,
      ...LOCAL_S3_CREDENTIALS,
      AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
    };
  }

  injectLocalEnvironment(): void {
    for (const definition of Object.values(this.serverless.service.functions)) {
      definition.environment = { ...definition.environment, ...this.localEnvironment() };
    }
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
      await this.#prepare();
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

  async #prepare(): Promise<void> {
    const { service } = this.serverless;
    this.#metrics = new MetricsRecorder(Object.keys(service.functions), reservedConcurrency(service));
    this.injectLocalEnvironment();
    takeAsyncEvents(service);
    this.#takeLambdaPort();
    await this.#patchRunHandler();
  }

  /** after:offline:start:init — the local S3 and the Lambda endpoint are up. */
  async start(): Promise<void> {
    try {
      await this.#start();
    } catch (error) {
      this.#fatal(error);
    }
  }

  async #start(): Promise<void> {
    const { service } = this.serverless;
    const { stateDir, timeScale } = this.#settings;
    const functions = asyncFunctions(service, timeScale);
    this.#lambda = await this.#createLambda();
    const queues = new Map<string, LocalQueue>();
    const stateLog = (level: 'warn' | 'error', message: string): void => this.#log(level, message);
    this.#invoker = new AsyncInvoker({
      functions,
      pending: pendingDirectory(stateDir, stateLog),
      undeliverable: undeliverableDirectory(stateDir, stateLog),
      run: (functionKey, payload, info) => this.#run(functionKey, payload, info),
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
    if (this.#metrics) await this.#startConsole(functions);
    this.log.notice(
      `[async] queue ready: time scale ${timeScale} (a 1 minute retry delay waits ${(60 * timeScale).toFixed(timeScale < 1 / 60 ? 3 : 1)} s), state in ${stateDir}, ${resume.resumed} pending event(s) resumed${resume.interrupted > 0 ? ` (${resume.interrupted} had a run under way at the last stop: they may run twice)` : ''}`,
    );
  }

  /** The local console (Test, Monitor, Async events, DLQ, Logs) on the metrics port. */
  async #startConsole(functions: ReturnType<typeof asyncFunctions>): Promise<void> {
    const metrics = this.#metrics;
    if (!metrics) return;
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
        logs: this.#output.logs,
      },
      this.#settings.metricsPort,
    );
    this.log.notice(
      `[async] console: http://localhost:${this.#settings.metricsPort}/ (Test, Monitor, Async events, DLQ, Logs; npm run metrics)`,
    );
  }

  /**
   * offline:functionsUpdated:cleanup — serverless-esbuild rebuilt the bundles after a code change: the workers
   * that run queued events are stopped so that the next run loads the new code.
   */
  async reload(): Promise<void> {
    await this.#replaceRunner();
    this.log.notice('[async] code changed: queued events now run the new bundle');
  }

  /** New runs go to a fresh runner; the old one stops its workers once the runs it has under way are over. */
  async #replaceRunner(): Promise<void> {
    const old = this.#lambda;
    this.#lambda = await this.#createLambda();
    if (old === undefined) return;
    if ((this.#inFlight.get(old) ?? 0) === 0) await old.cleanup();
    else this.#retired.add(old);
  }

  #runEnded(lambda: OfflineLambda): void {
    const running = (this.#inFlight.get(lambda) ?? 1) - 1;
    this.#inFlight.set(lambda, running);
    if (running > 0) return;
    if (this.#retired.delete(lambda)) {
      this.#inFlight.delete(lambda);
      void lambda.cleanup();
      return;
    }
    // Like serverless-offline's own pool: workers left idle for a minute are stopped, not kept for ever.
    clearTimeout(this.#idleTimer);
    this.#idleTimer = setTimeout(() => {
      if (this.#lambda === lambda && (this.#inFlight.get(lambda) ?? 0) === 0) void this.#replaceRunner();
    }, IDLE_RUNNER_MS).unref();
  }

  /**
   * before:offline:start:end — stops intake, waits (bounded) for the runs and writes under way, so that a
   * clean stop leaves no finished run unrecorded; what is still queued stays on disk for the next start.
   */
  async stop(): Promise<void> {
    this.#scheduler?.stop();
    clearTimeout(this.#idleTimer);
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
    await this.#lambda?.cleanup().catch(() => undefined);
    this.#metricsServer?.close();
    this.#invokeServer?.close();
    this.#output.uninstall();
    await this.#releaseLock?.().catch(() => undefined);
  }

  /** Every invocation's log (START … REPORT), newest first: for whoever shows logs. */
  get invocationLogs(): InvocationLogs {
    return this.#output.logs;
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

  async #run(functionKey: string, payload: unknown, info: AsyncRunInfo): Promise<RunResult> {
    const lambda = this.#lambda;
    if (!lambda) throw new Error('The offline Lambda runner is not started.');
    this.#inFlight.set(lambda, (this.#inFlight.get(lambda) ?? 0) + 1);
    const lambdaFunction = lambda.get(functionKey);
    lambdaFunction.setClientContext(undefined);
    lambdaFunction.setEvent(payload);
    this.#asyncRuns.set(lambdaFunction, info);
    try {
      return { ok: true, result: await lambdaFunction.runHandler() };
    } catch (error) {
      if (error instanceof TooManyRequestsException) return { throttled: true };
      return { ok: false, error: functionErrorPayload(error) };
    } finally {
      this.#runEnded(lambda);
    }
  }

  /**
   * Every invocation, whatever started it, goes through serverless-offline's LambdaFunction.runHandler: the one
   * place to measure it, to enforce reserved concurrency, to give it its request id (the sync Invoke's, or the
   * async event's for every attempt) and to write its log as Lambda does (START, END, REPORT).
   */
  async #patchRunHandler(): Promise<void> {
    const [{ default: LambdaFunction }, { default: LambdaContext }, { default: HandlerRunner }, { log }] =
      (await Promise.all([
        import(offlineModuleUrl('lambda/LambdaFunction.js')),
        import(offlineModuleUrl('lambda/LambdaContext.js')),
        import(offlineModuleUrl('lambda/handler-runner/HandlerRunner.js')),
        import(offlineModuleUrl('utils/log.js')),
      ])) as [
        { default: { prototype: OfflineLambdaFunction & { [PATCHED]?: boolean } } },
        {
          default: {
            prototype: {
              setRequestId(id: string): void;
              create(): { functionName?: string; [field: string]: unknown };
            };
          };
        },
        {
          default: (new (...args: unknown[]) => { isDockerRunner(): boolean | null }) & {
            prototype: {
              cleanup(): Promise<unknown>;
              isDockerRunner(): boolean | null;
              run(...args: unknown[]): Promise<unknown>;
            };
          };
        },
        { log: { notice(...args: unknown[]): void; [PATCHED]?: boolean } },
      ];
    const proto = LambdaFunction.prototype;
    const written = 'written for serverless-offline 13.10.1';
    if (typeof proto.runHandler !== 'function') {
      throw new Error(`offline-async: serverless-offline LambdaFunction.runHandler not found; ${written}.`);
    }
    if (
      typeof LambdaContext.prototype.setRequestId !== 'function' ||
      typeof LambdaContext.prototype.create !== 'function'
    ) {
      throw new Error(
        `offline-async: serverless-offline LambdaContext.setRequestId/create not found; ${written}.`,
      );
    }
    // A runner that never ran (its first call throttled) has nothing loaded: serverless-offline's idle-runner
    // cleaner then crashes the whole process on `null.cleanup()`. isDockerRunner() is null exactly then.
    if (
      typeof HandlerRunner.prototype.cleanup !== 'function' ||
      typeof HandlerRunner.prototype.run !== 'function' ||
      new HandlerRunner({}, {}, {}).isDockerRunner() !== null
    ) {
      throw new Error(
        `offline-async: serverless-offline HandlerRunner.cleanup/isDockerRunner changed; ${written}.`,
      );
    }
    if (typeof log.notice !== 'function') {
      throw new Error(`offline-async: serverless-offline utils/log.js has no log.notice; ${written}.`);
    }
    if (proto[PATCHED]) return;
    this.#output.install();
    const original = proto.runHandler;
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const plugin = this;
    proto.runHandler = async function (this: OfflineLambdaFunction) {
      const functionKey = plugin.#functionKeyByName.get(this.functionName);
      const metrics = plugin.#metrics;
      if (functionKey === undefined || metrics === undefined) return original.call(this);
      const asyncRun = plugin.#asyncRuns.get(this);
      plugin.#asyncRuns.delete(this);
      const syncRun = plugin.#syncRuns.get(this);
      plugin.#syncRuns.delete(this);
      const gate = metrics.begin(functionKey, asyncRun);
      if (gate.throttled) {
        throw new TooManyRequestsException(`Rate Exceeded. (${functionKey} is at its reservedConcurrency)`);
      }
      const requestId = syncRun?.requestId ?? asyncRun?.requestId ?? randomUUID();
      const invocation = { functionKey, requestId, memorySizeMb: plugin.#memorySize(functionKey) };
      try {
        const result = await plugin.#output.run(this, invocation, () => original.call(this));
        gate.end('success');
        return result;
      } catch (error) {
        gate.end('error');
        throw error;
      }
    };
    proto[PATCHED] = true;

    const setRequestId = LambdaContext.prototype.setRequestId;
    LambdaContext.prototype.setRequestId = function (this: unknown, id: string) {
      setRequestId.call(this, plugin.#output.requestId() ?? id);
    };

    // The context names the function as Lambda does (serverless-offline: "offline_invokedFunctionArn_for_…"); the
    // log stream is one per runner, as one per execution environment on Lambda.
    const create = LambdaContext.prototype.create;
    const logStreams = new WeakMap<object, string>();
    const { region } = this.serverless.service.provider;
    LambdaContext.prototype.create = function (this: object) {
      const context = create.call(this);
      const name = String(context.functionName);
      const day = new Date().toISOString().slice(0, 10).replaceAll('-', '/');
      const stream = logStreams.get(this) ?? `${day}/[$LATEST]${randomUUID().replaceAll('-', '')}`;
      logStreams.set(this, stream);
      return {
        ...context,
        invokedFunctionArn: `arn:aws:lambda:${region}:${LOCAL_ACCOUNT}:function:${name}`,
        logGroupName: `/aws/lambda/${name}`,
        logStreamName: stream,
      };
    };

    // The handler's last lines may still be on their way from its worker thread when it returns: they are awaited
    // here, before serverless-offline marks the run over and can hand its worker to the next run.
    const handlerRun = HandlerRunner.prototype.run;
    HandlerRunner.prototype.run = async function (this: unknown, ...args: unknown[]) {
      try {
        return await handlerRun.apply(this, args);
      } finally {
        await plugin.#output.handlerReturned();
      }
    };

    const cleanup = HandlerRunner.prototype.cleanup;
    HandlerRunner.prototype.cleanup = function (this: { isDockerRunner(): boolean | null }) {
      return this.isDockerRunner() === null ? Promise.resolve() : cleanup.call(this);
    };

    const notice = log.notice;
    log.notice = (...args: unknown[]) => {
      const [message] = args;
      if (typeof message === 'string' && SUPERSEDED_NOTICE.test(message)) return;
      notice(...args);
    };
  }

  /** Memory size in MB as serverless.yml sets it (function, then provider; Lambda's default 128). */
  #memorySize(functionKey: string): number {
    const { service } = this.serverless;
    const definition = service.functions[functionKey] as { memorySize?: unknown } | undefined;
    const provider = service.provider as { memorySize?: unknown };
    const size = Number(definition?.memorySize ?? provider.memorySize ?? 128);
    return Number.isFinite(size) && size > 0 ? size : 128;
  }

  /** The function's timeout in seconds (function, then provider; the framework's default 6). */
  #timeoutSeconds(functionKey: string): number {
    const { service } = this.serverless;
    const definition = service.functions[functionKey] as { timeout?: unknown } | undefined;
    const provider = service.provider as { timeout?: unknown };
    const seconds = Number(definition?.timeout ?? provider.timeout ?? 6);
    return Number.isFinite(seconds) && seconds > 0 ? seconds : 6;
  }

  async #createLambda(): Promise<OfflineLambda> {
    const [{ default: Lambda }, { default: defaults }] = (await Promise.all([
      import(offlineModuleUrl('lambda/index.js')),
      import(offlineModuleUrl('config/defaultOptions.js')),
    ])) as [
      { default: new (serverless: unknown, options: unknown) => OfflineLambda },
      { default: Record<string, unknown> },
    ];
    const { service } = this.serverless;
    const options = { ...defaults, ...service.custom?.['serverless-offline'], ...this.cliOptions };
    const lambda = new Lambda(this.serverless, options);
    lambda.create(
      Object.entries(service.functions).map(([functionKey, functionDefinition]) => ({
        functionKey,
        functionDefinition,
      })),
    );
    return lambda;
  }

  #listenToLocalS3(): void {
    const s3Local = this.serverless.pluginManager.plugins.find(
      (plugin) => plugin.constructor.name === 'ServerlessS3Local',
    ) as { client?: LocalS3Server & S3ServerWithETags } | undefined;
    if (!s3Local?.client || typeof s3Local.client.on !== 'function') {
      throw new Error(
        'offline-async: serverless-s3-local has no running S3 server (plugin.client); this hook was written for serverless-s3-local 0.8.5. List it in serverless.yml and check its version.',
      );
    }
    guardLocalS3(s3Local.client);
    reportAwsETags(s3Local.client);
    const { region } = this.serverless.service.provider;
    const nextSequencer = sequencerFactory();
    s3Local.client.on('event', (event) => {
      for (const record of (event as { Records: LocalS3Record[] }).Records) {
        for (const subscription of subscriptionsFor(this.#subscriptions, record)) {
          const configurationId = `${functionName(this.serverless.service, subscription.functionKey)}-${subscription.bucket}`;
          const awsRecord = toAwsRecord(record, { region, configurationId, sequencer: nextSequencer() });
          const source: EventSource = {
            kind: 's3',
            bucket: subscription.bucket,
            key: awsRecord.s3.object.key,
            eventName: awsRecord.eventName,
          };
          // The PUT's answer waits for this: a 200 only once the event is durable.
          holdResponseUntil(this.#enqueue(subscription.functionKey, { Records: [awsRecord] }, source));
        }
      }
    });
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

  /** A RequestResponse Invoke: one run in the same runner as queued events, answered as Lambda answers it. */
  async #invokeSync(
    functionKey: string,
    event: unknown,
    options: { requestId: string; clientContext: unknown; tail: boolean },
  ): Promise<SyncOutcome> {
    const lambda = this.#lambda;
    if (!lambda) throw new Error('The offline Lambda runner is not started.');
    this.#inFlight.set(lambda, (this.#inFlight.get(lambda) ?? 0) + 1);
    const { requestId } = options;
    try {
      const lambdaFunction = lambda.get(functionKey);
      lambdaFunction.setClientContext(options.clientContext);
      lambdaFunction.setEvent(event);
      this.#syncRuns.set(lambdaFunction, { requestId });
      const payload = await lambdaFunction.runHandler();
      return { kind: 'result', payload, logTail: this.#output.tail(requestId) };
    } catch (error) {
      if (error instanceof TooManyRequestsException) return { kind: 'throttled' };
      const timedOut = error instanceof Error && error.constructor.name === 'LambdaTimeoutError';
      const payload = timedOut
        ? {
            errorType: 'Sandbox.Timedout',
            errorMessage: `RequestId: ${requestId} Error: Task timed out after ${this.#timeoutSeconds(functionKey).toFixed(2)} seconds`,
          }
        : functionErrorPayload(error);
      return { kind: 'function-error', payload, logTail: this.#output.tail(requestId) };
    } finally {
      this.#runEnded(lambda);
    }
  }
}
