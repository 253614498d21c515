import { expect } from 'chai';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalDeadLetterQueue, NoSuchMessageError } from '../../offline/state/dead-letter-queue';
import { destinationRecord } from '../../offline/core/destination-record';
import { JsonDirectory, SCHEMA_VERSION, StateWriteError } from '../../offline/state/json-directory';
import { keyProblem } from '../../offline/adapters/local-s3';
import { LocalQueue, stableMessageId } from '../../offline/state/local-queue';
import { lockStateDir, StateDirLockedError } from '../../offline/state/lock';
import { rejection } from '../helpers/rejection';
import { waitFor } from '../../support/wait';

/** A pid that ran and is gone. */
function deadPid(): number {
  const { pid } = spawnSync(process.execPath, ['-e', '0']);
  return pid as number;
}

/**
 * A stack that is stopping, as another process sees it: a live process whose holder file names it, its lock
 * still held (or already released), its launcher gone (or not). It exits when its stdin closes, as the test says.
 */
async function stoppingHolder(
  stateDir: string,
  { launcherPid, locked }: { launcherPid: number; locked: boolean },
): Promise<ChildProcess> {
  const script = `
    const { mkdirSync, writeFileSync } = require('node:fs');
    const { hostname } = require('node:os');
    const { join } = require('node:path');
    const [stateDir, launcherPid, locked] = process.argv.slice(1);
    if (locked === 'true') mkdirSync(join(stateDir, 'offline.lock.d'));
    writeFileSync(join(stateDir, 'offline.lock.holder.json'), JSON.stringify({
      pid: process.pid, hostname: hostname(), startedAt: new Date().toISOString(), ports: { s3: 4569 },
      launcherPid: Number(launcherPid),
    }));
    process.stdout.write('ready');
    process.stdin.resume();
    process.stdin.on('end', () => process.exit(0));
  `;
  const child = spawn(process.execPath, ['-e', script, stateDir, String(launcherPid), String(locked)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  await waitFor('the holder to be in place', () => output === 'ready');
  return child;
}

describe('durable state', () => {
  let root: string;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'durable-state-'));
  });

  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  describe('JsonDirectory (the one writer of state)', () => {
    const directory = (
      warnings: string[] = [],
      validate?: (value: unknown) => string | undefined,
    ): JsonDirectory<{ n: number }> =>
      new JsonDirectory(join(root, 'entries'), {
        kind: 'entry',
        validate,
        stateDir: root,
        log: (_level, message) => warnings.push(message),
      });

    it('stores each entry with its schema version and kind', async () => {
      await directory().put('a', { n: 1 });
      expect(JSON.parse(await readFile(join(root, 'entries', 'a.json'), 'utf8'))).to.deep.equal({
        schemaVersion: SCHEMA_VERSION,
        kind: 'entry',
        value: { n: 1 },
      });
    });

    it('quarantines a corrupt entry on read, with a log line naming the file and the reason', async () => {
      const warnings: string[] = [];
      await mkdir(join(root, 'entries'));
      await writeFile(join(root, 'entries', 'bad.json'), '{"schemaVersion":1,"ki');
      expect(await directory(warnings).read('bad')).to.equal(undefined);
      expect(warnings).to.have.length(1);
      expect(warnings[0])
        .to.contain(join(root, 'entries', 'bad.json'))
        .and.to.contain('not valid JSON');
      const quarantined = await readdir(join(root, 'quarantine'));
      expect(quarantined.some((file) => file.endsWith('bad.json'))).to.equal(true);
    });

    it("quarantines an entry its validator refuses, with the validator's reason", async () => {
      const warnings: string[] = [];
      const strict = directory(warnings, (value) =>
        typeof (value as { n?: unknown }).n === 'number' ? undefined : 'n is not a number',
      );
      await mkdir(join(root, 'entries'));
      await writeFile(
        join(root, 'entries', 'x.json'),
        JSON.stringify({ schemaVersion: SCHEMA_VERSION, kind: 'entry', value: { n: 'one' } }),
      );
      expect(await strict.entries()).to.deep.equal([]);
      expect(warnings.join()).to.contain('n is not a number');
    });

    it('quarantines an entry of another kind or schema version', async () => {
      const warnings: string[] = [];
      await mkdir(join(root, 'entries'));
      await writeFile(
        join(root, 'entries', 'k.json'),
        JSON.stringify({ schemaVersion: 1, kind: 'other', value: {} }),
      );
      await writeFile(
        join(root, 'entries', 'v.json'),
        JSON.stringify({ schemaVersion: 0, kind: 'entry', value: {} }),
      );
      expect(await directory(warnings).entries()).to.deep.equal([]);
      expect(warnings.join('\n')).to.contain('kind "other"').and.to.contain('schema version 0');
    });

    it('removes a temporary file whose writer died: nobody was told that write had landed', async () => {
      await mkdir(join(root, 'entries'));
      const envelope = JSON.stringify({ schemaVersion: 1, kind: 'entry', value: { n: 1 } });
      await writeFile(join(root, 'entries', `.a.${deadPid()}.${randomUUID()}.tmp`), envelope);
      expect(await directory().entries()).to.deep.equal([]);
      expect(await readdir(join(root, 'entries'))).to.deep.equal([]);
    });

    it("leaves alone a temporary file of a live writer (a reader such as npm run dlq must not break the stack's write)", async () => {
      await mkdir(join(root, 'entries'));
      const file = `.a.${process.pid}.${randomUUID()}.tmp`;
      await writeFile(join(root, 'entries', file), '{"schemaVersion":1,');
      expect(await directory().entries()).to.deep.equal([]);
      expect(await readdir(join(root, 'entries'))).to.deep.equal([file]);
    });

    it('refuses a name that could reach outside its directory', async () => {
      for (const name of ['../x', 'a/b', '.hidden', '', 'a..b']) {
        let caught: unknown;
        try {
          await directory().put(name, { n: 1 });
        } catch (error) {
          caught = error;
        }
        expect(String(caught), name).to.contain('is not a valid state entry name');
      }
    });

    it('names the directory and the cause when a write fails (a file where the directory should be)', async () => {
      await writeFile(join(root, 'entries'), 'in the way');
      let caught: unknown;
      try {
        await directory().put('a', { n: 1 });
      } catch (error) {
        caught = error;
      }
      expect(caught).to.be.instanceOf(StateWriteError);
      expect((caught as Error).message).to.equal(
        `cannot write a.json in ${join(root, 'entries')} (EEXIST: a file stands where a directory should be)`,
      );
    });

    it('recreates a directory removed under it', async () => {
      const entries = directory();
      await entries.put('a', { n: 1 });
      await rm(join(root, 'entries'), { recursive: true });
      await entries.put('b', { n: 2 });
      expect(await entries.names()).to.deep.equal(['b']);
    });

    it('lets only one of two concurrent takes have an entry', async () => {
      const one = directory();
      const two = directory();
      await one.put('a', { n: 1 });
      const [first, second] = await Promise.all([one.take('a'), two.take('a')]);
      expect([first, second].filter((taken) => taken !== undefined)).to.have.length(1);
      expect(await one.names()).to.deep.equal([]);
    });

    it('puts back an entry taken by a process that died before finishing', async () => {
      const entries = directory();
      await entries.put('a', { n: 1 });
      const taken = await entries.take('a');
      expect(taken).to.not.equal(undefined);
      const [held] = (await readdir(join(root, 'entries'))).filter((file) => file.includes('.taken-'));
      await writeFile(
        join(root, 'entries', (held as string).replace(`taken-${process.pid}-`, `taken-${deadPid()}-`)),
        await readFile(join(root, 'entries', held as string)),
      );
      await rm(join(root, 'entries', held as string));
      expect(await entries.entries()).to.deep.equal([{ name: 'a', value: { n: 1 } }]);
    });
  });

  describe('LocalQueue with a deduplication key', () => {
    it('keeps one message when the same record is sent twice (a rewrite after a crash)', async () => {
      const queue = new LocalQueue(root, 'dlq');
      const first = await queue.send('{"a":1}', 'req-1:RetriesExhausted');
      const second = await queue.send('{"a":1}', 'req-1:RetriesExhausted');
      expect(first.MessageId)
        .to.equal(second.MessageId)
        .and.to.equal(stableMessageId('req-1:RetriesExhausted'));
      expect(await queue.list()).to.have.length(1);
    });

    it('gives different keys different ids, shaped like SQS message ids', () => {
      const a = stableMessageId('req-1:RetriesExhausted');
      expect(a).to.not.equal(stableMessageId('req-1:EventAgeExceeded'));
      expect(a).to.match(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-a[0-9a-f]{3}-[0-9a-f]{12}$/);
    });
  });

  describe('LocalDeadLetterQueue', () => {
    const ARN = 'arn:aws:lambda:ap-northeast-1:000000000000:function:lambda-notes-dev-s3Upload:$LATEST';

    async function filled(count: number): Promise<LocalDeadLetterQueue> {
      const queue = new LocalQueue(root, 'dlq');
      for (let i = 0; i < count; i += 1) {
        const record = destinationRecord({
          requestId: `r${i}`,
          functionArn: ARN,
          condition: 'RetriesExhausted',
          approximateInvokeCount: 3,
          requestPayload: { i },
          timestamp: new Date(0),
          lastOutcome: undefined,
        });
        await queue.send(JSON.stringify(record), `r${i}:RetriesExhausted`);
      }
      return new LocalDeadLetterQueue(root, 'dlq');
    }

    it('two redrives at once invoke each message exactly once; the other run is told another took it', async () => {
      await filled(20);
      const invoked: unknown[] = [];
      const invoke = async (_name: string, payload: unknown): Promise<void> => {
        await new Promise((done) => setImmediate(done));
        invoked.push(payload);
      };
      const [a, b] = await Promise.all([
        new LocalDeadLetterQueue(root, 'dlq').redriveAll(invoke),
        new LocalDeadLetterQueue(root, 'dlq').redriveAll(invoke),
      ]);
      const outcomes = [...a, ...b];
      expect(invoked).to.have.length(20);
      expect(new Set(invoked.map((payload) => JSON.stringify(payload))).size).to.equal(20);
      expect(outcomes.filter((o) => o.status === 'redriven')).to.have.length(20);
      expect(
        outcomes.filter((o) => o.status === 'skipped' && o.reason === 'taken-by-another-run'),
      ).to.have.length(outcomes.length - 20);
      expect(await new LocalDeadLetterQueue(root, 'dlq').list()).to.deep.equal([]);
    });

    it('redrives to the function the record names, with its original event', async () => {
      const queue = await filled(1);
      const calls: Array<[string, unknown]> = [];
      await queue.redriveAll(async (name, payload) => {
        calls.push([name, payload]);
      });
      expect(calls).to.deep.equal([['lambda-notes-dev-s3Upload', { i: 0 }]]);
    });

    it('puts the message back when the invocation is refused', async () => {
      const queue = await filled(1);
      const [letter] = await queue.list();
      let caught: unknown;
      try {
        await queue.redrive(letter?.messageId as string, async () => {
          throw new Error('invoke answered 500');
        });
      } catch (error) {
        caught = error;
      }
      expect(String(caught)).to.contain('invoke answered 500');
      expect(await queue.list()).to.have.length(1);
    });

    it('a purge and a redrive at once never both act on a message', async () => {
      await filled(20);
      const invoked: unknown[] = [];
      const [outcomes, purged] = await Promise.all([
        new LocalDeadLetterQueue(root, 'dlq').redriveAll(async (_name, payload) => {
          invoked.push(payload);
        }),
        new LocalDeadLetterQueue(root, 'dlq').purge(),
      ]);
      expect(invoked.length + purged).to.equal(20);
      expect(outcomes.filter((o) => o.status === 'redriven')).to.have.length(invoked.length);
    });

    it('says clearly that a message is not there', async () => {
      const queue = await filled(0);
      let caught: unknown;
      try {
        await queue.delete('nope');
      } catch (error) {
        caught = error;
      }
      expect(caught).to.be.instanceOf(NoSuchMessageError);
      expect((caught as Error).message)
        .to.contain('no message nope')
        .and.to.contain('another run');
    });
  });

  describe('lockStateDir', () => {
    it('refuses a second holder, naming the first (pid, host, start, ports)', async () => {
      const release = await lockStateDir(root, { ports: { s3: 4569, http: 3000 } }, () => undefined);
      try {
        let caught: unknown;
        try {
          await lockStateDir(root, { ports: {} }, () => undefined);
        } catch (error) {
          caught = error;
        }
        expect(caught).to.be.instanceOf(StateDirLockedError);
        expect((caught as Error).message)
          .to.contain(
            `${root} is in use by another offline stack (pid ${process.pid} on ${hostname()}, started `,
          )
          .and.to.contain('ports s3 4569, http 3000');
      } finally {
        await release();
      }
    });

    it('takes over at once a lock whose holder was killed (its pid is gone)', async () => {
      await mkdir(join(root, 'offline.lock.d'));
      await writeFile(
        join(root, 'offline.lock.holder.json'),
        JSON.stringify({
          pid: deadPid(),
          hostname: hostname(),
          startedAt: new Date().toISOString(),
          ports: {},
        }),
      );
      const release = await lockStateDir(root, { ports: {} }, () => undefined);
      const holder = JSON.parse(await readFile(join(root, 'offline.lock.holder.json'), 'utf8')) as {
        pid: number;
      };
      expect(holder.pid).to.equal(process.pid);
      await release();
    });

    it('waits for a stack that is stopping (its launcher gone), saying so in one line, then takes the state dir', async () => {
      const launcher = deadPid();
      const holder = await stoppingHolder(root, { launcherPid: launcher, locked: true });
      const lines: string[] = [];
      try {
        const locking = lockStateDir(root, { ports: {} }, () => undefined, {
          onWait: (line) => lines.push(line),
        });
        await waitFor('the line saying whom it waits for', () => lines.length > 0);
        holder.stdin?.end();
        const release = await locking;
        expect(lines).to.deep.equal([
          `[async] waiting up to 20 s for the offline stack that is stopping (pid ${holder.pid}: its launcher (pid ${launcher}) is gone) to exit from ${root}`,
        ]);
        const written = JSON.parse(await readFile(join(root, 'offline.lock.holder.json'), 'utf8')) as {
          pid: number;
          launcherPid: number;
        };
        expect(written).to.deep.include({ pid: process.pid, launcherPid: process.ppid });
        await release();
      } finally {
        holder.kill('SIGKILL');
      }
    });

    it('waits for a stack that has released the state dir but not yet exited (a restart right after Ctrl-C)', async () => {
      const holder = await stoppingHolder(root, { launcherPid: process.pid, locked: false });
      const lines: string[] = [];
      try {
        const locking = lockStateDir(root, { ports: {} }, () => undefined, {
          onWait: (line) => lines.push(line),
        });
        await waitFor('the line saying whom it waits for', () => lines.length > 0);
        expect(lines[0]).to.include(`(pid ${holder.pid}: it has released the state dir)`);
        holder.stdin?.end();
        await (
          await locking
        )();
      } finally {
        holder.kill('SIGKILL');
      }
    });

    it('refuses, naming it and how to end it, a stopping stack that has not exited in time', async () => {
      const holder = await stoppingHolder(root, { launcherPid: deadPid(), locked: true });
      try {
        const error = await rejection(
          lockStateDir(root, { ports: {} }, () => undefined, { timeoutMs: 200, onWait: () => undefined }),
        );
        expect(error).to.be.instanceOf(StateDirLockedError);
        expect((error as Error).message)
          .to.contain(
            `${root} is still held by an offline stack that should be stopping (pid ${holder.pid} on `,
          )
          .and.to.contain(`after 0.2 s. End it (kill ${holder.pid}), then start again.`);
      } finally {
        holder.kill('SIGKILL');
      }
    });

    it('can be taken again once released', async () => {
      await (
        await lockStateDir(root, { ports: {} }, () => undefined)
      )();
      await (
        await lockStateDir(root, { ports: {} }, () => undefined)
      )();
    });
  });

  describe('local S3 path guard', () => {
    for (const path of [
      '/b/targets/../../x',
      '/b/targets/%2e%2e/%2E%2E/x',
      '/b/targets/./x',
      '/b/targets//x',
      '/b//x',
      '/b/targets/a%00b',
      '/../etc/passwd',
      'http://host/b/../x',
    ]) {
      it(`refuses ${path} for any method, in S3's InvalidArgument`, () => {
        for (const method of ['PUT', 'GET', 'DELETE', 'POST']) {
          expect(keyProblem(method, path), `${method} ${path}`).to.deep.include({
            status: 400,
            code: 'InvalidArgument',
          });
        }
      });
    }

    it('lets ordinary keys, folder markers and dots inside names through', () => {
      for (const path of [
        '/b/targets/a.txt',
        '/b/targets/',
        '/b/targets/..hidden',
        '/b/targets/a..b',
        '/',
        '/b',
        '/b?list-type=2',
      ]) {
        expect(keyProblem('PUT', path), path).to.equal(undefined);
      }
    });
  });
});
