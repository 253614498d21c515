/**
 * Concurrency as Lambda counts it: the runs under way of a function, one per execution environment. A function
 * with reservedConcurrency takes no more than that many at once; a run past it is throttled (a sync call gets
 * 429 TooManyRequestsException, an async event is retried by its queue). This is the one place that decides it.
 * A debugged function (LAMBDA_DEBUG) runs one event at a time, as in LocalStack's debug mode: a run waits its turn
 * instead of being throttled, so that an event arriving while the debugger holds a run is neither refused nor
 * run in a second environment.
 */

/** A run's hold on one unit of its function's concurrency. */
export interface ConcurrencySlot {
  /** Runs of the function under way with this one, itself included: ConcurrentExecutions. */
  readonly concurrent: number;
  release(): void;
}

export class Concurrency {
  readonly #running = new Map<string, number>();
  /** The end of the last run that asked for a turn, per function run one at a time. */
  readonly #turns = new Map<string, Promise<void>>();

  constructor(
    private readonly reserved: ReadonlyMap<string, number>,
    private readonly oneAtATime: ReadonlySet<string> = new Set(),
  ) {}

  /** Whether runs of the function wait for each other (inTurn) rather than run side by side. */
  inTurns(functionKey: string): boolean {
    return this.oneAtATime.has(functionKey);
  }

  /** A slot once the runs that asked before have ended; undefined when reserved concurrency throttles it. */
  async inTurn(functionKey: string): Promise<ConcurrencySlot | undefined> {
    const previous = this.#turns.get(functionKey) ?? Promise.resolve();
    let ended: () => void = () => undefined;
    const mine = new Promise<void>((resolve) => {
      ended = resolve;
    });
    this.#turns.set(
      functionKey,
      previous.then(() => mine),
    );
    await previous;
    const slot = this.acquire(functionKey);
    if (!slot) {
      ended();
      return undefined;
    }
    return {
      concurrent: slot.concurrent,
      release: () => {
        slot.release();
        ended();
      },
    };
  }

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
