/**
 * One execution environment: a `node` process running the function's bundle behind its own Runtime API, as a
 * Lambda sandbox runs one runtime. It is started for a run that found no idle environment (a cold start: Init
 * Duration is the process start and the module load, until the runtime first asks for an event), then reused warm
 * (module scope and its own TMPDIR survive), one run at a time. The process runs with the heap flags Lambda's
 * Node.js runtime derives from the memory size, and it is killed when its resident set goes past that size (the
 * run fails as Runtime.OutOfMemory) or when a run reaches its timeout (Sandbox.Timedout). Either way, and when
 * the runtime exits on its own, the environment is over: the next run gets a new one.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { exitPayload, outOfMemoryPayload, timeoutLogLine, timeoutPayload } from './environment-errors';
import type { FunctionErrorPayload } from '../destination-record';
import type { ProcessMemory } from './process-memory';
import { RuntimeApi, type RuntimeAnswer, startRuntimeApiServer } from './runtime-api';

/** Lambda's limit on the Init phase; past it, the init is tried once more within the first run's timeout. */
export const INIT_LIMIT_MS = 10_000;

/** What an environment runs: one function as serverless.yml defines it, offline. */
export interface FunctionSpec {
  readonly key: string;
  /** The deployed name (lambda-notes-dev-hello). */
  readonly name: string;
  readonly arn: string;
  /** `handlers/hello.handler`, relative to taskRoot. */
  readonly handler: string;
  /** The folder holding the bundles (serverless-esbuild's build folder). */
  readonly taskRoot: string;
  /** nodejs24.x */
  readonly runtime: string;
  readonly memorySizeMb: number;
  readonly timeoutSeconds: number;
  readonly region: string;
  /** The function's variables: provider's, function's, and the local endpoints. */
  readonly variables: Readonly<Record<string, string>>;
}

export type EnvironmentState = 'initializing' | 'idle' | 'busy' | 'ended';

export interface EnvironmentView {
  readonly id: string;
  readonly functionKey: string;
  readonly logStream: string;
  readonly pid: number | undefined;
  readonly state: EnvironmentState;
  readonly startedAt: number;
  readonly runs: number;
  readonly lastRunAt: number | undefined;
  readonly initDurationMs: number | undefined;
  readonly memorySizeMb: number;
  readonly rssMb: number | undefined;
  readonly maxMemoryUsedMb: number | undefined;
  readonly endedAt: number | undefined;
  readonly endReason: string | undefined;
}

/** Where a run's output goes while it runs (the invocation's log). */
export interface OutputSink {
  append(text: string): void;
}

export interface RunRequest {
  readonly requestId: string;
  readonly event: string;
  readonly invokedFunctionArn: string;
  readonly clientContext?: string;
  readonly traceId: string;
}

/** How a run ended, and the REPORT figures Lambda gives for it. */
export interface RunResult {
  readonly outcome:
    | { readonly ok: true; readonly body: string }
    | { readonly ok: false; readonly error: FunctionErrorPayload };
  /** REPORT's Status and Error Type, for runs that did not end in an answer of the runtime. */
  readonly status?: 'timeout' | 'error';
  readonly reportErrorType?: string;
  readonly durationMs: number;
  readonly initDurationMs?: number;
  readonly maxMemoryUsedMb: number;
}

export interface EnvironmentOptions {
  readonly id: string;
  readonly logStream: string;
  readonly tmpDir: string;
  readonly bootstrap: string;
  /** Variables of the host that the runtime needs (PATH). */
  readonly hostVariables: Readonly<Record<string, string>>;
  readonly memory: ProcessMemory;
  /** Every chunk the process writes, for the offline terminal; `sink` is the run's log when one is under way. */
  output(text: string, stream: 'stdout' | 'stderr', sink: OutputSink | undefined): void;
  /** Called once, when the environment is over (for whatever reason). */
  ended(environment: ExecutionEnvironment): void;
  now(): number;
}

interface ActiveRun {
  readonly request: RunRequest;
  readonly sink: OutputSink;
  readonly settle: (result: RunResult) => void;
  handedAt: number | undefined;
  timer: NodeJS.Timeout | undefined;
}

const round2 = (value: number): number => Math.round(value * 100) / 100;

/** The heap flags of Lambda's Node.js runtime bootstrap for a memory size (new space a tenth, split in two). */
export function heapFlags(memorySizeMb: number): string[] {
  const newSpace = Math.floor(memorySizeMb / 10);
  return [
    `--max-semi-space-size=${Math.floor(newSpace / 2)}`,
    `--max-old-space-size=${memorySizeMb - newSpace}`,
  ];
}

/** `2026/12/04/[$LATEST]<32 hex>`: the log stream name Lambda gives an environment. */
export function logStreamName(startedAt: Date, id: string): string {
  return `${startedAt.toISOString().slice(0, 10).replaceAll('-', '/')}/[$LATEST]${id}`;
}

export class ExecutionEnvironment {
  readonly startedAt: number;
  #state: EnvironmentState = 'initializing';
  #runs = 0;
  #lastRunAt: number | undefined;
  #initDurationMs: number | undefined;
  /** Init Duration goes in the REPORT of the first run only. */
  #initReported = false;
  #rssMb: number | undefined;
  #peakMb = 0;
  #endedAt: number | undefined;
  #endReason: string | undefined;
  #run: ActiveRun | undefined;
  #memoryTimer: NodeJS.Timeout | undefined;
  #overMemory = false;
  #initTimer: NodeJS.Timeout | undefined;
  readonly #spawnedAt = performance.now();
  readonly #api: RuntimeApi;
  #server: Server | undefined;
  #child: ChildProcess | undefined;
  readonly #exited: Promise<void>;
  #markExited: () => void = () => undefined;

  private constructor(
    readonly spec: FunctionSpec,
    readonly options: EnvironmentOptions,
  ) {
    this.startedAt = options.now();
    this.#exited = new Promise((done) => {
      this.#markExited = done;
    });
    this.#api = new RuntimeApi({
      ready: () => this.#ready(),
      answered: (requestId, answer) => this.#answered(requestId, answer),
      initFailed: (payload) => this.#initFailed(payload),
    });
  }

  /** Starts the process; its Init phase goes on after this resolves (a run waits for it). */
  static async start(spec: FunctionSpec, options: EnvironmentOptions): Promise<ExecutionEnvironment> {
    const environment = new ExecutionEnvironment(spec, options);
    await environment.#spawn();
    return environment;
  }

  get id(): string {
    return this.options.id;
  }

  get state(): EnvironmentState {
    return this.#state;
  }

  /** Ready for a run: idle, or still starting without one. */
  get available(): boolean {
    return this.#state === 'idle' || (this.#state === 'initializing' && this.#run === undefined);
  }

  view(): EnvironmentView {
    return {
      id: this.id,
      functionKey: this.spec.key,
      logStream: this.options.logStream,
      pid: this.#child?.pid,
      state: this.#state,
      startedAt: this.startedAt,
      runs: this.#runs,
      lastRunAt: this.#lastRunAt,
      initDurationMs: this.#initDurationMs === undefined ? undefined : round2(this.#initDurationMs),
      memorySizeMb: this.spec.memorySizeMb,
      rssMb: this.#rssMb === undefined ? undefined : Math.round(this.#rssMb),
      maxMemoryUsedMb: this.#peakMb > 0 ? Math.round(this.#peakMb) : undefined,
      endedAt: this.#endedAt,
      endReason: this.#endReason,
    };
  }

  async #spawn(): Promise<void> {
    const { spec, options } = this;
    this.#server = await startRuntimeApiServer(this.#api);
    const address = this.#server.address();
    if (typeof address !== 'object' || address === null) throw new Error('the Runtime API has no address');
    await mkdir(options.tmpDir, { recursive: true });
    const child = spawn(process.execPath, [...heapFlags(spec.memorySizeMb), options.bootstrap], {
      cwd: spec.taskRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...options.hostVariables,
        ...spec.variables,
        _HANDLER: spec.handler,
        AWS_REGION: spec.region,
        AWS_DEFAULT_REGION: spec.region,
        AWS_EXECUTION_ENV: `AWS_Lambda_${spec.runtime}`,
        AWS_LAMBDA_FUNCTION_NAME: spec.name,
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(spec.memorySizeMb),
        AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
        AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
        AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${spec.name}`,
        AWS_LAMBDA_LOG_STREAM_NAME: options.logStream,
        AWS_LAMBDA_RUNTIME_API: `127.0.0.1:${address.port}`,
        LAMBDA_TASK_ROOT: spec.taskRoot,
        LAMBDA_RUNTIME_DIR: join(options.bootstrap, '..'),
        LANG: 'en_US.UTF-8',
        TZ: ':UTC',
        TMPDIR: options.tmpDir,
        IS_OFFLINE: 'true',
      },
    });
    this.#child = child;
    // Decoded as UTF-8 across chunk boundaries (a chunk may end inside a character).
    child.stdout
      ?.setEncoding('utf8')
      .on('data', (text: string) => options.output(text, 'stdout', this.#run?.sink));
    child.stderr
      ?.setEncoding('utf8')
      .on('data', (text: string) => options.output(text, 'stderr', this.#run?.sink));
    child.once('error', (error) => this.#processGone(null, null, error.message));
    child.once('exit', (code, signal) => this.#processGone(code, signal));
    this.#watchMemory();
    this.#initTimer = setTimeout(() => this.#initTimedOut(), INIT_LIMIT_MS + spec.timeoutSeconds * 1000);
  }

  /**
   * Runs one event here: resolves with how the run ended, never rejects for the function's sake. The caller takes
   * an available environment and waits for this before the next run.
   */
  run(request: RunRequest, sink: OutputSink): Promise<RunResult> {
    if (!this.available) throw new Error(`environment ${this.id} is ${this.#state}`);
    return new Promise((settle) => {
      this.#run = { request, sink, settle, handedAt: undefined, timer: undefined };
      // A starting environment hands the event over once its runtime first asks for one.
      if (this.#state === 'idle') this.#handOut();
    });
  }

  /** The run's clock starts as its event is handed over: its timeout and Duration count from there. */
  #handOut(): void {
    const run = this.#run;
    if (!run) return;
    this.#state = 'busy';
    run.handedAt = performance.now();
    this.#watchMemory();
    const timeoutMs = this.spec.timeoutSeconds * 1000;
    run.timer = setTimeout(() => this.#timedOut(), timeoutMs);
    const { request } = run;
    this.#api.assign({
      requestId: request.requestId,
      event: request.event,
      deadlineMs: Date.now() + timeoutMs,
      invokedFunctionArn: request.invokedFunctionArn,
      traceId: request.traceId,
      ...(request.clientContext === undefined ? {} : { clientContext: request.clientContext }),
    });
  }

  /** The runtime asks for an event: the first time, its Init phase is over. */
  #ready(): void {
    if (this.#state !== 'initializing') return;
    clearTimeout(this.#initTimer);
    this.#initDurationMs = performance.now() - this.#spawnedAt;
    this.#state = 'idle';
    if (this.#run) this.#handOut();
    else this.#stopMemoryWatch();
  }

  #answered(requestId: string, answer: RuntimeAnswer): void {
    const run = this.#run;
    if (!run || run.request.requestId !== requestId) return;
    clearTimeout(run.timer);
    const durationMs = performance.now() - (run.handedAt ?? performance.now());
    // The runtime wrote its output before it answered; what is still in the pipe is read in this turn of the
    // event loop, so the run's log is complete once it has passed.
    setImmediate(() => {
      void this.#finish(run, {
        outcome:
          answer.kind === 'response' ? { ok: true, body: answer.body } : { ok: false, error: answer.payload },
        durationMs,
      });
    });
  }

  #initFailed(payload: FunctionErrorPayload): void {
    clearTimeout(this.#initTimer);
    this.#initDurationMs = performance.now() - this.#spawnedAt;
    const run = this.#run;
    if (run) {
      setImmediate(
        () =>
          void this.#finish(run, {
            outcome: { ok: false, error: payload },
            durationMs: 0,
            status: 'error',
            reportErrorType: payload.errorType,
          }),
      );
    }
    void this.end('its Init phase failed');
  }

  #timedOut(): void {
    const run = this.#run;
    if (!run) return;
    const elapsedMs = performance.now() - (run.handedAt ?? this.#spawnedAt);
    run.sink.append(`${timeoutLogLine(run.request.requestId, elapsedMs, new Date(this.options.now()))}\n`);
    void this.#finish(run, {
      outcome: { ok: false, error: timeoutPayload(run.request.requestId, this.spec.timeoutSeconds) },
      durationMs: elapsedMs,
      status: 'timeout',
    });
    void this.end(`a run reached its timeout (${this.spec.timeoutSeconds} s)`);
  }

  #initTimedOut(): void {
    if (this.#state !== 'initializing') return;
    const run = this.#run;
    if (run) {
      run.sink.append(
        `${timeoutLogLine(run.request.requestId, performance.now() - this.#spawnedAt, new Date(this.options.now()))}\n`,
      );
      void this.#finish(run, {
        outcome: { ok: false, error: timeoutPayload(run.request.requestId, this.spec.timeoutSeconds) },
        durationMs: this.spec.timeoutSeconds * 1000,
        status: 'timeout',
      });
    }
    void this.end(`its Init phase did not end within ${INIT_LIMIT_MS / 1000} s + the timeout`);
  }

  async #finish(run: ActiveRun, result: Omit<RunResult, 'maxMemoryUsedMb'>): Promise<void> {
    if (this.#run !== run) return;
    this.#run = undefined;
    clearTimeout(run.timer);
    this.#runs += 1;
    this.#lastRunAt = this.options.now();
    await this.#sample();
    // Answered, the runtime asks for the next event: the environment is idle (a run that killed it is not).
    if (this.#state === 'busy') {
      this.#state = 'idle';
      this.#stopMemoryWatch();
    }
    const memorySizeMb = this.spec.memorySizeMb;
    // Killed at the limit, the sandbox reports the limit: the sample that caught it may be a little past it.
    const maxMemoryUsedMb = this.#overMemory ? memorySizeMb : this.#peakMb;
    const initDurationMs = this.#initReported ? undefined : this.#initDurationMs;
    this.#initReported = true;
    run.settle({
      ...result,
      durationMs: round2(result.durationMs),
      maxMemoryUsedMb,
      ...(initDurationMs === undefined ? {} : { initDurationMs: round2(initDurationMs) }),
    });
  }

  async #sample(): Promise<void> {
    const pid = this.#child?.pid;
    if (pid === undefined || this.#state === 'ended') return;
    const reading = await this.options.memory.read(pid);
    if (!reading) return;
    this.#rssMb = reading.rssMb;
    this.#peakMb = Math.max(this.#peakMb, reading.peakMb, reading.rssMb);
  }

  /** Samples the resident set while the process starts or runs (an idle one allocates nothing on its own). */
  #watchMemory(): void {
    if (this.#memoryTimer !== undefined) return;
    const tick = async (): Promise<void> => {
      await this.#sample();
      if (this.#rssMb !== undefined && this.#rssMb > this.spec.memorySizeMb && !this.#overMemory) {
        this.#overMemory = true;
        this.#child?.kill('SIGKILL');
      }
    };
    this.#memoryTimer = setInterval(() => void tick(), this.options.memory.sampleEveryMs);
    this.#memoryTimer.unref();
  }

  #stopMemoryWatch(): void {
    clearInterval(this.#memoryTimer);
    this.#memoryTimer = undefined;
  }

  #processGone(code: number | null, signal: NodeJS.Signals | null, error?: string): void {
    this.#markExited();
    const run = this.#run;
    if (run && this.#state !== 'ended') {
      const requestId = run.request.requestId;
      const started = run.handedAt ?? this.#spawnedAt;
      // Whatever the process wrote before it died is read before the run's log is closed.
      setImmediate(() => {
        const failure: Omit<RunResult, 'maxMemoryUsedMb'> = this.#overMemory
          ? {
              outcome: { ok: false, error: outOfMemoryPayload(requestId) },
              durationMs: performance.now() - started,
              status: 'error',
              reportErrorType: 'Runtime.OutOfMemory',
            }
          : {
              outcome: { ok: false, error: exitPayload(requestId, code, signal) },
              durationMs: performance.now() - started,
              status: 'error',
              reportErrorType: 'Runtime.ExitError',
            };
        void this.#finish(run, failure);
      });
    }
    const why = this.#overMemory
      ? `its process went past ${this.spec.memorySizeMb} MB and was killed`
      : error !== undefined
        ? `its process could not run (${error})`
        : `its runtime exited (${signal ?? `exit status ${code}`})`;
    void this.end(why);
  }

  /** Ends the environment: kills the process if it is alive, frees its Runtime API port and its TMPDIR. */
  async end(reason: string): Promise<void> {
    if (this.#state === 'ended') return this.#exited;
    this.#state = 'ended';
    this.#endedAt = this.options.now();
    this.#endReason = reason;
    clearTimeout(this.#initTimer);
    this.#stopMemoryWatch();
    const child = this.#child;
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    else this.#markExited();
    await this.#exited;
    this.#server?.closeAllConnections();
    this.#server?.close();
    await rm(this.options.tmpDir, { recursive: true, force: true }).catch(() => undefined);
    this.options.ended(this);
  }
}
