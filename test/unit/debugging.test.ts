/**
 * LAMBDA_DEBUG's parts without a stack: the setting as read, the ports, what a debugged runtime process gets (a real
 * `node` spawned by spawnRuntime with a bootstrap that reports its flags and variables), and the turn a debugged
 * function's runs take. The whole (a breakpoint hit over the inspector) is test/offline/debugging.test.ts.
 */
import { expect } from 'chai';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Concurrency, isThrottle } from '../../offline/environments/concurrency';
import {
  assertDebugPortFree,
  DEBUG_TIMEOUT_SECONDS,
  DEFAULT_DEBUG_PORT,
  debuggedSpecs,
  debugPorts,
  debugProcess,
} from '../../offline/environments/debugging';
import type { EnvironmentOptions, FunctionSpec } from '../../offline/environments/environment-types';
import { processMemory } from '../../offline/environments/process-memory';
import { heapFlags, spawnRuntime } from '../../offline/environments/runtime-process';
import { readOfflineSettings, withDebugOptions } from '../../offline/plugin/settings';
import { freePort, PROJECT_DIR } from '../../support/offline-stack';

function thrown(run: () => unknown): Error {
  try {
    run();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected an error');
}

const SPEC: FunctionSpec = {
  key: 'hello',
  name: 'lambda-notes-dev-hello',
  arn: 'arn:aws:lambda:ap-northeast-1:000000000000:function:lambda-notes-dev-hello',
  handler: 'handlers/hello.handler',
  taskRoot: tmpdir(),
  runtime: 'nodejs24.x',
  memorySizeMb: 128,
  timeoutSeconds: 10,
  region: 'ap-northeast-1',
  variables: { NODE_OPTIONS: '--enable-source-maps', POWERTOOLS_SERVICE_NAME: 'lambda-notes' },
};

describe('LAMBDA_DEBUG settings', () => {
  it('is absent without LAMBDA_DEBUG (the settings are what they were)', () => {
    expect(readOfflineSettings({}, '/srv')).not.to.have.property('debug');
  });

  it('reads names or all, and the first port (9229 by default)', () => {
    expect(readOfflineSettings({ LAMBDA_DEBUG: 'hello, s3Upload' }, '/srv').debug).to.deep.equal({
      functions: ['hello', 's3Upload'],
      firstPort: 9229,
    });
    expect(
      readOfflineSettings({ LAMBDA_DEBUG: 'all', LAMBDA_DEBUG_PORT: '9300' }, '/srv').debug,
    ).to.deep.equal({
      functions: 'all',
      firstPort: 9300,
    });
  });

  for (const [env, says] of [
    [{ LAMBDA_DEBUG: 'hello', LAMBDA_DEBUG_PORT: '0' }, 'LAMBDA_DEBUG_PORT must be a port number'],
    [{ LAMBDA_DEBUG: 'hello', LAMBDA_DEBUG_PORT: 'x' }, 'got "x"'],
    [{ LAMBDA_DEBUG: 'hello,,s3Upload' }, 'LAMBDA_DEBUG must be function names separated by commas'],
    [{ LAMBDA_DEBUG_PORT: '9229' }, 'LAMBDA_DEBUG_PORT is set but LAMBDA_DEBUG is not'],
  ] as const) {
    it(`refuses ${JSON.stringify(env)} with a message that names it`, () => {
      expect(thrown(() => readOfflineSettings(env, '/srv')).message).to.contain(says);
    });
  }

  it('takes --lambdaDebug and --lambdaDebugPort of the command line over the variables', () => {
    const env = withDebugOptions(
      { LAMBDA_DEBUG: 'hello', LAMBDA_DEBUG_PORT: '9229' },
      { lambdaDebug: 's3Upload', lambdaDebugPort: '9400' },
    );
    expect(readOfflineSettings(env, '/srv').debug).to.deep.equal({
      functions: ['s3Upload'],
      firstPort: 9400,
    });
    expect(withDebugOptions({ LAMBDA_DEBUG: 'hello' }, {})).to.deep.equal({ LAMBDA_DEBUG: 'hello' });
  });

  it('gives ports in order from the first, and names the functions when one is unknown', () => {
    expect([...debugPorts({ functions: 'all', firstPort: 9229 }, ['hello', 's3Upload'])]).to.deep.equal([
      ['hello', 9229],
      ['s3Upload', 9230],
    ]);
    expect([
      ...debugPorts({ functions: ['s3Upload'], firstPort: 9229 }, ['hello', 's3Upload']),
    ]).to.deep.equal([['s3Upload', 9229]]);
    expect(
      thrown(() => debugPorts({ functions: ['helo'], firstPort: 9229 }, ['hello', 's3Upload'])).message,
    ).to.equal(
      'LAMBDA_DEBUG names no function "helo" of serverless.yml; its functions are hello, s3Upload (or LAMBDA_DEBUG=all).',
    );
  });

  it("lifts a debugged function's timeout to an hour and leaves the others as they are", () => {
    const specs = debuggedSpecs(
      new Map([
        ['hello', SPEC],
        ['s3Upload', { ...SPEC, key: 's3Upload' }],
      ]),
      { functions: ['hello'], firstPort: 9229 },
    );
    expect(specs.get('hello')).to.deep.include({
      debugPort: 9229,
      timeoutSeconds: DEBUG_TIMEOUT_SECONDS,
      timeoutSecondsConfigured: 10,
    });
    expect(specs.get('s3Upload')).to.deep.equal({ ...SPEC, key: 's3Upload' });
  });

  it("adds the function's NODE_OPTIONS to the inherited ones and passes VS Code's variable on", () => {
    const { flags, variables } = debugProcess(
      { ...SPEC, debugPort: 9231 },
      { NODE_OPTIONS: '--require /vscode/bootloader.js', VSCODE_INSPECTOR_OPTIONS: '{"a":1}', HOME: '/root' },
    );
    expect(flags).to.deep.equal(['--inspect=127.0.0.1:9231']);
    expect(variables).to.deep.equal({
      NODE_OPTIONS: '--require /vscode/bootloader.js --enable-source-maps',
      VSCODE_INSPECTOR_OPTIONS: '{"a":1}',
    });
  });
});

describe('the runtime process of a function (spawnRuntime)', function () {
  this.timeout(20_000);
  let dir: string;
  let bootstrap: string;
  let bootloader: string;
  const savedNodeOptions = process.env.NODE_OPTIONS;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lambda-notes-debugging-'));
    bootstrap = join(dir, 'bootstrap.cjs');
    // Reports what it was started with instead of running a runtime.
    await writeFile(
      bootstrap,
      'process.stdout.write(JSON.stringify({ execArgv: process.execArgv, env: process.env, booted: globalThis.booted === true, inspector: require("node:inspector").url() !== undefined }));',
    );
    bootloader = join(dir, 'bootloader.cjs');
    await writeFile(bootloader, 'globalThis.booted = true;');
  });

  afterEach(() => {
    if (savedNodeOptions === undefined) delete process.env.NODE_OPTIONS;
    else process.env.NODE_OPTIONS = savedNodeOptions;
    delete process.env.VSCODE_INSPECTOR_OPTIONS;
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function options(): Promise<EnvironmentOptions> {
    return {
      id: 'abc',
      logStream: '2026/12/07/[$LATEST]abc',
      tmpDir: dir,
      bootstrap,
      hostVariables: { PATH: '/usr/bin' },
      memory: await processMemory(),
      output: () => undefined,
      ended: () => undefined,
      now: Date.now,
    };
  }

  interface Report {
    execArgv: string[];
    env: Record<string, string>;
    booted: boolean;
    inspector: boolean;
  }

  async function report(spec: FunctionSpec): Promise<Report> {
    const child = spawnRuntime(spec, await options(), 4321);
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
    await new Promise((done) => child.once('exit', done));
    return JSON.parse(out) as Report;
  }

  it('without LAMBDA_DEBUG: the heap flags and the same variables as before, nothing inherited', async () => {
    process.env.NODE_OPTIONS = `--require ${bootloader}`;
    process.env.VSCODE_INSPECTOR_OPTIONS = '{}';
    const started = await report(SPEC);
    expect(started.execArgv).to.deep.equal(heapFlags(128));
    expect(started.booted).to.equal(false);
    expect(started.inspector).to.equal(false);
    expect(started.env).to.deep.equal({
      PATH: '/usr/bin',
      NODE_OPTIONS: '--enable-source-maps',
      POWERTOOLS_SERVICE_NAME: 'lambda-notes',
      _HANDLER: 'handlers/hello.handler',
      AWS_REGION: 'ap-northeast-1',
      AWS_DEFAULT_REGION: 'ap-northeast-1',
      AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
      AWS_LAMBDA_FUNCTION_NAME: 'lambda-notes-dev-hello',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '128',
      AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
      AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
      AWS_LAMBDA_LOG_GROUP_NAME: '/aws/lambda/lambda-notes-dev-hello',
      AWS_LAMBDA_LOG_STREAM_NAME: '2026/12/07/[$LATEST]abc',
      AWS_LAMBDA_RUNTIME_API: '127.0.0.1:4321',
      LAMBDA_TASK_ROOT: tmpdir(),
      LAMBDA_RUNTIME_DIR: dir,
      LANG: 'en_US.UTF-8',
      TZ: ':UTC',
      TMPDIR: dir,
      IS_OFFLINE: 'true',
    });
  });

  it("debugged: the inspector on 127.0.0.1, and a debugger's bootloader from NODE_OPTIONS runs in it", async () => {
    process.env.NODE_OPTIONS = `--require ${bootloader}`;
    process.env.VSCODE_INSPECTOR_OPTIONS = '{"inspectorIpc":"x"}';
    const port = await freePort();
    const started = await report({ ...SPEC, debugPort: port });
    expect(started.execArgv).to.deep.equal([...heapFlags(128), `--inspect=127.0.0.1:${port}`]);
    expect(started.inspector).to.equal(true);
    expect(started.booted).to.equal(true);
    expect(started.env.NODE_OPTIONS).to.equal(`--require ${bootloader} --enable-source-maps`);
    expect(started.env.VSCODE_INSPECTOR_OPTIONS).to.equal('{"inspectorIpc":"x"}');
  });
});

describe('runs of a debugged function take turns (Concurrency.inTurn)', () => {
  it('starts a run only once the one before it has released its slot', async () => {
    const concurrency = new Concurrency(new Map(), undefined, new Set(['hello']));
    expect(concurrency.inTurns('hello')).to.equal(true);
    expect(concurrency.inTurns('s3Upload')).to.equal(false);
    const first = await concurrency.inTurn('hello');
    if (isThrottle(first)) throw new Error(`the first run was throttled: ${first.throttled}`);
    let secondStarted = false;
    const second = concurrency.inTurn('hello').then((slot) => {
      secondStarted = true;
      return slot;
    });
    await new Promise((done) => setImmediate(done));
    expect(secondStarted).to.equal(false);
    expect(concurrency.running('hello')).to.equal(1);
    first.release();
    const slot = await second;
    if (isThrottle(slot)) throw new Error(`the second run was throttled: ${slot.throttled}`);
    expect(slot.concurrent).to.equal(1);
    slot.release();
    expect(concurrency.running('hello')).to.equal(0);
  });

  it('still throttles at a reserved concurrency of 0, and lets the next run have its turn', async () => {
    const concurrency = new Concurrency(new Map([['hello', 0]]), undefined, new Set(['hello']));
    const throttled = { throttled: 'ReservedFunctionConcurrentInvocationLimitExceeded' };
    expect(await concurrency.inTurn('hello')).to.deep.equal(throttled);
    expect(await concurrency.inTurn('hello')).to.deep.equal(throttled);
  });
});

describe('the inspector port of a debugged function', () => {
  it('is refused, with a message that names it, when something listens there', async () => {
    const port = await freePort();
    await assertDebugPortFree('hello', port);
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(port, '127.0.0.1', resolve));
    try {
      let error: unknown;
      await assertDebugPortFree('hello', port).catch((caught: unknown) => {
        error = caught;
      });
      expect(String(error)).to.contain(`the inspector port of hello, 127.0.0.1:${port}, is taken`);
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
  });
});

describe('.vscode/launch.json', () => {
  it('attaches to each function on the port LAMBDA_DEBUG=all gives it, on 127.0.0.1, with the bundles mapped', async () => {
    const launch = JSON.parse(await readFile(join(PROJECT_DIR, '.vscode', 'launch.json'), 'utf8')) as {
      configurations: { name: string; request: string; address: string; port: number; outFiles: string[] }[];
    };
    const ports = debugPorts({ functions: 'all', firstPort: DEFAULT_DEBUG_PORT }, ['hello', 's3Upload']);
    for (const [functionKey, port] of ports) {
      const attach = launch.configurations.find(
        (configuration) => configuration.name === `Attach to ${functionKey}`,
      );
      expect(attach, `Attach to ${functionKey}`).to.deep.include({
        request: 'attach',
        address: '127.0.0.1',
        port,
      });
      expect(attach?.outFiles).to.deep.equal(['${workspaceFolder}/.esbuild/.build/**/*.js']);
    }
  });
});
