/**
 * `kill -9` of the `npm start` process group, then `npm start` again at once, on the same state dir and ports:
 * the killed stack's serverless (its own process group) notices its launcher is gone and stops — draining the
 * run under way — while the new `npm start` begins. The new one waits for it, saying so in one line, instead of
 * refusing the state dir; it comes up and every acknowledged upload is processed (or, for an empty object, ends
 * as one DLQ record). Whether a run was still under way when the new one started is observed, not assumed: it
 * rests on how fast this machine hashes, and where it did not hold the case that needs it says so.
 */
import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { Readable } from 'node:stream';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { stateLayout } from '../../offline/state/layout';
import type { LockHolder } from '../../offline/state/lock';
import { isAlive } from '../../offline/state/pids';
import { processedKeys } from '../../support/crash-rounds';
import { deadLetters, recordKey } from '../../support/dead-letters';
import { BUCKET, OfflineStack, type StackOptions } from '../../support/offline-stack';
import { waitFor } from '../../support/wait';

/**
 * The run under way at the kill: 2–4 s of s3Upload's work where it reads and hashes at 100–160 MB/s, well past
 * the fraction of a second the new `npm start` takes to look at the state dir.
 */
const LARGE_OBJECT_BYTES = 384 * 1024 * 1024;

/** A text body of this many bytes, streamed from one reused chunk: the test process stays small to fork from. */
function largeBody(bytes: number): Readable {
  const chunk = Buffer.alloc(1024 * 1024, 'a line of a large object\n');
  return Readable.from(
    (function* () {
      for (let left = bytes; left > 0; left -= chunk.length)
        yield left >= chunk.length ? chunk : chunk.subarray(0, left);
    })(),
  );
}

/**
 * Whether the state dir holds the event of `key` as under way (an attempt recorded as started, no outcome yet):
 * what the new stack finds there. Read at once, in the handler of the new stack's first output.
 */
function recordedUnderWay(stateDir: string, key: string): boolean {
  const pending = stateLayout(stateDir).pending;
  let files: string[];
  try {
    files = readdirSync(pending).filter((file) => file.endsWith('.json'));
  } catch {
    return false;
  }
  return files.some((file) => {
    try {
      const text = readFileSync(join(pending, file), 'utf8');
      const entry = JSON.parse(text) as { value?: { runningAttempt?: number } };
      return text.includes(JSON.stringify(key)) && entry.value?.runningAttempt !== undefined;
    } catch {
      // Removed (its outcome written) between the listing and the read.
      return false;
    }
  });
}

describe('offline restart right after kill -9 of npm start', function () {
  this.timeout(180_000);
  const large = 'targets/restart-large.txt';
  let stateDir: string;
  let first: OfflineStack | undefined;
  let second: OfflineStack | undefined;
  let killedServerless: number | undefined;
  let uploads: Array<{ key: string; empty: boolean }> = [];
  /** Undefined until the new stack printed its first output; then whether the large run was under way. */
  let largeRunUnderWayAtRestart: boolean | undefined;

  before(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'lambda-notes-restart-'));
    // Retries 6 s and 12 s apart: pending across the restart, and not running when the large object's run starts.
    const options: StackOptions = { launcher: true, stateDir, timeScale: 0.1, startTimeoutMs: 60_000 };
    first = await OfflineStack.start(options);
    const stack = first;
    killedServerless = (
      JSON.parse(await readFile(join(stateDir, 'offline.lock.holder.json'), 'utf8')) as LockHolder
    ).pid;

    // Every fifth object is empty: it fails, so its retries are still pending at the restart.
    uploads = Array.from({ length: 30 }, (_, i) => ({ key: `targets/restart-${i}.txt`, empty: i % 5 === 4 }));
    const s3 = stack.s3Client();
    for (const { key, empty } of uploads) {
      const body = Buffer.from(empty ? '' : `line of ${key}\n`);
      await s3.send(
        new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body, ContentLength: body.length }),
      );
    }
    await waitFor('the first attempt of every upload', () => {
      const lines = stack
        .logLines()
        .filter((line) => line.message === 'object processed' || line.message === 'object failed');
      return lines.length >= uploads.length;
    });
    const mark = stack.output.length;
    await s3.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: large,
        Body: largeBody(LARGE_OBJECT_BYTES),
        ContentLength: LARGE_OBJECT_BYTES,
      }),
    );
    s3.destroy();
    await waitFor('the large object’s run to start', () =>
      stack.output.slice(mark).includes('START RequestId'),
    );

    process.kill(-(stack.child.pid as number), 'SIGKILL');
    second = await OfflineStack.start({
      ...options,
      ports: stack.ports,
      onSpawn: (restarting) => {
        const observe = (): void => {
          largeRunUnderWayAtRestart ??= recordedUnderWay(stateDir, large);
        };
        restarting.child.stdout?.once('data', observe);
        restarting.child.stderr?.once('data', observe);
      },
    });
    const restarted = second;
    await waitFor('an empty queue after the restart', async () => (await restarted.pendingEvents()) === 0, {
      timeoutMs: 60_000,
      intervalMs: 100,
    });
  });

  after(async () => {
    await second?.stop({ keepState: true });
    // The killed launcher's serverless stops by itself; should it not have, it goes here (its own group).
    if (killedServerless !== undefined && isAlive(killedServerless))
      process.kill(-killedServerless, 'SIGKILL');
    await first?.stop({ keepState: true });
    await rm(stateDir, { recursive: true, force: true });
  });

  it('waits for the killed stack still draining a run, saying so in one line, instead of refusing the state dir', function () {
    const restarted = second as OfflineStack;
    expect(restarted.output).to.not.include('is in use by another offline stack');
    if (!largeRunUnderWayAtRestart) {
      // The killed stack had finished its run (and may have exited) before the new one looked: nothing to wait for.
      if (this.test)
        this.test.title +=
          ' [skipped: its premise did not hold here, the large run had ended before the restart]';
      this.skip();
    }
    expect(
      restarted.output.match(/waiting up to \d+ s for the offline stack that is stopping \(pid (\d+)/)?.[1],
      `one line saying whom it waits for:\n${restarted.tail()}\nthe killed stack:\n${first?.tail(15)}`,
    ).to.equal(String(killedServerless));
  });

  it('resumes every acknowledged upload: processed, or one DLQ record for an empty object', async () => {
    const processed = new Set([
      ...processedKeys(first as OfflineStack),
      ...processedKeys(second as OfflineStack),
    ]);
    const dlq = (await deadLetters(stateDir)).map(recordKey);
    for (const { key, empty } of uploads) {
      if (empty)
        expect(
          dlq.filter((recorded) => recorded === key),
          key,
        ).to.have.length(1);
      else expect(processed.has(key), `${key} processed`).to.equal(true);
    }
    expect(processed.has(large), `${large} processed`).to.equal(true);
  });
});
