import { expect } from 'chai';
import {
  endLine,
  InvocationLogs,
  LOG_TAIL_BYTES,
  logTail,
  reportLine,
  startLine,
} from '../../offline/observability/invocation-logs';

const ID = '0b8a6cdb-0f6c-4f6e-9d4c-1f4e5e0c2a11';
const STREAM = '2026/12/04/[$LATEST]0123456789abcdef0123456789abcdef';

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
    const capture = logs.begin('hello', ID, 1, STREAM);
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
      logs.begin(key, `id-${index}`, index, STREAM);
    expect(logs.entries().map((entry) => entry.requestId)).to.deep.equal(['id-3', 'id-2', 'id-1']);
    expect(logs.entries({ functionKey: 'hello', limit: 1 }).map((entry) => entry.requestId)).to.deep.equal([
      'id-3',
    ]);
  });

  it("stops keeping an invocation's output past its byte bound, and says so", () => {
    const logs = new InvocationLogs({ maxEntries: 10, maxBytesPerEntry: 10 });
    const capture = logs.begin('hello', ID, 0, STREAM);
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
