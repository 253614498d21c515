/**
 * The environments of a function as Lambda keeps them (the pool), who may run at once (concurrency), and one run
 * with Lambda's log around it (the runner): real processes running test/fixtures/runtime. Every pool a test makes
 * is stopped in afterEach, also when the test fails.
 */
import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Concurrency } from '../../offline/environments/concurrency';
import type { FunctionSpec } from '../../offline/environments/environment-types';
import { FunctionRunner, traceHeader } from '../../offline/environments/function-runner';
import { EnvironmentPool } from '../../offline/environments/pool';
import { processMemory } from '../../offline/environments/process-memory';
import { InvocationLogs } from '../../offline/observability/invocation-logs';
import { asyncRunResult } from '../../offline/plugin/run-outcomes';
import { MetricsRecorder } from '../../offline/observability/metrics-recorder';
import { BOOTSTRAP, fixtureSpec } from '../helpers/runtime-fixtures';
import { freePort } from '../../support/offline-stack';
import { waitFor } from '../../support/wait';

describe('environment pool and runner (real processes)', function () {
  this.timeout(20_000);
  let tmpRoot: string;
  const pools: EnvironmentPool[] = [];
  let logLines: string[] = [];
  let written = '';

  before(async () => {
    tmpRoot = await mkdtemp(join(tmpdir(), 'lambda-notes-pool-'));
  });

  afterEach(async () => {
    await Promise.all(pools.splice(0).map((pool) => pool.stop()));
    logLines = [];
    written = '';
  });

  after(async () => {
    await rm(tmpRoot, { recursive: true, force: true });
  });

  async function makePool(specs: FunctionSpec[], idleMs = 60_000): Promise<EnvironmentPool> {
    const pool = new EnvironmentPool({
      functions: new Map(specs.map((spec) => [spec.key, spec])),
      idleMs,
      tmpRoot: join(tmpRoot, randomUUID()),
      bootstrap: BOOTSTRAP,
      hostVariables: { PATH: process.env.PATH ?? '' },
      memory: await processMemory(),
      write: (_stream, text) => {
        written += text;
      },
      log: (message) => logLines.push(message),
      newId: randomUUID,
      now: Date.now,
    });
    await pool.prepare();
    pools.push(pool);
    return pool;
  }

  function runner(pool: EnvironmentPool, reserved = new Map<string, number>(), accountLimit?: number) {
    const logs = new InvocationLogs();
    const metrics = new MetricsRecorder([...pool.functions.keys()]);
    const run = new FunctionRunner({
      pool,
      concurrency: new Concurrency(reserved, accountLimit),
      logs,
      metrics,
      write: (text) => {
        written += text;
      },
      now: Date.now,
    });
    return { run, logs, metrics };
  }

  it('gives concurrent runs an environment each, and the next run the one used last', async () => {
    const pool = await makePool([fixtureSpec('handlers.echo')]);
    const { run } = runner(pool);
    const held = await pool.acquire('fixture');
    const other = await run.run('fixture', {}, { requestId: randomUUID() });
    expect(other.outcome.kind).to.equal('result');
    expect(pool.list().filter((view) => view.state !== 'ended')).to.have.length(2);
    pool.release(held);
    await run.run('fixture', {}, { requestId: randomUUID() });
    expect(held.view().runs, 'the environment released last takes the next run').to.equal(1);
  });

  it('ends an environment left idle for idleMs, and says so', async () => {
    const pool = await makePool([fixtureSpec('handlers.echo')], 150);
    const { run } = runner(pool);
    await run.run('fixture', {}, { requestId: randomUUID() });
    await waitFor('the idle environment to end', () => logLines.some((line) => line.includes('ended')));
    expect(pool.list()[0]?.state).to.equal('ended');
    expect(logLines.at(-1)).to.match(/λ fixture: environment .+ ended: idle for 150 ms \(1 run\)/);
    expect(logLines[0]).to.match(
      /environment \d{4}\/\d{2}\/\d{2}\/\[\$LATEST\][0-9a-f]{32} started \(cold start, 128 MB\)/,
    );
  });

  it('after a timeout, runs the next event in the same environment with a new runtime (a reset, no cold start)', async () => {
    const pool = await makePool([fixtureSpec('handlers.sleep', { timeoutSeconds: 0.3 })]);
    const { run, logs } = runner(pool);
    const timedOut = await run.run('fixture', { ms: 2000 }, { requestId: 'first' });
    expect(timedOut.outcome).to.deep.include({ kind: 'function-error' });
    await run.run('fixture', { ms: 1 }, { requestId: 'second' });
    const [second, first] = logs.entries();
    expect(second?.logStream).to.equal(first?.logStream);
    expect(first?.lines.at(-1)).to.match(/\tInit Duration: [\d.]+ ms\tStatus: timeout\t$/);
    expect(second?.lines.at(-1)).not.to.contain('Init Duration');
    expect(pool.list()).to.have.length(1);
    expect(pool.list()[0]).to.include({ resets: 1, runs: 2 });
  });

  it('replaces every environment after a code change: idle ones at once, a busy one after its run', async () => {
    const pool = await makePool([fixtureSpec('handlers.echo')]);
    const { run } = runner(pool);
    const busy = await pool.acquire('fixture');
    const idle = await pool.acquire('fixture');
    pool.release(idle);
    pool.reload();
    await waitFor('the idle environment to end', () => idle.state === 'ended');
    expect(idle.view().endReason).to.equal('the code changed');
    expect(busy.state).not.to.equal('ended');
    pool.release(busy);
    await waitFor('the busy one to end after its run', () => busy.state === 'ended');
    const after = await run.run('fixture', {}, { requestId: randomUUID() });
    if (after.outcome.kind !== 'result') expect.fail('the run after the change succeeds');
    expect(pool.list().filter((view) => view.state !== 'ended')).to.have.length(1);
    expect(pool.list()[0]?.id).not.to.be.oneOf([busy.id, idle.id]);
  });

  it('keeps one environment of a debugged function: started ahead, not ended idle, replaced on its port', async () => {
    const port = await freePort();
    const pool = await makePool(
      [fixtureSpec('handlers.echo'), fixtureSpec('handlers.echo', { key: 'debugged', debugPort: port })],
      150,
    );
    await pool.prestart('debugged');
    const [first] = pool.list();
    expect(first).to.include({ functionKey: 'debugged', state: 'initializing', debugPort: port });
    const { run } = runner(pool);
    await run.run('fixture', {}, { requestId: randomUUID() });
    // The other function's environment, idle as long, is the clock: once it has ended, so would have this one.
    await waitFor('the idle environment of the other function to end', () =>
      pool.list().some((view) => view.functionKey === 'fixture' && view.state === 'ended'),
    );
    expect(pool.list().find((view) => view.id === first?.id)?.state).to.be.oneOf(['idle', 'initializing']);
    pool.reload();
    const next = await waitFor('the next environment of the debugged function', () =>
      pool
        .list()
        .find((view) => view.functionKey === 'debugged' && view.state !== 'ended' && view.id !== first?.id),
    );
    expect(next.debugPort).to.equal(port);
    const answer = await run.run('debugged', { a: 1 }, { requestId: randomUUID() });
    expect(answer.outcome.kind).to.equal('result');
    expect(
      pool.list().filter((view) => view.functionKey === 'debugged' && view.state !== 'ended'),
    ).to.have.length(1);
    const targets = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as unknown[];
    expect(targets).to.have.length(1);
  });

  it('writes START, the function lines, END and REPORT under the request id, with the log stream', async () => {
    const pool = await makePool([fixtureSpec('handlers.echo')]);
    const { run, logs } = runner(pool);
    const result = await run.run('fixture', { a: 1 }, { requestId: 'req-1' });
    const [entry] = logs.entries({ requestId: 'req-1' });
    expect(entry?.lines[0]).to.equal('START RequestId: req-1 Version: $LATEST');
    expect(entry?.lines[1]).to.match(/\treq-1\tINFO\techo \{"a":1\}$/);
    expect(entry?.lines[2]).to.equal('END RequestId: req-1');
    expect(entry?.lines[3]).to.match(
      /^REPORT RequestId: req-1\tDuration: [\d.]+ ms\tBilled Duration: \d+ ms\tMemory Size: 128 MB\tMax Memory Used: \d+ MB\tInit Duration: [\d.]+ ms\t$/,
    );
    expect(entry?.logStream).to.equal(pool.list()[0]?.logStream);
    expect(Buffer.from(result.logTail ?? '', 'base64').toString('utf8')).to.equal(
      `${entry?.lines.join('\n')}\n`,
    );
    expect(written).to.contain('START RequestId: req-1').and.to.contain('REPORT RequestId: req-1');
  });

  it("adds Status and Error Type to REPORT, and Lambda's two lines after it, when the runtime dies of memory", async () => {
    const pool = await makePool([fixtureSpec('handlers.allocate')]);
    const { run, logs } = runner(pool);
    await run.run('fixture', { mb: 400 }, { requestId: 'oom' });
    const lines = logs.entries({ requestId: 'oom' })[0]?.lines ?? [];
    expect(lines.at(-3)).to.match(
      /\tMax Memory Used: 128 MB\tInit Duration: [\d.]+ ms\tStatus: error\tError Type: Runtime\.OutOfMemory\t$/,
    );
    expect(lines.slice(-2)).to.deep.equal([
      'RequestId: oom Error: Runtime exited with error: signal: killed',
      'Runtime.ExitError',
    ]);
  });

  it('throttles a run past reservedConcurrency without starting an environment for it, and counts it', async () => {
    const pool = await makePool([fixtureSpec('handlers.sleep')]);
    const { run, metrics } = runner(pool, new Map([['fixture', 1]]));
    const [first, second] = await Promise.all([
      run.run('fixture', { ms: 300 }, { requestId: 'a' }),
      run.run('fixture', { ms: 1 }, { requestId: 'b' }),
    ]);
    expect(first.outcome.kind).to.equal('result');
    expect(second.outcome).to.deep.equal({
      kind: 'throttled',
      reason: 'ReservedFunctionConcurrentInvocationLimitExceeded',
    });
    expect(pool.list()).to.have.length(1);
    expect(metrics.summary().fixture).to.include({ Invocations: 1, Throttles: 1, ConcurrentExecutions: 1 });
  });

  it("throttles a run past the account's concurrency: ConcurrentInvocationLimitExceeded, a retry for the queue", async () => {
    const pool = await makePool([fixtureSpec('handlers.sleep')]);
    const { run, metrics } = runner(pool, new Map(), 1);
    const [first, second] = await Promise.all([
      run.run('fixture', { ms: 300 }, { requestId: 'a' }),
      run.run('fixture', { ms: 1 }, { requestId: 'b', async: { attempt: 1, eventAgeMs: 0 } }),
    ]);
    expect(first.outcome.kind).to.equal('result');
    expect(asyncRunResult(second.outcome)).to.deep.equal({
      throttled: true,
      reason: 'ConcurrentInvocationLimitExceeded',
    });
    expect(pool.list()).to.have.length(1);
    expect(metrics.summary().fixture).to.include({ Invocations: 1, Throttles: 1 });
  });

  it('counts two runs at once as ConcurrentExecutions 2', async () => {
    const pool = await makePool([fixtureSpec('handlers.sleep')]);
    const { run, metrics } = runner(pool);
    await Promise.all(['a', 'b'].map((requestId) => run.run('fixture', { ms: 200 }, { requestId })));
    expect(metrics.summary().fixture).to.include({ Invocations: 2, ConcurrentExecutions: 2 });
  });

  it('records an async attempt with its attempt number and event age', async () => {
    const pool = await makePool([fixtureSpec('handlers.echo')]);
    const { run, metrics } = runner(pool);
    await run.run('fixture', {}, { requestId: 'ev', async: { attempt: 2, eventAgeMs: 60_000 } });
    expect(metrics.recent().at(-1)).to.include({
      mode: 'async',
      attempt: 2,
      eventAgeMs: 60_000,
      requestId: 'ev',
    });
  });

  it('passes an X-Ray trace header of the documented form', () => {
    expect(traceHeader(Date.UTC(2026, 11, 4))).to.match(
      /^Root=1-[0-9a-f]{8}-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=0$/,
    );
  });
});
