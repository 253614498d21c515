/**
 * The offline stack starting and stopping as a hostile user meets it: corrupt state at start-up, fatal
 * configuration, and the launcher killed with kill -9. (A running stack under faults: durability.test.ts.)
 */
import { expect } from 'chai';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SCHEMA_VERSION } from '../../offline/state/json-directory';
import {
  freePorts,
  freeStackPorts,
  OfflineStack,
  PROJECT_DIR,
  SERVERLESS_BIN,
  START_OFFLINE,
} from '../../support/offline-stack';
import { waitFor } from '../../support/wait';

const TSX_CLI = join(PROJECT_DIR, 'node_modules', 'tsx', 'dist', 'cli.mjs');

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('offline durability: corrupt state at start-up', function () {
  this.timeout(120_000);
  let stateDir: string;
  let stack: OfflineStack | undefined;

  before(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'lambda-notes-corrupt-'));
    const pending = join(stateDir, 'async', 'pending');
    const dlq = join(stateDir, 'queues', 'lambda-notes-dev-dlq');
    await mkdir(pending, { recursive: true });
    await mkdir(dlq, { recursive: true });
    const now = Date.now();
    const good = {
      requestId: 'good-event',
      functionKey: 'hello',
      payload: { key1: 'resumed', key2: 'b', key3: 'c' },
      receivedAt: now,
      attempts: 0,
      throttles: 0,
      dueAt: now,
    };
    await writeFile(
      join(pending, 'good-event.json'),
      JSON.stringify({ schemaVersion: SCHEMA_VERSION, kind: 'pending-event', value: good }),
    );
    await writeFile(join(pending, 'truncated.json'), '{"schemaVersion":1,"kind":"pend');
    await writeFile(join(pending, 'empty.json'), '');
    await writeFile(join(pending, 'null.json'), 'null');
    const withoutAttempts: Partial<typeof good> = { ...good };
    delete withoutAttempts.attempts;
    await writeFile(
      join(pending, 'no-attempts.json'),
      JSON.stringify({
        schemaVersion: SCHEMA_VERSION,
        kind: 'pending-event',
        value: { ...withoutAttempts, requestId: 'no-attempts' },
      }),
    );
    await writeFile(
      join(pending, 'future.json'),
      JSON.stringify({ schemaVersion: 99, kind: 'pending-event', value: good }),
    );
    await writeFile(join(pending, 'notes.txt'), 'not ours');
    await writeFile(join(dlq, 'broken.json'), '{"MessageId":');
    // 1 h × 0.01 = 36 s: the valid event is not too old by the time the stack is up.
    stack = await OfflineStack.start({ stateDir, timeScale: 0.01 });
  });

  after(async () => {
    await stack?.stop({ keepState: true });
    await rm(stateDir, { recursive: true, force: true });
  });

  for (const [file, reason] of [
    ['truncated.json', 'not valid JSON'],
    ['empty.json', 'empty file'],
    ['null.json', 'not a state entry (null)'],
    ['no-attempts.json', 'without a valid attempts'],
    ['future.json', 'schema version 99'],
    ['notes.txt', 'not a file this directory holds'],
  ] as const) {
    it(`quarantines ${file} with a log line naming it and the reason (${reason})`, () => {
      const line = stack?.output
        .split('\n')
        .find((l) => l.includes(`quarantined ${join(stateDir, 'async', 'pending', file)}`));
      expect(line, stack?.tail()).to.be.a('string').and.to.contain(reason);
    });
  }

  it('goes on starting and resumes the valid event', async () => {
    expect(stack?.output).to.match(/queue ready: .* 1 pending event\(s\) resumed/);
    await waitFor('the valid event to run', () =>
      stack?.output.includes('λ hello good-event: attempt 1 succeeded'),
    );
  });

  it('keeps the quarantined files (with their reasons) in <state dir>/quarantine', async () => {
    const files = await readdir(join(stateDir, 'quarantine'));
    expect(files.filter((file) => !file.endsWith('.reason.txt'))).to.have.length(6);
    expect(files.filter((file) => file.endsWith('.reason.txt'))).to.have.length(6);
  });

  it('npm run dlq -- list works past a corrupt message and names it', () => {
    const result = spawnSync(process.execPath, [TSX_CLI, 'scripts/dlq.ts', 'list'], {
      cwd: PROJECT_DIR,
      env: stack?.scriptEnv(),
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(result.status, result.stderr).to.equal(0);
    expect(result.stdout).to.contain('0 message(s)');
    expect(result.stderr).to.contain('broken.json');
  });
});

describe('offline durability: start-up and shutdown', function () {
  this.timeout(120_000);
  const children: ChildProcess[] = [];

  after(() => {
    for (const child of children) {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  });

  it('npm start with a bad LAMBDA_ASYNC_TIME_SCALE exits 1 at once with the message', () => {
    const startedAt = Date.now();
    const result = spawnSync(process.execPath, [START_OFFLINE], {
      env: {
        ...process.env,
        LAMBDA_ASYNC_TIME_SCALE: 'abc',
        OFFLINE_STATE_DIR: join(tmpdir(), `never-${randomUUID()}`),
      },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(result.status).to.equal(1);
    expect(result.stderr).to.contain('LAMBDA_ASYNC_TIME_SCALE must be a positive number');
    expect(Date.now() - startedAt).to.be.below(5_000);
  });

  it('the offline plugin itself exits non-zero on a fatal start-up error, printing the message, no stack trace', async () => {
    const stateDir = await mkdtemp(join(tmpdir(), 'lambda-notes-fatal-'));
    const ports = await freePorts(4);
    try {
      const result = spawnSync(process.execPath, [SERVERLESS_BIN, 'offline', 'start'], {
        cwd: PROJECT_DIR,
        env: {
          ...process.env,
          SLS_TELEMETRY_DISABLED: '1',
          LAMBDA_ASYNC_TIME_SCALE: '-1',
          OFFLINE_STATE_DIR: stateDir,
          OFFLINE_HTTP_PORT: String(ports[0]),
          OFFLINE_LAMBDA_PORT: String(ports[1]),
          OFFLINE_S3_PORT: String(ports[2]),
          OFFLINE_METRICS_PORT: String(ports[3]),
          ESBUILD_WORK_FOLDER: `.esbuild-test-${ports[0]}`,
        },
        encoding: 'utf8',
        timeout: 90_000,
      });
      expect(result.status, `${result.stdout}${result.stderr}`).to.equal(1);
      expect(result.stderr).to.contain(
        'offline could not start: LAMBDA_ASYNC_TIME_SCALE must be a positive number',
      );
      expect(result.stderr).to.not.match(/\n\s+at .+\(.+:\d+:\d+\)/);
    } finally {
      await rm(stateDir, { recursive: true, force: true });
      await rm(join(PROJECT_DIR, `.esbuild-test-${ports[0]}`), { recursive: true, force: true });
    }
  });

  it('kill -9 of the launcher (npm start) leaves no process holding a port', async () => {
    const stateDir = await mkdtemp(join(tmpdir(), 'lambda-notes-orphan-'));
    const ports = await freeStackPorts();
    const launcher = spawn(process.execPath, [START_OFFLINE], {
      cwd: PROJECT_DIR,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        LAMBDA_ASYNC_TIME_SCALE: '0.001',
        OFFLINE_STATE_DIR: stateDir,
        OFFLINE_HTTP_PORT: String(ports.http),
        OFFLINE_LAMBDA_PORT: String(ports.lambda),
        OFFLINE_S3_PORT: String(ports.s3),
        OFFLINE_METRICS_PORT: String(ports.metrics),
        ESBUILD_WORK_FOLDER: `.esbuild-test-${ports.http}`,
      },
    });
    children.push(launcher);
    let output = '';
    launcher.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    launcher.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    try {
      await waitFor('the stack to be ready', () => output.includes('[async] queue ready'), {
        timeoutMs: 60_000,
      });
      expect(await portOpen(ports.s3)).to.equal(true);
      // The launcher's whole process group, as `kill -9` of npm's group does: serverless (the launcher itself) and
      // the environments with it.
      process.kill(-(launcher.pid as number), 'SIGKILL');
      await waitFor(
        'every port to be free',
        async () => !(await Promise.all(Object.values(ports).map(portOpen))).some(Boolean),
        { timeoutMs: 15_000, intervalMs: 100 },
      );
    } finally {
      await rm(stateDir, { recursive: true, force: true });
      await rm(join(PROJECT_DIR, `.esbuild-test-${ports.http}`), { recursive: true, force: true });
    }
  });
});
