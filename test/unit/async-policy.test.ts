import { expect } from 'chai';
import {
  afterFunctionError,
  afterThrottle,
  type AsyncPolicy,
  asyncPolicy,
  DEFAULT_MAXIMUM_EVENT_AGE_SECONDS,
  DEFAULT_MAXIMUM_RETRY_ATTEMPTS,
  type EventProgress,
  InvalidAsyncConfigError,
  isExpired,
} from '../../offline/core/async-policy';

const RECEIVED_AT = Date.parse('2026-11-25T13:37:00.000Z');

function progress(attempts: number, throttles = 0): EventProgress {
  return { receivedAt: RECEIVED_AT, attempts, throttles };
}

function policy(overrides: Partial<AsyncPolicy> = {}): AsyncPolicy {
  return { maximumRetryAttempts: 2, maximumEventAgeSeconds: 21_600, timeScale: 1, ...overrides };
}

function invalid(
  settings: { maximumRetryAttempts?: unknown; maximumEventAge?: unknown },
  timeScale = 1,
): InvalidAsyncConfigError {
  let caught: unknown;
  try {
    asyncPolicy('s3Upload', settings, timeScale);
  } catch (error) {
    caught = error;
  }
  expect(caught).to.be.instanceOf(InvalidAsyncConfigError);
  return caught as InvalidAsyncConfigError;
}

describe('async-policy', () => {
  describe('asyncPolicy: defaults', () => {
    it('defaults to 2 retries and a maximum event age of 21600 s, as Lambda does', () => {
      expect(asyncPolicy('hello', {}, 1)).to.deep.equal({
        maximumRetryAttempts: 2,
        maximumEventAgeSeconds: 21_600,
        timeScale: 1,
      });
    });

    it('exports the same defaults as constants', () => {
      expect([DEFAULT_MAXIMUM_RETRY_ATTEMPTS, DEFAULT_MAXIMUM_EVENT_AGE_SECONDS]).to.deep.equal([2, 21_600]);
    });

    it('keeps valid settings and the time scale', () => {
      expect(asyncPolicy('hello', { maximumRetryAttempts: 0, maximumEventAge: 60 }, 0.5)).to.deep.equal({
        maximumRetryAttempts: 0,
        maximumEventAgeSeconds: 60,
        timeScale: 0.5,
      });
    });

    it('accepts the upper bounds 2 retries and 21600 s', () => {
      const result = asyncPolicy('hello', { maximumRetryAttempts: 2, maximumEventAge: 21_600 }, 1);
      expect([result.maximumRetryAttempts, result.maximumEventAgeSeconds]).to.deep.equal([2, 21_600]);
    });
  });

  describe('asyncPolicy: validation', () => {
    for (const value of [-1, 3, 1.5]) {
      it(`rejects maximumRetryAttempts ${JSON.stringify(value)}, naming functions.<key>.maximumRetryAttempts`, () => {
        const error = invalid({ maximumRetryAttempts: value });
        expect(error.name).to.equal('InvalidAsyncConfigError');
        expect(error.message).to.contain('functions.s3Upload.maximumRetryAttempts');
        expect(error.message).to.contain(String(value));
      });
    }

    for (const value of [59, 21_601, 90.5, 0]) {
      it(`rejects maximumEventAge ${JSON.stringify(value)}, naming functions.<key>.maximumEventAge`, () => {
        const error = invalid({ maximumEventAge: value });
        expect(error.message).to.contain('functions.s3Upload.maximumEventAge');
        expect(error.message).to.contain(String(value));
      });
    }

    for (const value of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      it(`rejects the time scale ${String(value)}`, () => {
        const error = invalid({}, value);
        expect(error.message).to.contain('time scale');
        expect(error.message).to.contain(String(value));
      });
    }
  });

  describe('afterFunctionError', () => {
    it('retries after 1 minute when the first attempt failed', () => {
      expect(afterFunctionError(policy(), progress(1), RECEIVED_AT)).to.deep.equal({
        action: 'retry',
        delayMs: 60_000,
      });
    });

    it('retries after 2 minutes when the second attempt failed', () => {
      expect(afterFunctionError(policy(), progress(2), RECEIVED_AT)).to.deep.equal({
        action: 'retry',
        delayMs: 120_000,
      });
    });

    it('discards as RetriesExhausted when the third attempt failed with 2 retries', () => {
      expect(afterFunctionError(policy(), progress(3), RECEIVED_AT)).to.deep.equal({
        action: 'discard',
        condition: 'RetriesExhausted',
      });
    });

    it('discards after the first attempt with maximumRetryAttempts 0', () => {
      expect(afterFunctionError(policy({ maximumRetryAttempts: 0 }), progress(1), RECEIVED_AT)).to.deep.equal(
        {
          action: 'discard',
          condition: 'RetriesExhausted',
        },
      );
    });

    it('discards after the second attempt with maximumRetryAttempts 1', () => {
      const decisions = [1, 2].map((attempts) =>
        afterFunctionError(policy({ maximumRetryAttempts: 1 }), progress(attempts), RECEIVED_AT),
      );
      expect(decisions).to.deep.equal([
        { action: 'retry', delayMs: 60_000 },
        { action: 'discard', condition: 'RetriesExhausted' },
      ]);
    });

    it('multiplies both retry delays by the time scale', () => {
      const scaled = policy({ timeScale: 0.5 });
      expect([
        afterFunctionError(scaled, progress(1), RECEIVED_AT),
        afterFunctionError(scaled, progress(2), RECEIVED_AT),
      ]).to.deep.equal([
        { action: 'retry', delayMs: 30_000 },
        { action: 'retry', delayMs: 60_000 },
      ]);
    });
  });

  // Lambda gives up as soon as the next retry could not start within maximumEventAge, so the record arrives
  // within the age. Source: localstack/localstack tests/aws/services/lambda_/test_lambda_destinations.py
  // (maximum event age 60 → EventAgeExceeded after 1 attempt; 90 → after 2) and
  // https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html
  describe('afterFunctionError and the maximum event age', () => {
    it('gives up after the first failure with maximumEventAge 60 (the 1 minute retry would start at 60 s + run time)', () => {
      expect(
        afterFunctionError(policy({ maximumEventAgeSeconds: 60 }), progress(1), RECEIVED_AT + 1),
      ).to.deep.equal({ action: 'discard', condition: 'EventAgeExceeded' });
    });

    it('retries once and gives up after the second failure with maximumEventAge 90', () => {
      const ninety = policy({ maximumEventAgeSeconds: 90 });
      expect([
        afterFunctionError(ninety, progress(1), RECEIVED_AT + 1_000),
        afterFunctionError(ninety, progress(2), RECEIVED_AT + 61_000),
      ]).to.deep.equal([
        { action: 'retry', delayMs: 60_000 },
        { action: 'discard', condition: 'EventAgeExceeded' },
      ]);
    });

    it('gives up on a throttled event when the next backoff would end past the maximum age', () => {
      const sixty = policy({ maximumEventAgeSeconds: 60 });
      expect([
        afterThrottle(sixty, progress(0, 1), RECEIVED_AT + 58_000),
        afterThrottle(sixty, progress(0, 1), RECEIVED_AT + 59_500),
      ]).to.deep.equal([
        { action: 'retry', delayMs: 1_000 },
        { action: 'discard', condition: 'EventAgeExceeded' },
      ]);
    });
  });

  describe('isExpired', () => {
    const sixtySeconds = policy({ maximumEventAgeSeconds: 60 });

    it('is not expired exactly at the maximum age', () => {
      expect(isExpired(sixtySeconds, progress(0), RECEIVED_AT + 60_000)).to.equal(false);
    });

    it('is expired 1 ms past the maximum age', () => {
      expect(isExpired(sixtySeconds, progress(0), RECEIVED_AT + 60_001)).to.equal(true);
    });

    it('applies the time scale to the maximum age (boundary at 60 s × 0.5)', () => {
      const scaled = policy({ maximumEventAgeSeconds: 60, timeScale: 0.5 });
      expect([
        isExpired(scaled, progress(0), RECEIVED_AT + 30_000),
        isExpired(scaled, progress(0), RECEIVED_AT + 30_001),
      ]).to.deep.equal([false, true]);
    });
  });

  describe('afterThrottle', () => {
    it('backs off 1 s, 2 s, 4 s, 8 s for successive throttles', () => {
      const delays = [1, 2, 3, 4].map((throttles) =>
        afterThrottle(policy(), progress(0, throttles), RECEIVED_AT),
      );
      expect(delays).to.deep.equal(
        [1_000, 2_000, 4_000, 8_000].map((delayMs) => ({ action: 'retry', delayMs })),
      );
    });

    it('caps the backoff at 5 minutes', () => {
      const delays = [9, 10, 11, 30].map((throttles) =>
        afterThrottle(policy(), progress(0, throttles), RECEIVED_AT),
      );
      expect(delays).to.deep.equal(
        [256_000, 300_000, 300_000, 300_000].map((delayMs) => ({ action: 'retry', delayMs })),
      );
    });

    it('multiplies the backoff and its cap by the time scale', () => {
      const scaled = policy({ timeScale: 0.5 });
      expect([
        afterThrottle(scaled, progress(0, 1), RECEIVED_AT),
        afterThrottle(scaled, progress(0, 20), RECEIVED_AT),
      ]).to.deep.equal([
        { action: 'retry', delayMs: 500 },
        { action: 'retry', delayMs: 150_000 },
      ]);
    });
  });
});
