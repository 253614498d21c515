/**
 * The execution environments of every function, as Lambda keeps them: a run takes an idle environment of its
 * function (the most recently used, so that a burst's extra environments are the ones left to end) or starts a
 * new one (a cold start); after the run the environment waits, idle, for the next; one left idle for `idleMs` is
 * ended. After a code change every environment is replaced: idle ones end at once, busy ones after their run.
 * A debugged function (LAMBDA_DEBUG) keeps one environment for its debugger instead: started with the stack and
 * again whenever it ends (a code change), never ended for being idle, and never two at once (they share a port).
 * Past the machine's bound (machine-bound.ts) a run waits for an environment; an idle one of another function is
 * ended to make room.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ExecutionEnvironment, logStreamName } from './environment';
import type { EnvironmentView, FunctionSpec, OutputSink } from './environment-types';
import { MachineBound, type MachineBoundView } from './machine-bound';
import type { ProcessMemory } from './process-memory';
import { StackSandboxes } from './process-tree';

export interface PoolOptions {
  readonly functions: ReadonlyMap<string, FunctionSpec>;
  /** How long an environment stays idle before it is ended (LAMBDA_IDLE_SECONDS × the time scale). */
  readonly idleMs: number;
  /** Each environment's TMPDIR is a folder of this one; what a killed stack left here is removed at start. */
  readonly tmpRoot: string;
  readonly bootstrap: string;
  readonly hostVariables: Readonly<Record<string, string>>;
  readonly memory: ProcessMemory;
  /** At most this many environments alive at once (LAMBDA_MAX_ENVIRONMENTS); none by default. */
  readonly maxEnvironments?: number;
  /** Where the environments' output goes (the offline terminal), in whole lines. */
  write(stream: 'stdout' | 'stderr', text: string): void;
  log(message: string): void;
  newId(): string;
  now(): number;
}

/** How many ended environments the console still shows. */
const ENDED_KEPT = 50;

/** Passes a stream's output on in whole lines (a process writes chunks that may end mid-line). */
class LineBuffer {
  #partial = '';

  constructor(private readonly write: (text: string) => void) {}

  push(text: string): void {
    const end = text.lastIndexOf('\n');
    if (end === -1) {
      this.#partial += text;
      return;
    }
    this.write(this.#partial + text.slice(0, end + 1));
    this.#partial = text.slice(end + 1);
  }

  flush(): void {
    if (this.#partial !== '') this.write(`${this.#partial}\n`);
    this.#partial = '';
  }
}

export class EnvironmentPool {
  readonly #live = new Map<string, ExecutionEnvironment[]>();
  /** Taken for a run (or being started for one): not available to another. */
  readonly #taken = new Set<ExecutionEnvironment>();
  readonly #idleTimers = new Map<ExecutionEnvironment, NodeJS.Timeout>();
  /** Environments of code that has since changed: ended as soon as they are not running. */
  readonly #stale = new Set<ExecutionEnvironment>();
  readonly #ended: EnvironmentView[] = [];
  /** Environments being ended, until their runtime has exited (a debugged one frees its inspector port). */
  readonly #ending = new Map<ExecutionEnvironment, Promise<void>>();
  /** A debugged function's starts and acquisitions, one after another (one environment, one port). */
  readonly #debugTurns = new Map<string, Promise<unknown>>();
  readonly #bound: MachineBound;
  /** Ended to make room for another function's environment, which took over its unit of the bound. */
  readonly #madeRoom = new Set<ExecutionEnvironment>();
  #stopped = false;
  readonly #sandboxes: StackSandboxes;

  constructor(private readonly options: PoolOptions) {
    this.#sandboxes = new StackSandboxes(options.tmpRoot);
    this.#bound = new MachineBound(options.maxEnvironments ?? Infinity, options.log, options.now);
  }

  /** Ends the processes and removes the TMPDIRs a previous stack left of its environments. */
  async prepare(): Promise<void> {
    const left = this.#sandboxes.endLeftovers();
    if (left > 0) this.options.log(`λ ended ${left} environment process group(s) a stopped stack left`);
    this.#sandboxes.guard();
    await rm(this.options.tmpRoot, { recursive: true, force: true });
  }

  get functions(): ReadonlyMap<string, FunctionSpec> {
    return this.options.functions;
  }

  /**
   * An environment for one run of the function: an idle one, or a new one (cold start); at the machine's bound,
   * the first that frees up or the room an idle one of another function leaves.
   */
  async acquire(functionKey: string): Promise<ExecutionEnvironment> {
    if (this.#stopped) throw new Error('the offline stack is stopping');
    if (this.#debugged(functionKey)) {
      return this.#debugTurn(functionKey, async () => {
        await this.#endingOf(functionKey);
        return this.#fromBound(functionKey);
      });
    }
    return this.#fromBound(functionKey);
  }

  /** The machine's bound: how many environments may be alive, are, and how many runs wait for one. */
  machine(): MachineBoundView {
    return this.#bound.view();
  }

  async #fromBound(functionKey: string): Promise<ExecutionEnvironment> {
    return await this.#bound.wait(functionKey, () => this.#tryAcquire(functionKey));
  }

  #tryAcquire(functionKey: string): Promise<ExecutionEnvironment> | undefined {
    const idle = this.#idle(this.#live.get(functionKey) ?? []).at(-1);
    if (idle) {
      this.#take(idle);
      return Promise.resolve(idle);
    }
    if (!this.#bound.take()) {
      const others = [...this.#live].flatMap(([key, live]) => (key === functionKey ? [] : this.#idle(live)));
      const leastUsed = others.sort((a, b) => lastUsed(a) - lastUsed(b))[0];
      if (!leastUsed) return undefined;
      this.#madeRoom.add(leastUsed);
      this.#end(
        leastUsed,
        `ended to make room for ${functionKey} (LAMBDA_MAX_ENVIRONMENTS=${this.#bound.max})`,
      );
    }
    return this.#start(functionKey).catch((error: unknown) => {
      this.#bound.give();
      throw error;
    });
  }

  /** The environments of `live` free for a run, least recently used first. */
  #idle(live: readonly ExecutionEnvironment[]): ExecutionEnvironment[] {
    return live.filter(
      (environment) =>
        environment.available && !this.#taken.has(environment) && !this.#stale.has(environment),
    );
  }

  /** After a run: the environment waits for the next one, or ends (stale, or ended by the run). */
  release(environment: ExecutionEnvironment): void {
    this.#taken.delete(environment);
    if (environment.state === 'ended') return;
    if (this.#stale.has(environment) || this.#stopped) {
      this.#end(environment, 'the code changed');
      return;
    }
    // Most recently used last: the next run takes it, and the least used are the ones left idle to end.
    const live = this.#live.get(environment.spec.key) ?? [];
    live.splice(live.indexOf(environment), 1);
    live.push(environment);
    // A debugger stays attached to it, however long the developer is away.
    if (!this.#debugged(environment.spec.key)) {
      const timer = setTimeout(() => {
        this.#idleTimers.delete(environment);
        this.#end(environment, `idle for ${formatSeconds(this.options.idleMs)}`);
      }, this.options.idleMs);
      timer.unref();
      this.#idleTimers.set(environment, timer);
    }
    this.#bound.changed();
  }

  /** The code changed: idle environments end now, busy ones after their run; new runs start new ones. */
  reload(): void {
    for (const environment of this.#all()) {
      if (this.#taken.has(environment)) this.#stale.add(environment);
      else this.#end(environment, 'the code changed');
    }
  }

  /**
   * Starts the one environment of a debugged function ahead of its first run, so that a debugger can attach
   * before an event arrives; nothing if it has one, or the stack is stopping.
   */
  async prestart(functionKey: string): Promise<void> {
    await this.#debugTurn(functionKey, async () => {
      await this.#endingOf(functionKey);
      const live = this.#live.get(functionKey) ?? [];
      if (this.#stopped || live.some((environment) => environment.state !== 'ended')) return;
      this.release(await this.#fromBound(functionKey));
    });
  }

  /** Every live environment, then the recently ended ones, newest first. */
  list(): EnvironmentView[] {
    const live = this.#all().map((environment) => environment.view());
    live.sort((a, b) => b.startedAt - a.startedAt);
    return [...live, ...this.#ended];
  }

  /** Ends every environment (the stack is stopping). */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#bound.rejectAll(new Error('the offline stack is stopping'));
    await Promise.all(this.#all().map((environment) => environment.end('the offline stack stopped')));
    this.#sandboxes.release();
  }

  #all(): ExecutionEnvironment[] {
    return [...this.#live.values()].flat();
  }

  #debugged(functionKey: string): boolean {
    return this.options.functions.get(functionKey)?.debugPort !== undefined;
  }

  /** Runs `task` after the debugged function's earlier starts and acquisitions. */
  #debugTurn<T>(functionKey: string, task: () => Promise<T>): Promise<T> {
    const previous = this.#debugTurns.get(functionKey) ?? Promise.resolve();
    const turn = previous.then(task);
    this.#debugTurns.set(
      functionKey,
      turn.catch(() => undefined),
    );
    return turn;
  }

  #end(environment: ExecutionEnvironment, reason: string): void {
    const ending = environment.end(reason).finally(() => this.#ending.delete(environment));
    this.#ending.set(environment, ending);
  }

  /** Resolves once the function's environments being ended have exited. */
  async #endingOf(functionKey: string): Promise<void> {
    await Promise.all(
      [...this.#ending]
        .filter(([environment]) => environment.spec.key === functionKey)
        .map(([, ending]) => ending),
    );
  }

  #take(environment: ExecutionEnvironment): void {
    this.#taken.add(environment);
    clearTimeout(this.#idleTimers.get(environment));
    this.#idleTimers.delete(environment);
  }

  async #start(functionKey: string): Promise<ExecutionEnvironment> {
    const spec = this.options.functions.get(functionKey);
    if (!spec) throw new Error(`No function "${functionKey}" in serverless.yml.`);
    const id = this.options.newId().replaceAll('-', '');
    const logStream = logStreamName(new Date(this.options.now()), id);
    const buffers = {
      stdout: new LineBuffer((text) => this.options.write('stdout', text)),
      stderr: new LineBuffer((text) => this.options.write('stderr', text)),
    };
    const environment = await ExecutionEnvironment.start(spec, {
      id,
      logStream,
      tmpDir: join(this.options.tmpRoot, id),
      bootstrap: this.options.bootstrap,
      hostVariables: this.options.hostVariables,
      memory: this.options.memory,
      sandboxMark: this.#sandboxes.mark,
      // A stopped process stops its inspector too: a debugger attached to it would hang.
      freeze: spec.debugPort === undefined,
      now: this.options.now,
      output: (text: string, stream: 'stdout' | 'stderr', sink: OutputSink | undefined) => {
        buffers[stream].push(text);
        sink?.append(text);
      },
      ended: (ended) => {
        buffers.stdout.flush();
        buffers.stderr.flush();
        this.#forget(ended);
      },
    });
    const live = this.#live.get(functionKey) ?? [];
    live.push(environment);
    this.#live.set(functionKey, live);
    this.#take(environment);
    this.options.log(
      `λ ${functionKey}: environment ${logStream} started (cold start, ${spec.memorySizeMb} MB${spec.debugPort === undefined ? '' : `, debugger on 127.0.0.1:${spec.debugPort}`})`,
    );
    return environment;
  }

  #forget(environment: ExecutionEnvironment): void {
    const live = this.#live.get(environment.spec.key) ?? [];
    const index = live.indexOf(environment);
    if (index !== -1) live.splice(index, 1);
    clearTimeout(this.#idleTimers.get(environment));
    this.#idleTimers.delete(environment);
    this.#stale.delete(environment);
    this.#taken.delete(environment);
    if (!this.#madeRoom.delete(environment)) this.#bound.give();
    const view = environment.view();
    this.#ended.unshift(view);
    if (this.#ended.length > ENDED_KEPT) this.#ended.length = ENDED_KEPT;
    this.options.log(
      `λ ${view.functionKey}: environment ${view.logStream} ended: ${view.endReason ?? 'ended'} (${view.runs} run${view.runs === 1 ? '' : 's'})`,
    );
    // A debugged function gets its next environment at once, for the debugger to attach to again.
    if (this.#debugged(view.functionKey) && !this.#stopped) {
      this.prestart(view.functionKey).catch((error: unknown) =>
        this.options.log(`λ ${view.functionKey}: the debugged environment could not start: ${String(error)}`),
      );
    }
  }
}

function lastUsed(environment: ExecutionEnvironment): number {
  return environment.view().lastRunAt ?? environment.startedAt;
}

function formatSeconds(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(ms % 1000 === 0 ? 0 : 1)} s` : `${Math.round(ms)} ms`;
}
