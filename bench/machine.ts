/** The machine a run was measured on, recorded with its results. */
import { execFile } from 'node:child_process';
import { cpus, loadavg, totalmem } from 'node:os';
import { promisify } from 'node:util';

export interface Machine {
  cores: number;
  cpuModel: string;
  node: string;
  totalMemoryMb: number;
  platform: string;
  /** 1, 5 and 15 minute load averages when the run started: other work sharing the cores shows here. */
  loadAverageAtStart: number[];
}

export function machine(): Machine {
  const list = cpus();
  return {
    cores: list.length,
    cpuModel: list[0]?.model.trim() ?? 'unknown',
    node: process.version,
    totalMemoryMb: Math.round(totalmem() / 1024 / 1024),
    platform: `${process.platform} ${process.arch}`,
    loadAverageAtStart: loadavg().map((value) => Math.round(value * 100) / 100),
  };
}

export interface Revision {
  commit: string | null;
  /** Files outside bench/ changed since that commit: the figures are for the working tree, not the commit. */
  changedFiles: string[];
}

/** The code that was measured: the git commit and any uncommitted change outside bench/. */
export async function revision(cwd: string): Promise<Revision> {
  const git = promisify(execFile);
  try {
    const { stdout: commit } = await git('git', ['rev-parse', 'HEAD'], { cwd });
    const { stdout: status } = await git('git', ['status', '--porcelain'], { cwd });
    const changedFiles = status
      .split('\n')
      .map((line) => line.slice(3))
      .filter((file) => file !== '' && !file.startsWith('bench/'));
    return { commit: commit.trim(), changedFiles };
  } catch {
    return { commit: null, changedFiles: [] };
  }
}
