import { readFileSync, rmSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { check, lock } from 'proper-lockfile';
import { stateLayout } from './layout';
import { isAlive } from './pids';

/** Who holds a state dir: written next to the lock so that a refusal can name it. */
export interface LockHolder {
  readonly pid: number;
  readonly hostname: string;
  readonly startedAt: string;
  readonly ports: Record<string, number | string>;
  /**
   * The process whose end stops the holder (npm start's launcher, or whoever spawned `sls offline start`): the
   * stack stops itself when it goes (offline/plugin/process-guard.ts), so a holder whose launcher is gone is on its way out.
   */
  readonly launcherPid?: number;
}

/** Another live process holds the state dir. */
export class StateDirLockedError extends Error {
  override name = 'StateDirLockedError';
}

/** How a state dir is used, as another process sees it. */
export type StateDirUse =
  | { readonly state: 'free' }
  | { readonly state: 'held'; readonly holder: LockHolder | undefined }
  /** Its holder still runs, but has released the lock or lost its launcher: it is stopping. */
  | { readonly state: 'stopping'; readonly holder: LockHolder; readonly why: string };

/** proper-lockfile refreshes the lock's mtime every stale/2; a holder that stops refreshing is stale. */
const STALE_MS = 10_000;
/**
 * How long a start waits for a stopping stack to exit: a stop waits up to 10 s for the runs under way
 * (offline/plugin/emulation.ts), then closes its servers, which takes a second or two.
 */
export const STOP_WAIT_MS = 20_000;
const STOP_POLL_MS = 50;

async function readHolder(stateDir: string): Promise<LockHolder | undefined> {
  try {
    const holder = JSON.parse(
      await readFile(stateLayout(stateDir).lockHolder, 'utf8'),
    ) as Partial<LockHolder>;
    return typeof holder.pid === 'number' ? (holder as LockHolder) : undefined;
  } catch {
    return undefined;
  }
}

const lockOptions = (stateDir: string) => ({
  realpath: false,
  stale: STALE_MS,
  lockfilePath: `${stateLayout(stateDir).lock}.d`,
});

export function describeHolder(holder: LockHolder | undefined): string {
  if (holder === undefined) return 'another process (its details could not be read)';
  const ports = Object.entries(holder.ports)
    .map(([name, port]) => `${name} ${port}`)
    .join(', ');
  return `pid ${holder.pid} on ${holder.hostname}, started ${holder.startedAt}${ports ? `, ports ${ports}` : ''}`;
}

/**
 * Reads who uses the state dir. The holder file lives as long as its process (it goes at exit, after the ports
 * are closed), the lock only until the stack releases it: a holder that still runs without the lock, or without
 * its launcher, is stopping.
 */
export async function inspectStateDir(stateDir: string): Promise<StateDirUse> {
  const holder = await readHolder(stateDir);
  const locked = (): Promise<boolean> => check(stateLayout(stateDir).lock, lockOptions(stateDir));
  if (holder === undefined || holder.hostname !== hostname() || holder.pid === process.pid) {
    return (await locked()) ? { state: 'held', holder } : { state: 'free' };
  }
  if (!isAlive(holder.pid)) return { state: 'free' };
  if (holder.launcherPid !== undefined && !isAlive(holder.launcherPid)) {
    return { state: 'stopping', holder, why: `its launcher (pid ${holder.launcherPid}) is gone` };
  }
  if (!(await locked())) return { state: 'stopping', holder, why: 'it has released the state dir' };
  return { state: 'held', holder };
}

export interface WaitOptions {
  /** How long to wait for a stopping holder to exit. */
  readonly timeoutMs?: number;
  /** The one line said when a start has to wait. */
  readonly onWait?: (line: string) => void;
}

/**
 * Returns once no other stack uses the state dir. A stack that is stopping (after a kill -9 of its `npm start`,
 * or a Ctrl-C just before) still writes its last outcomes and holds its ports: it is waited for, up to
 * `timeoutMs`, saying so in one line. A stack that runs is refused at once, naming it.
 */
export async function waitForStateDir(stateDir: string, options: WaitOptions = {}): Promise<void> {
  const { timeoutMs = STOP_WAIT_MS, onWait = (line: string) => process.stderr.write(`${line}\n`) } = options;
  let use = await inspectStateDir(stateDir);
  if (use.state === 'stopping') {
    onWait(
      `[async] waiting up to ${timeoutMs / 1000} s for the offline stack that is stopping (pid ${use.holder.pid}: ${use.why}) to exit from ${stateDir}`,
    );
    const deadline = Date.now() + timeoutMs;
    while (use.state === 'stopping' && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, STOP_POLL_MS));
      use = await inspectStateDir(stateDir);
    }
  }
  if (use.state === 'held') {
    throw new StateDirLockedError(
      `${stateDir} is in use by another offline stack (${describeHolder(use.holder)}). Stop it first, or give this one its own OFFLINE_STATE_DIR.`,
    );
  }
  if (use.state === 'stopping') {
    throw new StateDirLockedError(
      `${stateDir} is still held by an offline stack that should be stopping (${describeHolder(use.holder)}; ${use.why}) after ${timeoutMs / 1000} s. End it (kill ${use.holder.pid}), then start again.`,
    );
  }
}

/**
 * One offline stack per state dir (proper-lockfile, a lock directory refreshed while held). A stack that is
 * stopping is waited for (waitForStateDir). A lock whose holder is gone — killed with kill -9, so it never
 * released it — is taken over at once when the holder's pid no longer runs on this host, or after STALE_MS
 * otherwise.
 */
export async function lockStateDir(
  stateDir: string,
  holder: Pick<LockHolder, 'ports'>,
  onCompromised: (error: Error) => void,
  waitOptions: WaitOptions = {},
): Promise<() => Promise<void>> {
  await mkdir(stateDir, { recursive: true });
  await waitForStateDir(stateDir, waitOptions);
  const target = stateLayout(stateDir).lock;
  const options = { ...lockOptions(stateDir), onCompromised };
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
    await rm(options.lockfilePath, { recursive: true, force: true });
    release = await lock(target, options);
  }
  const info: LockHolder = {
    pid: process.pid,
    hostname: hostname(),
    startedAt: new Date().toISOString(),
    ports: holder.ports,
    ...(process.ppid > 1 ? { launcherPid: process.ppid } : {}),
  };
  const holderFile = stateLayout(stateDir).lockHolder;
  await writeFile(holderFile, JSON.stringify(info, null, 2));
  forgetAtExit(holderFile);
  // The holder file outlives the lock until this process exits (forgetAtExit), so that a start in between sees
  // a stack that is stopping, and still holds its ports, rather than a free state dir.
  return release;
}

const holderFiles = new Set<string>();

/** Removes this process's holder files as it exits — each only while it still names this process. */
function forgetAtExit(holderFile: string): void {
  if (holderFiles.size === 0) {
    process.once('exit', () => {
      for (const file of holderFiles) {
        try {
          if ((JSON.parse(readFileSync(file, 'utf8')) as Partial<LockHolder>).pid === process.pid)
            rmSync(file);
        } catch {
          // Gone already, or another holder's now.
        }
      }
    });
  }
  holderFiles.add(holderFile);
}
