/**
 * Concurrency as Lambda counts it: the runs under way of a function, one per execution environment, within the
 * account's concurrency (LAMBDA_ACCOUNT_CONCURRENCY, 1,000 by default as on AWS). A function with
 * reservedConcurrency has that many of the account's units to itself and never more; the functions without one
 * share what is left. A run past its function's reservation or past the shared rest is throttled: a sync call gets
 * 429 TooManyRequestsException with the Reason below, an async event is retried by its queue. This is the one
 * place that decides it (https://docs.aws.amazon.com/lambda/latest/dg/lambda-concurrency.html).
 * A debugged function (LAMBDA_DEBUG) runs one event at a time, as in LocalStack's debug mode: a run waits its turn
 * instead of being throttled, so that an event arriving while the debugger holds a run is neither refused nor
 * run in a second environment.
 */

/** AWS's default concurrency quota of an account in a region. */
export const DEFAULT_ACCOUNT_CONCURRENCY = 1000;

/**
 * Units of the account's concurrency AWS keeps unreserved: a reservation that would leave fewer is refused
 * (PutFunctionConcurrency's InvalidParameterValueException, recorded in LocalStack's
 * tests/aws/services/lambda_/test_lambda_api.snapshot.json, TestLambdaReservedConcurrency::
 * test_function_concurrency_limits). An account whose whole quota is smaller can reserve nothing.
 */
export const MINIMUM_UNRESERVED = 100;

/**
 * The Reason of a throttle's TooManyRequestsException (the Invoke API reference,
 * https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html): past a function's reservedConcurrency, or
 * past the account's unreserved concurrency for a function without one.
 */
export type ThrottleReason =
  'ReservedFunctionConcurrentInvocationLimitExceeded' | 'ConcurrentInvocationLimitExceeded';

/** A run's hold on one unit of its function's concurrency. */
export interface ConcurrencySlot {
  /** Runs of the function under way with this one, itself included: ConcurrentExecutions. */
  readonly concurrent: number;
  release(): void;
}

/** A run refused a unit of concurrency. */
export interface Throttle {
  readonly throttled: ThrottleReason;
}

/** The reservations of serverless.yml do not fit in the account's concurrency: the stack does not start. */
export class ReservedConcurrencyError extends Error {
  override name = 'ReservedConcurrencyError';
}

/** What AWS would refuse of these reservations, or undefined when it would take them. */
export function reservationProblem(
  reserved: ReadonlyMap<string, number>,
  accountLimit: number,
): string | undefined {
  const entries = [...reserved].filter(([, units]) => units > 0);
  const total = entries.reduce((sum, [, units]) => sum + units, 0);
  const minimum = Math.min(MINIMUM_UNRESERVED, accountLimit);
  if (accountLimit - total >= minimum) return undefined;
  const list = entries.map(([key, units]) => `${key} ${units}`).join(', ');
  return (
    `reservedConcurrency in serverless.yml (${list}) reserves ${total} of the account's ${accountLimit} ` +
    `(LAMBDA_ACCOUNT_CONCURRENCY) and leaves ${accountLimit - total} unreserved; AWS keeps at least ${minimum} ` +
    `unreserved and refuses it with "Specified ReservedConcurrentExecutions for function decreases account's ` +
    `UnreservedConcurrentExecution below its minimum value of [${minimum}]." Lower a reservation, or raise ` +
    `LAMBDA_ACCOUNT_CONCURRENCY to the quota of the account you deploy to.`
  );
}

export class Concurrency {
  readonly #running = new Map<string, number>();
  /** Runs under way of the functions without a reservation: they share the account's unreserved units. */
  #unreservedRunning = 0;
  readonly #unreservedLimit: number;
  /** The end of the last run that asked for a turn, per function run one at a time. */
  readonly #turns = new Map<string, Promise<void>>();

  /** Throws ReservedConcurrencyError when AWS would refuse the reservations. */
  constructor(
    private readonly reserved: ReadonlyMap<string, number>,
    readonly accountLimit = DEFAULT_ACCOUNT_CONCURRENCY,
    private readonly oneAtATime: ReadonlySet<string> = new Set(),
  ) {
    const problem = reservationProblem(reserved, accountLimit);
    if (problem !== undefined) throw new ReservedConcurrencyError(problem);
    this.#unreservedLimit = accountLimit - [...reserved.values()].reduce((sum, units) => sum + units, 0);
  }

  /** Whether runs of the function wait for each other (inTurn) rather than run side by side. */
  inTurns(functionKey: string): boolean {
    return this.oneAtATime.has(functionKey);
  }

  /** A slot once the runs that asked before have ended, or the throttle that refuses it. */
  async inTurn(functionKey: string): Promise<ConcurrencySlot | Throttle> {
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
    if (isThrottle(slot)) {
      ended();
      return slot;
    }
    return {
      concurrent: slot.concurrent,
      release: () => {
        slot.release();
        ended();
      },
    };
  }

  /** A slot for one run, or the throttle that refuses it. */
  acquire(functionKey: string): ConcurrencySlot | Throttle {
    const running = this.running(functionKey);
    const limit = this.reserved.get(functionKey);
    if (limit !== undefined) {
      if (running >= limit) return { throttled: 'ReservedFunctionConcurrentInvocationLimitExceeded' };
    } else if (this.#unreservedRunning >= this.#unreservedLimit) {
      return { throttled: 'ConcurrentInvocationLimitExceeded' };
    }
    this.#count(functionKey, limit === undefined, 1);
    let released = false;
    return {
      concurrent: running + 1,
      release: () => {
        if (released) return;
        released = true;
        this.#count(functionKey, limit === undefined, -1);
      },
    };
  }

  running(functionKey: string): number {
    return this.#running.get(functionKey) ?? 0;
  }

  reservedConcurrency(functionKey: string): number | undefined {
    return this.reserved.get(functionKey);
  }

  /** The units the functions without a reservation share: the account's limit less every reservation. */
  get unreservedLimit(): number {
    return this.#unreservedLimit;
  }

  #count(functionKey: string, unreserved: boolean, by: 1 | -1): void {
    this.#running.set(functionKey, this.running(functionKey) + by);
    if (unreserved) this.#unreservedRunning += by;
  }
}

export function isThrottle(hold: ConcurrencySlot | Throttle): hold is Throttle {
  return 'throttled' in hold;
}
