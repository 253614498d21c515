/**
 * The offline stack's settings, read and validated in one place: the environment variables (time scale, idle
 * time, pollers, concurrency, environments, console port, state dir, debugging), and what serverless.yml and the
 * command line say of ports and of the local S3. Pure: `npm start` checks the same settings before serverless loads
 * (scripts/start-offline.cjs).
 */
import { availableParallelism } from 'node:os';
import { DEFAULT_ACCOUNT_CONCURRENCY } from '../environments/concurrency';
import { DEFAULT_DEBUG_PORT, type DebugSettings } from '../environments/debugging';
import { stateDirOf } from '../state/layout';

/** Fixed by the pinned serverless-s3-local: its S3 credentials. */
const LOCAL_S3_CREDENTIALS = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' };

/** How long an idle execution environment is kept (AWS gives no figure; the notes see 10–20 minutes). */
const DEFAULT_IDLE_SECONDS = 600;

/** serverless-offline's default Lambda port. */
const DEFAULT_LAMBDA_PORT = 3002;

/**
 * Queued events a function runs at once by default: four per core, at least 8. They do not each take a process:
 * the machine bound (environments/machine-bound.ts) keeps the environments to one per core, and the events past
 * it wait for one. What the extra events do meanwhile is the queue's own work around a run — the durable writes
 * (fsync) before and after it — so the environments are not left idle for the disk. Measured on 2 cores (bench/
 * README.md): an S3 burst went 0.34× the untriggered uploads' rate with 2, 0.47× with 8, no better with 16 or 32.
 */
function defaultPollers(): number {
  return Math.max(8, 4 * availableParallelism());
}

export interface OfflineSettings {
  /** LAMBDA_ASYNC_TIME_SCALE: 1 = AWS's real delays. */
  readonly timeScale: number;
  readonly stateDir: string;
  /** OFFLINE_METRICS_PORT: the console's port (and `npm run metrics`'). */
  readonly metricsPort: number;
  /** LAMBDA_IDLE_SECONDS × the time scale, in ms: how long an idle environment lives. */
  readonly idleMs: number;
  /** LAMBDA_ASYNC_POLLERS: queued events of a function run at once (in environments, within the machine bound). */
  readonly asyncPollers: number;
  /** LAMBDA_ACCOUNT_CONCURRENCY: the account's concurrency, as AWS's quota (1,000 by default). */
  readonly accountConcurrency: number;
  /**
   * LAMBDA_MAX_ENVIRONMENTS: environments alive at once on this machine; undefined when not set (a default is
   * derived from the machine and the functions: environments/machine-bound.ts).
   */
  readonly maxEnvironments: number | undefined;
  /** LAMBDA_DEBUG and LAMBDA_DEBUG_PORT: the functions run under an inspector; absent when not debugging. */
  readonly debug?: DebugSettings;
}

function positiveNumber(name: string, raw: string | undefined, fallback: number, hint: string): number {
  const value = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isFinite(value) || value <= 0) {
    throw new Error(`${name} must be a positive number (${hint}), got "${raw}".`);
  }
  return value;
}

function wholeNumber(name: string, raw: string | undefined, fallback: number, hint: string): number {
  const value = positiveNumber(name, raw, fallback, hint);
  if (!Number.isInteger(value)) throw new Error(`${name} must be a whole number (${hint}), got "${raw}".`);
  return value;
}

function portNumber(value: number): boolean {
  return Number.isInteger(value) && value >= 0 && value <= 65_535;
}

/** The environment knobs of the emulation; an Error that says which one and why when one is wrong. */
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
    'queued events of a function run at once; default: 4 per core, at least 8',
  );
  if (!Number.isInteger(asyncPollers)) {
    throw new Error(`LAMBDA_ASYNC_POLLERS must be a whole number, got "${env.LAMBDA_ASYNC_POLLERS}".`);
  }
  const accountConcurrency = wholeNumber(
    'LAMBDA_ACCOUNT_CONCURRENCY',
    env.LAMBDA_ACCOUNT_CONCURRENCY,
    DEFAULT_ACCOUNT_CONCURRENCY,
    "the account's concurrency quota; AWS's default is 1000",
  );
  const maxEnvironments =
    env.LAMBDA_MAX_ENVIRONMENTS === undefined || env.LAMBDA_MAX_ENVIRONMENTS === ''
      ? undefined
      : wholeNumber(
          'LAMBDA_MAX_ENVIRONMENTS',
          env.LAMBDA_MAX_ENVIRONMENTS,
          1,
          'environments alive at once on this machine; unset: derived from its cores and free memory',
        );
  const metricsPort = Number(env.OFFLINE_METRICS_PORT || 3004);
  if (!portNumber(metricsPort)) {
    throw new Error(`OFFLINE_METRICS_PORT must be a port number, got "${env.OFFLINE_METRICS_PORT}".`);
  }
  const debug = readDebugSettings(env);
  return {
    timeScale,
    stateDir: stateDirOf(env, servicePath),
    metricsPort,
    idleMs: idleSeconds * 1000 * timeScale,
    asyncPollers,
    accountConcurrency,
    maxEnvironments,
    ...(debug === undefined ? {} : { debug }),
  };
}

/**
 * LAMBDA_DEBUG=hello,s3Upload (or `all`) and LAMBDA_DEBUG_PORT (the first function's inspector port, 9229 by
 * default). Whether the names are functions of serverless.yml is checked once the service is read (debugPorts).
 */
function readDebugSettings(env: NodeJS.ProcessEnv): DebugSettings | undefined {
  const raw = env.LAMBDA_DEBUG?.trim();
  const rawPort = env.LAMBDA_DEBUG_PORT;
  if (raw === undefined || raw === '') {
    if (rawPort !== undefined && rawPort !== '') {
      throw new Error(
        'LAMBDA_DEBUG_PORT is set but LAMBDA_DEBUG is not: name the functions to debug (or all).',
      );
    }
    return undefined;
  }
  const names = raw.split(',').map((name) => name.trim());
  if (names.some((name) => name === '')) {
    throw new Error(`LAMBDA_DEBUG must be function names separated by commas, or all; got "${raw}".`);
  }
  const firstPort = rawPort === undefined || rawPort === '' ? DEFAULT_DEBUG_PORT : Number(rawPort);
  // 0 would give each runtime a port of the OS's choosing: a debugger could not be pointed at it beforehand.
  if (!portNumber(firstPort) || firstPort === 0) {
    throw new Error(`LAMBDA_DEBUG_PORT must be a port number from 1 to 65535, got "${rawPort}".`);
  }
  return { functions: names.length === 1 && names[0] === 'all' ? 'all' : [...new Set(names)], firstPort };
}

/** `--lambdaDebug` and `--lambdaDebugPort` of `sls offline start`, which win over LAMBDA_DEBUG and LAMBDA_DEBUG_PORT. */
export function withDebugOptions(
  env: NodeJS.ProcessEnv,
  cliOptions: Record<string, unknown>,
): NodeJS.ProcessEnv {
  const { lambdaDebug, lambdaDebugPort } = cliOptions;
  return {
    ...env,
    ...(lambdaDebug === undefined ? {} : { LAMBDA_DEBUG: String(lambdaDebug) }),
    ...(lambdaDebugPort === undefined ? {} : { LAMBDA_DEBUG_PORT: String(lambdaDebugPort) }),
  };
}

/** serverless.yml's `custom` block, in the parts read here. */
export type CustomSettings = Record<string, Record<string, unknown> | undefined>;

/** What every function gets offline and under `sls invoke local`: the local S3 endpoint and credentials. */
export function localEnvironment(custom: CustomSettings | undefined): Record<string, string> {
  const s3 = custom?.s3 ?? {};
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

/** The ports a stack listens on, as configured: the lock's holder file names them for whoever waits. */
export function configuredPorts(
  custom: CustomSettings | undefined,
  metricsPort: number,
): Record<string, number | string> {
  const s3 = custom?.s3 ?? {};
  const offline = custom?.['serverless-offline'] ?? {};
  const ports: Record<string, number | string> = {};
  for (const [name, value] of [
    ['http', offline.httpPort],
    ['lambda', offline.lambdaPort],
    ['s3', s3.port],
    ['metrics', metricsPort],
  ] as const) {
    if (typeof value === 'number' || typeof value === 'string') ports[name] = value;
  }
  return ports;
}

/**
 * Where the project's Invoke API listens: `--lambdaPort` / `--host` on the command line, else serverless.yml's
 * custom.serverless-offline, else serverless-offline's defaults.
 */
export function lambdaEndpoint(
  custom: CustomSettings | undefined,
  cliOptions: Record<string, unknown>,
): { host: string; port: number } {
  const options = custom?.['serverless-offline'] ?? {};
  const given = cliOptions.lambdaPort ?? options.lambdaPort;
  const port = Number(given ?? DEFAULT_LAMBDA_PORT);
  if (!portNumber(port)) {
    throw new Error(`offline-async: the Lambda port must be a port number, got "${String(given)}".`);
  }
  return { host: String(cliOptions.host ?? options.host ?? 'localhost'), port };
}
