/**
 * environmentStart: what an offline cold start costs — for each packaged function, a new execution environment
 * (the project's runtime, offline/runtime/bootstrap.cjs, loading the unzipped bundle) runs one event, against
 * a bare `node -e 0`, interleaved. Init Duration is the process start and the module load, until the runtime
 * first asks for an event, as on Lambda; `firstRunMs` adds the run and its answer.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ExecutionEnvironment, logStreamName } from '../offline/environments/environment';
import { processMemory } from '../offline/environments/process-memory';
import { PROJECT_DIR } from '../support/offline-stack';
import type { PackagedFunction } from './package';
import type { Cleanup } from './processes';
import { bareNode, isolatedEnvironment } from './runners';
import { median, round } from './stats';

export interface EnvironmentStart {
  readonly initDurationMs: number;
  readonly firstRunMs: number;
  /** Init Duration over bare node's whole run (start to exit). */
  readonly initOverBareMs: number;
}

export interface EnvironmentStartResult {
  readonly runs: number;
  readonly bareNodeMs: number;
  readonly functions: Record<string, EnvironmentStart>;
}

const HANDLERS: Record<string, string> = {
  hello: 'handlers/hello.handler',
  s3Upload: 'handlers/s3-upload.handler',
};

export async function measureEnvironmentStart(
  cleanup: Cleanup,
  packaged: readonly PackagedFunction[],
  runs: number,
  workDir: string,
  progress: (line: string) => void,
): Promise<EnvironmentStartResult> {
  const memory = await processMemory();
  const bootstrap = join(PROJECT_DIR, 'offline', 'runtime', 'bootstrap.cjs');
  const event = await readFile(join(PROJECT_DIR, 'events', 'hello.json'), 'utf8');
  const tmpRoot = await mkdtemp(join(workDir, 'environments-'));
  const bare: number[] = [];
  const samples = new Map<string, { init: number[]; first: number[] }>();
  for (let round = 0; round < runs + 1; round += 1) {
    const counted = round > 0;
    const bareMs = await bareNode(cleanup, isolatedEnvironment({}));
    if (counted) bare.push(bareMs);
    for (const fn of packaged) {
      const handler = HANDLERS[fn.name];
      if (!handler) continue;
      const taskRoot = fn.bundle.slice(0, fn.bundle.lastIndexOf('/handlers/'));
      const id = randomUUID().replaceAll('-', '');
      const started = performance.now();
      const environment = await ExecutionEnvironment.start(
        {
          key: fn.name,
          name: `lambda-notes-bench-${fn.name}`,
          arn: `arn:aws:lambda:ap-northeast-1:000000000000:function:lambda-notes-bench-${fn.name}`,
          handler,
          taskRoot,
          runtime: 'nodejs24.x',
          memorySizeMb: 128,
          timeoutSeconds: 30,
          region: 'ap-northeast-1',
          variables: fn.environment,
        },
        {
          id,
          logStream: logStreamName(new Date(), id),
          tmpDir: join(tmpRoot, id),
          bootstrap,
          hostVariables: { PATH: process.env.PATH ?? '' },
          memory,
          output: () => undefined,
          ended: () => undefined,
          now: Date.now,
        },
      );
      const stop = cleanup.add(`environment of ${fn.name}`, () => environment.end('bench over'));
      // hello answers events/hello.json; s3Upload refuses it at once (InvalidEventError) after the same start.
      const result = await environment.run(
        { requestId: randomUUID(), event, invokedFunctionArn: environment.spec.arn, traceId: 'Root=1-0-0' },
        { append: () => undefined },
      );
      const firstRunMs = performance.now() - started;
      await stop.run();
      if (!counted) continue;
      const entry = samples.get(fn.name) ?? { init: [], first: [] };
      entry.init.push(result.initDurationMs ?? Number.NaN);
      entry.first.push(firstRunMs);
      samples.set(fn.name, entry);
    }
  }
  await rm(tmpRoot, { recursive: true, force: true });
  const bareNodeMs = round(median(bare));
  const functions: Record<string, EnvironmentStart> = {};
  for (const [name, entry] of samples) {
    const initDurationMs = round(median(entry.init));
    functions[name] = {
      initDurationMs,
      firstRunMs: round(median(entry.first)),
      initOverBareMs: round(initDurationMs - bareNodeMs),
    };
    progress(`environment start: ${name} Init Duration ${initDurationMs} ms (bare node ${bareNodeMs} ms)`);
  }
  return { runs, bareNodeMs, functions };
}
