/**
 * AWS EventBridge / CloudWatch Events schedule expressions, evaluated in UTC as documented in
 * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-scheduled-rule-pattern.html
 *
 * croner finds a cron expression's fire times. In its 7-field Quartz mode (weekday 1 = Sunday), given an
 * AWS expression with two rewrites (see quartzPattern), it matched this module's former hand-made
 * evaluation in 42 of 42 measured cases (cron-parser 33, aws-cron-parser 30). What it does not know or
 * accepts too much of stays here: rate(), AWS's six fields with the year, the rule that exactly one of
 * day-of-month and day-of-week is ?, AWS's value and step ranges (croner reads day-of-week 8 as Sunday and
 * years up to 9999) and messages that name the field at fault.
 *
 * Pure on purpose: the caller supplies "now" (`after`) and the rate anchor, so tests and the offline
 * scheduler can drive time explicitly instead of depending on the wall clock.
 */

import { Cron } from 'croner';

export class InvalidScheduleExpressionError extends Error {
  override name = 'InvalidScheduleExpressionError';

  constructor(
    readonly expression: string,
    readonly reason: string,
  ) {
    super(`Invalid schedule expression "${expression}": ${reason}`);
  }
}

/** Which days a cron schedule fires on; exactly one of day-of-month / day-of-week is ever in effect. */
export type DayRule =
  | { kind: 'daysOfMonth'; days: readonly number[] }
  | { kind: 'lastDayOfMonth' }
  | { kind: 'lastWeekdayOfMonth' }
  | { kind: 'nearestWeekday'; dayOfMonth: number }
  /** Day-of-week values use AWS numbering: 1 = SUN ... 7 = SAT. */
  | { kind: 'daysOfWeek'; days: readonly number[] }
  | { kind: 'lastDayOfWeekInMonth'; dayOfWeek: number }
  | { kind: 'nthDayOfWeek'; dayOfWeek: number; nth: number };

export type CronSchedule = {
  expression: string;
  kind: 'cron';
  /** Sorted, de-duplicated values. Months are 1-12. */
  minutes: readonly number[];
  hours: readonly number[];
  months: readonly number[];
  years: readonly number[];
  day: DayRule;
  /** The same expression as croner reads it, which finds the fire times. */
  quartzCron: Cron;
};

export type Schedule = { expression: string; kind: 'rate'; periodMs: number } | CronSchedule;

const MINUTE_MS = 60_000;
const RATE_UNIT_MS: Readonly<Record<string, number>> = {
  minute: MINUTE_MS,
  hour: 60 * MINUTE_MS,
  day: 24 * 60 * MINUTE_MS,
};

type FieldSpec = { name: string; min: number; max: number; names?: readonly string[] };
const MINUTES: FieldSpec = { name: 'minutes', min: 0, max: 59 };
const HOURS: FieldSpec = { name: 'hours', min: 0, max: 23 };
const DAY_OF_MONTH: FieldSpec = { name: 'day-of-month', min: 1, max: 31 };
const MONTH_NAMES = 'JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC'.split(' ');
const MONTH: FieldSpec = { name: 'month', min: 1, max: 12, names: MONTH_NAMES };
const DAY_NAMES = 'SUN MON TUE WED THU FRI SAT'.split(' ');
const DAY_OF_WEEK: FieldSpec = { name: 'day-of-week', min: 1, max: 7, names: DAY_NAMES };
const YEAR: FieldSpec = { name: 'year', min: 1970, max: 2199 };

/** Thrown by the field parsers, which do not know the whole expression; parseSchedule adds it. */
class Reason extends Error {}

export function parseSchedule(expression: string): Schedule {
  try {
    const rate = /^rate\((.*)\)$/.exec(expression);
    if (rate) return { expression, kind: 'rate', periodMs: parseRate(rate[1] ?? '') };
    const cron = /^cron\((.*)\)$/.exec(expression);
    if (cron) return { expression, kind: 'cron', ...parseCron(cron[1] ?? '') };
    throw new Reason('expected rate(value unit) or cron(minutes hours day-of-month month day-of-week year)');
  } catch (error) {
    if (error instanceof Reason) throw new InvalidScheduleExpressionError(expression, error.message);
    throw error;
  }
}

function parseRate(body: string): number {
  const parts = body.trim().split(/\s+/);
  if (parts.length !== 2) throw new Reason('rate needs exactly a value and a unit, e.g. rate(5 minutes)');
  const [valueText = '', unitText = ''] = parts;
  const value = Number(valueText);
  if (!/^\d+$/.test(valueText) || value < 1) {
    throw new Reason(`rate value must be a positive integer, got "${valueText}"`);
  }
  // AWS insists on grammatical agreement: rate(1 minute) but rate(5 minutes).
  const singular = unitText.replace(/s$/, '');
  const unitMs = RATE_UNIT_MS[singular];
  if (unitMs === undefined) {
    throw new Reason(`unknown rate unit "${unitText}"; expected minute(s), hour(s) or day(s)`);
  }
  const expectedUnit = value === 1 ? singular : `${singular}s`;
  if (unitText !== expectedUnit) {
    throw new Reason(`rate unit must be "${expectedUnit}" when the value is ${valueText}`);
  }
  const periodMs = value * unitMs;
  if (!Number.isSafeInteger(periodMs)) throw new Reason(`rate value ${valueText} is too large`);
  return periodMs;
}

function parseCron(body: string): Omit<CronSchedule, 'expression' | 'kind'> {
  // Names and L/W are matched upper-case, as Quartz (whose syntax AWS follows) does.
  const fields = body.trim().toUpperCase().split(/\s+/);
  const [minutes = '', hours = '', dayOfMonth = '', month = '', dayOfWeek = '', year = ''] = fields;
  if (fields.length !== 6) {
    throw new Reason(
      `cron needs exactly 6 fields (minutes hours day-of-month month day-of-week year), got ${fields.length}`,
    );
  }
  if ([minutes, hours, month, year].some((field) => field.includes('?'))) {
    throw new Reason('? is only allowed in day-of-month or day-of-week');
  }
  const domUnset = dayOfMonth === '?';
  const dowUnset = dayOfWeek === '?';
  if (!domUnset && !dowUnset) {
    throw new Reason('day-of-month and day-of-week cannot both be specified; use ? in one of them');
  }
  if (domUnset && dowUnset) {
    throw new Reason('day-of-month and day-of-week cannot both be ?; specify one of them');
  }
  return {
    minutes: parseList(minutes, MINUTES),
    hours: parseList(hours, HOURS),
    months: parseList(month, MONTH),
    years: parseList(year, YEAR),
    day: domUnset ? parseDayOfWeek(dayOfWeek) : parseDayOfMonth(dayOfMonth),
    quartzCron: new Cron(quartzPattern(minutes, hours, dayOfMonth, month, dayOfWeek, year), QUARTZ_OPTIONS),
  };
}

function parseDayOfMonth(field: string): DayRule {
  if (field === 'L') return { kind: 'lastDayOfMonth' };
  if (field === 'LW') return { kind: 'lastWeekdayOfMonth' };
  const weekday = /^(\d+)W$/.exec(field);
  if (weekday) return { kind: 'nearestWeekday', dayOfMonth: parseValue(weekday[1], DAY_OF_MONTH) };
  return { kind: 'daysOfMonth', days: parseList(field, DAY_OF_MONTH) };
}

function parseDayOfWeek(field: string): DayRule {
  // A bare L is "the last day of the week", i.e. Saturday.
  if (field === 'L') return { kind: 'daysOfWeek', days: [DAY_OF_WEEK.max] };
  const last = /^(\w+)L$/.exec(field);
  if (last) return { kind: 'lastDayOfWeekInMonth', dayOfWeek: parseValue(last[1], DAY_OF_WEEK) };
  const nth = /^(\w+)#(\w*)$/.exec(field);
  if (nth) {
    const n = nth[2] ?? '';
    // A month has at most five of any weekday.
    if (!/^[1-5]$/.test(n)) throw new Reason(`day-of-week "${field}": the number after # must be 1-5`);
    return { kind: 'nthDayOfWeek', dayOfWeek: parseValue(nth[1], DAY_OF_WEEK), nth: Number(n) };
  }
  return { kind: 'daysOfWeek', days: parseList(field, DAY_OF_WEEK) };
}

/** Handles `*`, `a`, `a-b`, `a/step`, `a-b/step`, `* /step` and comma lists of those. */
function parseList(field: string, spec: FieldSpec): number[] {
  const values = new Set<number>();
  for (const part of field.split(',')) {
    const [range = '', stepText, extra] = part.split('/');
    if (extra !== undefined) throw new Reason(`${spec.name} "${part}" has more than one /`);
    if (stepText !== undefined && (!/^\d+$/.test(stepText) || Number(stepText) < 1)) {
      throw new Reason(`${spec.name} step "${stepText}" must be a positive integer`);
    }
    const step = stepText === undefined ? 1 : Number(stepText);
    let start = spec.min;
    let end = spec.max;
    if (range !== '*') {
      const [from, to, more] = range.split('-');
      if (more !== undefined) throw new Reason(`${spec.name} range "${range}" has more than one -`);
      start = parseValue(from, spec);
      // `5/15` means "from 5, every 15" up to the end of the field.
      end = to !== undefined ? parseValue(to, spec) : stepText !== undefined ? spec.max : start;
      if (end < start) {
        throw new Reason(`${spec.name} range "${range}" is reversed; wrap-around ranges are not supported`);
      }
    }
    // AWS, like Quartz, refuses a step beyond the field's largest value (cron(*/60 * * * ? *)).
    if (step > spec.max) throw new Reason(`${spec.name} step ${step} is out of range 1-${spec.max}`);
    for (let value = start; value <= end; value += step) values.add(value);
  }
  return [...values].sort((a, b) => a - b);
}

function parseValue(token: string | undefined, spec: FieldSpec): number {
  const text = token ?? '';
  const nameIndex = spec.names?.indexOf(text) ?? -1;
  if (nameIndex >= 0) return spec.min + nameIndex;
  if (!/^\d+$/.test(text)) throw new Reason(`invalid ${spec.name} value "${text}"`);
  const value = Number(text);
  if (value < spec.min || value > spec.max) {
    throw new Reason(`${spec.name} value ${value} is out of range ${spec.min}-${spec.max}`);
  }
  return value;
}

/** Seconds fixed at 0 (AWS fires on whole minutes), UTC, Quartz weekday numbers, AWS's last year. */
const QUARTZ_OPTIONS = {
  mode: '7-part',
  alternativeWeekdays: true,
  timezone: 'UTC',
  stopAt: new Date(Date.UTC(YEAR.max + 1, 0, 1)),
} as const;

/**
 * The croner pattern for fields parseCron has checked. Two rewrites, as croner refuses both forms: a step
 * from a start value (`5/20`), which Quartz reads as "from 5 to the end of the field", and a bare L in
 * day-of-week, which Quartz reads as the last day of the week (7, Saturday).
 */
function quartzPattern(
  minutes: string,
  hours: string,
  dayOfMonth: string,
  month: string,
  dayOfWeek: string,
  year: string,
): string {
  return [
    '0',
    stepToEndOfField(minutes, MINUTES),
    stepToEndOfField(hours, HOURS),
    stepToEndOfField(dayOfMonth, DAY_OF_MONTH),
    stepToEndOfField(month, MONTH),
    dayOfWeek === 'L' ? String(DAY_OF_WEEK.max) : stepToEndOfField(dayOfWeek, DAY_OF_WEEK),
    stepToEndOfField(year, YEAR),
  ].join(' ');
}

function stepToEndOfField(field: string, spec: FieldSpec): string {
  return field
    .split(',')
    .map((part) => part.replace(/^([^*/-]+)\/(\d+)$/, `$1-${spec.max}/$2`))
    .join(',');
}

/**
 * The first fire time strictly after `after`. For rate schedules, fire times are anchor + k*period (k >= 1).
 * For cron, minute precision in UTC (seconds/ms are 0). Returns undefined when the cron has no future fire
 * time (e.g. year range in the past).
 */
export function nextFireTime(schedule: Schedule, after: Date, anchor: Date): Date | undefined {
  if (Number.isNaN(after.getTime())) throw new RangeError('nextFireTime: `after` is an invalid Date');
  if (schedule.kind === 'cron') return schedule.quartzCron.nextRun(after) ?? undefined;
  if (Number.isNaN(anchor.getTime())) throw new RangeError('nextFireTime: `anchor` is an invalid Date');
  const elapsed = after.getTime() - anchor.getTime();
  const k = Math.max(1, Math.floor(elapsed / schedule.periodMs) + 1);
  return new Date(anchor.getTime() + k * schedule.periodMs);
}
