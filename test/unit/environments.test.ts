/**
 * Execution environments with real processes: the project's runtime (offline/runtime/bootstrap.cjs) runs the
 * handlers of test/fixtures/runtime behind a Runtime API of its own. Every environment a test starts is ended in
 * afterEach, also when the test fails.
 */
import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExecutionEnvironment, logStreamName } from '../../offline/environments/environment';
import type {
  EnvironmentOptions,
  FunctionSpec,
  RunResult,
} from '../../offline/environments/environment-types';
import { heapFlags } from '../../offline/environments/runtime-process';
import { processMemory } from '../../offline/environments/process-memory';
import { BOOTSTRAP, fixtureSpec } from '../helpers/runtime-fixtures';
import { waitFor } from '../../support/wait';

/** A run's log: what the environment wrote while it ran. */
class Sink {
  text = '';
  append(text: string): void {
    this.text += text;
  }
}

describe('execution environments (real processes)', function () {
  this.timeout(20_000);
  let tmpRoot: string;
  const started: ExecutionEnvironment[] = [];
  const ended: string[] = [];

  before(async () => {
    tmpRoot = await mkdtemp(join(tmpdir(), 'lambda-notes-environments-'));
  });

  afterEach(async () => {
    await Promise.all(started.splice(0).map((environment) => environment.end('test over')));
    ended.length = 0;
  });

  after(async () => {
    await rm(tmpRoot, { recursive: true, force: true });
  });

  async function start(spec: FunctionSpec): Promise<ExecutionEnvironment> {
    const id = randomUUID().replaceAll('-', '');
    const options: EnvironmentOptions = {
      id,
      logStream: logStreamName(new Date(), id),
      tmpDir: join(tmpRoot, id),
      bootstrap: BOOTSTRAP,
      hostVariables: { PATH: process.env.PATH ?? '' },
      memory: await processMemory(),
      output: (text, _stream, sink) => sink?.append(text),
      ended: (environment) => ended.push(environment.id),
      now: Date.now,
    };
    const environment = await ExecutionEnvironment.start(spec, options);
    started.push(environment);
    return environment;
  }

  async function run(
    environment: ExecutionEnvironment,
    event: unknown = {},
    clientContext?: unknown,
  ): Promise<RunResult & { log: string; requestId: string; payload: unknown }> {
    const sink = new Sink();
    const requestId = randomUUID();
    const result = await environment.run(
      {
        requestId,
        event: JSON.stringify(event),
        invokedFunctionArn: environment.spec.arn,
        traceId: 'Root=1-6750a1b2-0123456789abcdef01234567;Parent=0123456789abcdef;Sampled=0',
        ...(clientContext === undefined ? {} : { clientContext: JSON.stringify(clientContext) }),
      },
      sink,
    );
    const payload = result.outcome.ok ? JSON.parse(result.outcome.body) : result.outcome.error;
    return { ...result, log: sink.text, requestId, payload };
  }

  describe('lifecycle', () => {
    it('reports Init Duration on the first run only, and runs the next one warm in the same process', async () => {
      const environment = await start(fixtureSpec('handlers.echo'));
      const cold = await run(environment, { n: 1 });
      const warm = await run(environment, { n: 2 });
      expect(cold.initDurationMs).to.be.a('number').and.to.be.greaterThan(0);
      expect(warm.initDurationMs).to.equal(undefined);
      expect(cold.payload).to.include({ runs: 1 });
      expect(warm.payload).to.include({ runs: 2, pid: (cold.payload as { pid: number }).pid });
      expect(environment.view()).to.include({ runs: 2, state: 'idle' });
    });

    it('gives the handler the context Lambda gives (request id, names, memory, log stream, deadline, client context)', async () => {
      const environment = await start(fixtureSpec('handlers.echo', { timeoutSeconds: 3 }));
      const result = await run(environment, { key1: 'value1' }, { custom: { a: 1 } });
      expect(result.payload).to.deep.include({
        event: { key1: 'value1' },
        requestId: result.requestId,
        functionName: 'lambda-notes-test-fixture',
        memoryLimitInMB: '128',
        logStreamName: environment.options.logStream,
        invokedFunctionArn: environment.spec.arn,
        clientContext: { custom: { a: 1 } },
        tz: ':UTC',
        traceId: 'Root=1-6750a1b2-0123456789abcdef01234567;Parent=0123456789abcdef;Sampled=0',
      });
      expect((result.payload as { remainingMs: number }).remainingMs).to.be.within(1, 3000);
      expect(environment.options.logStream).to.match(/^\d{4}\/\d{2}\/\d{2}\/\[\$LATEST\][0-9a-f]{32}$/);
    });

    it('keeps /tmp (its own TMPDIR) across warm runs, apart from other environments, and removes it at the end', async () => {
      const first = await start(fixtureSpec('handlers.tmp'));
      const second = await start(fixtureSpec('handlers.tmp'));
      const a1 = (await run(first)).payload as { found: boolean; tmpdir: string };
      const a2 = (await run(first)).payload as { found: boolean; tmpdir: string };
      const b1 = (await run(second)).payload as { found: boolean; tmpdir: string };
      expect([a1.found, a2.found, b1.found]).to.deep.equal([false, true, false]);
      expect(a1.tmpdir).to.equal(first.options.tmpDir);
      expect(b1.tmpdir).not.to.equal(a1.tmpdir);
      await first.end('test');
      expect(existsSync(a1.tmpdir)).to.equal(false);
      expect(ended).to.deep.equal([first.id]);
    });

    it('formats console output as the Node.js runtime does: timestamp, request id, level', async () => {
      const environment = await start(fixtureSpec('handlers.echo'));
      const result = await run(environment, { a: 1 });
      expect(result.log).to.match(
        new RegExp(`^\\d{4}-\\d{2}-\\d{2}T[\\d:.]+Z\\t${result.requestId}\\tINFO\\techo {"a":1}\\n$`),
      );
    });

    it('runs a callback-style handler on nodejs22.x', async () => {
      const environment = await start(fixtureSpec('handlers.callback', { runtime: 'nodejs22.x' }));
      expect((await run(environment, { value: 7 })).payload).to.deep.equal({ viaCallback: 7 });
    });

    it('refuses a callback-style handler at init on nodejs24.x (Runtime.CallbackHandlerDeprecated)', async () => {
      const environment = await start(fixtureSpec('handlers.callback', { runtime: 'nodejs24.x' }));
      const result = await run(environment, { value: 7 });
      expect(result).to.include({ status: 'error', reportErrorType: 'Runtime.CallbackHandlerDeprecated' });
    });

    it("starts node with the heap flags Lambda's Node.js runtime derives from the memory size", () => {
      expect(heapFlags(128)).to.deep.equal(['--max-semi-space-size=6', '--max-old-space-size=116']);
      expect(heapFlags(1024)).to.deep.equal(['--max-semi-space-size=51', '--max-old-space-size=922']);
    });
  });

  describe("the function's errors", () => {
    it('reports a thrown error as the Node.js runtime does (its class name, message, stack as trace) and stays warm', async () => {
      const environment = await start(fixtureSpec('handlers.throwCustom'));
      const result = await run(environment);
      expect(result.outcome.ok).to.equal(false);
      expect(result.payload).to.include({
        errorType: 'EmptyObjectError',
        errorMessage: 'targets/a.txt is empty',
      });
      expect((result.payload as { trace: string[] }).trace[0]).to.equal(
        'EmptyObjectError: targets/a.txt is empty',
      );
      expect(result.log).to.match(/\tERROR\tInvoke Error \t\{"errorType":"EmptyObjectError","errorMessage":/);
      expect(environment.state).to.equal('idle');
    });

    it('names a TypeError TypeError', async () => {
      const environment = await start(fixtureSpec('handlers.throwType'));
      expect((await run(environment)).payload).to.include({ errorType: 'TypeError' });
    });

    // Lambda's Node.js runtime reports a thrown non-Error as { errorType: typeof value, errorMessage: String(value) }.
    it('reports a thrown string with errorType "string"', async () => {
      const environment = await start(fixtureSpec('handlers.throwString'));
      expect((await run(environment)).payload).to.deep.equal({
        errorType: 'string',
        errorMessage: 'boom',
        trace: [],
      });
    });

    it('reports an error thrown outside the handler (a timer), then the runtime exits', async () => {
      const environment = await start(fixtureSpec('handlers.uncaught'));
      const result = await run(environment);
      expect(result.payload).to.include({ errorType: 'RangeError', errorMessage: 'thrown from a timer' });
      await waitFor('the runtime to exit', () => environment.view().resets === 1);
      expect(environment.view().endReason).to.contain('exit status 129');
    });
  });

  describe('a runtime that cannot start', () => {
    it('reports the error its module throws at load time, and tries the Init again at the next run', async () => {
      const environment = await start(fixtureSpec('init-error.handler'));
      const first = await run(environment);
      expect(first.payload).to.include({
        errorType: 'TypeError',
        errorMessage: 'cannot start: missing configuration',
      });
      expect(first).to.include({ status: 'error', reportErrorType: 'TypeError' });
      await waitFor('the runtime to exit', () => environment.view().resets === 1);
      expect((await run(environment)).payload).to.include({ errorType: 'TypeError' });
    });

    it('reports Runtime.ImportModuleError for a handler file that does not exist', async () => {
      const environment = await start(fixtureSpec('missing.handler'));
      expect((await run(environment)).payload).to.include({ errorType: 'Runtime.ImportModuleError' });
    });

    it('reports Runtime.HandlerNotFound for an export that is not a function', async () => {
      const environment = await start(fixtureSpec('not-a-function.handler'));
      expect((await run(environment)).payload).to.deep.include({
        errorType: 'Runtime.HandlerNotFound',
        errorMessage: 'not-a-function.handler is not a function',
      });
    });
  });

  describe('a runtime that exits, times out or runs out of memory (bad input)', () => {
    it('exit status 3: Runtime.ExitError, the output before the exit kept, the environment over', async () => {
      const environment = await start(fixtureSpec('handlers.exit'));
      const result = await run(environment, { code: 3 });
      expect(result.payload).to.deep.equal({
        errorType: 'Runtime.ExitError',
        errorMessage: `RequestId: ${result.requestId} Error: Runtime exited with error: exit status 3`,
      });
      expect(result).to.include({ status: 'error', reportErrorType: 'Runtime.ExitError' });
      expect(result.log).to.contain('exiting with 3');
      expect(environment.view()).to.include({ state: 'idle', resets: 1, pid: undefined });
    });

    it('exit status 0 during a run: "Runtime exited without providing a reason"', async () => {
      const environment = await start(fixtureSpec('handlers.exit'));
      const result = await run(environment, { code: 0 });
      expect((result.payload as { errorMessage: string }).errorMessage).to.equal(
        `RequestId: ${result.requestId} Error: Runtime exited without providing a reason`,
      );
    });

    it('a run past its timeout: Sandbox.Timedout with the configured timeout, the process killed', async () => {
      const environment = await start(fixtureSpec('handlers.sleep', { timeoutSeconds: 0.5 }));
      const pid = environment.view().pid;
      const result = await run(environment, { ms: 5000 });
      expect(result.payload).to.deep.equal({
        errorType: 'Sandbox.Timedout',
        errorMessage: `RequestId: ${result.requestId} Error: Task timed out after 0.50 seconds`,
      });
      expect(result.status).to.equal('timeout');
      expect(result.durationMs).to.be.within(490, 2000);
      expect(result.log).to.match(
        new RegExp(`Z ${result.requestId} Task timed out after 0\\.\\d\\d seconds\\n$`),
      );
      await waitFor('the process to be gone', () => {
        try {
          process.kill(pid ?? 0, 0);
          return false;
        } catch {
          return true;
        }
      });
      expect(environment.view()).to.include({ state: 'idle', resets: 1 });
    });

    it('after a failed run the next one starts a new runtime: module scope gone, /tmp kept, no Init Duration', async () => {
      const environment = await start(fixtureSpec('handlers.state', { timeoutSeconds: 0.5 }));
      const set = await run(environment, { set: 'kept' });
      const timedOut = await run(environment, { sleepMs: 5000 });
      const after = await run(environment, {});
      expect(set.initDurationMs).to.be.a('number');
      expect(timedOut.status).to.equal('timeout');
      expect(after.payload).to.deep.include({ remembered: null, file: 'kept' });
      expect((after.payload as { pid: number }).pid).not.to.equal((set.payload as { pid: number }).pid);
      expect(after.initDurationMs).to.equal(undefined);
      expect(environment.view()).to.include({ runs: 3, resets: 1, logStream: environment.options.logStream });
    });

    it('a handler that never answers and one that blocks its event loop are both stopped at the timeout', async () => {
      for (const handler of ['handlers.never', 'handlers.spin']) {
        const environment = await start(fixtureSpec(handler, { timeoutSeconds: 0.3 }));
        const result = await run(environment);
        expect(result.payload, handler).to.include({ errorType: 'Sandbox.Timedout' });
        expect(environment.view().resets, handler).to.equal(1);
      }
    });

    it('memory past the memory size: killed ("signal: killed"), REPORT Runtime.OutOfMemory, Max Memory Used = Memory Size', async () => {
      const environment = await start(fixtureSpec('handlers.allocate', { memorySizeMb: 128 }));
      const result = await run(environment, { mb: 400 });
      expect(result.payload).to.deep.equal({
        errorType: 'Runtime.ExitError',
        errorMessage: `RequestId: ${result.requestId} Error: Runtime exited with error: signal: killed`,
      });
      expect(result).to.include({
        status: 'error',
        reportErrorType: 'Runtime.OutOfMemory',
        maxMemoryUsedMb: 128,
      });
      expect(environment.view().resets).to.equal(1);
      expect((await run(environment, { mb: 1 })).payload).to.deep.equal({ keptMb: 1 });
    });

    it('a JS heap that grows without end is stopped too', async () => {
      const environment = await start(
        fixtureSpec('handlers.leak', { memorySizeMb: 128, timeoutSeconds: 15 }),
      );
      const result = await run(environment);
      expect(result.outcome.ok).to.equal(false);
      expect(result.status).to.equal('error');
      expect((result.payload as { errorType: string }).errorType).to.equal('Runtime.ExitError');
      expect(result.reportErrorType).to.be.oneOf(['Runtime.OutOfMemory', 'Runtime.ExitError']);
    });

    it('Max Memory Used is the peak of this process: above a bare node, within the memory size', async () => {
      const environment = await start(fixtureSpec('handlers.allocate', { memorySizeMb: 256 }));
      const small = await run(environment, { mb: 1 });
      const grown = await run(environment, { mb: 60 });
      expect(small.maxMemoryUsedMb).to.be.within(20, 120);
      expect(grown.maxMemoryUsedMb).to.be.within(small.maxMemoryUsedMb + 50, 256);
    });
  });

  describe("the run's output", () => {
    it('keeps every line a run prints before it answers, in order, in that run alone', async () => {
      const environment = await start(fixtureSpec('handlers.print'));
      for (let round = 0; round < 5; round += 1) {
        const result = await run(environment, { lines: 3000 });
        const lines = result.log.split('\n').filter((line) => /\tINFO\t\d+ x/.test(line));
        expect(lines, `round ${round}`).to.have.length(3000);
        expect(lines.at(-1)).to.contain('\t2999 x');
        expect(result.log).to.contain('done printing 3000');
      }
    });

    it('takes megabytes of output (8 MB) without stopping the run', async () => {
      const environment = await start(fixtureSpec('handlers.print'));
      const result = await run(environment, { lines: 8 * 1024, size: 1024 });
      expect(result.payload).to.equal(8 * 1024);
      expect(result.log.length).to.be.greaterThan(8 * 1024 * 1024);
    });
  });
});
