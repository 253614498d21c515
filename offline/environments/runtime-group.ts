/**
 * The process group of one runtime (process-tree.ts): what the environment does to all of it at once — stop it
 * between runs and let it go on (SIGSTOP, SIGCONT: "Lambda freezes the execution environment when the runtime
 * and each extension have completed and there are no pending events", Lambda developer guide, execution
 * environment lifecycle), kill it, and watch its memory and size (killed past the memory size or the quota).
 */
import type { ChildProcess } from 'node:child_process';
import type { GroupMemory, MemoryReading, ProcessMemory } from './process-memory';
import type { KilledFor } from './environment-errors';
import { signalGroup } from './process-tree';

/** Lambda's quota on processes and threads in one execution environment ("Execution processes/threads"). */
export const PROCESS_LIMIT = 1024;

export class RuntimeGroup {
  #frozen = false;
  readonly #memory: GroupMemory | undefined;
  #watch: NodeJS.Timeout | undefined;
  /** The last reading, for the console. */
  last: MemoryReading | undefined;
  /** Resident set of the group at the last sample, MiB. */
  rssMb: number | undefined;
  /** The highest resident set seen (REPORT's Max Memory Used), MiB. */
  peakMb = 0;
  /** Why the group was killed by its watch, if it was. */
  killedFor: KilledFor;

  constructor(
    private readonly child: ChildProcess,
    private readonly memory: ProcessMemory,
  ) {
    this.#memory = child.pid === undefined ? undefined : memory.group(child.pid);
  }

  get frozen(): boolean {
    return this.#frozen;
  }

  get #leaderRunning(): boolean {
    return this.child.pid !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Stops every process of the group; a stopped process keeps its memory and its sockets, and runs nothing. */
  freeze(): void {
    if (this.#frozen || !this.#leaderRunning || this.child.pid === undefined) return;
    this.#frozen = signalGroup(this.child.pid, 'SIGSTOP');
  }

  /** Lets the group run again: what was due while it was stopped (a timer) runs now. */
  thaw(): void {
    if (!this.#frozen || this.child.pid === undefined) return;
    this.#frozen = false;
    signalGroup(this.child.pid, 'SIGCONT');
  }

  /**
   * Kills every process of the group, the runtime's children too, also once the runtime itself has exited (its
   * group lives on while any of them does). SIGKILL ends a stopped process as well: a frozen group needs no thaw.
   */
  kill(): void {
    if (this.child.pid === undefined) return;
    signalGroup(this.child.pid, 'SIGKILL');
    this.#frozen = false;
  }

  /** Reads the group's memory and size now (nothing once the runtime is gone). */
  async sample(): Promise<void> {
    if (!this.#memory || !this.#leaderRunning) return;
    const reading = await this.#memory.read();
    if (!reading) return;
    this.last = reading;
    this.rssMb = reading.rssMb;
    this.peakMb = Math.max(this.peakMb, reading.peakMb, reading.rssMb);
  }

  /** Samples every `sampleEveryMs` until stopped; kills the group past `memorySizeMb` or `processLimit`. */
  watch(memorySizeMb: number, processLimit: number): void {
    if (this.#watch !== undefined) return;
    const tick = async (): Promise<void> => {
      await this.sample();
      if (this.killedFor !== undefined) return;
      if (this.rssMb !== undefined && this.rssMb > memorySizeMb) this.killedFor = 'memory';
      else if ((this.last?.threads ?? 0) > processLimit) this.killedFor = 'processes';
      if (this.killedFor !== undefined) this.kill();
    };
    this.#watch = setInterval(() => void tick(), this.memory.sampleEveryMs);
    this.#watch.unref();
  }

  stopWatch(): void {
    clearInterval(this.#watch);
    this.#watch = undefined;
  }
}
