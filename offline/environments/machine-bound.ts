/**
 * The machine's bound under Lambda's concurrency: at most `max` execution environments alive at once
 * (LAMBDA_MAX_ENVIRONMENTS, or a default from this machine's cores and free memory and the functions' memory
 * sizes). AWS would start an environment for every concurrent run; a laptop cannot (1,000 `node` processes take
 * gigabytes and minutes), so a run past the bound waits here, first come first served, for an environment of its
 * function to be free or for room to start one. The wait is not Lambda's: it is neither Duration nor Init
 * Duration (both start once the run has its environment), and it is no throttle (nothing is refused).
 */
import { availableParallelism, freemem } from 'node:os';

/** What the default is derived from. */
export interface MachineFacts {
  readonly cores: number;
  readonly freeMemoryMb: number;
}

export function machineFacts(): MachineFacts {
  return { cores: availableParallelism(), freeMemoryMb: Math.floor(freemem() / 1024 / 1024) };
}

/**
 * Environments per core (at least two): each run also costs the stack's own process (HTTP, Runtime API, logs), so
 * more environments than cores only contend for them. Measured on 2 cores, 1,000 concurrent hello invokes: 2
 * environments answered in 4.2 s, 4 in 6.3 s, 8 in 13.6 s, 1 in 11.9 s (bench/README.md, the concurrent section).
 */
const ENVIRONMENTS_PER_CORE = 1;

/** Share of the free memory the environments may take, each counted at its function's full memory size. */
const MEMORY_SHARE = 0.5;

/** The default bound and the sentence that says where it comes from (printed at start). */
export function defaultMaxEnvironments(
  facts: MachineFacts,
  memorySizesMb: readonly number[],
): { readonly max: number; readonly why: string } {
  const largest = Math.max(128, ...memorySizesMb);
  const byCores = Math.max(2, facts.cores * ENVIRONMENTS_PER_CORE);
  const byMemory = Math.floor((facts.freeMemoryMb * MEMORY_SHARE) / largest);
  const max = Math.max(1, Math.min(byCores, byMemory));
  const limit = byCores <= byMemory ? 'one per core, at least 2' : 'half the free memory';
  return {
    max,
    why: `${limit}: ${facts.cores} cores, ${facts.freeMemoryMb} MB free, functions of up to ${largest} MB`,
  };
}

interface Waiter {
  readonly functionKey: string;
  readonly since: number;
  /** Tries to serve the run: its environment (or the promise of one), or undefined when there is no room yet. */
  readonly attempt: () => unknown;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

/** A log line at most this often when runs start waiting again (a busy machine would say it every few ms). */
const WAITING_LOG_EVERY_MS = 5_000;

export interface MachineBoundView {
  /** Environments alive (or starting) at most at once; null when there is no bound. */
  readonly maxEnvironments: number | null;
  readonly alive: number;
  /** Runs waiting for the machine, first come first served. */
  readonly waiting: number;
}

export class MachineBound {
  /** Environments alive or starting: each holds one unit from its start until it has ended. */
  #held = 0;
  readonly #queue: Waiter[] = [];
  /** The current stretch of waiting runs: when it began, how many waited, the longest wait. */
  #episode: { since: number; waited: number; longestMs: number; logged: boolean } | undefined;
  #lastLoggedAt = -Infinity;

  constructor(
    readonly max: number,
    private readonly log: (message: string) => void = () => undefined,
    private readonly now: () => number = Date.now,
  ) {}

  view(): MachineBoundView {
    return {
      maxEnvironments: Number.isFinite(this.max) ? this.max : null,
      alive: this.#held,
      waiting: this.#queue.length,
    };
  }

  /**
   * Serves a run as soon as `attempt` can: at once when nobody waits before it and it succeeds, else when the
   * runs before it have been served and room is made (`give`, `changed`).
   */
  wait<T>(functionKey: string, attempt: () => T | undefined): Promise<T> {
    if (this.#queue.length === 0) {
      const served = attempt();
      if (served !== undefined) return Promise.resolve(served);
    }
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({
        functionKey,
        since: this.now(),
        attempt,
        resolve: resolve as (value: unknown) => void,
        reject,
      });
      this.#opened();
    });
  }

  /** One unit for a new environment, or false when the machine is at its bound. */
  take(): boolean {
    if (this.#held >= this.max) return false;
    this.#held += 1;
    return true;
  }

  /** An environment has ended (or never started): its unit is free for a waiting run. */
  give(): void {
    this.#held = Math.max(0, this.#held - 1);
    this.changed();
  }

  /** An environment became idle (or room was made otherwise): the runs waiting are tried again, in order. */
  changed(): void {
    while (this.#queue.length > 0) {
      const head = this.#queue[0] as Waiter;
      let served: unknown;
      try {
        served = head.attempt();
      } catch (error) {
        this.#queue.shift();
        head.reject(error);
        continue;
      }
      if (served === undefined) return;
      this.#queue.shift();
      this.#served(head);
      head.resolve(served);
    }
    this.#closed();
  }

  /** The stack is stopping: every waiting run is told so. */
  rejectAll(error: Error): void {
    for (const waiter of this.#queue.splice(0)) waiter.reject(error);
    this.#episode = undefined;
  }

  #opened(): void {
    if (this.#episode) return;
    const now = this.now();
    const logged = now - this.#lastLoggedAt >= WAITING_LOG_EVERY_MS;
    this.#episode = { since: now, waited: 0, longestMs: 0, logged };
    if (!logged) return;
    this.#lastLoggedAt = now;
    this.log(
      `runs are waiting for the machine, not throttled: ${this.#held} environments alive, the most this machine ` +
        `keeps (LAMBDA_MAX_ENVIRONMENTS=${this.max}); each run gets the next free environment, first come first served`,
    );
  }

  #served(waiter: Waiter): void {
    if (!this.#episode) return;
    this.#episode.waited += 1;
    this.#episode.longestMs = Math.max(this.#episode.longestMs, this.now() - waiter.since);
  }

  #closed(): void {
    const episode = this.#episode;
    if (!episode || this.#queue.length > 0) return;
    this.#episode = undefined;
    if (!episode.logged) return;
    this.log(
      `no run waits for the machine any more: ${episode.waited} waited, the longest ${Math.round(episode.longestMs)} ms ` +
        `(not part of their Duration or Init Duration)`,
    );
  }
}
