/**
 * Starts `serverless offline start` (local S3, HTTP, Lambda endpoint, async queue) for a test: free ports, a
 * fresh state directory, its own process group; stopped — group and all — in `stop()`, which tests call from
 * `after` hooks so it also runs when a test fails.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { InvokeCommand, type InvokeCommandOutput, LambdaClient } from '@aws-sdk/client-lambda';
import { stateLayout } from '../offline/state/layout';

export const PROJECT_DIR = resolve(__dirname, '..');
export const SERVERLESS_BIN = join(PROJECT_DIR, 'node_modules', 'serverless', 'bin', 'serverless.js');
/** What `npm start` runs. */
export const START_OFFLINE = join(PROJECT_DIR, 'scripts', 'start-offline.cjs');
export const BUCKET = 'lambda-s3-test-dev';

/** A port nothing listens on now (the OS's choice, so not one a running stack took). */
export async function freePort(): Promise<number> {
  const [port] = await freePorts(1);
  if (port === undefined) throw new Error('no port');
  return port;
}

/**
 * `count` ports nothing listens on, all different: each is held until all are chosen (a port closed at once can be
 * handed out again by the next request, and two of a stack's servers would then ask for the same one).
 */
export async function freePorts(count: number): Promise<number[]> {
  const servers = Array.from({ length: count }, () => createServer());
  try {
    return await Promise.all(
      servers.map(
        (server) =>
          new Promise<number>((resolvePort, reject) => {
            server.on('error', reject);
            server.listen(0, '127.0.0.1', () => {
              const address = server.address();
              if (typeof address === 'object' && address) resolvePort(address.port);
              else reject(new Error('no port'));
            });
          }),
      ),
    );
  } finally {
    await Promise.all(servers.map((server) => new Promise((closed) => server.close(closed))));
  }
}

/** The variables the stack and the scripts read their ports from. */
export function portVariables(ports: OfflinePorts): Record<string, string> {
  return {
    OFFLINE_HTTP_PORT: String(ports.http),
    OFFLINE_LAMBDA_PORT: String(ports.lambda),
    OFFLINE_S3_PORT: String(ports.s3),
    OFFLINE_METRICS_PORT: String(ports.metrics),
  };
}

/** The four ports of an offline stack, all different. */
export async function freeStackPorts(): Promise<OfflinePorts> {
  const [http, lambda, s3, metrics] = (await freePorts(4)) as [number, number, number, number];
  return { http, lambda, s3, metrics };
}

export interface StackOptions {
  /** LAMBDA_ASYNC_TIME_SCALE; 0.001 turns a 1 minute retry delay into 60 ms. */
  timeScale?: number;
  /** LAMBDA_IDLE_SECONDS, before the time scale; by default an idle environment lives 60 s of the test's time. */
  idleSeconds?: number;
  /** serverless --param values, e.g. { maximumRetryAttempts: '0' }. */
  params?: Record<string, string>;
  /** More `sls offline start` options, e.g. ['--terminateIdleLambdaTime', '1']. */
  args?: string[];
  /** Reuse the state directory of an earlier stack (restart tests). */
  stateDir?: string;
  /** Another checkout of this project to run (the bench compares with an earlier commit); this one by default. */
  projectDir?: string;
  /** Reuse the ports of an earlier stack (a restart as `npm start` does it, on the same ports). */
  ports?: OfflinePorts;
  /** Start as `npm start` does (scripts/start-offline.cjs, which runs serverless in a process group of its own). */
  launcher?: boolean;
  /** More environment variables for the stack, e.g. { LAMBDA_ACCOUNT_CONCURRENCY: '1' } or { LAMBDA_DEBUG: 'hello' }. */
  env?: Record<string, string>;
  /** Start as a user types it: `npm start` (npm, then the launcher, then serverless). */
  npm?: boolean;
  /** Another serverless config in the project folder (`--config`), e.g. the bench's stock stack. */
  config?: string;
  /** The line that says the stack is ready; this project's own by default (`[async] queue ready`). */
  ready?: RegExp;
  startTimeoutMs?: number;
  /** Called as soon as the process is spawned, before the stack is ready: to watch its first lines as they come. */
  onSpawn?: (stack: OfflineStack) => void;
}

export interface OfflinePorts {
  http: number;
  lambda: number;
  s3: number;
  metrics: number;
}

export interface LogLine {
  message?: string;
  key?: string;
  timestamp?: string;
  [field: string]: unknown;
}

export class OfflineStack {
  /** stdout and stderr together, for failure messages and framework lines. */
  output = '';
  /** Each stream alone: the handlers' JSON log lines are whole lines there (ERROR goes to stderr). */
  stdout = '';
  stderr = '';
  private exited: Promise<number | null>;
  private exitCode: number | null | undefined;
  private constructor(
    readonly child: ChildProcess,
    readonly ports: OfflinePorts,
    readonly stateDir: string,
    private readonly ownsStateDir: boolean,
    readonly projectDir: string = PROJECT_DIR,
  ) {
    child.stdout?.on('data', (chunk: Buffer) => {
      this.stdout += chunk.toString();
      this.output += chunk.toString();
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      this.stderr += chunk.toString();
      this.output += chunk.toString();
    });
    this.exited = new Promise((done) =>
      child.on('exit', (code) => {
        this.exitCode = code;
        done(code);
      }),
    );
  }

  /** Spawns the stack (at once when ports and state dir are given) and resolves once it is ready. */
  static async start(options: StackOptions = {}): Promise<OfflineStack> {
    const ports = options.ports ?? (await freeStackPorts());
    const stateDir = options.stateDir ?? (await mkdtemp(join(tmpdir(), 'lambda-notes-offline-')));
    const params = Object.entries(options.params ?? {}).map(([name, value]) => `--param=${name}=${value}`);
    const projectDir = options.projectDir ?? PROJECT_DIR;
    const command = options.launcher
      ? [process.execPath, join(projectDir, 'scripts', 'start-offline.cjs')]
      : options.npm
        ? ['npm', 'start', '--']
        : [
            process.execPath,
            join(projectDir, 'node_modules', 'serverless', 'bin', 'serverless.js'),
            'offline',
            'start',
          ];
    const config = options.config === undefined ? [] : ['--config', options.config];
    const [file, ...args] = [...command, ...config, ...params, ...(options.args ?? [])] as [
      string,
      ...string[],
    ];
    const child = spawn(file, args, {
      cwd: projectDir,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        SLS_TELEMETRY_DISABLED: '1',
        LAMBDA_ASYNC_TIME_SCALE: String(options.timeScale ?? 0.001),
        LAMBDA_IDLE_SECONDS: String(options.idleSeconds ?? 60 / (options.timeScale ?? 0.001)),
        ...portVariables(ports),
        OFFLINE_STATE_DIR: stateDir,
        ESBUILD_WORK_FOLDER: `.esbuild-test-${ports.http}`,
        // Settings a developer keeps for a deployed stage (stages/dev.json) stay out of the tests' stacks.
        LAMBDA_NOTES_STAGES_DIR: join(stateDir, 'no-stage-settings'),
        ...options.env,
      },
    });
    const stack = new OfflineStack(child, ports, stateDir, options.stateDir === undefined, projectDir);
    options.onSpawn?.(stack);
    try {
      await stack.waitForOutput(options.ready ?? /\[async\] queue ready/, options.startTimeoutMs ?? 30_000);
    } catch (error) {
      await stack.stop();
      throw error;
    }
    return stack;
  }

  /** Resolves when the output matches; rejects with the whole output if the process exits or time runs out. */
  async waitForOutput(pattern: RegExp, timeoutMs = 10_000): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const match = this.output.match(pattern);
      if (match) return match;
      if (this.exitCode !== undefined) {
        throw new Error(`offline exited (code ${this.exitCode}) before printing ${pattern}:\n${this.output}`);
      }
      if (Date.now() > deadline)
        throw new Error(`offline did not print ${pattern} within ${timeoutMs} ms:\n${this.output}`);
      await new Promise((done) => setTimeout(done, 20));
    }
  }

  /** How many async events are still queued (files in the pending directory). */
  async pendingEvents(): Promise<number> {
    const files = await readdir(stateLayout(this.stateDir).pending).catch(() => []);
    return files.filter((file) => file.endsWith('.json') && !file.startsWith('.')).length;
  }

  /** The last lines of output and how the process ended: printed when a test fails. */
  tail(lines = 40): string {
    const status = this.exitCode === undefined ? 'running' : `exited with code ${this.exitCode}`;
    return `--- offline (${status}), last ${lines} lines ---\n${this.output.split('\n').slice(-lines).join('\n')}`;
  }

  /** The JSON lines the handlers logged (Powertools Logger), stdout's first, then stderr's. */
  logLines(): LogLine[] {
    const lines: LogLine[] = [];
    for (const line of [...this.stdout.split('\n'), ...this.stderr.split('\n')]) {
      if (!line.startsWith('{"level"')) continue;
      try {
        lines.push(JSON.parse(line) as LogLine);
      } catch {
        // The last line may still be arriving.
      }
    }
    return lines;
  }

  s3Client(): S3Client {
    return new S3Client({
      region: 'ap-northeast-1',
      endpoint: `http://localhost:${this.ports.s3}`,
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      requestChecksumCalculation: 'WHEN_REQUIRED',
    });
  }

  /** PutObject of a text body to the local S3, with its length (the SDK sends none for an empty string). */
  async putText(key: string, body: string, bucket = BUCKET): Promise<void> {
    await this.s3Client().send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: body,
        ContentLength: Buffer.byteLength(body),
        ContentType: 'text/plain',
      }),
    );
  }

  /** maxAttempts 1 by default: the SDK's own retries would hide what one call did. */
  lambdaClient(maxAttempts = 1): LambdaClient {
    return new LambdaClient({
      maxAttempts,
      region: 'ap-northeast-1',
      endpoint: `http://localhost:${this.ports.lambda}`,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
  }

  /** An asynchronous Invoke (InvocationType=Event) on the offline Lambda endpoint. */
  invokeAsync(functionName: string, payload: unknown): Promise<InvokeCommandOutput> {
    return this.lambdaClient().send(
      new InvokeCommand({
        FunctionName: functionName,
        InvocationType: 'Event',
        Payload: Buffer.from(JSON.stringify(payload)),
      }),
    );
  }

  /** Environment for the project's scripts so they talk to this stack. */
  scriptEnv(): NodeJS.ProcessEnv {
    return {
      ...process.env,
      OFFLINE_S3_PORT: String(this.ports.s3),
      OFFLINE_LAMBDA_PORT: String(this.ports.lambda),
      OFFLINE_STATE_DIR: this.stateDir,
      OFFLINE_METRICS_PORT: String(this.ports.metrics),
    };
  }

  /** SIGTERM to the whole process group, SIGKILL if it has not exited in 5 s. Keeps the state dir if asked. */
  async stop({ keepState = false }: { keepState?: boolean } = {}): Promise<void> {
    const pid = this.child.pid;
    if (pid !== undefined && this.exitCode === undefined) {
      try {
        process.kill(-pid, 'SIGTERM');
      } catch {
        // already gone
      }
      const timer = setTimeout(() => {
        try {
          process.kill(-pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }, 5_000);
      await this.exited;
      clearTimeout(timer);
    }
    await rm(join(this.projectDir, `.esbuild-test-${this.ports.http}`), { recursive: true, force: true });
    if (this.ownsStateDir && !keepState) await rm(this.stateDir, { recursive: true, force: true });
  }
}
