/**
 * largeObject: one large text object, generated as a stream (one reused 1 MiB chunk, never the whole object in
 * memory) and PutObject'd with a known ContentLength to a key outside targets/ (so the offline stack does not
 * process it too). Then, in fresh processes: the unzipped s3Upload bundle invoked on that object's event
 * (peak RSS, handler MB/s), against a raw SDK GetObject that only drains the body (its peak RSS and MB/s).
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { s3EventFor } from './cold-start';
import type { PackagedFunction } from './package';
import type { Cleanup } from './processes';
import {
  invokeInFreshProcess,
  isolatedEnvironment,
  localS3Environment,
  rawGetInFreshProcess,
} from './runners';
import { BUCKET, type BenchStack } from './stack';
import { median, ratio, round } from './stats';

/** Lambda's smallest memory size, in MB (MiB, as Lambda counts). */
export const LARGE_OBJECT_GOAL = { peakRssMbMax: 128 } as const;

const MiB = 1024 * 1024;

export interface LargeObjectResult {
  bytes: number;
  runs: number;
  peakRssMb: number;
  rawPeakRssMb: number;
  rssRatio: number | null;
  /** The worker's RSS once the bundle is loaded, before the object is read: its baseline. */
  rssAfterRequireMb: number;
  /** Every run's peak RSS (worker, then raw): how much it moves with the garbage collector's timing. */
  peakRssMbRuns: number[];
  rawPeakRssMbRuns: number[];
  handlerMBps: number;
  rawMBps: number;
  throughputRatio: number | null;
  uploadMBps: number;
  goal: typeof LARGE_OBJECT_GOAL;
  met: boolean;
}

/** Text lines, so the handler's line count has work to do; the same 1 MiB chunk is yielded again and again. */
function* textChunks(bytes: number): Generator<Buffer> {
  const line = 'lambda-notes large object bench: the quick brown fox jumps over the lazy dog 0123456789\n';
  const chunk = Buffer.from(line.repeat(Math.ceil(MiB / line.length))).subarray(0, MiB);
  for (let sent = 0; sent < bytes; sent += chunk.length) {
    yield sent + chunk.length <= bytes ? chunk : chunk.subarray(0, bytes - sent);
  }
}

export async function measureLargeObject(
  cleanup: Cleanup,
  stack: BenchStack,
  s3Upload: PackagedFunction,
  bytes: number,
  runs: number,
  workDir: string,
  progress: (message: string) => void,
): Promise<LargeObjectResult> {
  const key = `untriggered/bench/large-${bytes / MiB}mb.txt`;
  const uploadStarted = performance.now();
  await stack.s3.send(
    new PutObjectCommand({
      Bucket: BUCKET,
      Key: key,
      Body: Readable.from(textChunks(bytes)),
      ContentLength: bytes,
      ContentType: 'text/plain',
    }),
  );
  const uploadMBps = round(bytes / MiB / ((performance.now() - uploadStarted) / 1000), 1);
  progress(`largeObject: ${bytes / MiB} MB uploaded at ${uploadMBps} MB/s`);

  const eventFile = join(workDir, 'large-object-s3-event.json');
  await writeFile(eventFile, JSON.stringify(s3EventFor(BUCKET, key, bytes)));
  const local = localS3Environment(stack.s3Endpoint);
  const env = isolatedEnvironment({ ...s3Upload.environment, ...local });
  const rawEnv = isolatedEnvironment(local);

  const handlerRates: number[] = [];
  const handlerPeaks: number[] = [];
  const afterRequire: number[] = [];
  const rawRates: number[] = [];
  const rawPeaks: number[] = [];
  for (let run = 0; run < runs; run += 1) {
    const { report } = await invokeInFreshProcess(cleanup, s3Upload.bundle, eventFile, env);
    const [summary] = report.result as Array<{ size: number }>;
    if (summary?.size !== bytes) throw new Error(`s3Upload summarised ${summary?.size} bytes of ${bytes}`);
    handlerRates.push(bytes / MiB / (report.invokeMs / 1000));
    handlerPeaks.push(report.maxRssKb / 1024);
    afterRequire.push(report.rssAfterRequireKb / 1024);

    const raw = await rawGetInFreshProcess(cleanup, stack.s3Endpoint, BUCKET, key, rawEnv);
    if (raw.report.bytes !== bytes)
      throw new Error(`raw GetObject read ${raw.report.bytes} bytes of ${bytes}`);
    rawRates.push(bytes / MiB / (raw.report.elapsedMs / 1000));
    rawPeaks.push(raw.report.maxRssKb / 1024);
    progress(`largeObject: run ${run + 1}/${runs}`);
  }

  // Memory: the worst run (a limit is hit by the worst case); speed: the median run.
  const peakRssMb = round(Math.max(...handlerPeaks), 1);
  const rawPeakRssMb = round(Math.max(...rawPeaks), 1);
  const handlerMBps = round(median(handlerRates), 1);
  const rawMBps = round(median(rawRates), 1);
  return {
    bytes,
    runs,
    peakRssMb,
    rawPeakRssMb,
    rssRatio: ratio(peakRssMb, rawPeakRssMb),
    rssAfterRequireMb: round(median(afterRequire), 1),
    peakRssMbRuns: handlerPeaks.map((peak) => round(peak, 1)),
    rawPeakRssMbRuns: rawPeaks.map((peak) => round(peak, 1)),
    handlerMBps,
    rawMBps,
    throughputRatio: ratio(handlerMBps, rawMBps),
    uploadMBps,
    goal: LARGE_OBJECT_GOAL,
    met: peakRssMb <= LARGE_OBJECT_GOAL.peakRssMbMax,
  };
}
