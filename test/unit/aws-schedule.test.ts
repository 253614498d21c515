import { expect } from 'chai';
import {
  InvalidScheduleExpressionError,
  nextFireTime,
  parseSchedule,
  type Schedule,
} from '../../offline/core/schedule/aws-schedule';

const NOW = new Date('2026-11-25T13:37:12Z'); // a Wednesday
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** Next cron fire time as an ISO string; the anchor is irrelevant for cron. */
function nextCron(expression: string, after: Date = NOW): string | undefined {
  return nextFireTime(parseSchedule(expression), new Date(after), NOW)?.toISOString();
}

function expectInvalid(expression: string, fragment: string): void {
  let caught: unknown;
  try {
    parseSchedule(expression);
  } catch (error) {
    caught = error;
  }
  expect(caught).to.be.instanceOf(InvalidScheduleExpressionError);
  const error = caught as InvalidScheduleExpressionError;
  expect(error.name).to.equal('InvalidScheduleExpressionError');
  expect(error.message).to.contain(`"${expression}"`);
  expect(error.message).to.contain(fragment);
}

describe('aws-schedule', () => {
  describe('parseSchedule: rate', () => {
    it('parses a plural minutes rate into a period in milliseconds', () => {
      expect(parseSchedule('rate(5 minutes)')).to.deep.equal({
        expression: 'rate(5 minutes)',
        kind: 'rate',
        periodMs: 5 * MINUTE,
      });
    });

    it('accepts the singular unit when the value is 1', () => {
      const periods = ['rate(1 minute)', 'rate(1 hour)', 'rate(1 day)'].map(
        (expression) => (parseSchedule(expression) as Extract<Schedule, { kind: 'rate' }>).periodMs,
      );
      expect(periods).to.deep.equal([MINUTE, HOUR, DAY]);
    });

    it('accepts plural hours and days when the value is not 1', () => {
      const periods = ['rate(2 hours)', 'rate(7 days)'].map(
        (expression) => (parseSchedule(expression) as Extract<Schedule, { kind: 'rate' }>).periodMs,
      );
      expect(periods).to.deep.equal([2 * HOUR, 7 * DAY]);
    });

    it('rejects a plural unit with the value 1, as AWS does', () => {
      expectInvalid('rate(1 minutes)', 'must be "minute"');
    });

    it('rejects a singular unit with a value other than 1, as AWS does', () => {
      expectInvalid('rate(5 minute)', 'must be "minutes"');
    });

    it('rejects zero, negative and fractional values', () => {
      expectInvalid('rate(0 minutes)', 'positive integer');
      expectInvalid('rate(-1 minutes)', 'positive integer');
      expectInvalid('rate(1.5 hours)', 'positive integer');
    });

    it('rejects an unknown unit', () => {
      expectInvalid('rate(2 weeks)', 'unknown rate unit "weeks"');
    });

    it('rejects a rate without a unit', () => {
      expectInvalid('rate(5)', 'value and a unit');
    });
  });

  describe('nextFireTime: rate', () => {
    const anchor = new Date('2026-11-25T13:00:00Z');

    it('fires one period after the anchor first', () => {
      expect(nextFireTime(parseSchedule('rate(5 minutes)'), anchor, anchor)?.toISOString()).to.equal(
        '2026-11-25T13:05:00.000Z',
      );
    });

    it('stays on the anchor grid rather than counting from `after`', () => {
      expect(nextFireTime(parseSchedule('rate(5 minutes)'), NOW, anchor)?.toISOString()).to.equal(
        '2026-11-25T13:40:00.000Z',
      );
    });

    it('is strictly after `after` when `after` is itself a fire time', () => {
      const after = new Date('2026-11-25T13:40:00Z');
      expect(nextFireTime(parseSchedule('rate(5 minutes)'), after, anchor)?.toISOString()).to.equal(
        '2026-11-25T13:45:00.000Z',
      );
    });

    it('returns anchor + period when `after` precedes the anchor', () => {
      const after = new Date('2026-11-24T00:00:00Z');
      expect(nextFireTime(parseSchedule('rate(1 day)'), after, anchor)?.toISOString()).to.equal(
        '2026-11-26T13:00:00.000Z',
      );
    });
  });

  describe('parseSchedule: cron', () => {
    it('parses fields into sorted values and a day rule', () => {
      const schedule = parseSchedule('cron(0/15 9-11,8 ? JAN,MAR * 2027/2)');
      expect(schedule).to.deep.include({
        kind: 'cron',
        minutes: [0, 15, 30, 45],
        hours: [8, 9, 10, 11],
        months: [1, 3],
        day: { kind: 'daysOfWeek', days: [1, 2, 3, 4, 5, 6, 7] },
      });
      expect(schedule.kind === 'cron' && schedule.years.slice(0, 3)).to.deep.equal([2027, 2029, 2031]);
    });

    it('accepts lower-case month and day names', () => {
      expect(nextCron('cron(0 9 ? nov mon-fri *)')).to.equal('2026-11-26T09:00:00.000Z');
    });
  });

  describe('nextFireTime: cron', () => {
    it('fires every minute with all wildcards, on the next whole minute', () => {
      expect(nextCron('cron(* * * * ? *)')).to.equal('2026-11-25T13:38:00.000Z');
    });

    it('is strictly after `after` when `after` is exactly on a matching minute', () => {
      expect(nextCron('cron(* * * * ? *)', new Date('2026-11-25T13:38:00Z'))).to.equal(
        '2026-11-25T13:39:00.000Z',
      );
    });

    it('fires daily with * in day-of-month and ? in day-of-week', () => {
      expect(nextCron('cron(0 12 * * ? *)')).to.equal('2026-11-26T12:00:00.000Z');
    });

    it('honours lists of minutes and hours', () => {
      expect(nextCron('cron(0,30 8,17 * * ? *)')).to.equal('2026-11-25T17:00:00.000Z');
      expect(nextCron('cron(0,30 8,17 * * ? *)', new Date('2026-11-25T17:00:00Z'))).to.equal(
        '2026-11-25T17:30:00.000Z',
      );
    });

    it('honours hour ranges and rolls over to the next day', () => {
      expect(nextCron('cron(0 9-17 * * ? *)')).to.equal('2026-11-25T14:00:00.000Z');
      expect(nextCron('cron(0 9-17 * * ? *)', new Date('2026-11-25T17:00:00Z'))).to.equal(
        '2026-11-26T09:00:00.000Z',
      );
    });

    it('honours 0/15 steps', () => {
      expect(nextCron('cron(0/15 * * * ? *)')).to.equal('2026-11-25T13:45:00.000Z');
      expect(nextCron('cron(0/15 * * * ? *)', new Date('2026-11-25T13:45:00Z'))).to.equal(
        '2026-11-25T14:00:00.000Z',
      );
    });

    it('honours steps with a non-zero start and */step', () => {
      expect(nextCron('cron(5/20 * * * ? *)')).to.equal('2026-11-25T13:45:00.000Z');
      expect(nextCron('cron(5/20 * * * ? *)', new Date('2026-11-25T13:45:00Z'))).to.equal(
        '2026-11-25T14:05:00.000Z',
      );
      expect(nextCron('cron(*/20 * * * ? *)')).to.equal('2026-11-25T13:40:00.000Z');
    });

    it('runs a step from a start value to the end of each field', () => {
      expect(nextCron('cron(0 5/6 * * ? *)', new Date('2026-11-25T23:00:00Z'))).to.equal(
        '2026-11-26T05:00:00.000Z',
      );
      expect(nextCron('cron(0 0 10/10 * ? *)', new Date('2026-11-25T00:00:00Z'))).to.equal(
        '2026-11-30T00:00:00.000Z',
      );
      expect(nextCron('cron(0 0 1 FEB/5 ? *)')).to.equal('2026-12-01T00:00:00.000Z');
      // MON/2 is Monday, Wednesday and Friday; NOW is a Wednesday afternoon.
      expect(nextCron('cron(0 9 ? * MON/2 *)')).to.equal('2026-11-27T09:00:00.000Z');
      expect(nextCron('cron(0 0 1 1 ? 2027/2)', new Date('2027-01-01T00:00:00Z'))).to.equal(
        '2029-01-01T00:00:00.000Z',
      );
    });

    it('honours month names', () => {
      expect(nextCron('cron(0 0 1 JAN,JUL ? *)')).to.equal('2027-01-01T00:00:00.000Z');
    });

    it('honours day-of-week name ranges (MON-FRI skips the weekend)', () => {
      expect(nextCron('cron(0 9 ? * MON-FRI *)', new Date('2026-11-27T10:00:00Z'))).to.equal(
        '2026-11-30T09:00:00.000Z',
      );
    });

    it('numbers day-of-week from 1 = SUN: 2 is Monday', () => {
      expect(nextCron('cron(0 9 ? * 2 *)')).to.equal('2026-11-30T09:00:00.000Z');
    });

    it('numbers day-of-week from 1 = SUN: 1 is Sunday and 7 is Saturday', () => {
      expect(nextCron('cron(0 9 ? * 1 *)')).to.equal('2026-11-29T09:00:00.000Z');
      expect(nextCron('cron(0 9 ? * 7 *)')).to.equal('2026-11-28T09:00:00.000Z');
    });

    it('treats L in day-of-month as the last day, 29 in a leap February', () => {
      expect(nextCron('cron(0 0 L 2 ? *)')).to.equal('2027-02-28T00:00:00.000Z');
      expect(nextCron('cron(0 0 L 2 ? 2028)')).to.equal('2028-02-29T00:00:00.000Z');
    });

    it('treats L alone in day-of-week as Saturday', () => {
      expect(nextCron('cron(0 9 ? * L *)')).to.equal('2026-11-28T09:00:00.000Z');
    });

    it('treats L alone in day-of-week as every Saturday, not only the last one', () => {
      expect(nextCron('cron(0 9 ? * L *)', new Date('2026-11-28T09:00:00Z'))).to.equal(
        '2026-12-05T09:00:00.000Z',
      );
    });

    it('treats 6L as the last Friday of the month', () => {
      expect(nextCron('cron(0 10 ? * 6L *)')).to.equal('2026-11-27T10:00:00.000Z');
      expect(nextCron('cron(0 10 ? * 6L *)', new Date('2026-11-27T10:00:00Z'))).to.equal(
        '2026-12-25T10:00:00.000Z',
      );
    });

    it('treats 3#2 as the second Tuesday of the month', () => {
      expect(nextCron('cron(0 10 ? * 3#2 *)')).to.equal('2026-12-08T10:00:00.000Z');
    });

    it('skips months without a fifth occurrence for #5', () => {
      expect(nextCron('cron(0 10 ? * MON#5 *)', new Date('2026-11-30T10:00:00Z'))).to.equal(
        '2027-03-29T10:00:00.000Z',
      );
    });

    it('moves nW off a Saturday to the Friday before', () => {
      expect(nextCron('cron(0 0 14W 11 ? *)', new Date('2026-11-01T00:00:00Z'))).to.equal(
        '2026-11-13T00:00:00.000Z',
      );
    });

    it('moves nW off a Sunday to the Monday after', () => {
      expect(nextCron('cron(0 0 1W 11 ? *)', new Date('2026-10-20T00:00:00Z'))).to.equal(
        '2026-11-02T00:00:00.000Z',
      );
    });

    it('does not let nW cross a month boundary', () => {
      // 2026-08-01 is a Saturday and 2026-05-31 a Sunday.
      expect(nextCron('cron(0 0 1W 8 ? *)', new Date('2026-07-15T00:00:00Z'))).to.equal(
        '2026-08-03T00:00:00.000Z',
      );
      expect(nextCron('cron(0 0 31W 5 ? *)', new Date('2026-05-01T00:00:00Z'))).to.equal(
        '2026-05-29T00:00:00.000Z',
      );
    });

    it('treats LW as the last weekday of the month', () => {
      // 2026-10-31 is a Saturday.
      expect(nextCron('cron(0 0 LW 10 ? *)', new Date('2026-10-01T00:00:00Z'))).to.equal(
        '2026-10-30T00:00:00.000Z',
      );
    });

    it('honours the year field, then has no further fire time', () => {
      expect(nextCron('cron(0 0 1 1 ? 2030)')).to.equal('2030-01-01T00:00:00.000Z');
      expect(nextCron('cron(0 0 1 1 ? 2030)', new Date('2030-01-01T00:00:00Z'))).to.equal(undefined);
    });

    it('returns undefined when the year range is entirely in the past', () => {
      expect(nextCron('cron(0 0 * * ? 2020-2025)')).to.equal(undefined);
    });

    it('returns undefined after the last supported year 2199', () => {
      expect(nextCron('cron(* * * * ? *)', new Date('2199-12-31T23:59:00Z'))).to.equal(undefined);
    });

    it('searches across years quickly (Feb 29 skips the non-leap 2100)', () => {
      const started = process.hrtime.bigint();
      expect(nextCron('cron(0 0 29 2 ? *)', new Date('2096-03-01T00:00:00Z'))).to.equal(
        '2104-02-29T00:00:00.000Z',
      );
      expect(nextCron('cron(0 0 31 2 ? *)')).to.equal(undefined);
      expect(Number(process.hrtime.bigint() - started) / 1e6).to.be.below(1000);
    });

    describe('with a non-UTC process time zone', () => {
      const originalTz = process.env.TZ;
      afterEach(() => {
        if (originalTz === undefined) delete process.env.TZ;
        else process.env.TZ = originalTz;
      });

      it('evaluates in UTC regardless of process.env.TZ', () => {
        for (const tz of ['Pacific/Kiritimati', 'America/Los_Angeles', 'Asia/Kolkata']) {
          process.env.TZ = tz;
          expect(nextCron('cron(0 9 ? * 2 *)'), tz).to.equal('2026-11-30T09:00:00.000Z');
          expect(nextCron('cron(30 23 L * ? *)'), tz).to.equal('2026-11-30T23:30:00.000Z');
        }
      });
    });
  });

  describe('parseSchedule: invalid expressions', () => {
    it('rejects a cron with 5 fields', () => {
      expectInvalid('cron(0 12 * * ?)', 'exactly 6 fields');
    });

    it('rejects both day-of-month and day-of-week specified', () => {
      expectInvalid(
        'cron(0 12 * * * *)',
        'day-of-month and day-of-week cannot both be specified; use ? in one of them',
      );
      expectInvalid('cron(0 12 1 * MON *)', 'cannot both be specified');
    });

    it('rejects ? in both day-of-month and day-of-week', () => {
      expectInvalid('cron(0 12 ? * ? *)', 'cannot both be ?');
    });

    it('rejects ? outside the day fields', () => {
      expectInvalid('cron(? 12 * * ? *)', '? is only allowed in day-of-month or day-of-week');
    });

    it('rejects out-of-range values in every field', () => {
      expectInvalid('cron(60 12 * * ? *)', 'minutes value 60 is out of range 0-59');
      expectInvalid('cron(0 24 * * ? *)', 'hours value 24 is out of range 0-23');
      expectInvalid('cron(0 12 32 * ? *)', 'day-of-month value 32 is out of range 1-31');
      expectInvalid('cron(0 12 0 * ? *)', 'day-of-month value 0 is out of range 1-31');
      expectInvalid('cron(0 12 * 13 ? *)', 'month value 13 is out of range 1-12');
      expectInvalid('cron(0 12 ? * 8 *)', 'day-of-week value 8 is out of range 1-7');
      expectInvalid('cron(0 12 ? * 0 *)', 'day-of-week value 0 is out of range 1-7');
      expectInvalid('cron(0 12 * * ? 2200)', 'year value 2200 is out of range 1970-2199');
      expectInvalid('cron(0 12 * * ? 1969)', 'year value 1969 is out of range 1970-2199');
    });

    it('rejects a step larger than the field, as AWS does for cron(*/60 * * * ? *)', () => {
      expectInvalid('cron(*/60 * * * ? *)', 'minutes step 60 is out of range 1-59');
      expectInvalid('cron(0 0/24 * * ? *)', 'hours step 24 is out of range 1-23');
      expectInvalid('cron(0 12 ? * */8 *)', 'day-of-week step 8 is out of range 1-7');
    });

    it('rejects an out-of-range nth weekday', () => {
      expectInvalid('cron(0 12 ? * 3#6 *)', 'must be 1-5');
    });

    it('rejects reversed ranges and zero steps', () => {
      expectInvalid('cron(0 17-9 * * ? *)', 'reversed');
      expectInvalid('cron(0/0 * * * ? *)', 'step "0" must be a positive integer');
    });

    it('rejects unknown names and garbage inside cron fields', () => {
      expectInvalid('cron(0 12 ? * FUNDAY *)', 'invalid day-of-week value "FUNDAY"');
      expectInvalid('cron(a b * * ? *)', 'invalid minutes value "A"');
    });

    it('rejects expressions that are neither rate nor cron', () => {
      expectInvalid('every 5 minutes', 'expected rate(value unit) or cron(');
      expectInvalid('', 'expected rate(value unit) or cron(');
      expectInvalid('rate(5 minutes', 'expected rate(value unit) or cron(');
    });
  });
});
