/**
 * trigger: PutObject under targets/ → s3Upload's `object processed` line, one upload at a time, against the
 * floor of the same PutObject to a key no trigger watches. Floor and trigger uploads alternate.
 */
import { performance } from 'node:perf_hooks';
import { distribution, ratio, round } from './stats';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { BUCKET, type BenchStack } from './stack';

export const TRIGGER_GOAL = { medianRatioMax: 2, p99MsMax: 50, overPutAndGetRatioMax: 1.3 } as const;

export interface TriggerResult {
  uploads: number;
  floorMedianMs: number;
  floorP99Ms: number;
  medianMs: number;
  p99Ms: number;
  medianRatio: number | null;
  p99Ratio: number | null;
  goal: typeof TRIGGER_GOAL;
  met: boolean;
  /**
   * Where a triggered upload's time goes, medians and p99s of each part measured apart (so they do not add up
   * exactly; put and queue overlap by the time the PUT response takes to travel back).
   */
  breakdown: {
    /** PutObject round trip of the triggered uploads (the S3 part; the event fires before S3 answers). */
    putMs: number;
    putP99Ms: number;
    /**
     * A GetObject of the same small object from this process: what the handler's own read of the object costs
     * at least. The trigger path is a PutObject plus this plus the emulation's overhead.
     */
    getMs: number;
    getP99Ms: number;
    /** Offline queue: from the local S3 event to the attempt (includes the durable write of the event). */
    queueMs: number | null;
    queueP99Ms: number | null;
    /** The run's Duration: the event to the environment over the Runtime API, the handler (GetObject, hash, log), its answer. */
    handlerMs: number | null;
    handlerP99Ms: number | null;
    /** Median total minus put, queue and handler medians (0 when they overlap by more than the rest). */
    otherMs: number | null;
    /** Invocations the queue and handler parts are taken from (the metrics recorder keeps the last 100). */
    sampled: number;
  };
}

const WARM_UPS = 5;
const PROCESS_TIMEOUT_MS = 10_000;

export async function measureTrigger(
  stack: BenchStack,
  uploads: number,
  progress: (message: string) => void,
): Promise<TriggerResult> {
  const floor: number[] = [];
  const triggered: number[] = [];
  const putOnly: number[] = [];
  const getOnly: number[] = [];

  const floorUpload = async (name: string): Promise<number> => {
    const started = performance.now();
    await stack.put(`untriggered/bench/${name}.txt`, `floor ${name}\nsecond line\n`);
    return performance.now() - started;
  };
  const triggeredUpload = async (name: string): Promise<{ total: number; put: number }> => {
    const key = `targets/bench/${name}.txt`;
    const started = performance.now();
    const processed = stack.log.processed(key, PROCESS_TIMEOUT_MS);
    await stack.put(key, `trigger ${name}\nsecond line\n`);
    const put = performance.now() - started;
    return { total: (await processed) - started, put };
  };

  const timedGet = async (key: string): Promise<number> => {
    const started = performance.now();
    const response = await stack.s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    await response.Body?.transformToString();
    return performance.now() - started;
  };

  for (let i = 0; i < WARM_UPS; i += 1) {
    await floorUpload(`warm-up-${i}`);
    await triggeredUpload(`warm-up-${i}`);
  }
  for (let i = 0; i < uploads; i += 1) {
    // Alternate which goes first, so neither always follows the other's tail work.
    if (i % 2 === 0) floor.push(await floorUpload(`trigger-${i}`));
    const { total, put } = await triggeredUpload(`trigger-${i}`);
    triggered.push(total);
    putOnly.push(put);
    if (i % 2 === 1) floor.push(await floorUpload(`trigger-${i}`));
    getOnly.push(await timedGet(`untriggered/bench/trigger-${i}.txt`));
    if ((i + 1) % 50 === 0) progress(`trigger: ${i + 1}/${uploads}`);
  }

  const recent = (await stack.recent().catch(() => [])).filter(
    (run) => run.functionKey === 's3Upload' && run.mode === 'async' && run.outcome === 'success',
  );
  const sampled = recent.slice(-Math.min(uploads, recent.length));
  const queue = sampled.length ? distribution(sampled.map((run) => run.eventAgeMs ?? 0)) : null;
  const handler = sampled.length ? distribution(sampled.map((run) => run.durationMs)) : null;
  const queueMs = queue?.median ?? null;
  const handlerMs = handler?.median ?? null;

  const floorDist = distribution(floor);
  const dist = distribution(triggered);
  const put = distribution(putOnly);
  const putMs = put.median;
  const get = distribution(getOnly);
  const medianRatio = ratio(dist.median, floorDist.median);
  return {
    uploads,
    floorMedianMs: floorDist.median,
    floorP99Ms: floorDist.p99,
    medianMs: dist.median,
    p99Ms: dist.p99,
    medianRatio,
    p99Ratio: ratio(dist.p99, floorDist.p99),
    goal: TRIGGER_GOAL,
    met:
      medianRatio !== null && medianRatio <= TRIGGER_GOAL.medianRatioMax && dist.p99 <= TRIGGER_GOAL.p99MsMax,
    breakdown: {
      putMs,
      putP99Ms: put.p99,
      getMs: get.median,
      getP99Ms: get.p99,
      queueMs,
      queueP99Ms: queue?.p99 ?? null,
      handlerMs,
      handlerP99Ms: handler?.p99 ?? null,
      otherMs:
        queueMs === null || handlerMs === null
          ? null
          : round(Math.max(0, dist.median - putMs - queueMs - handlerMs)),
      sampled: sampled.length,
    },
  };
}
