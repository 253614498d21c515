/**
 * `kill -9` of npm (`npm start`'s own process: a terminal or an IDE ending it), then `npm start` again at once, on
 * the same state dir and ports: the killed npm's serverless notices its parent is gone and stops — draining the
 * run under way, which takes about a second here — while the new `npm start` begins. The new one waits for it,
 * saying so in one line, instead of refusing the state dir; it comes up and every acknowledged upload is
 * processed (or, for an empty object, ends as one DLQ record).
 */
import { expect } from 'chai';
import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { Readable } from 'node:stream';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import type { LockHolder } from '../../offline/state/lock';
import { isAlive } from '../../offline/state/pids';
import { processedKeys } from '../../support/crash-rounds';
import { deadLetters, recordKey } from '../../support/dead-letters';
import { BUCKET, OfflineStack, type StackOptions } from '../../support/offline-stack';
import { waitFor } from '../../support/wait';

/**
 * The run under way at the kill: 2–4 s of s3Upload's work (it reads and hashes at 100–160 MB/s), well past the
 * fraction of a second the new `npm start` takes to look at the state dir, even on a busy machine.
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

describe('offline restart right after kill -9 of npm', function () {
  this.timeout(180_000);
  let stateDir: string;
  let first: OfflineStack | undefined;
  let second: OfflineStack | undefined;
  let killedServerless: number | undefined;

  before(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'lambda-notes-restart-'));
  });

  after(async () => {
    await second?.stop({ keepState: true });
    // The killed npm's serverless stops by itself; should it not have, it goes here.
    if (killedServerless !== undefined && isAlive(killedServerless))
      process.kill(killedServerless, 'SIGKILL');
    await first?.stop({ keepState: true });
    await rm(stateDir, { recursive: true, force: true });
  });

  it('comes up (waiting for the stopping stack, in one line) and resumes every acknowledged upload', async () => {
    // Retries 6 s and 12 s apart: pending across the restart, and not running when the large object's run starts.
    const options: StackOptions = { npm: true, stateDir, timeScale: 0.1, startTimeoutMs: 60_000 };
    first = await OfflineStack.start(options);
    const stack = first;
    killedServerless = (
      JSON.parse(await readFile(join(stateDir, 'offline.lock.holder.json'), 'utf8')) as LockHolder
    ).pid;

    // Every fifth object is empty: it fails, so its retries are still pending at the restart.
    const uploads = Array.from({ length: 30 }, (_, i) => ({
      key: `targets/restart-${i}.txt`,
      empty: i % 5 === 4,
    }));
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
    const large = 'targets/restart-large.txt';
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

    const killedAt = Date.now();
    // npm alone, as a terminal's kill -9 of its pid: its serverless child is left to notice.
    process.kill(stack.child.pid as number, 'SIGKILL');
    const restarting = OfflineStack.start({ ...options, ports: stack.ports });
    second = await restarting;
    const restarted = second;
    const readyAfterMs = Date.now() - killedAt;

    expect(restarted.spawnedAt - killedAt, 'npm start again within 100 ms of the kill').to.be.below(100);
    expect(restarted.output).to.not.include('is in use by another offline stack');
    expect(
      restarted.output.match(/waiting up to \d+ s for the offline stack that is stopping \(pid (\d+)/)?.[1],
      `one line saying whom it waits for (ready ${readyAfterMs} ms after the kill):\n${restarted.tail()}\nthe killed stack:\n${stack.tail(15)}`,
    ).to.equal(String(killedServerless));

    await waitFor('an empty queue after the restart', async () => (await restarted.pendingEvents()) === 0, {
      timeoutMs: 60_000,
      intervalMs: 100,
    });
    const processed = new Set([...processedKeys(stack), ...processedKeys(restarted)]);
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
