/**
 * The memory of one environment, as Lambda counts a sandbox's: every process of its process group (the runtime
 * and whatever the function starts), its resident set now (to stop it at the function's memory size), its peak
 * (REPORT's Max Memory Used), and how many processes and threads it has (Lambda's limit is 1,024).
 *
 * On Linux, from /proc, kept cheap: each sample reads the runtime's status and, for the other processes already
 * known, one small stat file each, and finds new processes through their parents' `children` files; a full scan
 * of /proc (a few milliseconds of CPU on a busy machine) runs only every `FULL_SCAN_EVERY_MS`, for processes whose
 * parent has gone (a shell's `cmd &`). Where there is no /proc (macOS), one `ps` over every process, less often.
 * Resident sets are summed: pages that processes share (the node binary's) count once per process, so a tree
 * reads a little higher than Lambda's cgroup does.
 */
import { execFile } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync, readSync } from 'node:fs';

export interface MemoryReading {
  /** Resident set size now, MiB, of every process of the group. */
  readonly rssMb: number;
  /** Highest resident set size seen, MiB (the runtime's VmHWM, or the highest sum seen). */
  readonly peakMb: number;
  /** Processes of the group. */
  readonly processes: number;
  /** Threads of those processes (where the platform says; otherwise one a process). */
  readonly threads: number;
}

const KIB_PER_MIB = 1024;

/** VmRSS and VmHWM of /proc/<pid>/status (kB, which the kernel means as KiB). */
export function parseProcStatus(
  status: string,
): { rssMb: number; peakMb: number; threads: number } | undefined {
  const field = (name: string): number | undefined => {
    const match = new RegExp(`^${name}:\\s+(\\d+)(?: kB)?$`, 'm').exec(status);
    return match?.[1] === undefined ? undefined : Number(match[1]);
  };
  const rss = field('VmRSS');
  if (rss === undefined) return undefined;
  return {
    rssMb: rss / KIB_PER_MIB,
    peakMb: (field('VmHWM') ?? rss) / KIB_PER_MIB,
    threads: field('Threads') ?? 1,
  };
}

/** The fields of /proc/<pid>/stat a group's reading needs (after the command name, which may hold spaces). */
export function parseProcStat(stat: string): { pgid: number; threads: number; rssPages: number } | undefined {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields from the state (3rd of the file): pgid is the 5th, num_threads the 20th, rss the 24th.
  const pgid = Number(fields[2]);
  const threads = Number(fields[17]);
  const rssPages = Number(fields[21]);
  if (!Number.isInteger(pgid) || !Number.isInteger(rssPages)) return undefined;
  return { pgid, threads, rssPages };
}

/** One environment's process group, read sample after sample. */
export interface GroupMemory {
  /** undefined when the group's leader (the runtime) is gone. */
  read(): Promise<MemoryReading | undefined>;
}

export interface ProcessMemory {
  /** How often a watch may sample without costing what users would feel. */
  readonly sampleEveryMs: number;
  /** The reader of the process group led by `leader` (the runtime, started as its group's leader). */
  group(leader: number): GroupMemory;
}

/** A full scan of /proc finds processes whose parent has gone; this often, while the environment runs. */
export const FULL_SCAN_EVERY_MS = 500;

const statBuffer = Buffer.alloc(2048);

/** /proc is read synchronously: it is kernel memory, never a disk, and a read takes microseconds. */
function readProc(path: string): string | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const length = readSync(fd, statBuffer, 0, statBuffer.length, 0);
    return statBuffer.toString('latin1', 0, length);
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Every pid of /proc whose stat says it is in group `pgid` (a process may end while it is read: skipped). */
export function scanGroup(pgid: number): number[] {
  const members: number[] = [];
  for (const name of readdirSync('/proc')) {
    const first = name.charCodeAt(0);
    if (first < 48 || first > 57) continue;
    const stat = readProc(`/proc/${name}/stat`);
    if (stat !== undefined && parseProcStat(stat)?.pgid === pgid) members.push(Number(name));
  }
  return members;
}

class ProcGroup implements GroupMemory {
  readonly #known = new Set<number>();
  #lastFullScan = 0;
  #peakMb = 0;

  constructor(
    private readonly leader: number,
    private readonly pageKib: number,
  ) {}

  read(): Promise<MemoryReading | undefined> {
    const status = readProc(`/proc/${this.leader}/status`);
    const own = status === undefined ? undefined : parseProcStatus(status);
    if (!own) return Promise.resolve(undefined);
    if (Date.now() - this.#lastFullScan >= FULL_SCAN_EVERY_MS) {
      this.#lastFullScan = Date.now();
      for (const pid of scanGroup(this.leader)) if (pid !== this.leader) this.#known.add(pid);
    }
    let rssKib = own.rssMb * KIB_PER_MIB;
    let threads = own.threads;
    let processes = 1;
    // Parents first: a process found through its parent's `children` is read in this same pass.
    const queue = [this.leader, ...this.#known];
    const seen = new Set<number>();
    for (let index = 0; index < queue.length; index += 1) {
      const pid = queue[index] as number;
      if (seen.has(pid)) continue;
      seen.add(pid);
      if (pid !== this.leader) {
        const stat = readProc(`/proc/${pid}/stat`);
        const parsed = stat === undefined ? undefined : parseProcStat(stat);
        if (!parsed || parsed.pgid !== this.leader) {
          this.#known.delete(pid);
          continue;
        }
        this.#known.add(pid);
        rssKib += parsed.rssPages * this.pageKib;
        threads += parsed.threads;
        processes += 1;
      }
      const children = readProc(`/proc/${pid}/task/${pid}/children`);
      if (children)
        for (const child of children.split(' ')) if (child.trim() !== '') queue.push(Number(child));
    }
    const rssMb = rssKib / KIB_PER_MIB;
    this.#peakMb = Math.max(this.#peakMb, own.peakMb, rssMb);
    return Promise.resolve({ rssMb, peakMb: this.#peakMb, processes, threads });
  }
}

/** The page size /proc/<pid>/stat counts rss in: what makes this process's stat agree with its status. */
function pageKib(): number {
  const stat = readProc(`/proc/${process.pid}/stat`);
  const status = readProc(`/proc/${process.pid}/status`);
  const pages = stat === undefined ? undefined : parseProcStat(stat)?.rssPages;
  const rss = status === undefined ? undefined : parseProcStatus(status)?.rssMb;
  if (!pages || rss === undefined) return 4;
  const ratio = (rss * KIB_PER_MIB) / pages;
  return [4, 16, 64].reduce((best, size) => (Math.abs(size - ratio) < Math.abs(best - ratio) ? size : best));
}

function procfs(): ProcessMemory {
  const page = pageKib();
  return { sampleEveryMs: 20, group: (leader) => new ProcGroup(leader, page) };
}

/** `ps -A -o pgid=,rss=`: every process's group and resident set (KiB), one line each. */
export function sumPsGroup(output: string, pgid: number): { rssKib: number; processes: number } {
  let rssKib = 0;
  let processes = 0;
  for (const line of output.split('\n')) {
    const [group, rss] = line.trim().split(/\s+/).map(Number);
    if (group !== pgid || rss === undefined || !Number.isFinite(rss)) continue;
    rssKib += rss;
    processes += 1;
  }
  return { rssKib, processes };
}

const ps: ProcessMemory = {
  sampleEveryMs: 250,
  group(leader) {
    let peakMb = 0;
    return {
      read: () =>
        new Promise((resolve) => {
          execFile('ps', ['-A', '-o', 'pgid=,rss='], { maxBuffer: 8 * 1024 * 1024 }, (error, stdout) => {
            const { rssKib, processes } = error ? { rssKib: 0, processes: 0 } : sumPsGroup(stdout, leader);
            if (processes === 0) {
              resolve(undefined);
              return;
            }
            const rssMb = rssKib / KIB_PER_MIB;
            peakMb = Math.max(peakMb, rssMb);
            resolve({ rssMb, peakMb, processes, threads: processes });
          });
        }),
    };
  },
};

export async function processMemory(): Promise<ProcessMemory> {
  try {
    readFileSync(`/proc/${process.pid}/status`, 'utf8');
    return procfs();
  } catch {
    return ps;
  }
}
