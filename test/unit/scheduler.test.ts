import { expect } from 'chai';
import { scheduledEvent, Scheduler } from '../../offline/core/schedule/scheduler';
import type { ScheduleRule } from '../../offline/model/service';

const T0 = Date.parse('2026-11-25T13:37:12.345Z');
const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
const REGION = 'ap-northeast-1';
const RULE_ARN = `arn:aws:events:${REGION}:000000000000:rule/lambda-notes-dev-HelloEventsRuleSchedule1`;

interface FakeTimer {
  readonly dueAt: number;
  readonly seq: number;
  readonly callback: () => void;
}

/** Fake clock and timers; the scheduler's callbacks are synchronous, so no promise needs to settle. */
class FakeTime {
  now = T0;
  timers: FakeTimer[] = [];
  #seq = 0;

  readonly setTimer = (callback: () => void, ms: number): FakeTimer => {
    const timer = { dueAt: this.now + ms, seq: this.#seq++, callback };
    this.timers.push(timer);
    return timer;
  };

  readonly clearTimer = (timer: unknown): void => {
    this.timers = this.timers.filter((candidate) => candidate !== timer);
  };

  advance(ms: number): void {
    const target = this.now + ms;
    for (;;) {
      const due = this.timers
        .filter((timer) => timer.dueAt <= target)
        .sort((a, b) => a.dueAt - b.dueAt || a.seq - b.seq)[0];
      if (due === undefined) break;
      this.clearTimer(due);
      this.now = Math.max(this.now, due.dueAt);
      due.callback();
    }
    this.now = target;
  }
}

interface Fired {
  readonly functionKey: string;
  readonly event: unknown;
  readonly at: number;
}

function rule(overrides: Partial<ScheduleRule> = {}): ScheduleRule {
  return {
    functionKey: 'hello',
    expression: 'rate(5 minutes)',
    ruleArn: RULE_ARN,
    input: undefined,
    ...overrides,
  };
}

function started(rules: ScheduleRule[]): {
  time: FakeTime;
  scheduler: Scheduler;
  fired: Fired[];
  logs: string[];
} {
  const time = new FakeTime();
  const fired: Fired[] = [];
  const logs: string[] = [];
  let ids = 0;
  const scheduler = new Scheduler({
    region: REGION,
    now: () => time.now,
    newId: () => `id-${++ids}`,
    setTimer: time.setTimer,
    clearTimer: time.clearTimer,
    fire: (functionKey, event) => fired.push({ functionKey, event, at: time.now }),
    log: (message) => logs.push(message),
  });
  scheduler.start(rules);
  return { time, scheduler, fired, logs };
}

describe('scheduler', () => {
  describe('scheduledEvent', () => {
    const event = scheduledEvent({ ruleArn: RULE_ARN, region: REGION, time: new Date(T0), id: 'abc' });

    it('has exactly the fields of an EventBridge Scheduled Event', () => {
      expect(event).to.deep.equal({
        version: '0',
        id: 'abc',
        'detail-type': 'Scheduled Event',
        source: 'aws.events',
        account: '000000000000',
        time: '2026-11-25T13:37:12Z',
        region: REGION,
        resources: [RULE_ARN],
        detail: {},
      });
    });

    it('writes the time in UTC without milliseconds', () => {
      expect(event.time).to.match(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    });

    it('keeps whole seconds when the milliseconds are 0', () => {
      const onTheMinute = scheduledEvent({
        ruleArn: RULE_ARN,
        region: REGION,
        time: new Date('2026-11-25T00:00:00.000Z'),
        id: 'x',
      });
      expect(onTheMinute.time).to.equal('2026-11-25T00:00:00Z');
    });
  });

  describe('Scheduler', () => {
    it('fires a rate(5 minutes) rule at start + 5 min, then + 10 min', () => {
      const { time, fired } = started([rule()]);
      time.advance(10 * MINUTE);
      expect(fired.map((entry) => entry.at - T0)).to.deep.equal([5 * MINUTE, 10 * MINUTE]);
    });

    it('fires once, not once per missed period, after the clock jumped (a suspended laptop)', () => {
      const { time, fired } = started([rule()]);
      time.now = T0 + 60 * MINUTE + 1;
      time.advance(0);
      expect(fired).to.have.length(1);
      time.advance(5 * MINUTE);
      expect(fired.map((entry) => entry.at - T0)).to.deep.equal([60 * MINUTE + 1, 65 * MINUTE]);
    });

    it('does not fire before the first period is over', () => {
      const { time, fired } = started([rule()]);
      time.advance(5 * MINUTE - 1);
      expect(fired).to.deep.equal([]);
    });

    it('sends a Scheduled Event for the rule to the rule function', () => {
      const { time, fired } = started([rule()]);
      time.advance(5 * MINUTE);
      expect(fired).to.deep.equal([
        {
          functionKey: 'hello',
          at: T0 + 5 * MINUTE,
          event: scheduledEvent({
            ruleArn: RULE_ARN,
            region: REGION,
            time: new Date(T0 + 5 * MINUTE),
            id: 'id-1',
          }),
        },
      ]);
    });

    it('gives each firing a fresh id and its own time', () => {
      const { time, fired } = started([rule()]);
      time.advance(10 * MINUTE);
      const events = fired.map((entry) => entry.event as { id: string; time: string });
      expect(events.map((event) => [event.id, event.time])).to.deep.equal([
        ['id-1', '2026-11-25T13:42:12Z'],
        ['id-2', '2026-11-25T13:47:12Z'],
      ]);
    });

    it('sends `input` as is instead of the Scheduled Event', () => {
      const input = { source: 'schedule', n: 1 };
      const { time, fired } = started([rule({ input })]);
      time.advance(5 * MINUTE);
      expect(fired.map((entry) => entry.event)).to.deep.equal([input]);
    });

    it('runs several rules side by side', () => {
      const { time, fired } = started([
        rule(),
        rule({ functionKey: 'other', expression: 'rate(2 minutes)' }),
      ]);
      time.advance(5 * MINUTE);
      expect(fired.map((entry) => [entry.functionKey, entry.at - T0])).to.deep.equal([
        ['other', 2 * MINUTE],
        ['other', 4 * MINUTE],
        ['hello', 5 * MINUTE],
      ]);
    });

    it('fires a cron rule on whole UTC minutes', () => {
      const { time, fired } = started([rule({ expression: 'cron(0/15 * * * ? *)' })]);
      time.advance(30 * MINUTE);
      expect(fired.map((entry) => (entry.event as { time: string }).time)).to.deep.equal([
        '2026-11-25T13:45:00Z',
        '2026-11-25T14:00:00Z',
      ]);
    });

    it('fires a wait longer than setTimeout allows (rate(30 days)) once, on time', () => {
      const { time, fired } = started([rule({ expression: 'rate(30 days)' })]);
      time.advance(30 * DAY);
      expect(fired.map((entry) => entry.at - T0)).to.deep.equal([30 * DAY]);
    });

    it('never arms a timer longer than setTimeout allows', () => {
      const { time } = started([rule({ expression: 'rate(30 days)' })]);
      expect(time.timers.map((timer) => timer.dueAt - T0)).to.deep.equal([2 ** 31 - 1]);
    });

    it('logs the next run of each rule in UTC', () => {
      const { logs } = started([rule()]);
      expect(logs).to.deep.equal([
        'schedule rate(5 minutes) → hello; next run 2026-11-25T13:42:12.345Z (UTC)',
      ]);
    });

    it('stop() clears its timers', () => {
      const { time, scheduler } = started([rule(), rule({ expression: 'rate(1 minute)' })]);
      const armed = time.timers.length;
      scheduler.stop();
      expect([armed, time.timers.length]).to.deep.equal([2, 0]);
    });

    it('fires nothing after stop()', () => {
      const { time, scheduler, fired } = started([rule()]);
      time.advance(5 * MINUTE);
      scheduler.stop();
      time.advance(60 * MINUTE);
      expect(fired).to.have.length(1);
    });
  });
});
