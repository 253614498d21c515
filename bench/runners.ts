/** Fresh-process invocations of packaged handlers (invoke-runner.cjs) and the raw GetObject floor. */
import { join } from 'node:path';
import { PROJECT_DIR } from '../support/offline-stack';
import { type Cleanup, runTimed, type TimedRun } from './processes';

export const INVOKE_RUNNER = join(__dirname, 'invoke-runner.cjs');
export const RAW_GET_RUNNER = join(__dirname, 'raw-get-runner.cjs');

/** What invoke-runner.cjs reports on fd 3. */
export interface InvokeReport {
  ok: boolean;
  error?: string;
  bootMs: number;
  requireMs: number;
  invokeMs: number;
  rssAfterRequireKb: number;
  maxRssKb: number;
  /** User + system CPU of the process (all threads) from its start to the report. */
  cpuMs: number;
  result: unknown;
}

/** What raw-get-runner.cjs reports on fd 3. */
export interface RawGetReport {
  ok: boolean;
  error?: string;
  bytes: number;
  elapsedMs: number;
  maxRssKb: number;
}

/** The local S3's endpoint and fixed credentials, and the region Lambda would set. */
export function localS3Environment(s3Endpoint: string): Record<string, string> {
  return {
    AWS_REGION: 'ap-northeast-1',
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
    S3_ENDPOINT: s3Endpoint,
  };
}

/** A clean environment: PATH and HOME from here, the rest as given (no NODE_OPTIONS leaking in from npm). */
export function isolatedEnvironment(variables: Record<string, string>): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...variables };
}

function parseReport<T extends { ok: boolean; error?: string }>(what: string, run: TimedRun): T {
  const line = run.fd3.trim().split('\n').pop() ?? '';
  let report: T;
  try {
    report = JSON.parse(line) as T;
  } catch {
    throw new Error(`${what}: no report (exit ${run.code}):\n${run.stderr}`);
  }
  if (!report.ok || run.code !== 0) throw new Error(`${what} failed: ${report.error ?? run.stderr}`);
  return report;
}

export async function invokeInFreshProcess(
  cleanup: Cleanup,
  bundle: string,
  eventFile: string,
  env: NodeJS.ProcessEnv,
): Promise<{ ms: number; report: InvokeReport }> {
  const run = await runTimed(cleanup, process.execPath, [INVOKE_RUNNER, bundle, eventFile], {
    cwd: PROJECT_DIR,
    env,
    resultChannel: true,
  });
  return { ms: run.ms, report: parseReport<InvokeReport>(`invoke ${bundle}`, run) };
}

export async function rawGetInFreshProcess(
  cleanup: Cleanup,
  s3Endpoint: string,
  bucket: string,
  key: string,
  env: NodeJS.ProcessEnv,
): Promise<{ ms: number; report: RawGetReport }> {
  const run = await runTimed(cleanup, process.execPath, [RAW_GET_RUNNER, s3Endpoint, bucket, key], {
    cwd: PROJECT_DIR,
    env,
    resultChannel: true,
  });
  return { ms: run.ms, report: parseReport<RawGetReport>(`raw GetObject of ${key}`, run) };
}

/** `node -e 0` in the same environment: the floor of every fresh-process figure. */
export async function bareNode(cleanup: Cleanup, env: NodeJS.ProcessEnv): Promise<number> {
  const run = await runTimed(cleanup, process.execPath, ['-e', '0'], { cwd: PROJECT_DIR, env });
  if (run.code !== 0) throw new Error(`node -e 0 failed:\n${run.stderr}`);
  return run.ms;
}
