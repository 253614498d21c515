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
import { runtimeGoneReason, runtimeGoneResult, timeoutLogLine, timeoutPayload } from './environment-errors';
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
import { PROCESS_LIMIT, RuntimeGroup } from './runtime-group';
import { spawnRuntime } from './runtime-process';
import { readStream, type StreamedRun, streamedOutcome } from './streamed-run';
import type { FunctionErrorPayload } from '../model/outcomes';

/** Lambda's limit on the Init phase; past it, the init is tried once more within the first run's timeout. */
export const INIT_LIMIT_MS = 10_000;

/** One runtime process and the Runtime API it talks to. */
interface Runtime {
  readonly child: ChildProcess;
  /** The runtime's process group: everything the function starts, frozen, counted and killed together. */
  readonly group: RuntimeGroup;
  readonly server: Server;
  readonly api: RuntimeApi;
  readonly spawnedAt: number;
  readonly exited: Promise<void>;
  ready: boolean;
  initTimer: NodeJS.Timeout | undefined;
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
  /** A response the runtime streams, while it is read. */
  streamed?: StreamedRun;
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
      rssMb: runtime?.group.rssMb === undefined ? undefined : Math.round(runtime.group.rssMb),
      processes: runtime?.group.last?.processes,
      frozen: runtime?.group.frozen ?? false,
      maxMemoryUsedMb: runtime && runtime.group.peakMb > 0 ? Math.round(runtime.group.peakMb) : undefined,
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
      waiting: () => served.runtime && this.#waiting(served.runtime),
      streamStarted: (requestId, response) => {
        const run = this.#run;
        if (run?.request.requestId === requestId && served.runtime === this.#runtime)
          run.streamed = readStream(run.request, response);
        else void response.discard();
      },
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
      group: new RuntimeGroup(child, options.memory),
      server,
      api,
      spawnedAt: performance.now(),
      exited,
      ready: false,
      initTimer: undefined,
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
    // Lambda's 10 s apply to an Init phase of its own; one within a run (suppressed init) has the run's timeout.
    if (this.#run?.startedAt === undefined) {
      started.initTimer = setTimeout(() => this.#initTimedOut(started), options.initLimitMs ?? INIT_LIMIT_MS);
    }
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
        this.#startWithin(run);
      }
      // A runtime still in its first Init phase takes the event when it first asks for one (#ready).
    });
  }

  #startWithin(run: ActiveRun): void {
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
    runtime.group.thaw();
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

  /** The runtime asks for an event and none is there: it has answered (or started), so Lambda freezes it. */
  #waiting(runtime: Runtime): void {
    if (runtime === this.#runtime && this.options.freeze !== false) runtime.group.freeze();
  }

  #answered(runtime: Runtime, requestId: string, answer: RuntimeAnswer): void {
    const run = this.#run;
    if (!run || run.request.requestId !== requestId || runtime !== this.#runtime) return;
    clearTimeout(run.timer);
    const durationMs = performance.now() - (run.startedAt ?? performance.now());
    // The runtime flushed its output before it answered; what is still in the pipe is read in this turn of the
    // event loop, so the run's log is complete once it has passed.
    setImmediate(() => {
      void (async () =>
        this.#finish(run, {
          outcome: run.streamed
            ? await streamedOutcome(run.streamed, answer)
            : answer.kind === 'error'
              ? { ok: false, error: answer.payload }
              : { ok: true, body: answer.kind === 'response' ? answer.body : '' },
          durationMs,
        }))();
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

  /**
   * Lambda's suppressed init: an Init phase past its limit ends, and the init is tried again within the first run,
   * under the function's timeout; that run's Duration holds it, its REPORT has no Init Duration.
   */
  #initTimedOut(runtime: Runtime): void {
    if (runtime.ready || runtime !== this.#runtime) return;
    this.#initReported = true;
    this.#reset(`its Init phase did not end within ${(this.options.initLimitMs ?? INIT_LIMIT_MS) / 1000} s`);
    const run = this.#run;
    if (run) this.#startWithin(run);
  }

  async #finish(run: ActiveRun, result: Omit<RunResult, 'maxMemoryUsedMb'>): Promise<void> {
    if (this.#run !== run) return;
    this.#run = undefined;
    clearTimeout(run.timer);
    this.#runs += 1;
    this.#lastRunAt = this.options.now();
    const runtime = run.runtime ?? this.#runtime;
    if (runtime) await runtime.group.sample();
    // Answered, the runtime asks for the next event: the environment is idle (a failed run has reset it).
    if (this.#state === 'busy') {
      this.#state = 'idle';
      if (runtime) this.#stopMemoryWatch(runtime);
    }
    // Killed at the limit, the sandbox reports the limit: the sample that caught it may be a little past it.
    const maxMemoryUsedMb =
      result.reportErrorType === 'Runtime.OutOfMemory'
        ? this.spec.memorySizeMb
        : (runtime?.group.peakMb ?? 0);
    const initDurationMs = this.#initReported ? undefined : this.#initDurationMs;
    this.#initReported = true;
    run.settle({
      ...result,
      durationMs: round2(result.durationMs),
      maxMemoryUsedMb: round2(maxMemoryUsedMb),
      ...(initDurationMs === undefined ? {} : { initDurationMs: round2(initDurationMs) }),
    });
  }

  /**
   * Samples the group while the runtime starts or runs (a frozen one allocates nothing); past the memory size, or
   * past Lambda's process and thread quota (which Lambda enforces by failing the fork, offline by ending the
   * runtime), the whole group is killed.
   */
  #watchMemory(runtime: Runtime): void {
    runtime.group.watch(this.spec.memorySizeMb, this.options.processLimit ?? PROCESS_LIMIT);
  }

  #stopMemoryWatch(runtime: Runtime): void {
    runtime.group.stopWatch();
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
      const result = runtimeGoneResult(runtime.group.killedFor, requestId, code, signal, durationMs);
      setImmediate(() => void this.#finish(run, result));
    }
    if (runtime !== this.#runtime || this.#state === 'ended') return;
    const why = runtimeGoneReason(runtime.group.killedFor, {
      memorySizeMb: this.spec.memorySizeMb,
      processLimit: this.options.processLimit ?? PROCESS_LIMIT,
      code,
      signal,
      error,
    });
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
    runtime.group.kill();
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
      runtime.group.kill();
      await runtime.exited;
    }
    await rm(this.options.tmpDir, { recursive: true, force: true }).catch(() => undefined);
    this.options.ended(this);
  }
}
