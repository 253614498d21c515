import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';

/**
 * A directory of JSON files, one per entry: the durable storage under the local queues. Writes go to a
 * temporary file and are renamed into place, so a reader (or a restart) never sees half an entry.
 */
export class JsonDirectory<T> {
  #created: Promise<unknown> | undefined;

  constructor(readonly path: string) {}

  #ensure(): Promise<unknown> {
    this.#created ??= mkdir(this.path, { recursive: true });
    return this.#created;
  }

  async put(name: string, value: T): Promise<void> {
    await this.#ensure();
    const target = join(this.path, `${name}.json`);
    const temporary = join(this.path, `.${name}.${randomUUID()}.tmp`);
    await writeFile(temporary, JSON.stringify(value));
    await rename(temporary, target);
  }

  async read(name: string): Promise<T | undefined> {
    try {
      return JSON.parse(await readFile(join(this.path, `${name}.json`), 'utf8')) as T;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  /** Removes an entry; false when it was not there. */
  async remove(name: string): Promise<boolean> {
    try {
      await rm(join(this.path, `${name}.json`));
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw error;
    }
  }

  /** Entry names in sorted order (callers prefix names with a timestamp to get arrival order). */
  async names(): Promise<string[]> {
    try {
      const files = await readdir(this.path);
      return files
        .filter((file) => file.endsWith('.json') && !file.startsWith('.'))
        .map((file) => file.slice(0, -'.json'.length))
        .sort();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
  }

  async entries(): Promise<Array<{ name: string; value: T }>> {
    const found: Array<{ name: string; value: T }> = [];
    for (const name of await this.names()) {
      const value = await this.read(name);
      if (value !== undefined) found.push({ name, value });
    }
    return found;
  }
}
