/**
 * The machine's bound (environments/machine-bound.ts): at most LAMBDA_MAX_ENVIRONMENTS environments alive; a run
 * past it waits, first come first served, and is never throttled for it; an idle environment of another function
 * is ended to make room; the wait is neither Duration nor Init Duration. The pool cases run real processes
 * (test/fixtures/runtime); every pool is stopped in afterEach, also when the test fails.
 */
import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Concurrency } from '../../offline/environments/concurrency';
import type { FunctionSpec } from '../../offline/environments/environment-types';
import { FunctionRunner } from '../../offline/environments/function-runner';
import { defaultMaxEnvironments, MachineBound } from '../../offline/environments/machine-bound';
import { EnvironmentPool } from '../../offline/environments/pool';
import { processMemory } from '../../offline/environments/process-memory';
import { InvocationLogs } from '../../offline/observability/invocation-logs';
import { MetricsRecorder } from '../../offline/observability/metrics-recorder';
import { BOOTSTRAP, fixtureSpec } from '../helpers/runtime-fixtures';

describe('defaultMaxEnvironments', () => {
  it('keeps one environment per core, at least two, when memory allows, and says so', () => {
    expect(defaultMaxEnvironments({ cores: 2, freeMemoryMb: 20_000 }, [128, 128])).to.deep.equal({
      max: 2,
      why: 'one per core, at least 2: 2 cores, 20000 MB free, functions of up to 128 MB',
    });
    expect(defaultMaxEnvironments({ cores: 1, freeMemoryMb: 20_000 }, [128]).max).to.equal(2);
    expect(defaultMaxEnvironments({ cores: 12, freeMemoryMb: 20_000 }, [128]).max).to.equal(12);
  });

  it('counts each environment at the largest memory size, within half the free memory', () => {
    expect(defaultMaxEnvironments({ cores: 16, freeMemoryMb: 4096 }, [128, 1024])).to.deep.equal({
      max: 2,
      why: 'half the free memory: 16 cores, 4096 MB free, functions of up to 1024 MB',
    });
  });

  it('allows one environment however little memory is free', () => {
    expect(defaultMaxEnvironments({ cores: 8, freeMemoryMb: 100 }, [3008]).max).to.equal(1);
  });
});

describe('MachineBound', () => {
  it('serves at once while there is room, then in arrival order as room is made', async () => {
    const lines: string[] = [];
    const bound = new MachineBound(1, (line) => lines.push(line));
    const served: string[] = [];
    let room = bound.take();
    const attempt = (name: string) => () => (room ? name : undefined);
    expect(room).to.equal(true);
    room = false;
    const waiting = ['first', 'second', 'third'].map((name) =>
      bound.wait(name, attempt(name)).then((value) => served.push(value)),
    );
    expect(bound.view()).to.deep.equal({ maxEnvironments: 1, alive: 1, waiting: 3 });
    expect(lines[0]).to.match(/^runs are waiting for the machine, not throttled: 1 environments alive/);
    expect(lines[0]).to.contain('LAMBDA_MAX_ENVIRONMENTS=1');
    room = true;
    bound.changed();
    await Promise.all(waiting);
    expect(served).to.deep.equal(['first', 'second', 'third']);
    expect(lines[1]).to.match(/^no run waits for the machine any more: 3 waited, the longest \d+ ms/);
  });

  it('makes a newcomer wait behind the runs already waiting, even when it could be served', async () => {
    const bound = new MachineBound(1);
    let room = false;
    const served: string[] = [];
    const early = bound.wait('early', () => (room ? 'early' : undefined)).then((v) => served.push(v));
    room = true;
    const late = bound.wait('late', () => 'late').then((v) => served.push(v));
    expect(bound.view().waiting).to.equal(2);
    bound.changed();
    await Promise.all([early, late]);
    expect(served).to.deep.equal(['early', 'late']);
  });

  it('gives a unit back for a waiting run, and refuses none past the bound', () => {
    const bound = new MachineBound(2);
    expect([bound.take(), bound.take(), bound.take()]).to.deep.equal([true, true, false]);
    bound.give();
    expect(bound.take()).to.equal(true);
  });

  it('tells every waiting run that the stack stops', async () => {
    const bound = new MachineBound(0);
    const waiting = bound.wait('never', () => undefined);
    bound.rejectAll(new Error('the offline stack is stopping'));
    const error = await waiting.then(
      () => undefined,
      (reason: unknown) => reason as Error,
    );
    expect(error?.message).to.equal('the offline stack is stopping');
    expect(bound.view().waiting).to.equal(0);
  });
});

describe('the pool at the machine bound (real processes)', function () {
  this.timeout(30_000);
  let tmpRoot: string;
  const pools: EnvironmentPool[] = [];
  let logLines: string[] = [];

  before(async () => {
    tmpRoot = await mkdtemp(join(tmpdir(), 'lambda-notes-bound-'));
  });

  afterEach(async () => {
    await Promise.all(pools.splice(0).map((pool) => pool.stop()));
    logLines = [];
  });

  after(async () => {
    await rm(tmpRoot, { recursive: true, force: true });
  });

  async function bounded(specs: FunctionSpec[], maxEnvironments: number) {
    const pool = new EnvironmentPool({
      functions: new Map(specs.map((spec) => [spec.key, spec])),
      maxEnvironments,
      idleMs: 60_000,
      tmpRoot: join(tmpRoot, randomUUID()),
      bootstrap: BOOTSTRAP,
      hostVariables: { PATH: process.env.PATH ?? '' },
      memory: await processMemory(),
      write: () => undefined,
      log: (message) => logLines.push(message),
      newId: randomUUID,
      now: Date.now,
    });
    await pool.prepare();
    pools.push(pool);
    const logs = new InvocationLogs();
    const metrics = new MetricsRecorder([...pool.functions.keys()]);
    const runner = new FunctionRunner({
      pool,
      concurrency: new Concurrency(new Map()),
      logs,
      metrics,
      write: () => undefined,
      now: Date.now,
    });
    return { pool, runner, logs, metrics };
  }

  const report = (logs: InvocationLogs, requestId: string): string =>
    logs.entries({ requestId })[0]?.lines.at(-1) ?? '';
  const figure = (line: string, name: string): number | undefined => {
    const match = new RegExp(`\\t${name}: ([\\d.]+) ms`).exec(line);
    return match?.[1] === undefined ? undefined : Number(match[1]);
  };

  it('runs past the bound wait for the busy environment: no second process, no throttle', async () => {
    const { pool, runner, metrics } = await bounded([fixtureSpec('handlers.sleep')], 1);
    const results = await Promise.all(
      ['a', 'b', 'c'].map((requestId) => runner.run('fixture', { ms: 100 }, { requestId })),
    );
    expect(results.map((result) => result.outcome.kind)).to.deep.equal(['result', 'result', 'result']);
    expect(pool.list()).to.have.length(1);
    expect(pool.list()[0]?.runs).to.equal(3);
    expect(metrics.summary().fixture).to.include({ Invocations: 3, Throttles: 0 });
    expect(
      logLines.some((line) => line.startsWith('runs are waiting for the machine, not throttled')),
    ).to.equal(true);
  });

  it('counts the wait neither in Duration nor in Init Duration', async () => {
    const busy = fixtureSpec('handlers.sleep', { key: 'busy' });
    const waiting = fixtureSpec('handlers.echo', { key: 'waiting' });
    const { runner, logs } = await bounded([busy, waiting], 1);
    const holdMs = 3000;
    const first = runner.run('busy', { ms: holdMs }, { requestId: 'holder' });
    await new Promise((started) => setImmediate(started));
    const waitedFrom = performance.now();
    await runner.run('waiting', {}, { requestId: 'waiter' });
    const wallMs = performance.now() - waitedFrom;
    await first;
    const line = report(logs, 'waiter');
    const duration = figure(line, 'Duration') ?? Number.NaN;
    const init = figure(line, 'Init Duration') ?? Number.NaN;
    expect(wallMs, 'the waiting run took at least the holder’s sleep').to.be.greaterThan(holdMs - 500);
    expect(init, 'Init Duration is only the cold start after the wait').to.be.lessThan(holdMs / 2);
    expect(duration).to.be.lessThan(holdMs / 2);
  });

  it('ends an idle environment of another function to make room, and says why', async () => {
    const one = fixtureSpec('handlers.echo', { key: 'one' });
    const two = fixtureSpec('handlers.echo', { key: 'two' });
    const { pool, runner } = await bounded([one, two], 1);
    await runner.run('one', {}, { requestId: 'r1' });
    await runner.run('two', {}, { requestId: 'r2' });
    const views = pool.list();
    expect(views.filter((view) => view.state !== 'ended').map((view) => view.functionKey)).to.deep.equal([
      'two',
    ]);
    expect(views.find((view) => view.functionKey === 'one')?.endReason).to.equal(
      'ended to make room for two (LAMBDA_MAX_ENVIRONMENTS=1)',
    );
  });

  it('serves waiting runs first come, first served, across functions', async () => {
    const slow = fixtureSpec('handlers.sleep', { key: 'slow' });
    const other = fixtureSpec('handlers.echo', { key: 'other' });
    const { runner } = await bounded([slow, other], 1);
    const finished: string[] = [];
    const track = (name: string, run: Promise<unknown>) => run.then(() => finished.push(name));
    const holder = track('holder', runner.run('slow', { ms: 500 }, { requestId: 'holder' }));
    await new Promise((started) => setImmediate(started));
    const queued = [
      track('other-1', runner.run('other', {}, { requestId: 'o1' })),
      track('slow-2', runner.run('slow', { ms: 1 }, { requestId: 's2' })),
      track('other-2', runner.run('other', {}, { requestId: 'o2' })),
    ];
    await Promise.all([holder, ...queued]);
    expect(finished).to.deep.equal(['holder', 'other-1', 'slow-2', 'other-2']);
  });

  it('refuses the runs still waiting when the stack stops', async () => {
    const { pool, runner } = await bounded([fixtureSpec('handlers.sleep')], 1);
    const holder = runner.run('fixture', { ms: 300 }, { requestId: 'holder' });
    await new Promise((started) => setImmediate(started));
    const waiter = runner.run('fixture', { ms: 1 }, { requestId: 'waiter' }).then(
      () => undefined,
      (error: unknown) => error as Error,
    );
    await pool.stop();
    expect((await waiter)?.message).to.equal('the offline stack is stopping');
    await holder.catch(() => undefined);
  });
});
