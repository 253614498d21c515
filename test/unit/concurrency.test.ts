/**
 * Lambda's concurrency model offline (environments/concurrency.ts): reservations taken out of the account's
 * concurrency, the shared unreserved rest, the Reason of each throttle, and AWS's rule that at least 100 units stay
 * unreserved, checked when the stack starts.
 */
import { expect } from 'chai';
import {
  Concurrency,
  type ConcurrencySlot,
  isThrottle,
  ReservedConcurrencyError,
  reservationProblem,
} from '../../offline/environments/concurrency';

function slot(hold: ReturnType<Concurrency['acquire']>): ConcurrencySlot {
  if (isThrottle(hold)) throw new Error(`expected a slot, got a throttle (${hold.throttled})`);
  return hold;
}

describe('Concurrency', () => {
  it('lets a function without reservedConcurrency run up to the account limit at once, counting them', () => {
    const concurrency = new Concurrency(new Map());
    const slots = [1, 2, 3].map(() => slot(concurrency.acquire('fn')));
    expect(slots.map((held) => held.concurrent)).to.deep.equal([1, 2, 3]);
    slots[1]?.release();
    expect(concurrency.running('fn')).to.equal(2);
  });

  it('throttles a run past reservedConcurrency, and lets one in again once a run is over', () => {
    const concurrency = new Concurrency(new Map([['fn', 1]]));
    const first = slot(concurrency.acquire('fn'));
    expect(first.concurrent).to.equal(1);
    expect(concurrency.acquire('fn')).to.deep.equal({
      throttled: 'ReservedFunctionConcurrentInvocationLimitExceeded',
    });
    first.release();
    first.release();
    expect(concurrency.running('fn')).to.equal(0);
    expect(slot(concurrency.acquire('fn')).concurrent).to.equal(1);
  });

  it('throttles every run at reservedConcurrency 0', () => {
    expect(new Concurrency(new Map([['fn', 0]])).acquire('fn')).to.deep.equal({
      throttled: 'ReservedFunctionConcurrentInvocationLimitExceeded',
    });
  });

  it('shares the account limit among the functions without a reservation: ConcurrentInvocationLimitExceeded', () => {
    const concurrency = new Concurrency(new Map(), 3);
    const held = [
      slot(concurrency.acquire('a')),
      slot(concurrency.acquire('b')),
      slot(concurrency.acquire('a')),
    ];
    expect(concurrency.acquire('b')).to.deep.equal({ throttled: 'ConcurrentInvocationLimitExceeded' });
    held[0]?.release();
    expect(slot(concurrency.acquire('b')).concurrent).to.equal(2);
  });

  it('takes reservations out of the account limit: the others share what is left', () => {
    const concurrency = new Concurrency(new Map([['reserved', 150]]), 250);
    expect(concurrency.unreservedLimit).to.equal(100);
    for (let run = 0; run < 100; run += 1) slot(concurrency.acquire('other'));
    expect(concurrency.acquire('other')).to.deep.equal({ throttled: 'ConcurrentInvocationLimitExceeded' });
    // The reserved function's own units are still there for it, however busy the others are.
    for (let run = 0; run < 150; run += 1) slot(concurrency.acquire('reserved'));
    expect(concurrency.acquire('reserved')).to.deep.equal({
      throttled: 'ReservedFunctionConcurrentInvocationLimitExceeded',
    });
  });

  it("releases a reserved function's run from its own units, not from the shared ones", () => {
    const concurrency = new Concurrency(new Map([['reserved', 1]]), 101);
    const reservedRun = slot(concurrency.acquire('reserved'));
    const shared = Array.from({ length: 100 }, () => slot(concurrency.acquire('other')));
    reservedRun.release();
    expect(concurrency.acquire('other')).to.deep.equal({ throttled: 'ConcurrentInvocationLimitExceeded' });
    shared[0]?.release();
    expect(isThrottle(concurrency.acquire('other'))).to.equal(false);
  });
});

describe('the reservations AWS accepts (at least 100 units unreserved)', () => {
  it('accepts reservations that leave exactly 100 unreserved', () => {
    expect(reservationProblem(new Map([['hello', 900]]), 1000)).to.equal(undefined);
    expect(reservationProblem(new Map([['hello', 0]]), 1000)).to.equal(undefined);
  });

  it("refuses at start reservations that leave fewer than 100, with AWS's own message and the way out", () => {
    const error = (() => {
      try {
        return new Concurrency(
          new Map([
            ['hello', 600],
            ['s3Upload', 301],
          ]),
          1000,
        );
      } catch (thrown) {
        return thrown;
      }
    })();
    expect(error).to.be.instanceOf(ReservedConcurrencyError);
    const { message } = error as Error;
    expect(message).to.contain('(hello 600, s3Upload 301) reserves 901');
    expect(message).to.contain('leaves 99 unreserved');
    expect(message).to.contain(
      "Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [100].",
    );
    expect(message).to.contain('LAMBDA_ACCOUNT_CONCURRENCY');
  });

  it('lets an account whose quota is under 100 reserve nothing but 0', () => {
    expect(reservationProblem(new Map([['hello', 0]]), 10)).to.equal(undefined);
    expect(reservationProblem(new Map([['hello', 1]]), 10)).to.contain('minimum value of [10]');
  });
});
