/**
 * The Init phase of an execution environment past Lambda's limit (10 s, shortened here through initLimitMs):
 * the developer guide's suppressed init ("Lambda execution environment lifecycle", Init phase: if the Init
 * phase times out, Lambda retries it at the time of the first invocation, under the function's timeout).
 */
import { expect } from 'chai';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixtureSpec } from '../helpers/runtime-fixtures';
import { TestEnvironments } from '../helpers/environment-runs';

describe('execution environments: an Init phase past its limit', function () {
  this.timeout(20_000);
  let tmpRoot = '';
  const environments = new TestEnvironments(() => tmpRoot);

  before(async () => {
    tmpRoot = await mkdtemp(join(tmpdir(), 'lambda-notes-init-'));
  });
  afterEach(() => environments.endAll());
  after(() => rm(tmpRoot, { recursive: true, force: true }));

  it('tries the init again within the first run, which answers; its REPORT has no Init Duration', async () => {
    const environment = await environments.start(
      fixtureSpec('slow-init.handler', { variables: { INIT_SLEEP_MS: '700' }, timeoutSeconds: 5 }),
      { initLimitMs: 300 },
    );
    const first = await environments.run(environment);
    expect(first.outcome.ok, first.log).to.equal(true);
    expect(first.initDurationMs).to.equal(undefined);
    expect(first.durationMs).to.be.at.least(700);
    expect(environment.view()).to.include({ resets: 1 });
    const second = await environments.run(environment);
    expect(second.payload).to.deep.equal(first.payload);
  });

  it("fails the first run at the function's timeout when the retried init outlasts it", async () => {
    const environment = await environments.start(
      fixtureSpec('slow-init.handler', { variables: { INIT_SLEEP_MS: '3000' }, timeoutSeconds: 1 }),
      { initLimitMs: 300 },
    );
    const first = await environments.run(environment);
    expect(first).to.include({ status: 'timeout' });
    expect(first.payload).to.deep.include({ errorType: 'Sandbox.Timedout' });
  });
});
