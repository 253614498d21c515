/**
 * The memory of one environment's process, as Lambda counts a sandbox's: its resident set now (to stop it at the
 * function's memory size) and its peak since it started (REPORT's Max Memory Used). Read from /proc on Linux, in
 * a few microseconds; where there is no /proc, `ps` is asked (slower, so it is asked less often: see
 * `sampleEveryMs`).
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface MemoryReading {
  /** Resident set size now, MiB. */
  readonly rssMb: number;
  /** Highest resident set size since the process started, MiB (VmHWM; where unknown, the highest seen). */
  readonly peakMb: number;
}

const KIB_PER_MIB = 1024;

/** VmRSS and VmHWM of /proc/<pid>/status (kB, which the kernel means as KiB). */
export function parseProcStatus(status: string): MemoryReading | undefined {
  const field = (name: string): number | undefined => {
    const match = new RegExp(`^${name}:\\s+(\\d+) kB$`, 'm').exec(status);
    return match?.[1] === undefined ? undefined : Number(match[1]) / KIB_PER_MIB;
  };
  const rssMb = field('VmRSS');
  if (rssMb === undefined) return undefined;
  return { rssMb, peakMb: field('VmHWM') ?? rssMb };
}

export interface ProcessMemory {
  /** How often a watch may sample without costing what users would feel. */
  readonly sampleEveryMs: number;
  /** undefined when the process is gone. */
  read(pid: number): Promise<MemoryReading | undefined>;
}

/** /proc is read synchronously: it is kernel memory, never a disk, and a read takes microseconds. */
const procfs: ProcessMemory = {
  sampleEveryMs: 20,
  read(pid) {
    try {
      return Promise.resolve(parseProcStatus(readFileSync(`/proc/${pid}/status`, 'utf8')));
    } catch {
      return Promise.resolve(undefined);
    }
  },
};

const ps: ProcessMemory = {
  sampleEveryMs: 250,
  read(pid) {
    return new Promise((resolve) => {
      execFile('ps', ['-o', 'rss=', '-p', String(pid)], (error, stdout) => {
        const kib = Number(stdout.trim());
        if (error || !Number.isFinite(kib) || stdout.trim() === '') resolve(undefined);
        else resolve({ rssMb: kib / KIB_PER_MIB, peakMb: kib / KIB_PER_MIB });
      });
    });
  },
};

export async function processMemory(): Promise<ProcessMemory> {
  const self = await procfs.read(process.pid);
  return self === undefined ? ps : procfs;
}
