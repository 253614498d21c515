/**
 * An environment is a sandbox, with real processes: what the function starts is counted in its memory, frozen
 * between runs and ended with it, and what a killed stack left is ended. The handlers are those of
 * test/fixtures/runtime/sandbox.cjs. AWS sources: the Lambda developer guide's "execution environment lifecycle"
 * (the freeze, the shutdown of the whole environment), "configuring memory" (the memory size is the execution
 * environment's, every process in it counted), and the quotas page ("Execution processes/threads: 1,024").
 */
import { expect } from 'chai';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ExecutionEnvironment, logStreamName } from '../../offline/environments/environment';
import type { EnvironmentOptions, FunctionSpec } from '../../offline/environments/environment-types';
import { EnvironmentPool } from '../../offline/environments/pool';
import {
  parseProcStat,
  processMemory,
  scanGroup,
  sumPsGroup,
} from '../../offline/environments/process-memory';
import { markOf, SANDBOX_VARIABLE } from '../../offline/environments/process-tree';
import { observeRun } from '../helpers/environment-runs';
import { BOOTSTRAP, fixtureSpec } from '../helpers/runtime-fixtures';
import { waitFor } from '../../support/wait';

interface ChildrenAnswer {
  runtime: number;
  child: number;
  orphan: number;
}

/** A process is running (a zombie, ended but not reaped by a parent that is not ours to wait on, is not). */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

function processState(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
}

const gone = (pids: number[]) => () => pids.every((pid) => !running(pid));

describe('the sandbox: what it reads', () => {
  it('reads pgid, threads and rss pages after the last ")" of /proc/<pid>/stat (a command name may hold both)', () => {
    const stat =
      '4242 (my (odd) cmd) S 4200 4242 4100 0 -1 4194304 100 0 0 0 5 3 0 0 20 0 7 0 1234 567890 2560 ' +
      '18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0';
    expect(parseProcStat(stat)).to.deep.equal({ pgid: 4242, threads: 7, rssPages: 2560 });
    expect(parseProcStat('garbage')).to.equal(undefined);
  });

  it("finds the mark in an environ file, and nothing in another's", () => {
    const environ = ['PATH=/usr/bin', `${SANDBOX_VARIABLE}=stack-1 /state/environments`, 'TZ=:UTC', ''].join(
      '\0',
    );
    expect(markOf(environ)).to.equal('stack-1 /state/environments');
    expect(markOf(`PATH=/usr/bin\0X${SANDBOX_VARIABLE}=not-it\0`)).to.equal(undefined);
  });

  it("sums a group's resident sets from ps (macOS), ignoring other groups", () => {
    expect(sumPsGroup('  501  1024\n  77 99999\n 501   2048\n', 501)).to.deep.equal({
      rssKib: 3072,
      processes: 2,
    });
  });
});

describe('an environment is a sandbox (real processes)', function () {
  this.timeout(30_000);
  let tmpRoot: string;
  const started: ExecutionEnvironment[] = [];
  const pools: EnvironmentPool[] = [];
  const spawned: ChildProcess[] = [];
  let terminal = '';

  before(async function () {
    if (process.platform !== 'linux') this.skip();
    tmpRoot = await mkdtemp(join(tmpdir(), 'lambda-notes-sandbox-'));
  });

  afterEach(async () => {
    await Promise.all(started.splice(0).map((environment) => environment.end('test over')));
    await Promise.all(pools.splice(0).map((pool) => pool.stop()));
    for (const child of spawned.splice(0)) if (child.pid !== undefined) killGroup(child.pid);
    terminal = '';
  });

  after(async () => {
    if (tmpRoot) await rm(tmpRoot, { recursive: true, force: true });
  });

  function killGroup(pgid: number): void {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      // gone
    }
  }

  async function start(
    spec: FunctionSpec,
    extra: Partial<EnvironmentOptions> = {},
  ): Promise<ExecutionEnvironment> {
    const id = randomUUID().replaceAll('-', '');
    const environment = await ExecutionEnvironment.start(spec, {
      id,
      logStream: logStreamName(new Date(), id),
      tmpDir: join(tmpRoot, id),
      bootstrap: BOOTSTRAP,
      hostVariables: { PATH: process.env.PATH ?? '' },
      memory: await processMemory(),
      output: (text, _stream, sink) => {
        terminal += text;
        sink?.append(text);
      },
      ended: () => undefined,
      now: Date.now,
      ...extra,
    });
    started.push(environment);
    return environment;
  }

  const run = observeRun;

  async function makePool(specs: FunctionSpec[], root: string, idleMs = 600_000): Promise<EnvironmentPool> {
    const pool = new EnvironmentPool({
      functions: new Map(specs.map((spec) => [spec.key, spec])),
      idleMs,
      tmpRoot: root,
      bootstrap: BOOTSTRAP,
      hostVariables: { PATH: process.env.PATH ?? '' },
      memory: await processMemory(),
      write: () => undefined,
      log: () => undefined,
      newId: randomUUID,
      now: Date.now,
    });
    pools.push(pool);
    await pool.prepare();
    return pool;
  }

  async function runIn(pool: EnvironmentPool, event: unknown): Promise<ChildrenAnswer> {
    const environment = await pool.acquire('fixture');
    try {
      const result = await run(environment, event);
      return result.payload as ChildrenAnswer;
    } finally {
      pool.release(environment);
    }
  }

  describe('memory is the whole tree', () => {
    // "configuring memory": the memory size is the execution environment's; the runtime's children share it.
    it("counts a child's memory in Max Memory Used and in the console's figures", async () => {
      const environment = await start(fixtureSpec('sandbox.children', { memorySizeMb: 1024 }));
      const alone = await run(environment, { mb: 1 });
      const withChild = await run(environment, { mb: 150 });
      expect(withChild.maxMemoryUsedMb).to.be.at.least(alone.maxMemoryUsedMb + 140);
      // The runtime and both holders at least: a sleep whose parent left is found by the next full scan.
      expect(environment.view().processes).to.be.at.least(3);
      expect(environment.view().rssMb).to.be.at.least(150);
    });

    it('a child holding 200 MB beside a 128 MB function: out of memory, and every process of it ended', async () => {
      const environment = await start(
        fixtureSpec('sandbox.children', { memorySizeMb: 128, timeoutSeconds: 10 }),
      );
      const pid = environment.view().pid as number;
      const result = await run(environment, { mb: 200, hold: true });
      expect(result.payload).to.deep.equal({
        errorType: 'Runtime.ExitError',
        errorMessage: `RequestId: ${result.requestId} Error: Runtime exited with error: signal: killed`,
      });
      expect(result).to.include({
        status: 'error',
        reportErrorType: 'Runtime.OutOfMemory',
        maxMemoryUsedMb: 128,
      });
      await waitFor('the whole group to be gone', () => scanGroup(pid).every((member) => !running(member)));
    });
  });

  describe('frozen between runs', () => {
    // "execution environment lifecycle": Lambda freezes the environment once the runtime has answered and asks
    // for the next event; a timer left behind runs when the environment is thawed for a later invocation.
    it('a timer set after the answer fires during the next invocation, in its log', async () => {
      const environment = await start(fixtureSpec('sandbox.lateTimer'));
      const first = await run(environment, { tag: 'first', ms: 50 });
      const pid = (first.payload as { pid: number }).pid;
      const dueAt = Date.now() + 100;
      await waitFor(
        'the environment frozen, its timer due',
        () => environment.view().frozen && Date.now() > dueAt,
      );
      await waitFor('the runtime stopped', () => processState(pid) === 'T');
      expect(terminal).not.to.contain('late timer of first');
      const second = await run(environment, { tag: 'second', ms: 60_000 });
      expect(first.log).not.to.contain('late timer');
      expect(second.log).to.contain('late timer of first');
      await waitFor('frozen again after the second answer', () => environment.view().frozen);
    });

    it('is not frozen with freeze: false (an environment under a debugger): the timer fires at once', async () => {
      const environment = await start(fixtureSpec('sandbox.lateTimer'), { freeze: false });
      const first = await run(environment, { tag: 'first', ms: 50 });
      await waitFor('the timer to fire between runs', () => terminal.includes('late timer of first'));
      expect(first.log).not.to.contain('late timer');
      expect(environment.view().frozen).to.equal(false);
    });

    it('ending a frozen environment ends every process of it (SIGKILL needs no thaw)', async () => {
      const environment = await start(fixtureSpec('sandbox.children'));
      const answer = (await run(environment, { mb: 1 })).payload as ChildrenAnswer;
      await waitFor('the environment frozen', () => environment.view().frozen);
      await waitFor('its child stopped too', () => processState(answer.child) === 'T');
      await environment.end('test');
      await waitFor('every process ended', gone([answer.runtime, answer.child, answer.orphan]));
    });
  });

  describe('every exit path ends the children', () => {
    // "execution environment lifecycle", invoke phase failures: a timeout or a runtime that exits resets the
    // whole environment; shutdown ends every process of it.
    it('a timeout: the child that ignores SIGTERM and the one whose parent exited are ended too', async () => {
      const environment = await start(fixtureSpec('sandbox.children', { timeoutSeconds: 2 }));
      const pid = environment.view().pid as number;
      const running = run(environment, { mb: 1, hold: true });
      const members = await waitFor('the children to start', () => {
        const group = scanGroup(pid);
        return group.length >= 3 && group;
      });
      expect((await running).status).to.equal('timeout');
      await waitFor('every process ended', gone(members));
    });

    it('a runtime that exits by itself: its children are ended with the reset', async () => {
      const environment = await start(fixtureSpec('sandbox.children'));
      const answer = (await run(environment, { mb: 1, exit: 2 })).payload as ChildrenAnswer;
      await waitFor('the reset', () => environment.view().resets === 1);
      await waitFor('every process ended', gone([answer.runtime, answer.child, answer.orphan]));
    });

    it('the idle end, a reload and the stack stop (through the pool)', async () => {
      const spec = fixtureSpec('sandbox.children');
      const idle = await makePool([spec], join(tmpRoot, randomUUID()), 300);
      const idleAnswer = await runIn(idle, { mb: 1 });
      await waitFor('the idle end', gone([idleAnswer.runtime, idleAnswer.child, idleAnswer.orphan]));

      const pool = await makePool([spec], join(tmpRoot, randomUUID()));
      const reloaded = await runIn(pool, { mb: 1 });
      pool.reload();
      await waitFor('the reload', gone([reloaded.runtime, reloaded.child, reloaded.orphan]));
      const stopped = await runIn(pool, { mb: 1 });
      await pool.stop();
      expect(gone([stopped.runtime, stopped.child, stopped.orphan])()).to.equal(true);
    });
  });

  describe('bad input', () => {
    // Quotas page: "Execution processes/threads 1,024". Lambda fails the fork past it; offline the environment
    // is ended. The limit is lowered here and the bomb itself bounded (511 processes at most), so that a
    // failing cap cannot take the machine down.
    it('a fork bomb is ended at the process and thread limit, and the stack goes on', async () => {
      // 1,024 MB: the shells (a megabyte or two each) reach the process limit long before the memory size.
      const environment = await start(
        fixtureSpec('sandbox.forkBomb', { timeoutSeconds: 20, memorySizeMb: 1024 }),
        {
          processLimit: 64,
        },
      );
      const pid = environment.view().pid as number;
      const result = await run(environment, { depth: 8 });
      expect(result.payload).to.include({ errorType: 'Runtime.ExitError' });
      expect(environment.view().endReason).to.contain('processes and threads went past 64');
      await waitFor('the whole group to be gone', () => scanGroup(pid).every((member) => !running(member)));
      expect(environment.view()).to.include({ state: 'idle', resets: 1 });
    });
  });

  describe('what a killed stack left', () => {
    const stackScript = resolve(__dirname, '..', 'helpers', 'sandbox-stack.ts');

    async function startStack(root: string): Promise<{ stack: ChildProcess; answer: ChildrenAnswer }> {
      const stack = spawn(process.execPath, ['--import', 'tsx', stackScript, root], {
        stdio: ['ignore', 'pipe', 'inherit'],
        detached: true,
      });
      spawned.push(stack);
      let out = '';
      stack.stdout?.setEncoding('utf8').on('data', (text: string) => (out += text));
      const line = await waitFor('the stack to run its environment', () => out.includes('\n') && out, {
        timeoutMs: 20_000,
      });
      return { stack, answer: JSON.parse(line) as ChildrenAnswer };
    }

    function guardOf(stackPid: number): number {
      for (const name of readFileSync(`/proc/${stackPid}/task/${stackPid}/children`, 'latin1').split(' ')) {
        if (name.trim() === '') continue;
        if (readFileSync(`/proc/${name}/cmdline`, 'latin1').includes('offline-sandbox-guard'))
          return Number(name);
      }
      throw new Error('the stack has no guard');
    }

    it('kill -9 of the stack: its guard ends every process of its environments, frozen ones too', async () => {
      const { stack, answer } = await startStack(join(tmpRoot, randomUUID()));
      const pids = [answer.runtime, answer.child, answer.orphan];
      await waitFor('the environment frozen', () => processState(answer.runtime) === 'T');
      expect(pids.every(running)).to.equal(true);
      process.kill(stack.pid as number, 'SIGKILL');
      await waitFor('every process ended', gone(pids));
    });

    it('kill -9 of the stack and its guard: the next stack on the state dir ends the leftovers, and nothing else', async () => {
      const root = join(tmpRoot, randomUUID());
      const { stack, answer } = await startStack(root);
      await waitFor('the environment frozen', () => processState(answer.runtime) === 'T');
      process.kill(guardOf(stack.pid as number), 'SIGKILL');
      process.kill(stack.pid as number, 'SIGKILL');
      // Marked for another state dir, or not marked: not the next stack's to end.
      const decoys = [`other-stack ${root}-other`, undefined].map((mark) => {
        const decoy = spawn('sleep', ['60'], {
          detached: true,
          stdio: 'ignore',
          env: { PATH: process.env.PATH ?? '', ...(mark === undefined ? {} : { [SANDBOX_VARIABLE]: mark }) },
        });
        spawned.push(decoy);
        return decoy.pid as number;
      });
      await waitFor('the stack gone', () => !running(stack.pid as number));
      // Its group orphaned while stopped, the kernel sends it SIGHUP and SIGCONT: the runtime and the sleep end
      // by it; the child that ignores SIGHUP is left.
      await waitFor('the runtime ended by SIGHUP', gone([answer.runtime, answer.orphan]));
      expect(running(answer.child), 'left behind').to.equal(true);
      await makePool([fixtureSpec('sandbox.children')], root);
      await waitFor('every process left ended', gone([answer.child]));
      expect(decoys.every(running)).to.equal(true);
    });
  });
});
