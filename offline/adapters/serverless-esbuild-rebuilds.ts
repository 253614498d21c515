/**
 * serverless-esbuild's rebuilds in offline, made exact and quiet. Its watcher calls the plugin's bundle() once per
 * file event, and bundle() asks each esbuild context to rebuild; esbuild answers a rebuild asked for while one is
 * under way with that build's result, so a save landing during a build was never built and the stack went on
 * running the code before it, silently (and one save can be two events: the truncation, then the write). Here
 * bundle() goes through a RebuildQueue: one build at a time; events during a build or within QUIET_MS of each other
 * make one more build, which reads every save so far; and serverless-offline's functionsUpdated (the stack's
 * reload) is sent once per build, and not at all for a build that a newer one already supersedes. Patched on the
 * plugin instance, for the pinned serverless-esbuild only.
 */
import { requireVersion } from './package-version';

const WRITTEN_FOR = '1.57.2';

/**
 * Events this close together are one build: a save's truncate-and-write, a format-on-save, a quick second save
 * (three saves 40 ms apart are one build and one reload). It is what every save waits before its build starts:
 * at 50 ms, the watcher's jitter split three saves into two reloads in some runs; 75 ms held in every bench run.
 */
const QUIET_MS = 75;

interface Deferred {
  readonly promise: Promise<void>;
  resolve(): void;
  reject(error: unknown): void;
}

function deferred(): Deferred {
  let resolve: () => void = () => undefined;
  let reject: (error: unknown) => void = () => undefined;
  const promise = new Promise<void>((done, fail) => {
    resolve = done;
    reject = fail;
  });
  return { promise, resolve, reject };
}

/**
 * Builds on request, one at a time: a request is answered by the first build that starts after it (after QUIET_MS
 * without a further request), so the build that answers it has read the sources as they were when it was made.
 */
export class RebuildQueue {
  #running = false;
  #next: Deferred | undefined;
  #quiet: ReturnType<typeof setTimeout> | undefined;
  #builds = 0;
  #notified = 0;

  constructor(
    private readonly build: () => Promise<void>,
    private readonly quietMs: number = QUIET_MS,
  ) {}

  request(): Promise<void> {
    this.#next ??= deferred();
    clearTimeout(this.#quiet);
    this.#quiet = setTimeout(() => {
      this.#quiet = undefined;
      this.#start();
    }, this.quietMs);
    return this.#next.promise;
  }

  /** Whether the stack should hear of the last build: once each, and not when a newer build is already asked for. */
  shouldNotify(): boolean {
    if (this.#next !== undefined || this.#notified === this.#builds) return false;
    this.#notified = this.#builds;
    return true;
  }

  #start(): void {
    const answered = this.#next;
    if (this.#running || answered === undefined || this.#quiet !== undefined) return;
    this.#next = undefined;
    this.#running = true;
    this.build().then(
      () => this.#settled(() => answered.resolve()),
      (error: unknown) => this.#settled(() => answered.reject(error)),
    );
  }

  #settled(answer: () => void): void {
    this.#running = false;
    this.#builds += 1;
    answer();
    this.#start();
  }
}

interface EsbuildPlugin {
  bundle(): Promise<void>;
  notifyServerlessOffline(): void;
}

function isEsbuildPlugin(plugin: object): plugin is EsbuildPlugin {
  const candidate = plugin as Partial<Record<keyof EsbuildPlugin, unknown>>;
  return (
    plugin.constructor.name === 'EsbuildServerlessPlugin' &&
    typeof candidate.bundle === 'function' &&
    typeof candidate.notifyServerlessOffline === 'function'
  );
}

/** Routes serverless-esbuild's offline rebuilds through a RebuildQueue; nothing without serverless-esbuild. */
export function queueRebuilds(plugins: readonly object[]): RebuildQueue | undefined {
  const plugin = plugins.find(isEsbuildPlugin);
  if (plugin === undefined) return undefined;
  requireVersion('serverless-esbuild', WRITTEN_FOR, "The offline stack's rebuild queue");
  const build = plugin.bundle.bind(plugin);
  const notify = plugin.notifyServerlessOffline.bind(plugin);
  const queue = new RebuildQueue(build);
  plugin.bundle = () => queue.request();
  plugin.notifyServerlessOffline = () => {
    if (queue.shouldNotify()) notify();
  };
  return queue;
}
