/**
 * A warm run of one environment, this checkout's against another checkout's, alternating run by run in one
 * process (the same machine at the same moment for both): the cost an environment adds to a warm invoke, without
 * the HTTP layers around it. Runs the runtime's echo fixture.
 *
 *   npx tsx bench/warm-run-ab.ts <other checkout> [runs=2000]
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { ExecutionEnvironment, logStreamName } from '../offline/environments/environment';
import { processMemory } from '../offline/environments/process-memory';
import { BOOTSTRAP, fixtureSpec } from '../test/helpers/runtime-fixtures';

type Environment = Pick<ExecutionEnvironment, 'run' | 'end'>;
type Start = (spec: unknown, options: Record<string, unknown>) => Promise<Environment>;

const percentile = (values: number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
};

async function main(): Promise<void> {
  const other = process.argv[2];
  if (other === undefined) throw new Error('usage: warm-run-ab.ts <other checkout> [runs]');
  const runs = Number(process.argv[3] ?? 2000);
  const root = await mkdtemp(join(tmpdir(), 'lambda-notes-warm-ab-'));
  const theirs = (await import(resolve(other, 'offline/environments/environment.ts'))) as {
    ExecutionEnvironment: { start: Start };
  };
  const theirMemory = (await import(resolve(other, 'offline/environments/process-memory.ts'))) as {
    processMemory: () => Promise<unknown>;
  };
  const options = <Memory>(memory: Memory, extra: { freeze?: boolean } = {}) => {
    const id = randomUUID().replaceAll('-', '');
    return {
      id,
      logStream: logStreamName(new Date(), id),
      tmpDir: join(root, id),
      bootstrap: BOOTSTRAP,
      hostVariables: { PATH: process.env.PATH ?? '' },
      memory,
      output: () => undefined,
      ended: () => undefined,
      now: Date.now,
      ...extra,
    };
  };
  const sides: [string, Environment][] = [
    [
      'other checkout',
      await theirs.ExecutionEnvironment.start(
        fixtureSpec('handlers.echo'),
        options(await theirMemory.processMemory()),
      ),
    ],
    [
      'this checkout, frozen',
      await ExecutionEnvironment.start(fixtureSpec('handlers.echo'), options(await processMemory())),
    ],
    [
      'this checkout, freeze: false',
      await ExecutionEnvironment.start(
        fixtureSpec('handlers.echo'),
        options(await processMemory(), { freeze: false }),
      ),
    ],
  ];
  const times = sides.map((): number[] => []);
  try {
    for (let round = -20; round < runs; round += 1) {
      // Each side takes each place in turn: a run goes slower right after another side's run.
      const order = sides.map((_, index) => (index + round + sides.length * 100) % sides.length);
      for (const index of order) {
        const environment = (sides[index] as [string, Environment])[1];
        const started = performance.now();
        await environment.run(
          {
            requestId: randomUUID(),
            event: '{"key1":"value1"}',
            invokedFunctionArn: 'arn',
            traceId: 'Root=1-0-0',
          },
          { append: () => undefined },
        );
        if (round >= 0) times[index]?.push(performance.now() - started);
      }
    }
    const base = percentile(times[0] ?? [], 50);
    for (const [index, [what]] of sides.entries()) {
      const median = percentile(times[index] ?? [], 50);
      process.stdout.write(
        `${what}: median ${median.toFixed(3)} ms, p90 ${percentile(times[index] ?? [], 90).toFixed(3)} ms, ` +
          `p99 ${percentile(times[index] ?? [], 99).toFixed(3)} ms (${(median / base).toFixed(2)}× the other's median)\n`,
      );
    }
  } finally {
    await Promise.all(sides.map(([, environment]) => environment.end('bench over')));
    await rm(root, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`);
  process.exitCode = 1;
});
