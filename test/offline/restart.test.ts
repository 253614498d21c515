/**
 * `kill -9` of npm (`npm start`'s own process: a terminal or an IDE ending it), then `npm start` again at once, on
 * the same state dir and ports: the killed npm's serverless notices its parent is gone and stops — draining the
 * run under way — while the new `npm start` begins. The new one waits for it, saying so in one line, instead of
 * refusing the state dir; it comes up and every acknowledged upload is processed (or, for an empty object, ends
 * as one DLQ record).
 *
 * That a run is still under way when the new one looks is made so, not assumed from how fast this machine
 * hashes: the killed npm's serverless is frozen (SIGSTOP) in the middle of the run,
 * the run is checked to be under way in the state dir, and they are thawed once the new stack has said that it
 * waits, or has had the time to.
 */
import { expect } from 'chai';
import { readdir, readFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { Readable } from 'node:stream';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { stateLayout } from '../../offline/state/layout';
import { type LockHolder, STOP_WAIT_MS } from '../../offline/state/lock';
import { isAlive } from '../../offline/state/pids';
import { processedKeys } from '../../support/crash-rounds';
import { deadLetters, recordKey } from '../../support/dead-letters';
import { BUCKET, OfflineStack, type StackOptions } from '../../support/offline-stack';
import { waitFor } from '../../support/wait';

/** Seconds of s3Upload's work: the run is still going when the stack is frozen, as soon as it has started. */
const LARGE_OBJECT_BYTES = 384 * 1024 * 1024;

const WAIT_LINE = /waiting up to \d+ s for the offline stack that is stopping \(pid (\d+)/;

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

/** Whether the state dir holds the event of `key` as under way: an attempt recorded as started, no outcome yet. */
async function recordedUnderWay(stateDir: string, key: string): Promise<boolean> {
  const pending = stateLayout(stateDir).pending;
  for (const file of (await readdir(pending)).filter((name) => name.endsWith('.json'))) {
    const text = await readFile(join(pending, file), 'utf8');
    const entry = JSON.parse(text) as { value?: { runningAttempt?: number } };
    if (text.includes(JSON.stringify(key)) && entry.value?.runningAttempt !== undefined) return true;
  }
  return false;
}

describe('offline restart right after kill -9 of npm', function () {
  this.timeout(180_000);
  const large = 'targets/restart-large.txt';
  let stateDir: string;
  let first: OfflineStack | undefined;
  let second: OfflineStack | undefined;
  let killedServerless: number | undefined;
  let frozen = false;
  let uploads: Array<{ key: string; empty: boolean }> = [];
  /** Whether the large run was under way in the state dir while the killed stack was frozen. */
  let largeRunUnderWay = false;

  function thaw(): void {
    if (!frozen || killedServerless === undefined) return;
    frozen = false;
    try {
      process.kill(killedServerless, 'SIGCONT');
    } catch {
      // already gone
    }
  }

  before(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'lambda-notes-restart-'));
    // Retries 6 s and 12 s apart: pending across the restart, and not running when the large object's run starts.
    const options: StackOptions = { npm: true, stateDir, timeScale: 0.1, startTimeoutMs: 60_000 };
    first = await OfflineStack.start(options);
    const stack = first;
    const serverless = (
      JSON.parse(await readFile(join(stateDir, 'offline.lock.holder.json'), 'utf8')) as LockHolder
    ).pid;
    killedServerless = serverless;

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

    // serverless runs in npm start's own process (scripts/start-offline.cjs), a child of npm.
    process.kill(serverless, 'SIGSTOP');
    frozen = true;
    try {
      largeRunUnderWay = (await recordedUnderWay(stateDir, large)) && !processedKeys(stack).includes(large);
      if (!largeRunUnderWay) thaw();
      // npm alone, as a terminal's kill -9 of its pid: its serverless child is left to notice, once thawed.
      process.kill(stack.child.pid as number, 'SIGKILL');
      let restarting: OfflineStack | undefined;
      const started = OfflineStack.start({
        ...options,
        ports: stack.ports,
        onSpawn: (spawned) => {
          restarting = spawned;
        },
      });
      // Thawed before the new stack gives up on it, so that a stack that waits silently still comes up.
      await waitFor('the new stack to say that it waits', () => WAIT_LINE.test(restarting?.output ?? ''), {
        timeoutMs: STOP_WAIT_MS / 2,
      }).catch(() => undefined);
      thaw();
      second = await started;
    } finally {
      thaw();
    }
    const restarted = second;
    await waitFor('an empty queue after the restart', async () => (await restarted.pendingEvents()) === 0, {
      timeoutMs: 60_000,
      intervalMs: 100,
    });
  });

  after(async () => {
    thaw();
    await second?.stop({ keepState: true });
    // The killed npm's serverless stops by itself; should it not have, it goes here.
    if (killedServerless !== undefined && isAlive(killedServerless))
      process.kill(killedServerless, 'SIGKILL');
    await first?.stop({ keepState: true });
    await rm(stateDir, { recursive: true, force: true });
  });

  it('waits for the killed stack still draining a run, saying so in one line, instead of refusing the state dir', function () {
    const restarted = second as OfflineStack;
    expect(restarted.output).to.not.include('is in use by another offline stack');
    if (!largeRunUnderWay) {
      // The large run had ended before the killed stack could be frozen: there was nothing to wait for.
      if (this.test)
        this.test.title +=
          ' [skipped: its premise did not hold here, the large run had ended before the restart]';
      this.skip();
    }
    expect(
      restarted.output.match(WAIT_LINE)?.[1],
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
