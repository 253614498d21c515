/**
 * Nothing acknowledged is lost or run twice: rounds of a burst of uploads stopped at a random moment — kill -9
 * of the whole process group, or a clean stop — each followed by a restart on the same state dir, then a full
 * accounting (support/crash-rounds.ts). The long version (10+ rounds) is `npm run bench` (bench/crash.ts).
 */
import { expect } from 'chai';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CrashAccount, crashRounds } from '../../support/crash-rounds';

describe('offline queue: crash and account', function () {
  this.timeout(180_000);
  let stateDir: string;
  let account: CrashAccount;

  before(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'lambda-notes-crash-'));
    account = await crashRounds({
      stateDir,
      stops: ['kill-9', 'kill-9', 'clean'],
      uploadsPerRound: 60,
      concurrency: 8,
    });
  });

  after(async () => {
    await rm(stateDir, { recursive: true, force: true });
  });

  it('acknowledged uploads of both kinds in every round', () => {
    // Each round stops after 20–80 % of its 60 uploads are acknowledged (12 at least), every fifth one empty.
    expect(account.acknowledgedPerRound).to.have.length(3);
    account.acknowledgedPerRound.forEach(({ good, empty }, round) => {
      expect(good, `good uploads acknowledged in round ${round + 1}`).to.be.at.least(5);
      expect(empty, `empty uploads acknowledged in round ${round + 1}`).to.be.at.least(1);
    });
  });

  it('loses no upload that S3 answered with 200 (processed, or one DLQ record)', () => {
    expect(account.lost).to.deep.equal([]);
  });

  it('writes at most one DLQ record per event', () => {
    expect(account.duplicateDlqRecords).to.deep.equal([]);
  });

  it('sends good objects only to the handler and empty ones only to the DLQ', () => {
    expect(account.misrouted).to.deep.equal([]);
  });

  it('runs an empty object at most 3 times (2 retries), crashes included', () => {
    expect(account.maxRunsOfAnEmptyObject).to.be.at.most(3);
  });

  it('processes twice only objects whose run was under way at a kill -9 (at-least-once), as reported', () => {
    expect(account.processedTwice.length).to.be.at.most(account.interruptedRuns);
    expect(account.processedTwice.every((entry) => entry.times === 2)).to.equal(true);
  });

  it('processes nothing twice after a clean stop (it drains the runs under way)', () => {
    expect(account.duplicatesAfterCleanStops).to.equal(0);
  });
});
