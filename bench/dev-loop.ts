/**
 * devLoop: what a developer waits for. `npm start` to its `[async] queue ready` line (free ports, its own state
 * directory and esbuild work folder, its own process group, stopped afterwards), and `serverless invoke local`
 * of hello against `serverless print` — the framework loading and resolving serverless.yml and doing nothing
 * else, the floor of any serverless command. Then the loop after a save, on a running stack (edit-loop.ts).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { freeStackPorts, PROJECT_DIR, portVariables, SERVERLESS_BIN } from '../support/offline-stack';
import { type EditLoopResult, measureEditLoop } from './edit-loop';
import { type Cleanup, killGroup, runTimed } from './processes';
import { distribution, ratio } from './stats';

export interface DevLoopResult {
  readyMs: number;
  readyRuns: number;
  invokeLocalMs: number;
  invokeLocalP99Ms: number;
  printMs: number;
  printP99Ms: number;
  runs: number;
  invokeLocalRatio: number | null;
  /** npm start to ready ÷ print: how much more than loading the framework starting offline costs. */
  readyRatio: number | null;
  /** Save → new code, save → build error, three quick saves → reloads. */
  editLoop: EditLoopResult;
}

const READY = /\[async\] queue ready/;

/** Every process below `root` (children, grandchildren, …), from /proc. */
async function descendants(root: number): Promise<number[]> {
  const parents = new Map<number, number>();
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    // pid (comm) state ppid …; comm may contain spaces and parentheses, so read after the last ')'.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (Number.isInteger(ppid)) parents.set(Number(entry), ppid);
  }
  const found: number[] = [];
  const queue = [root];
  while (queue.length) {
    const parent = queue.shift() as number;
    for (const [pid, ppid] of parents) {
      if (ppid === parent) {
        found.push(pid);
        queue.push(pid);
      }
    }
  }
  return found;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** One `npm start` to ready, then stopped. */
async function npmStartOnce(cleanup: Cleanup, progress: (message: string) => void): Promise<number> {
  const stateDir = await mkdtemp(join(tmpdir(), 'lambda-notes-bench-start-'));
  const workFolder = `.esbuild-bench-${process.pid}-start`;
  const env = {
    ...process.env,
    SLS_TELEMETRY_DISABLED: '1',
    ...portVariables(await freeStackPorts()),
    OFFLINE_STATE_DIR: stateDir,
    ESBUILD_WORK_FOLDER: workFolder,
  };
  const started = performance.now();
  const child: ChildProcess = spawn('npm', ['start'], {
    cwd: PROJECT_DIR,
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let below: number[] = [];
  const stop = cleanup.add('npm start', async () => {
    // start-offline.cjs passes the signal on to serverless's own process group.
    below = [...new Set([...below, ...(child.pid ? await descendants(child.pid) : [])])];
    if (child.pid !== undefined && child.exitCode === null) killGroup(child.pid, 'SIGTERM');
    const gone = await Promise.race([
      exited.then(() => true),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 5_000)),
    ]);
    if (!gone && child.pid !== undefined) killGroup(child.pid, 'SIGKILL');
    // serverless runs in a group of its own: whatever of it is left goes too.
    for (const pid of below) {
      if (!alive(pid)) continue;
      killGroup(pid, 'SIGKILL');
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await rm(join(PROJECT_DIR, workFolder), { recursive: true, force: true });
    await rm(stateDir, { recursive: true, force: true });
  });
  try {
    let output = '';
    const readyAt = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`npm start printed no ready line within 60 s:\n${output}`)),
        60_000,
      );
      const onData = (chunk: Buffer): void => {
        output += chunk.toString();
        if (READY.test(output)) {
          clearTimeout(timer);
          resolve(performance.now());
        }
      };
      child.stdout?.on('data', onData);
      child.stderr?.on('data', onData);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`npm start exited (${code}) before it was ready:\n${output}`));
      });
    });
    if (child.pid !== undefined) below = await descendants(child.pid);
    const ms = readyAt - started;
    progress(`devLoop: npm start ready in ${Math.round(ms)} ms`);
    return ms;
  } finally {
    await stop.run();
  }
}

export async function measureDevLoop(
  cleanup: Cleanup,
  runs: number,
  readyRuns: number,
  progress: (message: string) => void,
): Promise<DevLoopResult> {
  const ready: number[] = [];
  for (let run = 0; run < readyRuns; run += 1) ready.push(await npmStartOnce(cleanup, progress));

  const workFolder = `.esbuild-bench-${process.pid}-invoke`;
  const removeWorkFolder = cleanup.add('invoke local work folder', () =>
    rm(join(PROJECT_DIR, workFolder), { recursive: true, force: true }),
  );
  const env = { ...process.env, SLS_TELEMETRY_DISABLED: '1', ESBUILD_WORK_FOLDER: workFolder };
  const serverless = async (args: string[], expect: RegExp): Promise<number> => {
    const run = await runTimed(cleanup, process.execPath, [SERVERLESS_BIN, ...args], {
      cwd: PROJECT_DIR,
      env,
      captureStdout: true,
    });
    if (run.code !== 0 || !expect.test(run.stdout)) {
      throw new Error(`serverless ${args.join(' ')} failed (${run.code}):\n${run.stdout}${run.stderr}`);
    }
    return run.ms;
  };
  const invoke: number[] = [];
  const print: number[] = [];
  try {
    for (let run = 0; run < runs; run += 1) {
      invoke.push(
        await serverless(['invoke', 'local', '-f', 'hello', '--path', 'events/hello.json'], /"value1"/),
      );
      print.push(await serverless(['print'], /service: lambda-notes/));
      progress(`devLoop: ${run + 1}/${runs}`);
    }
  } finally {
    await removeWorkFolder.run();
  }

  const editLoop = await measureEditLoop(10, progress);
  const readyDist = distribution(ready);
  const invokeDist = distribution(invoke);
  const printDist = distribution(print);
  return {
    readyMs: readyDist.median,
    readyRuns,
    invokeLocalMs: invokeDist.median,
    invokeLocalP99Ms: invokeDist.p99,
    printMs: printDist.median,
    printP99Ms: printDist.p99,
    runs,
    invokeLocalRatio: ratio(invokeDist.median, printDist.median),
    readyRatio: ratio(readyDist.median, printDist.median),
    editLoop,
  };
}
