/**
 * A stack of environments in a process of its own, for the tests that kill a stack with kill -9: it prepares a
 * pool on the tmpRoot given as its argument, runs `sandbox.children` in one environment (which stays idle,
 * frozen, with its children), prints the pids as one JSON line, and waits to be killed.
 */
import { randomUUID } from 'node:crypto';
import { EnvironmentPool } from '../../offline/environments/pool';
import { processMemory } from '../../offline/environments/process-memory';
import { BOOTSTRAP, fixtureSpec } from './runtime-fixtures';

async function main(): Promise<void> {
  const tmpRoot = process.argv[2];
  if (tmpRoot === undefined) throw new Error('usage: sandbox-stack.ts <tmpRoot>');
  const spec = fixtureSpec('sandbox.children');
  const pool = new EnvironmentPool({
    functions: new Map([[spec.key, spec]]),
    idleMs: 600_000,
    tmpRoot,
    bootstrap: BOOTSTRAP,
    hostVariables: { PATH: process.env.PATH ?? '' },
    memory: await processMemory(),
    write: () => undefined,
    log: () => undefined,
    newId: randomUUID,
    now: Date.now,
  });
  await pool.prepare();
  const environment = await pool.acquire(spec.key);
  const result = await environment.run(
    { requestId: randomUUID(), event: '{"mb":1}', invokedFunctionArn: spec.arn, traceId: 'Root=1-0-0' },
    { append: () => undefined },
  );
  pool.release(environment);
  if (!result.outcome.ok) throw new Error(JSON.stringify(result.outcome.error));
  process.stdout.write(`${result.outcome.body}\n`);
  setInterval(() => undefined, 60_000);
}

main().catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`);
  process.exit(1);
});
