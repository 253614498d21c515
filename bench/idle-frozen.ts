/**
 * What the freeze costs at idle: N warm environments (the runtime's echo fixture) left idle, frozen and then not,
 * and the CPU used meanwhile by the stack's own process (this one: the pool, the Runtime API servers) and by the
 * environments' processes, per second of idle.
 *
 *   npx tsx bench/idle-frozen.ts [environments=20] [seconds=20]
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExecutionEnvironment, logStreamName } from '../offline/environments/environment';
import { processMemory, scanGroup } from '../offline/environments/process-memory';
import { BOOTSTRAP, fixtureSpec } from '../test/helpers/runtime-fixtures';
import { waitFor } from '../support/wait';

/** USER_HZ: /proc/<pid>/stat counts CPU time in 1/100 s on Linux. */
const TICKS_PER_SECOND = 100;

/** utime + stime of every process of the groups led by `leaders`, in ms. */
function groupsCpuMs(leaders: number[]): number {
  let ticks = 0;
  for (const leader of leaders) {
    for (const pid of scanGroup(leader)) {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        ticks += Number(fields[11]) + Number(fields[12]);
      } catch {
        // ended meanwhile
      }
    }
  }
  return (ticks * 1000) / TICKS_PER_SECOND;
}

const ownCpuMs = (): number => {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
};

async function idleCpu(count: number, seconds: number, freeze: boolean, root: string) {
  const memory = await processMemory();
  const environments = await Promise.all(
    Array.from({ length: count }, async () => {
      const id = randomUUID().replaceAll('-', '');
      return ExecutionEnvironment.start(fixtureSpec('handlers.echo'), {
        id,
        logStream: logStreamName(new Date(), id),
        tmpDir: join(root, id),
        bootstrap: BOOTSTRAP,
        hostVariables: { PATH: process.env.PATH ?? '' },
        memory,
        freeze,
        output: () => undefined,
        ended: () => undefined,
        now: Date.now,
      });
    }),
  );
  try {
    for (const environment of environments) {
      await environment.run(
        { requestId: randomUUID(), event: '{}', invokedFunctionArn: 'arn', traceId: 'Root=1-0-0' },
        { append: () => undefined },
      );
    }
    await waitFor('every environment idle', () =>
      environments.every(
        (environment) => environment.state === 'idle' && environment.view().frozen === freeze,
      ),
    );
    const leaders = environments.map((environment) => environment.view().pid as number);
    const [ownBefore, groupsBefore] = [ownCpuMs(), groupsCpuMs(leaders)];
    await new Promise((done) => setTimeout(done, seconds * 1000));
    const [ownAfter, groupsAfter] = [ownCpuMs(), groupsCpuMs(leaders)];
    return {
      stackMsPerS: (ownAfter - ownBefore) / seconds,
      environmentsMsPerS: (groupsAfter - groupsBefore) / seconds,
    };
  } finally {
    await Promise.all(environments.map((environment) => environment.end('bench over')));
  }
}

async function main(): Promise<void> {
  const count = Number(process.argv[2] ?? 20);
  const seconds = Number(process.argv[3] ?? 20);
  const root = await mkdtemp(join(tmpdir(), 'lambda-notes-idle-frozen-'));
  try {
    // Twice each, alternating: the first window of a process carries what its start left (JIT, GC).
    for (const freeze of [true, false, true, false]) {
      const figures = await idleCpu(count, seconds, freeze, root);
      process.stdout.write(
        `${count} idle environments, ${freeze ? 'frozen' : 'not frozen'}, ${seconds} s: stack ` +
          `${figures.stackMsPerS.toFixed(2)} ms CPU/s, environments ${figures.environmentsMsPerS.toFixed(2)} ms CPU/s\n`,
      );
    }
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`);
  process.exitCode = 1;
});
