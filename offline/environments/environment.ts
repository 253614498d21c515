/**
 * One execution environment: a `node` process running the function's bundle behind its own Runtime API, as a
 * Lambda sandbox runs one runtime. It is started for a run that found no idle environment (a cold start: Init
 * Duration is the process start and the module load, until the runtime first asks for an event), then reused warm
 * (module scope and its own TMPDIR survive), one run at a time. The process runs with the heap flags Lambda's
 * Node.js runtime derives from the memory size, and it is killed when its resident set goes past that size (the
 * run fails with "signal: killed", REPORT's Error Type Runtime.OutOfMemory) or when a run reaches its timeout
 * (Sandbox.Timedout).
 *
 * A run that ends that way, or whose runtime exits, resets the environment as Lambda does: the runtime process is
 * gone (module scope with it), TMPDIR and the log stream stay, and the next run here starts a new runtime within
 * its own time ("suppressed init": no Init Duration of its own). See the lifecycle page of the Lambda developer
 * guide (invoke phase failures) and LocalStack's recording test_lambda_invoke_timed_out_environment_reuse.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdir, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import { performance } from 'node:perf_hooks';
import {
  exitPayload,
  exitReason,
  outOfMemoryPayload,
  timeoutLogLine,
  timeoutPayload,
} from './environment-errors';
import type {
  EnvironmentOptions,
  EnvironmentState,
  EnvironmentView,
  FunctionSpec,
  OutputSink,
  RunRequest,
  RunResult,
} from './environment-types';
import { RuntimeApi, type RuntimeAnswer, startRuntimeApiServer } from './runtime-api';
import { spawnRuntime } from './runtime-process';
import type { FunctionErrorPayload } from '../model/outcomes';

/** Lambda's limit on the Init phase; past it, the init is tried once more within the first run's timeout. */
export const INIT_LIMIT_MS = 10_000;

/** One runtime process and the Runtime API it talks to. */
interface Runtime {
  readonly child: ChildProcess;
  readonly server: Server;
  readonly api: RuntimeApi;
  readonly spawnedAt: number;
  readonly exited: Promise<void>;
  ready: boolean;
  killedForMemory: boolean;
  memoryTimer: NodeJS.Timeout | undefined;
  initTimer: NodeJS.Timeout | undefined;
  rssMb: number | undefined;
  peakMb: number;
}

interface ActiveRun {
  readonly request: RunRequest;
  readonly sink: OutputSink;
  readonly settle: (result: RunResult) => void;
  /** When the run's clock started: the handover to a ready runtime, or the run itself after a reset. */
  startedAt: number | undefined;
  timer: NodeJS.Timeout | undefined;
  /** The runtime the event went to (its memory is the run's Max Memory Used). */
  runtime: Runtime | undefined;
}

const round2 = (value: number): number => Math.round(value * 100) / 100;

/** `2026/12/04/[$LATEST]<32 hex>`: the log stream name Lambda gives an environment. */
export function logStreamName(startedAt: Date, id: string): string {
  return `${startedAt.toISOString().slice(0, 10).replaceAll('-', '/')}/[$LATEST]${id}`;
}

export class ExecutionEnvironment {
  readonly startedAt: number;
  #state: EnvironmentState = 'initializing';
  #runs = 0;
  #resets = 0;
  #lastRunAt: number | undefined;
  #initDurationMs: number | undefined;
  /** Init Duration goes in the REPORT of the environment's first run only. */
  #initReported = false;
  #endedAt: number | undefined;
  #endReason: string | undefined;
  #run: ActiveRun | undefined;
  #runtime: Runtime | undefined;
  /** The exit of the runtime a reset ended: a debugged function's next one reuses its inspector port. */
  #resetExit: Promise<void> = Promise.resolve();

  private constructor(
    readonly spec: FunctionSpec,
    readonly options: EnvironmentOptions,
  ) {
    this.startedAt = options.now();
  }

  /** Starts the runtime process; its Init phase goes on after this resolves (a run waits for it). */
  static async start(spec: FunctionSpec, options: EnvironmentOptions): Promise<ExecutionEnvironment> {
    const environment = new ExecutionEnvironment(spec, options);
    await mkdir(options.tmpDir, { recursive: true });
    await environment.#startRuntime();
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
    const runtime = this.#runtime;
    return {
      id: this.id,
      functionKey: this.spec.key,
      logStream: this.options.logStream,
      pid: runtime?.child.pid,
      state: this.#state,
      startedAt: this.startedAt,
      runs: this.#runs,
      resets: this.#resets,
      lastRunAt: this.#lastRunAt,
      initDurationMs: this.#initDurationMs === undefined ? undefined : round2(this.#initDurationMs),
      memorySizeMb: this.spec.memorySizeMb,
      rssMb: runtime?.rssMb === undefined ? undefined : Math.round(runtime.rssMb),
      maxMemoryUsedMb: runtime && runtime.peakMb > 0 ? Math.round(runtime.peakMb) : undefined,
      endedAt: this.#endedAt,
      endReason: this.#endReason,
      debugPort: this.spec.debugPort,
    };
  }

  async #startRuntime(): Promise<Runtime> {
    const { spec, options } = this;
    if (spec.debugPort !== undefined) await this.#resetExit;
    // The API answers for the runtime it serves, which exists once the process is spawned.
    const served: { runtime?: Runtime } = {};
    const api = new RuntimeApi({
      ready: () => served.runtime && this.#ready(served.runtime),
      answered: (requestId, answer) => served.runtime && this.#answered(served.runtime, requestId, answer),
      initFailed: (payload) => served.runtime && this.#initFailed(served.runtime, payload),
    });
    const server = await startRuntimeApiServer(api);
    const address = server.address();
    if (typeof address !== 'object' || address === null) throw new Error('the Runtime API has no address');
    const child = spawnRuntime(spec, options, address.port);
    let markExited: () => void = () => undefined;
    const exited = new Promise<void>((done) => {
      markExited = done;
    });
    const started: Runtime = {
      child,
      server,
      api,
      spawnedAt: performance.now(),
      exited,
      ready: false,
      killedForMemory: false,
      memoryTimer: undefined,
      initTimer: undefined,
      rssMb: undefined,
      peakMb: 0,
    };
    served.runtime = started;
    this.#runtime = started;
    // Decoded as UTF-8 across chunk boundaries (a chunk may end inside a character).
    child.stdout
      ?.setEncoding('utf8')
      .on('data', (text: string) => options.output(text, 'stdout', this.#run?.sink));
    child.stderr
      ?.setEncoding('utf8')
      .on('data', (text: string) => options.output(text, 'stderr', this.#run?.sink));
    child.once('error', (error) => {
      markExited();
      this.#runtimeGone(started, null, null, error.message);
    });
    child.once('exit', (code, signal) => {
      markExited();
      this.#runtimeGone(started, code, signal);
    });
    this.#watchMemory(started);
    started.initTimer = setTimeout(
      () => this.#initTimedOut(started),
      INIT_LIMIT_MS + spec.timeoutSeconds * 1000,
    );
    return started;
  }

  /**
   * Runs one event here: resolves with how the run ended, never rejects for the function's sake. The caller takes
   * an available environment and waits for this before the next run.
   */
  run(request: RunRequest, sink: OutputSink): Promise<RunResult> {
    if (!this.available) throw new Error(`environment ${this.id} is ${this.#state}`);
    return new Promise((settle) => {
      const run: ActiveRun = {
        request,
        sink,
        settle,
        startedAt: undefined,
        timer: undefined,
        runtime: undefined,
      };
      this.#run = run;
      const runtime = this.#runtime;
      if (runtime?.ready) {
        this.#handOut(runtime, run);
      } else if (runtime === undefined) {
        // Reset by a failed run: the runtime starts again within this run's own time and timeout.
        this.#state = 'busy';
        this.#startClock(run);
        this.#startRuntime().catch((error: unknown) =>
          this.#finish(run, {
            outcome: {
              ok: false,
              error: {
                errorType: 'Runtime.Unknown',
                errorMessage: `the runtime could not start: ${String(error)}`,
              },
            },
            durationMs: 0,
            status: 'error',
            reportErrorType: 'Runtime.Unknown',
          }),
        );
      }
      // A runtime still in its first Init phase takes the event when it first asks for one (#ready).
    });
  }

  #startClock(run: ActiveRun): void {
    run.startedAt = performance.now();
    run.timer = setTimeout(() => this.#timedOut(run), this.spec.timeoutSeconds * 1000);
  }

  /** Hands the event to a ready runtime; the run's clock starts here unless it already runs (after a reset). */
  #handOut(runtime: Runtime, run: ActiveRun): void {
    this.#state = 'busy';
    run.runtime = runtime;
    if (run.startedAt === undefined) this.#startClock(run);
    this.#watchMemory(runtime);
    const { request } = run;
    const elapsedMs = performance.now() - (run.startedAt ?? performance.now());
    runtime.api.assign({
      requestId: request.requestId,
      event: request.event,
      deadlineMs: Date.now() + this.spec.timeoutSeconds * 1000 - elapsedMs,
      invokedFunctionArn: request.invokedFunctionArn,
      traceId: request.traceId,
      ...(request.clientContext === undefined ? {} : { clientContext: request.clientContext }),
    });
  }

  /** The runtime asks for an event: the first time, its Init phase is over. */
  #ready(runtime: Runtime): void {
    if (runtime.ready || runtime !== this.#runtime) return;
    runtime.ready = true;
    clearTimeout(runtime.initTimer);
    if (this.#initDurationMs === undefined) this.#initDurationMs = performance.now() - runtime.spawnedAt;
    if (this.#state === 'initializing') this.#state = 'idle';
    const run = this.#run;
    if (run) this.#handOut(runtime, run);
    else this.#stopMemoryWatch(runtime);
  }

  #answered(runtime: Runtime, requestId: string, answer: RuntimeAnswer): void {
    const run = this.#run;
    if (!run || run.request.requestId !== requestId || runtime !== this.#runtime) return;
    clearTimeout(run.timer);
    const durationMs = performance.now() - (run.startedAt ?? performance.now());
    // The runtime flushed its output before it answered; what is still in the pipe is read in this turn of the
    // event loop, so the run's log is complete once it has passed.
    setImmediate(() => {
      void this.#finish(run, {
        outcome:
          answer.kind === 'response' ? { ok: true, body: answer.body } : { ok: false, error: answer.payload },
        durationMs,
      });
    });
  }

  #initFailed(runtime: Runtime, payload: FunctionErrorPayload): void {
    clearTimeout(runtime.initTimer);
    if (this.#initDurationMs === undefined) this.#initDurationMs = performance.now() - runtime.spawnedAt;
    const run = this.#run;
    if (!run) return;
    // The runtime exits after reporting: the environment is reset, and the next run tries the Init again.
    setImmediate(() =>
      this.#finish(run, {
        outcome: { ok: false, error: payload },
        durationMs: performance.now() - (run.startedAt ?? runtime.spawnedAt),
        status: 'error',
        reportErrorType: payload.errorType,
      }),
    );
  }

  #timedOut(run: ActiveRun): void {
    if (this.#run !== run) return;
    const elapsedMs = performance.now() - (run.startedAt ?? performance.now());
    run.sink.append(`${timeoutLogLine(run.request.requestId, elapsedMs, new Date(this.options.now()))}\n`);
    void this.#finish(run, {
      outcome: { ok: false, error: timeoutPayload(run.request.requestId, this.spec.timeoutSeconds) },
      durationMs: elapsedMs,
      status: 'timeout',
    });
    this.#reset(`a run reached its timeout (${this.spec.timeoutSeconds} s)`);
  }

  #initTimedOut(runtime: Runtime): void {
    if (runtime.ready || runtime !== this.#runtime) return;
    const run = this.#run;
    if (run) {
      const elapsedMs = performance.now() - (run.startedAt ?? runtime.spawnedAt);
      run.sink.append(`${timeoutLogLine(run.request.requestId, elapsedMs, new Date(this.options.now()))}\n`);
      void this.#finish(run, {
        outcome: { ok: false, error: timeoutPayload(run.request.requestId, this.spec.timeoutSeconds) },
        durationMs: elapsedMs,
        status: 'timeout',
      });
    }
    this.#reset(`its Init phase did not end within ${INIT_LIMIT_MS / 1000} s + the timeout`);
  }

  async #finish(run: ActiveRun, result: Omit<RunResult, 'maxMemoryUsedMb'>): Promise<void> {
    if (this.#run !== run) return;
    this.#run = undefined;
    clearTimeout(run.timer);
    this.#runs += 1;
    this.#lastRunAt = this.options.now();
    const runtime = run.runtime ?? this.#runtime;
    if (runtime) await this.#sample(runtime);
    // Answered, the runtime asks for the next event: the environment is idle (a failed run has reset it).
    if (this.#state === 'busy') {
      this.#state = 'idle';
      if (runtime) this.#stopMemoryWatch(runtime);
    }
    // Killed at the limit, the sandbox reports the limit: the sample that caught it may be a little past it.
    const maxMemoryUsedMb =
      result.reportErrorType === 'Runtime.OutOfMemory' ? this.spec.memorySizeMb : (runtime?.peakMb ?? 0);
    const initDurationMs = this.#initReported ? undefined : this.#initDurationMs;
    this.#initReported = true;
    run.settle({
      ...result,
      durationMs: round2(result.durationMs),
      maxMemoryUsedMb: round2(maxMemoryUsedMb),
      ...(initDurationMs === undefined ? {} : { initDurationMs: round2(initDurationMs) }),
    });
  }

  async #sample(runtime: Runtime): Promise<void> {
    const pid = runtime.child.pid;
    if (pid === undefined || runtime.child.exitCode !== null || runtime.child.signalCode !== null) return;
    const reading = await this.options.memory.read(pid);
    if (!reading) return;
    runtime.rssMb = reading.rssMb;
    runtime.peakMb = Math.max(runtime.peakMb, reading.peakMb, reading.rssMb);
  }

  /** Samples the resident set while the runtime starts or runs (an idle one allocates nothing on its own). */
  #watchMemory(runtime: Runtime): void {
    if (runtime.memoryTimer !== undefined) return;
    const tick = async (): Promise<void> => {
      await this.#sample(runtime);
      if (runtime.rssMb !== undefined && runtime.rssMb > this.spec.memorySizeMb && !runtime.killedForMemory) {
        runtime.killedForMemory = true;
        runtime.child.kill('SIGKILL');
      }
    };
    runtime.memoryTimer = setInterval(() => void tick(), this.options.memory.sampleEveryMs);
    runtime.memoryTimer.unref();
  }

  #stopMemoryWatch(runtime: Runtime): void {
    clearInterval(runtime.memoryTimer);
    runtime.memoryTimer = undefined;
  }

  /** The runtime process ended: the run under way fails as Lambda reports it, and the environment is reset. */
  #runtimeGone(runtime: Runtime, code: number | null, signal: NodeJS.Signals | null, error?: string): void {
    clearTimeout(runtime.initTimer);
    this.#stopMemoryWatch(runtime);
    runtime.server.closeAllConnections();
    runtime.server.close();
    const run = this.#run;
    if (run && runtime === this.#runtime) {
      const requestId = run.request.requestId;
      const durationMs = performance.now() - (run.startedAt ?? runtime.spawnedAt);
      // Whatever the process wrote before it died is read before the run's log is closed.
      setImmediate(() => {
        void this.#finish(
          run,
          runtime.killedForMemory
            ? {
                outcome: { ok: false, error: outOfMemoryPayload(requestId) },
                durationMs,
                status: 'error',
                reportErrorType: 'Runtime.OutOfMemory',
              }
            : {
                outcome: { ok: false, error: exitPayload(requestId, code, signal) },
                durationMs,
                status: 'error',
                reportErrorType: 'Runtime.ExitError',
              },
        );
      });
    }
    if (runtime !== this.#runtime || this.#state === 'ended') return;
    const why = runtime.killedForMemory
      ? `its runtime went past ${this.spec.memorySizeMb} MB and was killed`
      : error !== undefined
        ? `its runtime could not run (${error})`
        : exitReason(code, signal);
    this.#reset(why);
  }

  /** Ends the runtime and keeps the environment (TMPDIR, log stream): the next run starts a new runtime. */
  #reset(reason: string): void {
    const runtime = this.#runtime;
    if (!runtime || this.#state === 'ended') return;
    this.#runtime = undefined;
    this.#resetExit = runtime.exited;
    this.#resets += 1;
    this.#endReason = `reset: ${reason}`;
    if (runtime.child.exitCode === null && runtime.child.signalCode === null) runtime.child.kill('SIGKILL');
    if (this.#state === 'initializing') this.#state = 'idle';
  }

  /** Ends the environment: kills its runtime if there is one, frees its Runtime API port and its TMPDIR. */
  async end(reason: string): Promise<void> {
    if (this.#state === 'ended') return;
    this.#state = 'ended';
    this.#endedAt = this.options.now();
    this.#endReason = reason;
    const runtime = this.#runtime;
    if (runtime) {
      clearTimeout(runtime.initTimer);
      this.#stopMemoryWatch(runtime);
      if (runtime.child.exitCode === null && runtime.child.signalCode === null) runtime.child.kill('SIGKILL');
      await runtime.exited;
    }
    await rm(this.options.tmpDir, { recursive: true, force: true }).catch(() => undefined);
    this.options.ended(this);
  }
}
