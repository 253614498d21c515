/**
 * The offline emulation of Lambda, as a plugin of this project: the serverless hooks, and nothing else. Every run
 * of a function, whatever asks for it (HTTP, the Invoke API, the async queue, a schedule), goes to the project's
 * execution environments: `node` processes behind Lambda's Runtime API (offline/environments/). The async event
 * sources (S3 notifications, schedules, Invoke with InvocationType=Event) are taken from the stock plugins and
 * every such event goes through one durable local queue with Lambda's retry policy and destinations. The stock
 * plugins still do what they do well: serverless-s3-local serves S3, serverless-offline serves the HTTP API.
 * What runs is built in emulation.ts; offline/README.md draws the whole.
 */
import { stopIdleEsbuild } from '../adapters/esbuild-service';
import { localS3Of } from '../adapters/local-s3';
import { queueRebuilds } from '../adapters/serverless-esbuild-rebuilds';
import { routeToEnvironments } from '../adapters/serverless-offline-http';
import { s3Subscriptions, scheduleRules, takeAsyncEvents } from '../core/service-model';
import type { S3Subscription, ScheduleRule, ServiceDefinition } from '../model/service';
import { lockStateDir } from '../state/lock';
import { Emulation, type EmulationLog } from './emulation';
import { exitWithError, watchParent } from './process-guard';
import {
  configuredPorts,
  type CustomSettings,
  lambdaEndpoint,
  localEnvironment,
  type OfflineSettings,
  readOfflineSettings,
  withDebugOptions,
} from './settings';

// npm start's preflight (scripts/start-offline.cjs) takes these from the same bundle serverless then loads.
export { readOfflineSettings } from './settings';
export { waitForStateDir } from '../state/lock';

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

export class OfflineAsync {
  /** The settings, or why they are wrong: reported (and the process ended) by prepare(). */
  readonly #settings: { ok: true; value: OfflineSettings } | { ok: false; error: unknown };
  /** serverless.yml's `s3` and `schedule` events, read before prepare() keeps the stock plugins from them. */
  readonly #subscriptions: S3Subscription[];
  readonly #schedules: ScheduleRule[];
  #lambdaEndpoint: { host: string; port: number } | undefined;
  #releaseLock: (() => Promise<void>) | undefined;
  #stopWatchingParent: (() => void) | undefined;
  #emulation: Emulation | undefined;

  constructor(
    private readonly serverless: Serverless,
    private readonly cliOptions: Record<string, unknown>,
    private readonly log: PluginLog,
  ) {
    try {
      this.#settings = {
        ok: true,
        value: readOfflineSettings(withDebugOptions(process.env, cliOptions), serverless.config.servicePath),
      };
    } catch (error) {
      this.#settings = { ok: false, error };
    }
    this.#subscriptions = s3Subscriptions(serverless.service);
    this.#schedules = scheduleRules(serverless.service);
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
      const { stateDir, metricsPort } = this.#validSettings();
      const { service } = this.serverless;
      const ports = configuredPorts(service.custom, metricsPort);
      this.#releaseLock = await lockStateDir(stateDir, { ports }, (error) =>
        this.#log('error', `the lock on ${stateDir} was lost: ${error.message}`),
      );
      this.#stopWatchingParent = watchParent((why) => {
        this.log.warning(`[async] ${why}: stopping`);
        process.kill(process.pid, 'SIGTERM');
      });
      takeAsyncEvents(service);
      this.#takeLambdaPort();
      queueRebuilds(this.serverless.pluginManager.plugins);
      await routeToEnvironments(
        new Set(Object.keys(service.functions)),
        (functionKey, event, clientContext) => {
          if (!this.#emulation) throw new Error('the offline stack is still starting');
          return this.#emulation.runForHttp(functionKey, event, clientContext);
        },
        (routeKey) => this.#emulation?.admitHttp(routeKey) ?? true,
      );
    } catch (error) {
      exitWithError(error);
    }
  }

  /** after:offline:start:init — the local S3 and the Lambda endpoint are up. */
  async start(): Promise<void> {
    try {
      const lambdaEndpoint = this.#lambdaEndpoint;
      if (!lambdaEndpoint) throw new Error('offline-async: start() before prepare()');
      this.#emulation = await Emulation.start({
        service: this.serverless.service,
        servicePath: this.serverless.config.servicePath,
        settings: this.#validSettings(),
        subscriptions: this.#subscriptions,
        schedules: this.#schedules,
        lambdaEndpoint,
        localS3: localS3Of(this.serverless.pluginManager.plugins),
        log: this.#log,
      });
    } catch (error) {
      exitWithError(error);
    }
    await this.#stopIdleEsbuild();
  }

  /** offline:functionsUpdated:cleanup — serverless-esbuild rebuilt the bundles after a code change. */
  async reload(): Promise<void> {
    this.#emulation?.reload();
    this.log.notice('[async] code changed: new runs start new environments with the new bundle');
    await this.#stopIdleEsbuild({ sayWhyNot: false });
  }

  /** The bundles are built: esbuild's service would idle until the next code change (adapters/esbuild-service.ts). */
  async #stopIdleEsbuild({ sayWhyNot = true } = {}): Promise<void> {
    const why = await stopIdleEsbuild(this.serverless.service.custom?.esbuild).catch(
      (error: unknown) => `it could not be stopped: ${String(error)}`,
    );
    // Said once, at start: the same reason would follow every code change.
    if (why !== undefined && sayWhyNot)
      this.#log('info', `esbuild's service stays running between builds (${why})`);
  }

  /** before:offline:start:end — a clean stop: what is still queued stays on disk for the next start. */
  async stop(): Promise<void> {
    this.#stopWatchingParent?.();
    await this.#emulation?.stop();
    await this.#releaseLock?.().catch(() => undefined);
  }

  #validSettings(): OfflineSettings {
    if (!this.#settings.ok) throw this.#settings.error;
    return this.#settings.value;
  }

  readonly #log: EmulationLog = (level, message) => {
    const line = `[async] ${message}`;
    if (level === 'error') this.log.error(line);
    else if (level === 'warn') this.log.warning(line);
    else this.log.notice(line);
  };

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
}
