/**
 * Peer suite: the handler fixtures of AWS's Node.js runtime interface client (vendored in
 * test/peer/runtime-client, Apache-2.0) run through the project's execution environments and Runtime API — real
 * processes, not a mock — each case asserting what AWS's client answers and naming the client's test that states
 * it. The v3 client (UserFunctionTest.js, IsAsyncTest.js, src/Runtime.js, src/CallbackContext.js) is the runtime
 * of nodejs22.x, the v4 client (integration-tests/tests/function/*.test.ts, src/**) that of nodejs24.x; a case
 * runs on the runtime(s) whose client states it.
 *
 * UserFunctionTest calls the loaded handler directly; through a runtime, the v3 client answers null for a
 * synchronous handler that returns without calling back (src/Runtime.js `_setDefaultExitListener`), so those
 * cases expect null on nodejs22.x and the handler's value on nodejs24.x. Its four `xit` cases (skipped by AWS:
 * Node's module syntax detection loads them) are left out, as AWS leaves them out.
 */
import { expect } from 'chai';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunResult } from '../../offline/environments/environment-types';
import { fixtureSpec } from '../helpers/runtime-fixtures';
import { type ObservedRun, TestEnvironments } from '../helpers/environment-runs';
import { type Expected, type PeerCase, USER_FUNCTION, USER_FUNCTION_CASES } from './runtime-client-cases';
import { SHARED_CASES, V3_CASES, V4_CASES } from './runtime-client-rules';

function expectAnswer(run: ObservedRun, expected: Expected, peerCase?: PeerCase): void {
  if (peerCase?.log) expect(run.log).to.match(peerCase.log);
  if (peerCase?.notLog) expect(run.log).not.to.match(peerCase.notLog);
  if ('result' in expected) {
    expect(run.outcome, run.log).to.deep.include({ ok: true });
    expect(run.payload).to.deep.equal(expected.result);
    return;
  }
  expect(run.outcome.ok, run.log).to.equal(false);
  const error = (run.outcome as Extract<RunResult['outcome'], { ok: false }>).error;
  expect(error.errorType, error.errorMessage).to.equal(expected.errorType);
  if (typeof expected.message === 'string') expect(error.errorMessage).to.equal(expected.message);
  else if (expected.message) expect(error.errorMessage).to.match(expected.message);
  // An init error is reported by the runtime before any event (REPORT: Status error, the error's type).
  if (expected.atInit) expect(run).to.include({ status: 'error', reportErrorType: expected.errorType });
  else expect(run.status).to.equal(undefined);
}

describe("peer: AWS's Node.js runtime client cases through the offline environments", function () {
  this.timeout(30_000);
  let tmpRoot = '';
  const environments = new TestEnvironments(() => tmpRoot);

  before(async () => {
    tmpRoot = await mkdtemp(join(tmpdir(), 'lambda-notes-peer-'));
  });
  afterEach(() => environments.endAll());
  after(() => rm(tmpRoot, { recursive: true, force: true }));

  async function runCase(peerCase: PeerCase, runtime: string): Promise<ObservedRun> {
    const environment = await environments.start(
      fixtureSpec(peerCase.handler, { taskRoot: peerCase.taskRoot, runtime, timeoutSeconds: 10 }),
    );
    return environments.run(environment, peerCase.event ?? {});
  }

  for (const runtime of ['nodejs22.x', 'nodejs24.x']) {
    describe(`${USER_FUNCTION} and shared rules on ${runtime}`, () => {
      for (const peerCase of [...USER_FUNCTION_CASES, ...SHARED_CASES]) {
        it(peerCase.source, async () => {
          const expected =
            runtime === 'nodejs24.x' ? (peerCase.nodejs24 ?? peerCase.expected) : peerCase.expected;
          expectAnswer(await runCase(peerCase, runtime), expected);
        });
      }
    });
  }

  describe('v4 client rules on nodejs24.x', () => {
    for (const peerCase of V4_CASES) {
      it(peerCase.source, async () => expectAnswer(await runCase(peerCase, 'nodejs24.x'), peerCase.expected));
    }
  });

  describe('v3 client rules on nodejs22.x', () => {
    for (const peerCase of V3_CASES) {
      it(peerCase.source, async () =>
        expectAnswer(await runCase(peerCase, 'nodejs22.x'), peerCase.expected, peerCase),
      );
    }
  });
});
