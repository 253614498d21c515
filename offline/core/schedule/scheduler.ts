import type { ScheduledEvent } from 'aws-lambda';
import { LONGEST_TIMER_MS } from '../../model/timers';
import { nextFireTime, parseSchedule, type Schedule } from './aws-schedule';
import { LOCAL_ACCOUNT, type ScheduleRule } from '../../model/service';

/** The event EventBridge sends for a schedule rule without `input`: UTC, whole seconds. */
export function scheduledEvent(input: {
  ruleArn: string;
  region: string;
  time: Date;
  id: string;
}): ScheduledEvent {
  return {
    version: '0',
    id: input.id,
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: LOCAL_ACCOUNT,
    time: input.time.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region: input.region,
    resources: [input.ruleArn],
    detail: {},
  };
}

export interface SchedulerDeps {
  readonly region: string;
  now(): number;
  newId(): string;
  setTimer(callback: () => void, ms: number): unknown;
  clearTimer(timer: unknown): void;
  /** rule: the rule's ARN, naming what fired. */
  fire(functionKey: string, event: unknown, rule: string): void;
  log(message: string): void;
}

/** Runs each enabled schedule rule of serverless.yml in UTC and hands every firing to the async queue. */
export class Scheduler {
  readonly #timers = new Set<unknown>();

  constructor(private readonly deps: SchedulerDeps) {}

  start(rules: readonly ScheduleRule[]): void {
    const anchor = new Date(this.deps.now());
    for (const rule of rules) {
      const schedule = parseSchedule(rule.expression);
      const next = nextFireTime(schedule, anchor, anchor);
      this.deps.log(
        `schedule ${rule.expression} → ${rule.functionKey}; next run ${next ? next.toISOString() : 'never'} (UTC)`,
      );
      this.#arm(rule, schedule, anchor, next);
    }
  }

  stop(): void {
    for (const timer of this.#timers) this.deps.clearTimer(timer);
    this.#timers.clear();
  }

  #arm(rule: ScheduleRule, schedule: Schedule, anchor: Date, next: Date | undefined): void {
    if (next === undefined) return;
    const wait = next.getTime() - this.deps.now();
    const timer = this.deps.setTimer(
      () => {
        this.#timers.delete(timer);
        if (wait > LONGEST_TIMER_MS) {
          this.#arm(rule, schedule, anchor, next);
          return;
        }
        const event =
          rule.input === undefined
            ? scheduledEvent({
                ruleArn: rule.ruleArn,
                region: this.deps.region,
                time: next,
                id: this.deps.newId(),
              })
            : rule.input;
        this.deps.fire(rule.functionKey, event, rule.ruleArn);
        // From now, not from this firing: after a suspended laptop, EventBridge does not catch up missed runs.
        const after = new Date(Math.max(next.getTime(), this.deps.now()));
        this.#arm(rule, schedule, anchor, nextFireTime(schedule, after, anchor));
      },
      Math.max(0, Math.min(wait, LONGEST_TIMER_MS)),
    );
    this.#timers.add(timer);
  }
}
