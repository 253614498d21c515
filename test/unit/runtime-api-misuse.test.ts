/**
 * A function that writes to the Runtime API itself, out of turn: the first answer stands, the runtime's own second
 * one gets rapid's 403 InvalidStateTransition (test/unit/runtime-api.test.ts), and the environment goes on serving.
 */
import { expect } from 'chai';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixtureSpec } from '../helpers/runtime-fixtures';
import { TestEnvironments } from '../helpers/environment-runs';

describe('execution environments: a function that posts to the Runtime API itself', function () {
  this.timeout(20_000);
  let tmpRoot = '';
  const environments = new TestEnvironments(() => tmpRoot);

  before(async () => {
    tmpRoot = await mkdtemp(join(tmpdir(), 'lambda-notes-misuse-'));
  });
  afterEach(() => environments.endAll());
  after(() => rm(tmpRoot, { recursive: true, force: true }));

  it('keeps the first answer, and the environment serves the next run in the same process', async () => {
    const environment = await environments.start(fixtureSpec('runtime-api-misuse.answersItself'));
    const first = await environments.run(environment);
    const second = await environments.run(environment);
    expect([first.payload, second.payload]).to.deep.equal([
      'answered by the handler',
      'answered by the handler',
    ]);
    expect(environment.view()).to.include({ runs: 2, resets: 0, state: 'idle' });
  });
});
