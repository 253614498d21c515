/**
 * coldStart: per packaged function, a fresh `node` process that requires the unzipped bundle and runs one
 * invocation, against a bare `node -e 0`; runs interleaved so that load on the machine hits all alike.
 * The functions run with their serverless.yml environment (NODE_OPTIONS=--enable-source-maps included) and the
 * local S3's endpoint and credentials; the same functions without source maps are measured beside them, to show
 * what that option costs.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { encodeS3Key } from '../lib/s3-keys';
import { loadEvent } from '../support/fixtures';
import { PROJECT_DIR } from '../support/offline-stack';
import type { PackagedFunction } from './package';
import type { Cleanup } from './processes';
import {
  bareNode,
  type InvokeReport,
  invokeInFreshProcess,
  isolatedEnvironment,
  localS3Environment,
} from './runners';
import { BUCKET, type BenchStack } from './stack';
import { distribution, median, ratio, round } from './stats';

export const COLD_START_GOAL = { hello: 10, s3Upload: 40 } as const;

export interface FunctionColdStart {
  zipBytes: number;
  medianMs: number;
  p99Ms: number;
  overBareMs: number;
  ratio: number | null;
  goalOverBareMsMax: number;
  met: boolean;
  /** Medians from inside the process: start to runner, require of the bundle, the one invocation; memory. */
  inside: {
    bootMs: number;
    requireMs: number;
    invokeMs: number;
    rssAfterRequireMb: number;
    maxRssMb: number;
    /** CPU time of the whole process (user + system). Load on a shared machine stretches wall time far more. */
    cpuMs: number;
  };
  /** CPU time over the runner with an empty handler: what the function itself costs, harness left out. */
  cpuOverEmptyMs: number;
  /** The same without NODE_OPTIONS=--enable-source-maps (null when serverless.yml does not set it). */
  withoutSourceMaps: {
    medianMs: number;
    overBareMs: number;
    requireMs: number;
    maxRssMb: number;
    cpuMs: number;
  } | null;
}

/** The same runs of another commit's bundles, interleaved with these (bench --baseline). */
export interface BaselineColdStart {
  medianMs: number;
  overBareMs: number;
  zipBytes: number;
}

export interface ColdStartResult {
  runs: number;
  bareNodeMs: number;
  bareNodeP99Ms: number;
  /** The runner invoking `exports.handler = async () => null`: the harness alone (wall and CPU medians). */
  emptyHandler: { medianMs: number; cpuMs: number };
  hello: FunctionColdStart;
  s3Upload: FunctionColdStart;
  baseline: { hello: BaselineColdStart; s3Upload: BaselineColdStart } | null;
}

const SOURCE_MAPS = '--enable-source-maps';

function withoutSourceMaps(environment: Record<string, string>): Record<string, string> | undefined {
  const options = environment.NODE_OPTIONS?.split(/\s+/) ?? [];
  if (!options.includes(SOURCE_MAPS)) return undefined;
  const rest = options.filter((option) => option !== SOURCE_MAPS).join(' ');
  const others = { ...environment };
  delete others.NODE_OPTIONS;
  return rest ? { ...others, NODE_OPTIONS: rest } : others;
}

const mb = (kb: number): number => round(kb / 1024, 1);

/** The S3 notification s3Upload would get for this object (events/s3-put.json with bucket and key replaced). */
export function s3EventFor(bucket: string, key: string, size: number): unknown {
  const event = loadEvent('s3-put');
  for (const record of event.Records) {
    record.s3.bucket.name = bucket;
    record.s3.bucket.arn = `arn:aws:s3:::${bucket}`;
    record.s3.object.key = encodeS3Key(key);
    record.s3.object.size = size;
  }
  return event;
}

export async function measureColdStart(
  cleanup: Cleanup,
  stack: BenchStack,
  functions: readonly PackagedFunction[],
  runs: number,
  workDir: string,
  progress: (message: string) => void,
  baselineFunctions: readonly PackagedFunction[] = [],
): Promise<ColdStartResult> {
  const key = 'targets/bench/cold-start.txt';
  const body = 'cold start\nsecond line\n';
  await stack.put(key, body);
  const s3EventFile = join(workDir, 'cold-start-s3-event.json');
  await writeFile(s3EventFile, JSON.stringify(s3EventFor(BUCKET, key, Buffer.byteLength(body))));
  const eventFiles: Record<string, string> = {
    hello: join(PROJECT_DIR, 'events', 'hello.json'),
    s3Upload: s3EventFile,
  };

  const local = localS3Environment(stack.s3Endpoint);
  const cases = (['hello', 's3Upload'] as const).map((name) => {
    const fn = functions.find((candidate) => candidate.name === name);
    if (!fn) throw new Error(`serverless package produced no ${name} function`);
    const plain = withoutSourceMaps(fn.environment);
    return {
      name,
      fn,
      eventFile: eventFiles[name] as string,
      env: isolatedEnvironment({ ...fn.environment, ...local }),
      plainEnv: plain && isolatedEnvironment({ ...plain, ...local }),
      samples: [] as number[],
      reports: [] as InvokeReport[],
      plainSamples: [] as number[],
      plainReports: [] as InvokeReport[],
    };
  });
  const baselineCases = baselineFunctions
    .filter((fn) => fn.name === 'hello' || fn.name === 's3Upload')
    .map((fn) => ({
      fn,
      eventFile: eventFiles[fn.name] as string,
      env: isolatedEnvironment({ ...fn.environment, ...local }),
      samples: [] as number[],
    }));
  const bareEnv = cases[0]?.env ?? isolatedEnvironment(local);
  const emptyBundle = join(workDir, 'empty-handler.js');
  await writeFile(emptyBundle, 'exports.handler = async () => null;\n');
  const empty: { ms: number[]; cpu: number[] } = { ms: [], cpu: [] };

  const bare: number[] = [];
  // One uncounted round: the first spawn pays for the page cache.
  await bareNode(cleanup, bareEnv);
  for (const c of cases) await invokeInFreshProcess(cleanup, c.fn.bundle, c.eventFile, c.env);
  for (let run = 0; run < runs; run += 1) {
    bare.push(await bareNode(cleanup, bareEnv));
    const emptyRun = await invokeInFreshProcess(cleanup, emptyBundle, eventFiles.hello as string, bareEnv);
    empty.ms.push(emptyRun.ms);
    empty.cpu.push(emptyRun.report.cpuMs);
    for (const c of cases) {
      const { ms, report } = await invokeInFreshProcess(cleanup, c.fn.bundle, c.eventFile, c.env);
      c.samples.push(ms);
      c.reports.push(report);
      if (c.plainEnv) {
        const plain = await invokeInFreshProcess(cleanup, c.fn.bundle, c.eventFile, c.plainEnv);
        c.plainSamples.push(plain.ms);
        c.plainReports.push(plain.report);
      }
    }
    for (const c of baselineCases)
      c.samples.push((await invokeInFreshProcess(cleanup, c.fn.bundle, c.eventFile, c.env)).ms);
    progress(`coldStart: ${run + 1}/${runs}`);
  }

  const bareDist = distribution(bare);
  const emptyCpuMs = round(median(empty.cpu));
  const summarise = (c: (typeof cases)[number]): FunctionColdStart => {
    const dist = distribution(c.samples);
    const overBareMs = round(dist.median - bareDist.median);
    const goal = COLD_START_GOAL[c.name];
    const of = (pick: (report: InvokeReport) => number): number => round(median(c.reports.map(pick)));
    return {
      zipBytes: c.fn.zipBytes,
      medianMs: dist.median,
      p99Ms: dist.p99,
      overBareMs,
      ratio: ratio(dist.median, bareDist.median),
      goalOverBareMsMax: goal,
      met: overBareMs <= goal,
      inside: {
        bootMs: of((r) => r.bootMs),
        requireMs: of((r) => r.requireMs),
        invokeMs: of((r) => r.invokeMs),
        rssAfterRequireMb: mb(median(c.reports.map((r) => r.rssAfterRequireKb))),
        maxRssMb: mb(median(c.reports.map((r) => r.maxRssKb))),
        cpuMs: of((r) => r.cpuMs),
      },
      cpuOverEmptyMs: round(of((r) => r.cpuMs) - emptyCpuMs),
      withoutSourceMaps: c.plainSamples.length
        ? {
            medianMs: round(median(c.plainSamples)),
            overBareMs: round(median(c.plainSamples) - bareDist.median),
            requireMs: round(median(c.plainReports.map((r) => r.requireMs))),
            maxRssMb: mb(median(c.plainReports.map((r) => r.maxRssKb))),
            cpuMs: round(median(c.plainReports.map((r) => r.cpuMs))),
          }
        : null,
    };
  };
  const [hello, s3Upload] = cases.map(summarise);
  if (!hello || !s3Upload) throw new Error('unreachable: two cases');
  const before = (name: string): BaselineColdStart | undefined => {
    const c = baselineCases.find((candidate) => candidate.fn.name === name);
    if (!c) return undefined;
    const medianMs = round(median(c.samples));
    return { medianMs, overBareMs: round(medianMs - bareDist.median), zipBytes: c.fn.zipBytes };
  };
  const baselineHello = before('hello');
  const baselineS3Upload = before('s3Upload');
  return {
    runs,
    bareNodeMs: bareDist.median,
    bareNodeP99Ms: bareDist.p99,
    emptyHandler: { medianMs: round(median(empty.ms)), cpuMs: emptyCpuMs },
    hello,
    s3Upload,
    baseline: baselineHello && baselineS3Upload ? { hello: baselineHello, s3Upload: baselineS3Upload } : null,
  };
}
