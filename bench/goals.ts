/**
 * The bench's goals, each checked against what the run measured: a goal missed is reported (✗), never an error.
 */
import { BURST_GOAL } from './burst';
import { COLD_START_GOAL } from './cold-start';
import type { ConcurrentBurst } from './concurrent';
import { LARGE_OBJECT_GOAL } from './large-object';
import { type Goal, NO_WORSE_MARGIN, type Results, STACK_GOAL } from './results';
import { SIDE_BY_SIDE_GOAL } from './side-by-side';
import { round } from './stats';
import { TRIGGER_GOAL } from './trigger';

export function goals(results: Results): Goal[] {
  const list: Goal[] = [];
  const { trigger, burst, coldStart, largeObject } = results;
  if (trigger) {
    list.push({
      goal: 'trigger median ≤ 2 × floor median',
      target: `≤ ${TRIGGER_GOAL.medianRatioMax}×`,
      measured: trigger.medianRatio,
      unit: '×',
      met: trigger.medianRatio !== null && trigger.medianRatio <= TRIGGER_GOAL.medianRatioMax,
    });
    list.push({
      goal: 'trigger p99 ≤ 50 ms',
      target: `≤ ${TRIGGER_GOAL.p99MsMax} ms`,
      measured: trigger.p99Ms,
      unit: 'ms',
      met: trigger.p99Ms <= TRIGGER_GOAL.p99MsMax,
    });
  }
  if (burst) {
    list.push({
      goal: 'burst: no upload lost',
      target: '0',
      measured: burst.lost,
      unit: '',
      met: burst.lost === 0,
    });
    list.push({
      goal: 'burst: no upload processed twice',
      target: '0',
      measured: burst.duplicated,
      unit: '',
      met: burst.duplicated === 0,
    });
    list.push({
      goal: 'burst throughput ≥ 50 % of floor',
      target: `≥ ${BURST_GOAL.throughputRatioMin}×`,
      measured: burst.throughputRatio,
      unit: '×',
      met: burst.throughputRatio !== null && burst.throughputRatio >= BURST_GOAL.throughputRatioMin,
    });
  }
  if (coldStart) {
    for (const name of ['hello', 's3Upload'] as const) {
      list.push({
        goal: `${name} cold start ≤ ${COLD_START_GOAL[name]} ms over bare node`,
        target: `≤ ${COLD_START_GOAL[name]} ms`,
        measured: coldStart[name].overBareMs,
        unit: 'ms',
        met: coldStart[name].met,
      });
    }
  }
  const { stack, baseline } = results;
  if (stack) {
    list.push({
      goal: `idle stack (sls + environments, both warm) RSS ≤ ${STACK_GOAL.idleRssMbMax} MB`,
      target: `≤ ${STACK_GOAL.idleRssMbMax} MB`,
      measured: stack.idle.median.rssMb,
      unit: 'MB',
      met: stack.idle.median.rssMb <= STACK_GOAL.idleRssMbMax,
    });
    if (stack.afterBurst) {
      list.push({
        goal: `after the burst: RSS ≤ ${STACK_GOAL.afterBurstRatioMax} × idle within ${STACK_GOAL.afterBurstWithinS} s`,
        target: `≤ ${STACK_GOAL.afterBurstWithinS} s`,
        measured: stack.afterBurst.backUnderLimitS,
        unit: 's',
        met:
          stack.afterBurst.backUnderLimitS !== null &&
          stack.afterBurst.backUnderLimitS <= STACK_GOAL.afterBurstWithinS,
      });
    }
    if (baseline) {
      const ratio = round(stack.warmInvoke.medianMs / baseline.warmInvoke.medianMs);
      list.push({
        goal: `warm invoke (Invoke API) median ≤ ${STACK_GOAL.warmInvokeRatioMax} × the baseline's`,
        target: `≤ ${STACK_GOAL.warmInvokeRatioMax}×`,
        measured: ratio,
        unit: '×',
        met: ratio <= STACK_GOAL.warmInvokeRatioMax,
      });
    }
  }
  if (baseline && trigger && baseline.trigger) {
    const ratio = round(trigger.medianMs / baseline.trigger.medianMs);
    list.push({
      goal: `trigger median no worse than the baseline's (+${NO_WORSE_MARGIN * 100} % run-to-run margin)`,
      target: `≤ ${1 + NO_WORSE_MARGIN}×`,
      measured: ratio,
      unit: '×',
      met: ratio <= 1 + NO_WORSE_MARGIN,
    });
  }
  if (baseline && burst && baseline.burst) {
    const ratio = round(burst.throughputPerS / baseline.burst.throughputPerS);
    list.push({
      goal: `burst throughput no worse than the baseline's (−${NO_WORSE_MARGIN * 100} % run-to-run margin)`,
      target: `≥ ${1 - NO_WORSE_MARGIN}×`,
      measured: ratio,
      unit: '×',
      met: ratio >= 1 - NO_WORSE_MARGIN,
    });
  }
  list.push(...throughputGoals(results), ...concurrentGoals(results), ...sideBySideGoals(results));
  if (largeObject) {
    list.push({
      goal: `large object: worker peak RSS ≤ ${LARGE_OBJECT_GOAL.peakRssMbMax} MB`,
      target: `≤ ${LARGE_OBJECT_GOAL.peakRssMbMax} MB`,
      measured: largeObject.peakRssMb,
      unit: 'MB',
      met: largeObject.met,
    });
  }
  return list;
}

/** The throughput goals beyond the ratio: the main thread's CPU per upload, the trigger's unavoidable floor. */
function throughputGoals({ burst, trigger }: Results): Goal[] {
  const list: Goal[] = [];
  const c = burst?.cpu;
  if (c && c.offlineMainMsPerUpload !== null && c.floorOfflineMainMsPerUpload) {
    const ratio = round(c.offlineMainMsPerUpload / c.floorOfflineMainMsPerUpload);
    list.push({
      goal: `burst: main thread CPU per triggered upload ≤ ${BURST_GOAL.mainCpuRatioMax} × the floor's`,
      target: `≤ ${BURST_GOAL.mainCpuRatioMax}×`,
      measured: ratio,
      unit: '×',
      met: ratio <= BURST_GOAL.mainCpuRatioMax,
    });
  }
  if (trigger) {
    // The work a trigger cannot avoid: the PutObject itself and the handler's own GetObject of the object.
    const floor = trigger.floorMedianMs + trigger.breakdown.getMs;
    const ratio = round(trigger.medianMs / floor);
    list.push({
      goal: `trigger median ≤ ${TRIGGER_GOAL.overPutAndGetRatioMax} × (PutObject floor + GetObject)`,
      target: `≤ ${TRIGGER_GOAL.overPutAndGetRatioMax}×`,
      measured: ratio,
      unit: '×',
      met: ratio <= TRIGGER_GOAL.overPutAndGetRatioMax,
    });
  }
  return list;
}

function concurrentGoals({ concurrent }: Results): Goal[] {
  if (!concurrent) return [];
  const { withinS, peakRssMbMax } = concurrent.goal;
  const each = (name: string, burst: ConcurrentBurst): Goal[] => [
    {
      goal: `${burst.calls} concurrent hello calls (${name}): all answered 200`,
      target: `${burst.calls}`,
      measured: burst.ok,
      unit: '',
      met: burst.ok === burst.calls,
    },
    {
      goal: `${burst.calls} concurrent hello calls (${name}): the last answer within ${withinS} s`,
      target: `≤ ${withinS} s`,
      measured: burst.lastAnswerS,
      unit: 's',
      met: burst.lastAnswerS <= withinS,
    },
    {
      goal: `${burst.calls} concurrent hello calls (${name}): peak RSS of the whole stack ≤ ${peakRssMbMax} MB`,
      target: `≤ ${peakRssMbMax} MB`,
      measured: burst.peakRssMb,
      unit: 'MB',
      met: burst.peakRssMb <= peakRssMbMax,
    },
    {
      goal: `${burst.calls} concurrent hello calls (${name}): none lost`,
      target: '0',
      measured: burst.lost,
      unit: '',
      met: burst.lost === 0,
    },
  ];
  return [...each('Invoke API', concurrent.invoke), ...each('HTTP', concurrent.http)];
}

function sideBySideGoals({ npmStart, peer }: Results): Goal[] {
  if (!npmStart || !peer) return [];
  const ratio = round(npmStart.idle.median.rssMb / peer.idle.median.rssMb);
  return [
    {
      goal: `idle, both warm: npm start's whole tree ≤ ${SIDE_BY_SIDE_GOAL.idleRatioMax} × the stock stack's (RSS)`,
      target: `≤ ${SIDE_BY_SIDE_GOAL.idleRatioMax}×`,
      measured: ratio,
      unit: '×',
      met: ratio <= SIDE_BY_SIDE_GOAL.idleRatioMax,
    },
  ];
}
