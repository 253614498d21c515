import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { lock } from 'proper-lockfile';

/** Who holds a state dir: written next to the lock so that a refusal can name it. */
export interface LockHolder {
  readonly pid: number;
  readonly hostname: string;
  readonly startedAt: string;
  readonly ports: Record<string, number | string>;
}

/** Another live process holds the state dir. */
export class StateDirLockedError extends Error {
  override name = 'StateDirLockedError';
}

const LOCK_NAME = 'offline.lock';
const HOLDER_NAME = 'offline.lock.holder.json';
/** proper-lockfile refreshes the lock's mtime every stale/2; a holder that stops refreshing is stale. */
const STALE_MS = 10_000;

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function readHolder(stateDir: string): Promise<LockHolder | undefined> {
  try {
    const holder = JSON.parse(await readFile(join(stateDir, HOLDER_NAME), 'utf8')) as Partial<LockHolder>;
    return typeof holder.pid === 'number' ? (holder as LockHolder) : undefined;
  } catch {
    return undefined;
  }
}

export function describeHolder(holder: LockHolder | undefined): string {
  if (holder === undefined) return 'another process (its details could not be read)';
  const ports = Object.entries(holder.ports)
    .map(([name, port]) => `${name} ${port}`)
    .join(', ');
  return `pid ${holder.pid} on ${holder.hostname}, started ${holder.startedAt}${ports ? `, ports ${ports}` : ''}`;
}

/**
 * One offline stack per state dir (proper-lockfile, a lock directory refreshed while held). A lock whose holder
 * is gone — killed with kill -9, so it never released it — is taken over at once when the holder's pid no
 * longer runs on this host, or after STALE_MS otherwise.
 */
export async function lockStateDir(
  stateDir: string,
  holder: Omit<LockHolder, 'pid' | 'hostname' | 'startedAt'>,
  onCompromised: (error: Error) => void,
): Promise<() => Promise<void>> {
  await mkdir(stateDir, { recursive: true });
  const target = join(stateDir, LOCK_NAME);
  const options = {
    realpath: false,
    stale: STALE_MS,
    lockfilePath: `${target}.d`,
    onCompromised,
  };
  let release: () => Promise<void>;
  try {
    release = await lock(target, options);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ELOCKED') throw error;
    const current = await readHolder(stateDir);
    const gone = current !== undefined && current.hostname === hostname() && !isAlive(current.pid);
    if (!gone) {
      throw new StateDirLockedError(
        `${stateDir} is in use by another offline stack (${describeHolder(current)}). Stop it first, or give this one its own OFFLINE_STATE_DIR.`,
      );
    }
    await rm(`${target}.d`, { recursive: true, force: true });
    release = await lock(target, options);
  }
  const info: LockHolder = {
    pid: process.pid,
    hostname: hostname(),
    startedAt: new Date().toISOString(),
    ports: holder.ports,
  };
  await writeFile(join(stateDir, HOLDER_NAME), JSON.stringify(info, null, 2));
  return async () => {
    await rm(join(stateDir, HOLDER_NAME), { force: true });
    await release();
  };
}
