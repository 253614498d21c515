/**
 * The offline stack the bench measures: support/offline-stack.ts as the tests start it, plus a follower
 * of its stdout (ProcessedLog) and a reader of its metrics endpoint.
 */
import { PutObjectCommand, type PutObjectCommandInput, type S3Client } from '@aws-sdk/client-s3';
import { BUCKET, OfflineStack, type StackOptions } from '../support/offline-stack';
import type { Cleanup } from './processes';
import { ProcessedLog } from './processed-log';

export { BUCKET };

/** One invocation as offline/observability/metrics-recorder.ts records it (GET /recent.json). */
export interface RecentInvocation {
  functionKey: string;
  mode: 'sync' | 'async';
  durationMs: number;
  outcome: string;
  /** Runs of the function at the same time, this one included. */
  concurrency?: number;
  eventAgeMs?: number;
}

export interface BenchStack {
  readonly stack: OfflineStack;
  readonly log: ProcessedLog;
  readonly s3: S3Client;
  readonly s3Endpoint: string;
  put(key: string, body: string): Promise<unknown>;
  /** The last (up to 100) invocations the offline metrics recorder kept. */
  recent(): Promise<RecentInvocation[]>;
  /** Stops the stack now (it is also stopped by the bench's clean-up). */
  stop(): Promise<void>;
}

/** An idle environment ends after a minute, as under npm start (600 s × its time scale 0.1). */
const BENCH_IDLE_SECONDS = 60;

/**
 * API Gateway's own account limits (10,000 requests/s, burst 5,000) for the HTTP API instead of the dev stage's
 * 10/s: the bench measures the stack under load, which the stage throttle would answer with 429s.
 */
export const UNTHROTTLED_HTTP = { httpRateLimit: '10000', httpBurstLimit: '5000' } as const;

/**
 * `params`: serverless --param values on top of the bench's own (e.g. s3UploadReservedConcurrency);
 * `timeScale`: LAMBDA_ASYNC_TIME_SCALE; `projectDir`: another checkout to run (the baseline of a comparison);
 * `npm`, `config`, `ready`, `env`: as support/offline-stack.ts starts a stack.
 */
export async function startBenchStack(
  cleanup: Cleanup,
  {
    params = {},
    timeScale = 1,
    projectDir,
    ...start
  }: { params?: Record<string, string>; timeScale?: number; projectDir?: string } & Pick<
    StackOptions,
    'npm' | 'config' | 'ready' | 'env'
  > = {},
): Promise<BenchStack> {
  // The dev stage runs hello every minute; off here, so that nothing but the bench's uploads runs.
  // Time scale 1: AWS's own retry delays and maximumEventAge (3600 s). The tests' 0.001 makes the maximum
  // event age 3.6 s, shorter than a large burst waits in the queue: its tail would expire into the DLQ.
  const starting = OfflineStack.start({
    params: { scheduleEnabled: 'false', ...UNTHROTTLED_HTTP, ...params },
    timeScale,
    idleSeconds: BENCH_IDLE_SECONDS,
    startTimeoutMs: 60_000,
    ...(projectDir === undefined ? {} : { projectDir }),
    ...start,
  });
  const live: { log?: ProcessedLog; s3?: S3Client } = {};
  // Registered before the stack is up: an interrupt during its start waits for it, then stops it.
  const stopStack = cleanup.add('offline stack', async () => {
    const started = await starting.catch(() => undefined);
    live.s3?.destroy();
    live.log?.close();
    await started?.stop();
  });
  const stack = await starting.catch(async (error: unknown) => {
    stopStack.forget();
    throw error;
  });
  const stdout = stack.child.stdout;
  if (!stdout) {
    await stopStack.run();
    throw new Error('the offline stack has no stdout pipe to follow');
  }
  const followed = new ProcessedLog(stdout);
  const client = stack.s3Client();
  live.log = followed;
  live.s3 = client;
  const put = (key: string, body: string): Promise<unknown> => {
    const input: PutObjectCommandInput = { Bucket: BUCKET, Key: key, Body: body, ContentType: 'text/plain' };
    return client.send(new PutObjectCommand(input));
  };
  const recent = async (): Promise<RecentInvocation[]> => {
    const response = await fetch(`http://localhost:${stack.ports.metrics}/recent.json`);
    if (!response.ok) throw new Error(`metrics endpoint answered ${response.status}`);
    return (await response.json()) as RecentInvocation[];
  };
  return {
    stack,
    log: followed,
    s3: client,
    s3Endpoint: `http://localhost:${stack.ports.s3}`,
    put,
    recent,
    stop: () => stopStack.run(),
  };
}
