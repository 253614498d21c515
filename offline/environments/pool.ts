/**
 * The execution environments of every function, as Lambda keeps them: a run takes an idle environment of its
 * function (the most recently used, so that a burst's extra environments are the ones left to end) or starts a
 * new one (a cold start); after the run the environment waits, idle, for the next; one left idle for `idleMs` is
 * ended. After a code change every environment is replaced: idle ones end at once, busy ones after their run.
 * Past the machine's bound (machine-bound.ts) a run waits for an environment; an idle one of another function is
 * ended to make room.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type EnvironmentView,
  ExecutionEnvironment,
  type FunctionSpec,
  logStreamName,
  type OutputSink,
} from './environment';
import { MachineBound, type MachineBoundView } from './machine-bound';
import type { ProcessMemory } from './process-memory';

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
  readonly #bound: MachineBound;
  /** Ended to make room for another function's environment, which took over its unit of the bound. */
  readonly #madeRoom = new Set<ExecutionEnvironment>();
  #stopped = false;

  constructor(private readonly options: PoolOptions) {
    this.#bound = new MachineBound(options.maxEnvironments ?? Infinity, options.log, options.now);
  }

  /** Removes what a previous stack left of its environments' TMPDIRs. */
  async prepare(): Promise<void> {
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
    return this.#bound.wait(functionKey, () => this.#tryAcquire(functionKey));
  }

  /** The machine's bound: how many environments may be alive, are, and how many runs wait for one. */
  machine(): MachineBoundView {
    return this.#bound.view();
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
      void leastUsed.end(
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
      void environment.end('the code changed');
      return;
    }
    // Most recently used last: the next run takes it, and the least used are the ones left idle to end.
    const live = this.#live.get(environment.spec.key) ?? [];
    live.splice(live.indexOf(environment), 1);
    live.push(environment);
    const timer = setTimeout(() => {
      this.#idleTimers.delete(environment);
      void environment.end(`idle for ${formatSeconds(this.options.idleMs)}`);
    }, this.options.idleMs);
    timer.unref();
    this.#idleTimers.set(environment, timer);
    this.#bound.changed();
  }

  /** The code changed: idle environments end now, busy ones after their run; new runs start new ones. */
  reload(): void {
    for (const environment of this.#all()) {
      if (this.#taken.has(environment)) this.#stale.add(environment);
      else void environment.end('the code changed');
    }
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
  }

  #all(): ExecutionEnvironment[] {
    return [...this.#live.values()].flat();
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
      `λ ${functionKey}: environment ${logStream} started (cold start, ${spec.memorySizeMb} MB)`,
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
  }
}

function lastUsed(environment: ExecutionEnvironment): number {
  return environment.view().lastRunAt ?? environment.startedAt;
}

function formatSeconds(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(ms % 1000 === 0 ? 0 : 1)} s` : `${Math.round(ms)} ms`;
}
