/**
 * LAMBDA_DEBUG on a real offline stack, driven by a real inspector client over the Chrome DevTools Protocol (what
 * VS Code and chrome://inspect speak): the debugged function's environment waits for a debugger from the start, a
 * breakpoint in the TypeScript source stops its run there, and while it is paused its time waits — the run is not
 * timed out, an async event is not retried, another run waits its turn, a code change waits for the run's end.
 * The stack runs a copy of the project whose hello has a 2 s timeout (serverless.yml says 10 s), so that "paused
 * for twice its timeout" takes 4 s; it is started on free ports and stopped in `after`, also when a test fails.
 */
import { expect } from 'chai';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InvokeCommand, type InvokeCommandOutput } from '@aws-sdk/client-lambda';
import type { EnvironmentView } from '../../offline/environments/environment-types';
import { BundleMap, type CallFrame, InspectorClient } from '../../support/inspector';
import { freePort, OfflineStack } from '../../support/offline-stack';
import { copyProject, type ProjectCopy } from '../../support/project-copy';
import { waitFor } from '../../support/wait';

const HELLO = 'lambda-notes-dev-hello';
const TIMEOUT_SECONDS = 2;
/** The line of handlers/hello.ts the breakpoint goes on: the first one after the logger takes the context. */
const BREAK_AT = 'const input = classifyHelloEvent(event);';

/** Resolves once `ms` have passed: the time a paused run is held is what these tests are about. */
async function holdPaused(ms: number): Promise<void> {
  const until = Date.now() + ms;
  await waitFor(`${ms} ms of pause`, () => Date.now() >= until, { timeoutMs: ms + 5_000, intervalMs: 100 });
}

describe('debugging a function offline (LAMBDA_DEBUG)', function () {
  this.timeout(120_000);
  let project: ProjectCopy;
  let stack: OfflineStack;
  let debugPort: number;
  let inspector: InspectorClient | undefined;
  let bundle: BundleMap;
  let breakLine: number;

  before(async () => {
    project = await copyProject();
    const config = join(project.dir, 'serverless.yml');
    const yaml = await readFile(config, 'utf8');
    const shorter = yaml.replace(/^( {4}timeout:) 10$/m, `$1 ${TIMEOUT_SECONDS}`);
    if (shorter === yaml) throw new Error('serverless.yml has no hello timeout of 10 s to shorten');
    await writeFile(config, shorter);
    const source = await readFile(join(project.dir, 'handlers', 'hello.ts'), 'utf8');
    breakLine = source.split('\n').findIndex((line) => line.includes(BREAK_AT)) + 1;
    debugPort = await freePort();
    stack = await OfflineStack.start({
      projectDir: project.dir,
      params: { scheduleEnabled: 'false' },
      env: { LAMBDA_DEBUG: 'hello', LAMBDA_DEBUG_PORT: String(debugPort) },
    });
    bundle = await BundleMap.read(
      join(project.dir, `.esbuild-test-${stack.ports.http}`, '.build', 'handlers', 'hello.js'),
    );
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.log(stack?.tail(60));
    inspector?.close();
    inspector = undefined;
  });

  after(async () => {
    await stack?.stop();
    await project?.remove();
  });

  async function environments(): Promise<EnvironmentView[]> {
    const response = await fetch(`http://localhost:${stack.ports.metrics}/api/environments`);
    return ((await response.json()) as { environments: EnvironmentView[] }).environments;
  }

  async function liveHello(): Promise<EnvironmentView> {
    return waitFor('a live hello environment', async () =>
      (await environments()).find((view) => view.functionKey === 'hello' && view.state !== 'ended'),
    );
  }

  /** Attaches, and sets the breakpoint on BREAK_AT in handlers/hello.ts by the bundle's generated position. */
  async function attachWithBreakpoint(): Promise<InspectorClient> {
    const client = await InspectorClient.connect(debugPort);
    inspector = client;
    await client.send('Debugger.enable');
    const at = bundle.generatedOf('handlers/hello.ts', breakLine);
    await client.send('Debugger.setBreakpointByUrl', {
      urlRegex: 'handlers/hello\\.js$',
      lineNumber: at.line,
      columnNumber: at.column,
    });
    return client;
  }

  function topOf(frames: readonly CallFrame[]): { source: string; line: number } | undefined {
    const top = frames[0];
    return top && bundle.originalOf({ line: top.location.lineNumber, column: top.location.columnNumber });
  }

  function invokeHello(): Promise<InvokeCommandOutput> {
    return stack.lambdaClient().send(
      new InvokeCommand({
        FunctionName: HELLO,
        Payload: Buffer.from(JSON.stringify({ key1: 'value1', key2: 'value2', key3: 'value3' })),
      }),
    );
  }

  const startsOfHello = (): number => (stack.output.match(/^START RequestId: /gm) ?? []).length;

  it('starts the environment with the stack, its inspector on the port given, and says so', async () => {
    const view = await liveHello();
    expect(view.debugPort).to.equal(debugPort);
    expect(view.runs).to.equal(0);
    expect(stack.output).to.match(
      new RegExp(
        `λ hello: debugger on 127\\.0\\.0\\.1:${debugPort} .*timeout \\(${TIMEOUT_SECONDS} s\\) is suspended for debugging`,
      ),
    );
    expect(stack.output.match(/is suspended for debugging/g)).to.have.length(1);
    const client = await InspectorClient.connect(debugPort);
    inspector = client;
    expect(
      await client.send('Runtime.evaluate', {
        expression: 'process.env.AWS_LAMBDA_FUNCTION_NAME',
        returnByValue: true,
      }),
    ).to.have.nested.property('result.value', HELLO);
  });

  it('stops at a breakpoint in handlers/hello.ts, waits twice the timeout, and answers with the real result', async () => {
    const before = await liveHello();
    const client = await attachWithBreakpoint();
    const answer = invokeHello();
    const paused = await client.paused();
    expect(topOf(paused.callFrames)).to.deep.include({ line: breakLine });
    expect(topOf(paused.callFrames)?.source).to.match(/handlers\/hello\.ts$/);
    await holdPaused(2 * TIMEOUT_SECONDS * 1000);
    const remaining = await remainingTime(client, paused.callFrames[0]);
    expect(remaining).to.be.above(0);
    await client.send('Debugger.resume');
    const output = await answer;
    expect(output.FunctionError).to.equal(undefined);
    expect(JSON.parse(Buffer.from(output.Payload ?? []).toString())).to.equal('value1');
    const after = await liveHello();
    expect(after.id).to.equal(before.id);
    expect(after.pid).to.equal(before.pid);
    expect(after.resets).to.equal(0);
    expect(stack.output).not.to.contain('Task timed out');
  });

  it('runs one event at a time: a run that comes while one is paused waits for it', async () => {
    const client = await attachWithBreakpoint();
    const starts = startsOfHello();
    const first = invokeHello();
    await client.paused();
    const second = invokeHello();
    await holdPaused(500);
    expect(startsOfHello()).to.equal(starts + 1);
    await client.send('Debugger.resume');
    await client.paused(2);
    await waitFor('the second START', () => startsOfHello() === starts + 2);
    await client.send('Debugger.resume');
    expect((await first).FunctionError).to.equal(undefined);
    expect((await second).FunctionError).to.equal(undefined);
  });

  it('runs an async event paused past its timeout once: no retry meanwhile', async () => {
    const client = await attachWithBreakpoint();
    const starts = startsOfHello();
    const accepted = await stack.invokeAsync(HELLO, { key1: 'async' });
    expect(accepted.StatusCode).to.equal(202);
    await client.paused();
    await holdPaused(2 * TIMEOUT_SECONDS * 1000);
    await client.send('Debugger.resume');
    await waitFor('the queue to be empty', async () => (await stack.pendingEvents()) === 0);
    expect(startsOfHello()).to.equal(starts + 1);
    expect(client.pausedCount()).to.equal(1);
  });

  it('lets a code change wait for the paused run, then starts the new code on the same port', async () => {
    const before = await liveHello();
    const client = await attachWithBreakpoint();
    const answer = invokeHello();
    await client.paused();
    const handler = join(project.dir, 'handlers', 'hello.ts');
    await writeFile(handler, `${await readFile(handler, 'utf8')}\n// changed while paused\n`);
    await stack.waitForOutput(/code changed/, 20_000);
    await holdPaused(500);
    const during = await liveHello();
    expect(during.id).to.equal(before.id);
    expect(during.state).to.equal('busy');
    await client.send('Debugger.resume');
    expect((await answer).FunctionError).to.equal(undefined);
    const next = await waitFor('the next environment of hello', async () => {
      const view = await liveHello();
      return view.id !== before.id && view;
    });
    expect(next.debugPort).to.equal(debugPort);
    const again = await InspectorClient.connect(debugPort);
    again.close();
  });
});

/** context.getRemainingTimeInMillis() of the paused handler (its names are minified: found by its shape). */
async function remainingTime(client: InspectorClient, frame: CallFrame | undefined): Promise<number> {
  const local = frame?.scopeChain.find((scope) => scope.type === 'local')?.object.objectId;
  if (local === undefined) throw new Error('the paused frame has no local scope');
  const { result } = await client.send<{ result: { name: string; value?: { objectId?: string } }[] }>(
    'Runtime.getProperties',
    { objectId: local, ownProperties: true },
  );
  for (const property of result) {
    const objectId = property.value?.objectId;
    if (objectId === undefined) continue;
    const answer = await client.send<{ result: { value?: unknown } }>('Runtime.callFunctionOn', {
      objectId,
      functionDeclaration:
        'function () { return typeof this.getRemainingTimeInMillis === "function" ? this.getRemainingTimeInMillis() : null; }',
      returnByValue: true,
    });
    if (typeof answer.result.value === 'number') return answer.result.value;
  }
  throw new Error("no context among the paused handler's locals");
}
