/**
 * Child processes of the benchmark and their clean-up: every process or directory the bench starts or creates
 * is registered here, so that `finally`, Ctrl-C and SIGTERM all stop and remove the same things.
 */
import { type ChildProcess, spawn, type SpawnOptions } from 'node:child_process';
import { performance } from 'node:perf_hooks';

type Task = () => Promise<void> | void;

export class Cleanup {
  readonly #tasks = new Map<symbol, { what: string; task: Task }>();
  #running: Promise<void> | undefined;

  /**
   * Registers a clean-up task. `run()` runs it now (once); `forget()` drops it when what it cleans up is
   * already gone (a child that exited by itself).
   */
  add(what: string, task: Task): { run(): Promise<void>; forget(): void } {
    const id = Symbol(what);
    this.#tasks.set(id, { what, task });
    return {
      run: async () => {
        const entry = this.#tasks.get(id);
        if (!entry) return;
        this.#tasks.delete(id);
        await entry.task();
      },
      forget: () => {
        this.#tasks.delete(id);
      },
    };
  }

  /** Runs every task still registered, newest first; a failing task is reported and the others still run. */
  runAll(): Promise<void> {
    this.#running ??= (async () => {
      for (const [id, { what, task }] of [...this.#tasks].reverse()) {
        this.#tasks.delete(id);
        try {
          await task();
        } catch (error) {
          process.stderr.write(`bench: clean-up "${what}" failed: ${String(error)}\n`);
        }
      }
    })().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }
}

/** Signals a whole process group; a group that is already gone is not an error. */
export function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

export interface TimedRun {
  /** From just before spawn to the exit event, in milliseconds. */
  readonly ms: number;
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** What the child wrote to file descriptor 3 (the runners' result channel), when asked for. */
  readonly fd3: string;
}

export interface RunOptions extends Pick<SpawnOptions, 'cwd' | 'env'> {
  /** Keep stdout (default: discarded, so a chatty child does not pay for a pipe nobody reads). */
  captureStdout?: boolean;
  /** Open fd 3 as a pipe for the child's result. */
  resultChannel?: boolean;
  timeoutMs?: number;
}

/**
 * Runs a command to completion and times it. The child is registered with `cleanup` while it runs, so an
 * interrupted bench does not leave it behind.
 */
export function runTimed(
  cleanup: Cleanup,
  command: string,
  args: readonly string[],
  options: RunOptions = {},
): Promise<TimedRun> {
  const { captureStdout = false, resultChannel = false, timeoutMs = 120_000, ...spawnOptions } = options;
  return new Promise((resolve, reject) => {
    const stdio: SpawnOptions['stdio'] = ['ignore', captureStdout ? 'pipe' : 'ignore', 'pipe'];
    if (resultChannel) stdio.push('pipe');
    const started = performance.now();
    const child: ChildProcess = spawn(command, args, { ...spawnOptions, stdio });
    let stdout = '';
    let stderr = '';
    let fd3 = '';
    child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const result = child.stdio[3];
    if (result && 'on' in result) result.on('data', (chunk: Buffer) => (fd3 += chunk.toString()));
    let exitedAt: number | undefined;
    const registration = cleanup.add(`${command} ${args.join(' ')}`, () => {
      if (exitedAt === undefined) child.kill('SIGKILL');
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${command} ${args.join(' ')} did not finish within ${timeoutMs} ms:\n${stderr}`));
    }, timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      registration.forget();
      reject(error);
    });
    // Timed to the exit; resolved on close, when everything the child wrote has been read.
    child.on('exit', () => {
      exitedAt = performance.now();
      registration.forget();
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ ms: (exitedAt ?? performance.now()) - started, code, stdout, stderr, fd3 });
    });
  });
}
