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
import { errorTypeFromStackLine, functionErrorPayload } from './destination-record';
import { LocalQueue } from './local-queue';
import { guardLocalS3, holdResponseUntil, type LocalS3Server } from './local-s3-guard';
import { pendingDirectory, undeliverableDirectory } from './queue-state';
import { lockStateDir } from './state-lock';
import { type LocalS3Record, sequencerFactory, subscriptionsFor, toAwsRecord } from './s3-notifications';
import { type AsyncRunInfo, MetricsRecorder } from './metrics';
import { startMetricsServer } from './metrics-server';
import { Scheduler } from './scheduler';
import {
  asyncFunctions,
  functionName,
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

interface InvokeResult {
  Payload: unknown;
  StatusCode: number;
  FunctionError?: string;
  UnhandledError?: boolean;
}

type Invoke = (
  name: string,
  type: string | null,
  event: unknown,
  clientContext: unknown,
) => Promise<InvokeResult>;

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
  /** Set just before an async run so that the recorder knows its attempt and event age. */
  readonly #asyncRuns = new WeakMap<OfflineLambdaFunction, AsyncRunInfo>();
  readonly #functionKeyByName = new Map<string, string>();
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
    await this.#patchInvocations();
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
      notify: (notice) => this.#metrics?.asyncNotice(notice),
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
    if (this.#metrics) {
      this.#metricsServer = await startMetricsServer(this.#metrics, this.#settings.metricsPort);
      this.log.notice(`[async] metrics: http://localhost:${this.#settings.metricsPort}/ (npm run metrics)`);
    }
    this.log.notice(
      `[async] queue ready: time scale ${timeScale} (a 1 minute retry delay waits ${(60 * timeScale).toFixed(timeScale < 1 / 60 ? 3 : 1)} s), state in ${stateDir}, ${resume.resumed} pending event(s) resumed${resume.interrupted > 0 ? ` (${resume.interrupted} had a run under way at the last stop: they may run twice)` : ''}`,
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
   * place to measure it and to enforce reserved concurrency.
   */
  async #patchRunHandler(): Promise<void> {
    const { default: LambdaFunction } = (await import(offlineModuleUrl('lambda/LambdaFunction.js'))) as {
      default: { prototype: OfflineLambdaFunction & { [PATCHED]?: boolean } };
    };
    const proto = LambdaFunction.prototype;
    if (typeof proto.runHandler !== 'function') {
      throw new Error(
        'offline-async: serverless-offline LambdaFunction.runHandler not found; written for serverless-offline 13.10.1.',
      );
    }
    if (proto[PATCHED]) return;
    const original = proto.runHandler;
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const plugin = this;
    proto.runHandler = async function (this: OfflineLambdaFunction) {
      const functionKey = plugin.#functionKeyByName.get(this.functionName);
      const metrics = plugin.#metrics;
      if (functionKey === undefined || metrics === undefined) return original.call(this);
      const asyncRun = plugin.#asyncRuns.get(this);
      plugin.#asyncRuns.delete(this);
      const gate = metrics.begin(functionKey, asyncRun);
      if (gate.throttled) {
        throw new TooManyRequestsException(`Rate Exceeded. (${functionKey} is at its reservedConcurrency)`);
      }
      try {
        const result = await original.call(this);
        gate.end('success');
        return result;
      } catch (error) {
        gate.end('error');
        throw error;
      }
    };
    proto[PATCHED] = true;
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
    ) as { client?: LocalS3Server } | undefined;
    if (!s3Local?.client || typeof s3Local.client.on !== 'function') {
      throw new Error(
        'offline-async: serverless-s3-local has no running S3 server (plugin.client); this hook was written for serverless-s3-local 0.8.5. List it in serverless.yml and check its version.',
      );
    }
    guardLocalS3(s3Local.client);
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
   * serverless-offline runs `InvocationType: Event` once, without retries, and reports every sync error as
   * errorType "Error". Its invocations controller is patched: Event goes to the async queue; a sync error keeps
   * its own name.
   */
  async #patchInvocations(): Promise<void> {
    const { default: Controller } = (await import(
      offlineModuleUrl('lambda/routes/invocations/InvocationsController.js')
    )) as {
      default: { prototype: { invoke: Invoke; [PATCHED]?: boolean } };
    };
    const proto = Controller.prototype;
    if (typeof proto.invoke !== 'function' || proto.invoke.length !== 4) {
      throw new Error(
        'offline-async: serverless-offline InvocationsController.invoke(functionName, invocationType, event, clientContext) not found; this hook was written for serverless-offline 13.10.1.',
      );
    }
    if (proto[PATCHED]) return;
    const original = proto.invoke;
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const plugin = this;
    proto.invoke = async function (this: unknown, name, invocationType, event, clientContext) {
      const functionKey = plugin.#functionKeyByName.get(name);
      if (invocationType === 'Event' && functionKey !== undefined && plugin.#invoker) {
        await plugin.#invoker.enqueue(functionKey, event);
        return { Payload: '', StatusCode: 202 };
      }
      const result = await original.call(this, name, invocationType, event, clientContext);
      const payload = result.Payload as { errorType?: string; trace?: string[] } | undefined;
      if (result.UnhandledError && payload?.errorType === 'Error') {
        payload.errorType = errorTypeFromStackLine(payload.trace?.[0]) ?? 'Error';
      }
      if (payload?.errorType === 'TooManyRequestsException') {
        // Lambda's answer to a throttled synchronous Invoke.
        return {
          StatusCode: 429,
          FunctionError: 'TooManyRequestsException',
          Payload: {
            Reason: 'ReservedFunctionConcurrentInvocationLimitExceeded',
            Type: 'User',
            message: 'Rate Exceeded.',
          },
        };
      }
      return result;
    };
    proto[PATCHED] = true;
  }
}
