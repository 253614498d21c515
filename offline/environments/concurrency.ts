/**
 * Concurrency as Lambda counts it: the runs under way of a function, one per execution environment. A function
 * with reservedConcurrency takes no more than that many at once; a run past it is throttled (a sync call gets
 * 429 TooManyRequestsException, an async event is retried by its queue). This is the one place that decides it.
 */

/** A run's hold on one unit of its function's concurrency. */
export interface ConcurrencySlot {
  /** Runs of the function under way with this one, itself included: ConcurrentExecutions. */
  readonly concurrent: number;
  release(): void;
}

export class Concurrency {
  readonly #running = new Map<string, number>();

  constructor(private readonly reserved: ReadonlyMap<string, number>) {}

  /** A slot for one run, or undefined when the function is at its reserved concurrency (throttled). */
  acquire(functionKey: string): ConcurrencySlot | undefined {
    const running = this.running(functionKey);
    const limit = this.reserved.get(functionKey);
    if (limit !== undefined && running >= limit) return undefined;
    this.#running.set(functionKey, running + 1);
    let released = false;
    return {
      concurrent: running + 1,
      release: () => {
        if (released) return;
        released = true;
        this.#running.set(functionKey, this.running(functionKey) - 1);
      },
    };
  }

  running(functionKey: string): number {
    return this.#running.get(functionKey) ?? 0;
  }

  reservedConcurrency(functionKey: string): number | undefined {
    return this.reserved.get(functionKey);
  }
}
