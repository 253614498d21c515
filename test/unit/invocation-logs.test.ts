import { expect } from 'chai';
import { Worker } from 'node:worker_threads';
import { HandlerOutput } from '../../offline/handler-output';
import {
  endLine,
  InvocationLogs,
  LOG_TAIL_BYTES,
  logTail,
  reportLine,
  startLine,
} from '../../offline/invocation-logs';

const ID = '0b8a6cdb-0f6c-4f6e-9d4c-1f4e5e0c2a11';

describe('invocation-logs', () => {
  it('writes START, END and REPORT as Lambda does (tab-separated, REPORT ending in a tab)', () => {
    expect(startLine(ID)).to.equal(`START RequestId: ${ID} Version: $LATEST`);
    expect(endLine(ID)).to.equal(`END RequestId: ${ID}`);
    expect(reportLine(ID, { durationMs: 3.011, memorySizeMb: 128, maxMemoryUsedMb: 36.4 })).to.equal(
      `REPORT RequestId: ${ID}\tDuration: 3.01 ms\tBilled Duration: 4 ms\tMemory Size: 128 MB\tMax Memory Used: 36 MB\t`,
    );
  });

  it('adds Init Duration on a cold start only', () => {
    const cold = reportLine(ID, {
      durationMs: 2.9,
      memorySizeMb: 128,
      maxMemoryUsedMb: 36,
      initDurationMs: 110.1,
    });
    expect(cold).to.match(/\tInit Duration: 110\.10 ms\t$/);
    // INIT is billed since 2025-08-01: ceil(2.9 + 110.1).
    expect(cold).to.contain('\tBilled Duration: 113 ms\t');
    expect(reportLine(ID, { durationMs: 2.9, memorySizeMb: 128, maxMemoryUsedMb: 36 })).not.to.contain(
      'Init',
    );
  });

  it('keeps the function output between START and END, lines split on newlines', () => {
    const logs = new InvocationLogs();
    const capture = logs.begin('hello', ID, 1);
    capture.append('{"level":"INFO"');
    capture.append(',"message":"a"}\nsecond line\npartial');
    capture.finish({ durationMs: 1, memorySizeMb: 128, maxMemoryUsedMb: 50 });
    const [entry] = logs.entries({ requestId: ID });
    expect(entry?.lines.slice(0, 4)).to.deep.equal([
      startLine(ID),
      '{"level":"INFO","message":"a"}',
      'second line',
      'partial',
    ]);
    expect(entry?.lines.slice(4, 5)).to.deep.equal([endLine(ID)]);
    expect(entry?.lines[5]).to.match(/^REPORT RequestId: /);
  });

  it('lists entries newest first, filtered, limited and bounded in number', () => {
    const logs = new InvocationLogs({ maxEntries: 3, maxBytesPerEntry: 1024 });
    for (const [index, key] of ['hello', 's3Upload', 'hello', 'hello'].entries())
      logs.begin(key, `id-${index}`, index);
    expect(logs.entries().map((entry) => entry.requestId)).to.deep.equal(['id-3', 'id-2', 'id-1']);
    expect(logs.entries({ functionKey: 'hello', limit: 1 }).map((entry) => entry.requestId)).to.deep.equal([
      'id-3',
    ]);
  });

  it("stops keeping an invocation's output past its byte bound, and says so", () => {
    const logs = new InvocationLogs({ maxEntries: 10, maxBytesPerEntry: 10 });
    const capture = logs.begin('hello', ID, 0);
    capture.append('0123456789ABCDEF\n');
    capture.append('more\n');
    expect(capture.entry.lines).to.have.length(2);
    expect(capture.entry.lines[1]).to.contain('not kept');
  });

  it('gives LogType Tail the base64 of the last 4 KB of the log', () => {
    const lines = [startLine(ID), 'x'.repeat(5000), endLine(ID)];
    const decoded = Buffer.from(logTail(lines), 'base64').toString('utf8');
    expect(Buffer.byteLength(decoded)).to.equal(LOG_TAIL_BYTES);
    expect(decoded.endsWith(`${endLine(ID)}\n`)).to.equal(true);
    const short = Buffer.from(logTail([startLine(ID), endLine(ID)]), 'base64').toString('utf8');
    expect(short).to.equal(`${startLine(ID)}\n${endLine(ID)}\n`);
  });
});

describe('handler-output (a run in a worker thread, as serverless-offline runs handlers)', () => {
  const written: string[] = [];
  const output = new HandlerOutput((text) => written.push(text));
  before(() => output.install());
  after(() => output.uninstall());

  it("captures what the run's worker prints between START and END, with Init Duration on its first run only", async () => {
    const runner = {};
    let worker: Worker | undefined;
    const runOnce = (message: string): Promise<void> =>
      new Promise((resolve, reject) => {
        worker?.once('message', () => resolve());
        worker?.once('error', reject);
        worker?.postMessage(message);
      });
    await output.run(runner, { functionKey: 'hello', requestId: 'first', memorySizeMb: 128 }, async () => {
      worker = new Worker(
        `const { parentPort } = require('node:worker_threads');
         parentPort.on('message', (m) => { console.log('out ' + m); console.error('err ' + m); parentPort.postMessage('done'); });`,
        { eval: true, stdout: true, stderr: true },
      );
      await runOnce('one');
      await output.handlerReturned();
    });
    await output.run(runner, { functionKey: 'hello', requestId: 'second', memorySizeMb: 128 }, async () => {
      await runOnce('two');
      await output.handlerReturned();
    });
    await worker?.terminate();
    const [second, first] = output.logs.entries();
    // stdout and stderr are two streams: their lines keep no order between them.
    expect(first?.lines[0]).to.equal(startLine('first'));
    expect(first?.lines.slice(1, 3)).to.have.members(['out one', 'err one']);
    expect(first?.lines[4]).to.match(/\tInit Duration: \d+\.\d{2} ms\t$/);
    expect(second?.lines[0]).to.equal(startLine('second'));
    expect(second?.lines.slice(1, 3)).to.have.members(['out two', 'err two']);
    expect(second?.lines[3]).to.equal(endLine('second'));
    expect(second?.lines[4]).to.match(
      /^REPORT RequestId: second\tDuration: [\d.]+ ms\tBilled Duration: \d+ ms\tMemory Size: 128 MB\tMax Memory Used: \d+ MB\t$/,
    );
    expect(written.join('')).to.contain(`${startLine('second')}\n`);
    expect(output.tail('second')).to.equal(logTail(second?.lines ?? []));
  });

  it("waits for lines that reach it after the handler returned (a worker's stdout waits for each batch to be taken)", async () => {
    const worker = await output.run(
      {},
      { functionKey: 'hello', requestId: 'late', memorySizeMb: 128 },
      async () => {
        const created = new Worker(
          `const { parentPort } = require('node:worker_threads');
         parentPort.on('message', () => {
           for (let i = 1; i <= 50; i++) console.log('line ' + i);
           parentPort.postMessage('done');
         });`,
          { eval: true, stdout: true, stderr: true },
        );
        await new Promise((resolve) => {
          created.once('message', resolve);
          created.postMessage('go');
        });
        await output.handlerReturned();
        return created;
      },
    );
    await worker.terminate();
    const [entry] = output.logs.entries({ requestId: 'late' });
    expect(entry?.lines.slice(1, 51)).to.deep.equal(Array.from({ length: 50 }, (_, i) => `line ${i + 1}`));
    expect(entry?.lines[51]).to.equal(endLine('late'));
  });

  it("gives the run's request id to code in its async context only", async () => {
    let inside: string | undefined;
    await output.run({}, { functionKey: 'hello', requestId: 'scoped', memorySizeMb: 128 }, async () => {
      await Promise.resolve();
      inside = output.requestId();
    });
    expect(inside).to.equal('scoped');
    expect(output.requestId()).to.equal(undefined);
  });

  it('writes END and REPORT when the run fails too', async () => {
    const failing = output.run({}, { functionKey: 'hello', requestId: 'failed', memorySizeMb: 128 }, () =>
      Promise.reject(new Error('boom')),
    );
    await failing.then(
      () => expect.fail('the run should fail'),
      (error: unknown) => expect(String(error)).to.contain('boom'),
    );
    const [entry] = output.logs.entries({ requestId: 'failed' });
    expect(entry?.lines.at(-2)).to.equal(endLine('failed'));
    // As the Node.js runtime logs it: timestamp, request id, ERROR, "Invoke Error", the error as JSON.
    expect(entry?.lines[1]).to.match(
      /^\d{4}-\d{2}-\d{2}T[\d:.]+Z\tfailed\tERROR\tInvoke Error \t\{"errorType":"Error","errorMessage":"boom","stack":\[/,
    );
  });
});
