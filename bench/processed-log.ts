/**
 * Follows the offline process's stdout line by line and notes, per key, when s3Upload logged `object processed`
 * for it. A waiter for a key is resolved by the data event that carries the line: no polling.
 */
import { performance } from 'node:perf_hooks';
import type { Readable } from 'node:stream';

interface Waiter {
  resolve(at: number): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

export class ProcessedLog {
  /** performance.now() of every `object processed` line, per key, in arrival order. */
  readonly #seen = new Map<string, number[]>();
  readonly #waiters = new Map<string, Waiter[]>();
  #partial = '';
  readonly #onData = (chunk: Buffer): void => this.#read(chunk.toString());

  constructor(private readonly stream: Readable) {
    stream.on('data', this.#onData);
  }

  close(): void {
    this.stream.off('data', this.#onData);
    for (const [key, waiters] of this.#waiters) {
      for (const waiter of waiters) {
        clearTimeout(waiter.timer);
        waiter.reject(new Error(`stopped following the log before ${key} was processed`));
      }
    }
    this.#waiters.clear();
  }

  #read(text: string): void {
    const at = performance.now();
    const lines = (this.#partial + text).split('\n');
    this.#partial = lines.pop() ?? '';
    for (const line of lines) {
      // Cheap test first: most lines are not this one.
      if (!line.includes('"object processed"') || !line.startsWith('{')) continue;
      let parsed: { message?: unknown; key?: unknown };
      try {
        parsed = JSON.parse(line) as { message?: unknown; key?: unknown };
      } catch {
        continue;
      }
      if (parsed.message !== 'object processed' || typeof parsed.key !== 'string') continue;
      this.#record(parsed.key, at);
    }
  }

  #record(key: string, at: number): void {
    const times = this.#seen.get(key) ?? [];
    times.push(at);
    this.#seen.set(key, times);
    const waiters = this.#waiters.get(key);
    if (!waiters) return;
    this.#waiters.delete(key);
    for (const waiter of waiters) {
      clearTimeout(waiter.timer);
      waiter.resolve(at);
    }
  }

  /** How many times the key was processed so far. */
  count(key: string): number {
    return this.#seen.get(key)?.length ?? 0;
  }

  /** When the key was first processed, if it was. */
  firstAt(key: string): number | undefined {
    return this.#seen.get(key)?.[0];
  }

  /**
   * Resolves with the time of the key's first `object processed` line — at once if it was already seen — or
   * rejects after `timeoutMs`.
   */
  processed(key: string, timeoutMs: number): Promise<number> {
    const first = this.firstAt(key);
    if (first !== undefined) return Promise.resolve(first);
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        timer: setTimeout(() => {
          const waiters = this.#waiters.get(key) ?? [];
          this.#waiters.set(
            key,
            waiters.filter((other) => other !== waiter),
          );
          reject(new Error(`${key} was not processed within ${timeoutMs} ms`));
        }, timeoutMs),
      };
      this.#waiters.set(key, [...(this.#waiters.get(key) ?? []), waiter]);
    });
  }
}
