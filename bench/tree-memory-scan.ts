/**
 * What reading an environment's process group costs the stack (offline/environments/process-memory.ts): a full
 * scan of /proc for a group's members, and one sample of a group of 1 and of 4 processes (the runtime's status,
 * one stat file and one `children` file a process), in CPU and wall time, on this machine as it is now.
 *
 *   npx tsx bench/tree-memory-scan.ts [rounds=400]
 */
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { FULL_SCAN_EVERY_MS, processMemory, scanGroup } from '../offline/environments/process-memory';
import { waitFor } from '../support/wait';

function cost(rounds: number, work: () => unknown): { cpuUs: number; wallUs: number } {
  const cpu = process.cpuUsage();
  const started = performance.now();
  for (let round = 0; round < rounds; round += 1) work();
  const used = process.cpuUsage(cpu);
  return {
    cpuUs: (used.user + used.system) / rounds,
    wallUs: ((performance.now() - started) * 1000) / rounds,
  };
}

async function main(): Promise<void> {
  const rounds = Number(process.argv[2] ?? 400);
  const memory = await processMemory();
  const lone = spawn('sleep', ['60'], { detached: true, stdio: 'ignore' });
  const tree = spawn('/bin/sh', ['-c', 'sleep 60 & sleep 60 & sleep 60 & wait'], {
    detached: true,
    stdio: 'ignore',
  });
  try {
    const treeLeader = tree.pid as number;
    await waitFor('the tree', () => scanGroup(treeLeader).length === 4);
    const processes = readdirSync('/proc').filter((name) => /^\d+$/.test(name)).length;
    const show = (what: string, figures: { cpuUs: number; wallUs: number }): void => {
      process.stdout.write(
        `${what}: ${figures.cpuUs.toFixed(0)} µs CPU, ${figures.wallUs.toFixed(0)} µs wall\n`,
      );
    };
    process.stdout.write(`${processes} processes on this machine\n`);
    show(
      'full scan of /proc for one group',
      cost(rounds, () => scanGroup(treeLeader)),
    );
    // The readers' first sample does the full scan; the ones measured after it are the 20 ms samples.
    for (const [what, leader] of [
      ['sample, group of 1', lone.pid as number],
      ['sample, group of 4', treeLeader],
    ] as const) {
      const group = memory.group(leader);
      await group.read();
      const started = Date.now();
      const figures = cost(rounds, () => void group.read());
      if (Date.now() - started >= FULL_SCAN_EVERY_MS)
        process.stdout.write('(a full scan fell within these)\n');
      show(what, figures);
    }
  } finally {
    for (const child of [lone, tree]) if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`);
  process.exitCode = 1;
});
