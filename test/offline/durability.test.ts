/**
 * The offline stack as a hostile user meets it: a second instance on the same state dir, keys that try to leave
 * the bucket's folder, disk faults under a running stack, corrupt state at start-up, fatal configuration, and
 * the launcher killed with kill -9. Disk faults are made by putting a file where a directory must be, which
 * stops root as well as anyone (chmod does not stop root).
 */
import { expect } from 'chai';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { SCHEMA_VERSION } from '../../offline/state/json-directory';
import {
  BUCKET,
  freePorts,
  freeStackPorts,
  OfflineStack,
  PROJECT_DIR,
  SERVERLESS_BIN,
  START_OFFLINE,
} from '../../support/offline-stack';
import { deadLetters, recordKey } from '../../support/dead-letters';
import { waitFor } from '../../support/wait';

const TSX_CLI = join(PROJECT_DIR, 'node_modules', 'tsx', 'dist', 'cli.mjs');

/** A raw HTTP request: the path is sent exactly as given (no client-side `..` resolution). */
function raw(
  port: number,
  method: string,
  path: string,
  body = '',
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, method, path, headers: { 'content-length': body.length } },
      (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

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

function processed(stack: OfflineStack, key: string): number {
  return stack.logLines().filter((line) => line.message === 'object processed' && line.key === key).length;
}

describe('offline durability: one running stack', function () {
  this.timeout(120_000);
  let stack: OfflineStack;

  before(async () => {
    stack = await OfflineStack.start();
  });

  after(async () => {
    await stack?.stop();
  });

  describe('one instance per state dir', () => {
    it('a second stack on the same state dir refuses, naming the one that holds it', async () => {
      let failure = '';
      try {
        const second = await OfflineStack.start({ stateDir: stack.stateDir, startTimeoutMs: 60_000 });
        await second.stop({ keepState: true });
      } catch (error) {
        failure = String(error);
      }
      expect(failure).to.contain(
        `${stack.stateDir} is in use by another offline stack (pid ${stack.child.pid}`,
      );
      expect(failure).to.contain(`s3 ${stack.ports.s3}`);
    });

    it('npm start refuses at once (before serverless loads), exit code 1', () => {
      const startedAt = Date.now();
      const result = spawnSync(process.execPath, [START_OFFLINE], {
        env: { ...process.env, OFFLINE_STATE_DIR: stack.stateDir },
        encoding: 'utf8',
        timeout: 20_000,
      });
      expect(result.status).to.equal(1);
      expect(result.stderr).to.contain(`is in use by another offline stack (pid ${stack.child.pid}`);
      expect(Date.now() - startedAt).to.be.below(5_000);
    });

    it('the first stack still works', async () => {
      const key = 'targets/still-works.txt';
      await stack
        .s3Client()
        .send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: Buffer.from('ok\n') }));
      await waitFor(`${key} processed`, () => processed(stack, key) === 1);
    });
  });

  describe('two redrives at once', () => {
    it('redrive every message exactly once between them: each object processed once, no misleading error', async () => {
      const keys = Array.from({ length: 8 }, (_, i) => `targets/redrive-twice/${i}.txt`);
      const s3 = stack.s3Client();
      await Promise.all(
        keys.map((key) => s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: Buffer.alloc(0) }))),
      );
      await waitFor(
        'the 8 empty objects in the DLQ',
        async () =>
          (await deadLetters(stack.stateDir)).filter((r) =>
            recordKey(r)?.startsWith('targets/redrive-twice/'),
          ).length === 8,
        { timeoutMs: 30_000 },
      );
      // The cause fixed: the objects now have content.
      await Promise.all(
        keys.map((key) =>
          s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: Buffer.from('fixed\n') })),
        ),
      );
      await waitFor(
        'the fixed uploads to be processed',
        () => keys.every((key) => processed(stack, key) === 1),
        {
          timeoutMs: 30_000,
        },
      );
      const redrive = (): Promise<{ code: number; stdout: string; stderr: string }> =>
        new Promise((resolve) => {
          const child = spawn(process.execPath, [TSX_CLI, 'scripts/dlq.ts', 'redrive'], {
            cwd: PROJECT_DIR,
            env: stack.scriptEnv(),
          });
          let stdout = '';
          let stderr = '';
          child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
          child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
          child.on('exit', (code) => resolve({ code: code ?? 1, stdout, stderr }));
        });
      const [a, b] = await Promise.all([redrive(), redrive()]);
      expect([a.code, b.code], `${a.stderr}\n${b.stderr}`).to.deep.equal([0, 0]);
      const redriven = [a.stdout, b.stdout]
        .join('\n')
        .split('\n')
        .filter((line) => line.startsWith('redriven '));
      expect(redriven).to.have.length(8);
      expect(`${a.stderr}${b.stderr}`).to.not.contain('no message');
      await waitFor('each redriven event to run', () => keys.every((key) => processed(stack, key) === 2), {
        timeoutMs: 30_000,
      });
      expect(keys.map((key) => processed(stack, key))).to.deep.equal(keys.map(() => 2));
      expect(
        (await deadLetters(stack.stateDir)).filter((r) => recordKey(r)?.startsWith('targets/redrive-twice/')),
      ).to.deep.equal([]);
    });
  });

  describe('keys that would leave the bucket folder', () => {
    const escape = `escape-${randomUUID()}`;
    for (const path of [
      `/${BUCKET}/targets/a/../../../../${escape}/y`,
      `/${BUCKET}/targets/%2E%2E/%2e%2e/%2E%2E/${escape}`,
      `/${BUCKET}/targets//${escape}`,
      `/${BUCKET}/targets/./${escape}`,
      `/${BUCKET}/targets/nul%00${escape}`,
    ]) {
      it(`refuses PUT ${path.replace(escape, '…')} with S3's XML error and writes nothing`, async () => {
        const response = await raw(stack.ports.s3, 'PUT', path, 'x');
        expect(response.status).to.equal(400);
        expect(response.body).to.match(
          /<Error><Code>InvalidArgument<\/Code><Message>Offline limit: .+<\/Message><\/Error>/,
        );
        for (const base of [tmpdir(), stack.stateDir, join(stack.stateDir, 's3'), PROJECT_DIR]) {
          expect(existsSync(join(base, escape))).to.equal(false);
        }
      });
    }

    it('refuses a multipart uploadId that is not an id (it becomes a folder name)', async () => {
      const response = await raw(
        stack.ports.s3,
        'PUT',
        `/${BUCKET}/targets/p.txt?partNumber=1&uploadId=..%2F..%2F${escape}`,
        'x',
      );
      expect(response.status).to.equal(404);
      expect(response.body).to.contain('<Code>NoSuchUpload</Code>');
    });

    it('still takes a real multipart upload (its parts go through the same guarded writes)', async () => {
      const s3 = stack.s3Client();
      const key = 'targets/multipart.txt';
      const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key }));
      const { ETag } = await s3.send(
        new UploadPartCommand({
          Bucket: BUCKET,
          Key: key,
          UploadId,
          PartNumber: 1,
          Body: Buffer.from('one line\n'),
        }),
      );
      await s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: BUCKET,
          Key: key,
          UploadId,
          MultipartUpload: { Parts: [{ ETag, PartNumber: 1 }] },
        }),
      );
      await waitFor(`${key} processed`, () => processed(stack, key) === 1);
    });

    it('refuses a GET that climbs out too', async () => {
      const response = await raw(stack.ports.s3, 'GET', `/${BUCKET}/../../../etc/passwd`);
      expect(response.status).to.equal(400);
    });
  });

  describe('disk faults under the running stack', () => {
    it('a local S3 write that fails is a 500 in S3 error format naming the folder and cause, and the stack lives on', async () => {
      // A file where the key's folder must go: mkdir fails (EEXIST/ENOTDIR), as it would on a broken disk.
      const blocked = join(stack.stateDir, 's3', BUCKET, 'targets', 'blocked');
      await writeFile(blocked, 'not a folder');
      const response = await raw(stack.ports.s3, 'PUT', `/${BUCKET}/targets/blocked/x.txt`, 'data');
      expect(response.status).to.equal(500);
      expect(response.body).to.contain('<Code>InternalError</Code>');
      expect(response.body).to.contain(join(stack.stateDir, 's3', BUCKET, 'targets', 'blocked'));
      expect(response.body).to.match(/EEXIST|ENOTDIR/);
      const key = 'targets/after-s3-fault.txt';
      await stack
        .s3Client()
        .send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: Buffer.from('ok\n') }));
      await waitFor(`${key} processed`, () => processed(stack, key) === 1);
    });

    it("an event the queue cannot write is refused (500 naming the queue's folder): no 200, no run; then it recovers", async () => {
      const pending = join(stack.stateDir, 'async', 'pending');
      await rm(pending, { recursive: true, force: true });
      await writeFile(pending, 'a file where the queue folder should be');
      const key = 'targets/queue-fault.txt';
      try {
        const response = await raw(stack.ports.s3, 'PUT', `/${BUCKET}/${key}`, 'data');
        expect(response.status).to.equal(500);
        expect(response.body).to.contain('<Code>InternalError</Code>');
        expect(response.body).to.contain(pending);
        expect(response.body).to.contain('a file stands where a directory should be');
        expect(stack.output).to.contain(`cannot write`);
      } finally {
        await rm(pending, { force: true });
      }
      const again = 'targets/queue-recovered.txt';
      await stack
        .s3Client()
        .send(new PutObjectCommand({ Bucket: BUCKET, Key: again, Body: Buffer.from('ok\n') }));
      await waitFor(`${again} processed`, () => processed(stack, again) === 1);
      expect(processed(stack, key)).to.equal(0);
      expect(stack.child.exitCode).to.equal(null);
    });

    it('an InvocationType=Event call the queue cannot write is not accepted (no 202) and never runs', async () => {
      const pending = join(stack.stateDir, 'async', 'pending');
      await rm(pending, { recursive: true, force: true });
      await writeFile(pending, 'a file where the queue folder should be');
      let status: number | undefined;
      try {
        status = (await stack.invokeAsync('lambda-notes-dev-hello', { key1: 'never-run' })).StatusCode;
      } catch (error) {
        status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      } finally {
        await rm(pending, { force: true });
      }
      expect(status).to.not.equal(202);
      // A later event runs: had the refused one been run anyway, it would have run before it.
      expect((await stack.invokeAsync('lambda-notes-dev-hello', { key1: 'accepted' })).StatusCode).to.equal(
        202,
      );
      await waitFor('the accepted event to run', () => stack.output.includes('value1 = accepted'));
      expect(stack.output).to.not.contain('value1 = never-run');
    });
  });
});

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
