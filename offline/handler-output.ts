/**
 * Each handler run, as Lambda logs it: `START` before, the function's own output, `END` and `REPORT` after, written
 * to the offline output and kept per invocation (InvocationLogs). serverless-offline runs a Node.js handler in a
 * worker thread of its own (one run at a time per worker), whose stdout/stderr Node pipes into this process: the
 * worker is tied to the run that created it (process 'worker' event inside the run's async context), and whatever
 * it writes while a run of it is under way belongs to that run.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Worker } from 'node:worker_threads';
import { functionErrorPayload } from './destination-record';
import { type InvocationCapture, InvocationLogs, logTail } from './invocation-logs';

interface WorkerSink {
  current: InvocationCapture | undefined;
  lastDataAt: number;
  onlineAt: number | undefined;
}

interface ActiveRun {
  readonly requestId: string;
  readonly runner: object;
  readonly capture: InvocationCapture;
  readonly startedAt: number;
}

const MIB = 1024 * 1024;
/** When each run's handler returned (before its last output had arrived): the end of its Duration. */
const returnedAt = new WeakMap<InvocationCapture, number>();
/** After a handler returns, how long its worker's last lines may keep arriving (worker stdio is asynchronous). */
const OUTPUT_SETTLE_MS = 200;
const OUTPUT_QUIET_MS = 8;

export class HandlerOutput {
  readonly logs: InvocationLogs;
  readonly #active = new AsyncLocalStorage<ActiveRun>();
  /** The worker of each serverless-offline LambdaFunction that has one. */
  readonly #sinks = new WeakMap<object, WorkerSink>();
  readonly #ran = new WeakSet<object>();
  readonly #onWorker = (worker: Worker): void => this.#bind(worker);

  constructor(
    private readonly write: (text: string) => void,
    logs: InvocationLogs = new InvocationLogs(),
  ) {
    this.logs = logs;
  }

  install(): void {
    process.on('worker', this.#onWorker);
  }

  uninstall(): void {
    process.off('worker', this.#onWorker);
  }

  /** The request id of the run under way in this async context (serverless-offline's LambdaContext takes it). */
  requestId(): string | undefined {
    return this.#active.getStore()?.requestId;
  }

  /**
   * Runs one invocation of `runner` (a serverless-offline LambdaFunction) between START and END/REPORT. Returns
   * what `run` returns; the log is in `logs` under `requestId` once this settles, either way.
   */
  async run<T>(
    runner: object,
    invocation: { functionKey: string; requestId: string; memorySizeMb: number },
    run: () => Promise<T>,
  ): Promise<T> {
    const cold = !this.#ran.has(runner);
    this.#ran.add(runner);
    const capture = this.logs.begin(invocation.functionKey, invocation.requestId, Date.now());
    this.write(`${capture.entry.lines[0]}\n`);
    const sink = this.#sinks.get(runner);
    if (sink) sink.current = capture;
    const startedAt = performance.now();
    let failure: { error: unknown } | undefined;
    let rssMax = process.memoryUsage.rss();
    try {
      return await this.#active.run({ requestId: invocation.requestId, runner, capture, startedAt }, run);
    } catch (error) {
      failure = { error };
      throw error;
    } finally {
      const workerSink = this.#sinks.get(runner);
      if (workerSink?.current === capture) workerSink.current = undefined;
      const endedAt = returnedAt.get(capture) ?? performance.now();
      rssMax = Math.max(rssMax, process.memoryUsage.rss());
      if (failure) {
        // The Node.js runtime's own line for an error the handler throws, after the handler's output.
        const { errorType, errorMessage, trace } = functionErrorPayload(failure.error);
        const line = `${new Date().toISOString()}\t${invocation.requestId}\tERROR\tInvoke Error \t${JSON.stringify({ errorType, errorMessage, stack: trace })}`;
        capture.append(`${line}\n`);
        this.write(`${line}\n`);
      }
      // Cold start: the worker thread's start-up, measured until it runs JavaScript (its 'online' event).
      const initDurationMs =
        cold && workerSink?.onlineAt !== undefined && workerSink.onlineAt >= startedAt
          ? workerSink.onlineAt - startedAt
          : undefined;
      const added = capture.finish({
        durationMs: Math.max(0, endedAt - startedAt - (initDurationMs ?? 0)),
        memorySizeMb: invocation.memorySizeMb,
        maxMemoryUsedMb: rssMax / MIB,
        ...(initDurationMs === undefined ? {} : { initDurationMs }),
      });
      this.write(added.map((line) => `${line}\n`).join(''));
    }
  }

  /** `LogType: Tail`: base64 of the last 4 KB of that invocation's log. */
  tail(requestId: string): string | undefined {
    const [entry] = this.logs.entries({ requestId, limit: 1 });
    return entry ? logTail(entry.lines) : undefined;
  }

  /**
   * Called as the handler's runner returns, while serverless-offline still counts the run as busy (so no other run
   * can take its worker yet): waits until the worker's output of this run has arrived. A worker's stdout is
   * asynchronous: its first write is posted at once, later ones wait in the worker until this side has taken the
   * previous batch, and stdout and stderr travel apart from the result, so a handler's lines can arrive after its
   * result: this waits until the worker has been quiet for OUTPUT_QUIET_MS since the handler returned or its last
   * line came (at most OUTPUT_SETTLE_MS).
   */
  async handlerReturned(): Promise<void> {
    const run = this.#active.getStore();
    if (!run) return;
    returnedAt.set(run.capture, performance.now());
    const sink = this.#sinks.get(run.runner);
    if (!sink) return;
    const returned = performance.now();
    const deadline = returned + OUTPUT_SETTLE_MS;
    const lastActivity = (): number => Math.max(returned, sink.lastDataAt);
    while (performance.now() - lastActivity() < OUTPUT_QUIET_MS && performance.now() < deadline) {
      await sleep(OUTPUT_QUIET_MS - (performance.now() - lastActivity()));
    }
  }

  #bind(worker: Worker): void {
    const run = this.#active.getStore();
    if (!run) return;
    const sink: WorkerSink = { current: run.capture, lastDataAt: 0, onlineAt: undefined };
    this.#sinks.set(run.runner, sink);
    worker.once('online', () => {
      sink.onlineAt = performance.now();
    });
    const take = (chunk: Buffer | string): void => {
      sink.lastDataAt = performance.now();
      sink.current?.append(chunk.toString());
    };
    worker.stdout.on('data', take);
    worker.stderr.on('data', take);
  }
}
