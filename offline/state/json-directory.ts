import { randomUUID } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { basename, join, relative } from 'node:path';
import { stateLayout } from './layout';
import { isAlive } from './pids';

/**
 * The one writer of the offline state: every file under the state dir is written here, in one order — a
 * temporary file, fsync, rename into place, fsync of the directory — so that once put() resolves the entry
 * survives a kill -9 or a power cut, and a reader never sees half an entry. Each file carries a schema version
 * and a kind; a file that is corrupt, of an unknown version or kind, or not ours at all is moved to the
 * quarantine folder with a log line, never read as if it were good, never allowed to stop a start-up.
 */

/** Bumped when the layout of the stored entries changes; older or newer files are quarantined, not misread. */
export const SCHEMA_VERSION = 1;

/** Why a file system call failed, in words (the errno code alone means little to most people). */
const CAUSES: Record<string, string> = {
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOTDIR: 'a file stands where a directory should be',
  EEXIST: 'a file stands where a directory should be',
  EISDIR: 'a directory stands where a file should be',
  ENOENT: 'the directory was removed',
  EIO: 'input/output error',
  EMFILE: 'too many open files',
};

function errnoCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string'
    ? error.code
    : undefined;
}

export function describeCause(error: unknown): string {
  const code = errnoCode(error);
  if (code === undefined) return error instanceof Error ? error.message : String(error);
  return `${code}: ${CAUSES[code] ?? (error instanceof Error ? error.message : code)}`;
}

/** A write, rename or removal under the state dir failed: names the directory and the cause. */
export class StateWriteError extends Error {
  override name = 'StateWriteError';
  constructor(
    readonly directory: string,
    readonly operation: string,
    cause: unknown,
  ) {
    super(`cannot ${operation} in ${directory} (${describeCause(cause)})`, { cause });
  }
}

/** Names become file names: a closed alphabet, so no name can reach outside its directory. */
const SAFE_NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,199}$/;

export function assertSafeName(name: string): void {
  if (!SAFE_NAME.test(name) || name.includes('..')) {
    throw new Error(`"${name}" is not a valid state entry name (letters, digits, . _ - only)`);
  }
}

/** fsync of a directory makes a rename or removal in it durable. */
async function fsyncDirectory(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

interface DirectorySync {
  running: Promise<void> | undefined;
  /** The fsync after the running one, shared by every caller that arrived while it ran. */
  next: Promise<void> | undefined;
}

const directorySyncs = new Map<string, DirectorySync>();

function startSync(path: string, state: DirectorySync): Promise<void> {
  const running: Promise<void> = fsyncDirectory(path).finally(() => {
    if (state.running === running) state.running = undefined;
    if (state.running === undefined && state.next === undefined) directorySyncs.delete(path);
  });
  state.running = running;
  return running;
}

/**
 * Makes the renames and removals done in a directory so far durable. Grouped as databases group commits: an
 * fsync under way may have started before the caller's change, so the caller waits for the next one, which starts
 * when it ends and serves everyone who arrived meanwhile — under a burst, one fsync for many entries.
 */
function syncDirectory(path: string): Promise<void> {
  const state = directorySyncs.get(path) ?? { running: undefined, next: undefined };
  directorySyncs.set(path, state);
  if (state.running === undefined) return startSync(path, state);
  state.next ??= state.running
    .then(
      () => undefined,
      () => undefined,
    )
    .then(() => {
      state.next = undefined;
      return startSync(path, state);
    });
  return state.next;
}

async function writeDurably(path: string, data: string): Promise<void> {
  const handle = await open(path, 'w');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** A temporary file without its writer's pid (an older layout) is removed once this old. */
const STALE_TEMPORARY_MS = 60_000;

async function olderThan(path: string, ms: number): Promise<boolean> {
  try {
    return Date.now() - (await stat(path)).mtimeMs > ms;
  } catch {
    return false;
  }
}

export interface JsonDirectoryOptions<T> {
  /** Stored in every file; a file of another kind is quarantined. */
  readonly kind: string;
  /** undefined when the value is good, else why not (the file is then quarantined with that reason). */
  readonly validate?: (value: unknown) => string | undefined;
  /** Root of the state dir: the quarantine folder is `<stateDir>/quarantine`. */
  readonly stateDir?: string;
  readonly log?: (level: 'warn' | 'error', message: string) => void;
  /** Only for the type parameter. */
  readonly sample?: T;
}

interface Envelope {
  readonly schemaVersion: number;
  readonly kind: string;
  readonly value: unknown;
}

/** One entry taken out of the directory by take(): no other reader or taker sees it any more. */
export interface TakenEntry<T> {
  readonly value: T;
  /** The entry is done with: gone for good. */
  commit(): Promise<void>;
  /** Puts the entry back where it was. */
  release(): Promise<void>;
}

/** A directory of JSON files, one per entry (see the module comment for the write order and quarantine). */
export class JsonDirectory<T> {
  readonly #options: JsonDirectoryOptions<T>;
  /** The directory was there at the last write: no mkdir before the next. */
  #exists = false;

  constructor(
    readonly path: string,
    options: JsonDirectoryOptions<T> = { kind: basename(path) },
  ) {
    this.#options = options;
  }

  #file(name: string): string {
    assertSafeName(name);
    return join(this.path, `${name}.json`);
  }

  async put(name: string, value: T): Promise<void> {
    const target = this.#file(name);
    // The writer's pid in the name: a reader in another process (npm run dlq) removes only a dead writer's files.
    const temporary = join(this.path, `.${name}.${process.pid}.${randomUUID()}.tmp`);
    const envelope: Envelope = { schemaVersion: SCHEMA_VERSION, kind: this.#options.kind, value };
    const data = JSON.stringify(envelope);
    try {
      if (!this.#exists) await mkdir(this.path, { recursive: true });
      // A state dir removed under a running stack comes back instead of failing for ever.
      await writeDurably(temporary, data).catch(async (error: unknown) => {
        if (errnoCode(error) !== 'ENOENT') throw error;
        await mkdir(this.path, { recursive: true });
        await writeDurably(temporary, data);
      });
      this.#exists = true;
      await rename(temporary, target);
      await syncDirectory(this.path);
    } catch (error) {
      await rm(temporary, { force: true }).catch(() => undefined);
      throw new StateWriteError(this.path, `write ${name}.json`, error);
    }
  }

  /** The entry, or undefined when there is none (or it was corrupt: then it is quarantined). */
  async read(name: string): Promise<T | undefined> {
    let text: string;
    try {
      text = await readFile(this.#file(name), 'utf8');
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') return undefined;
      throw error;
    }
    const problem = this.#problem(text);
    if (typeof problem === 'string') {
      await this.quarantine(`${name}.json`, problem);
      return undefined;
    }
    return problem.value;
  }

  #problem(text: string): string | { value: T } {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return text.length === 0 ? 'empty file' : 'not valid JSON (truncated?)';
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      return `not a state entry (${parsed === null ? 'null' : typeof parsed})`;
    }
    const envelope = parsed as Partial<Envelope>;
    if (envelope.schemaVersion !== SCHEMA_VERSION) {
      return `schema version ${String(envelope.schemaVersion)}, this version reads ${SCHEMA_VERSION}`;
    }
    if (envelope.kind !== this.#options.kind) {
      return `kind "${String(envelope.kind)}", this directory holds "${this.#options.kind}"`;
    }
    const invalid = this.#options.validate?.(envelope.value);
    if (invalid !== undefined) return invalid;
    return { value: envelope.value as T };
  }

  /** Removes an entry; false when it was not there. */
  async remove(name: string): Promise<boolean> {
    try {
      await unlink(this.#file(name));
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') return false;
      throw new StateWriteError(this.path, `remove ${name}.json`, error);
    }
    try {
      await syncDirectory(this.path);
    } catch (error) {
      throw new StateWriteError(this.path, `remove ${name}.json`, error);
    }
    return true;
  }

  async #files(): Promise<string[]> {
    try {
      return await readdir(this.path);
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') return [];
      throw error;
    }
  }

  /** Entry names in sorted order. */
  async names(): Promise<string[]> {
    return (await this.#files())
      .filter((file) => file.endsWith('.json') && !file.startsWith('.'))
      .map((file) => file.slice(0, -'.json'.length))
      .filter((name) => SAFE_NAME.test(name))
      .sort();
  }

  /**
   * Every good entry. Tidies the directory on the way, safely while other processes read and write it:
   * temporary files of a writer that died (a write that never returned, so nobody was told it had landed) are
   * removed, entries taken by a process that died are put back, and anything else that is not a good entry is
   * quarantined (a `.json` file only ever appears whole, by rename, so a bad one is bad for good).
   */
  async entries(): Promise<Array<{ name: string; value: T }>> {
    const found: Array<{ name: string; value: T }> = [];
    for (const file of (await this.#files()).sort()) {
      const path = join(this.path, file);
      if (file.startsWith('.') && file.endsWith('.tmp')) {
        const writer = /^\..+\.(\d+)\.[0-9a-f-]{36}\.tmp$/.exec(file)?.[1];
        if (writer === undefined ? await olderThan(path, STALE_TEMPORARY_MS) : !isAlive(Number(writer))) {
          await rm(path, { force: true }).catch(() => undefined);
        }
        continue;
      }
      const taken = /^\.(.+)\.taken-(\d+)-[\w-]+$/.exec(file);
      if (taken) {
        if (!isAlive(Number(taken[2]))) {
          await rename(path, join(this.path, `${taken[1]}.json`)).catch(() => undefined);
          const value = taken[1] === undefined ? undefined : await this.read(taken[1]);
          if (value !== undefined && taken[1] !== undefined) found.push({ name: taken[1], value });
        }
        continue;
      }
      const name = file.endsWith('.json') ? file.slice(0, -'.json'.length) : undefined;
      if (name === undefined || !SAFE_NAME.test(name)) {
        await this.quarantine(file, 'not a file this directory holds');
        continue;
      }
      const value = await this.read(name);
      if (value !== undefined) found.push({ name, value });
    }
    return found;
  }

  /**
   * Takes an entry out of the directory atomically (a rename), so that two processes never both act on it.
   * undefined when the entry is not there (never was, or another process took it first).
   */
  async take(name: string): Promise<TakenEntry<T> | undefined> {
    const source = this.#file(name);
    const held = join(this.path, `.${name}.taken-${process.pid}-${randomUUID()}`);
    try {
      await rename(source, held);
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') return undefined;
      throw new StateWriteError(this.path, `take ${name}.json`, error);
    }
    const problem = this.#problem(await readFile(held, 'utf8'));
    if (typeof problem === 'string') {
      await rename(held, source);
      await this.quarantine(`${name}.json`, problem);
      return undefined;
    }
    return {
      value: problem.value,
      commit: async () => {
        try {
          await rm(held, { force: true });
          await syncDirectory(this.path);
        } catch (error) {
          throw new StateWriteError(this.path, `remove ${name}.json`, error);
        }
      },
      release: async () => {
        try {
          await rename(held, source);
          await syncDirectory(this.path);
        } catch (error) {
          throw new StateWriteError(this.path, `put back ${name}.json`, error);
        }
      },
    };
  }

  /** Moves a file out of the way into `<stateDir>/quarantine/`, with a log line naming it and the reason. */
  async quarantine(file: string, reason: string): Promise<void> {
    const from = join(this.path, file);
    const stateDir = this.#options.stateDir ?? join(this.path, '..');
    const folder = stateLayout(stateDir).quarantine;
    const flat = relative(stateDir, this.path).replace(/[\\/]/g, '_') || 'state';
    const to = join(folder, `${flat}__${Date.now()}__${file}`);
    try {
      await mkdir(folder, { recursive: true });
      await rename(from, to);
      await writeFile(`${to}.reason.txt`, `${reason}\n`);
      this.#options.log?.('warn', `quarantined ${from} (${reason}) → ${to}`);
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') return;
      this.#options.log?.(
        'error',
        `${from} is not a good state entry (${reason}) and could not be moved to ${folder} (${describeCause(error)}); it is skipped`,
      );
    }
  }
}
