/**
 * Load past what the machine runs at once, and bad input under it: a burst past LAMBDA_MAX_ENVIRONMENTS waits for
 * environments (none started past the bound, all answered, the log saying runs wait for the machine, not
 * throttled); a client holding 5,000 connections open; a handler that hangs every environment at once (a wait,
 * then Lambda's timeout, never a crash, the acknowledged upload processed); a burst while the stack stops (every acknowledged
 * event processed after the restart). Each stack is started on free ports and stopped in `after`, also on failure.
 */
import { expect } from 'chai';
import { connect, type Socket } from 'node:net';
import { Agent, request } from 'node:http';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { EnvironmentView } from '../../offline/environments/environment-types';
import type { MachineBoundView } from '../../offline/environments/machine-bound';
import { OfflineStack } from '../../support/offline-stack';
import { copyProject, type ProjectCopy } from '../../support/project-copy';
import { waitFor } from '../../support/wait';

const HELLO = 'lambda-notes-dev-hello';
/** The bound these stacks run with: small, so that a few calls are past it. */
const MAX_ENVIRONMENTS = 2;

/** A sync Invoke of hello over a connection of its own: the HTTP status, or the socket's error code. */
function invokeHello(stack: OfflineStack, agent: Agent, key1 = 'load'): Promise<number | string> {
  return new Promise((resolve) => {
    const call = request(
      {
        host: '127.0.0.1',
        port: stack.ports.lambda,
        method: 'POST',
        path: `/2015-03-31/functions/${HELLO}/invocations`,
        agent,
      },
      (response) => {
        response.resume();
        response.on('end', () => resolve(response.statusCode ?? 0));
      },
    );
    call.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    call.end(JSON.stringify({ key1 }));
  });
}

async function environments(stack: OfflineStack): Promise<{
  machine: MachineBoundView | null;
  environments: EnvironmentView[];
}> {
  const response = await fetch(`http://127.0.0.1:${stack.ports.metrics}/api/environments`);
  return (await response.json()) as { machine: MachineBoundView | null; environments: EnvironmentView[] };
}

function counts(values: ReadonlyArray<number | string>): Record<string, number> {
  const counted: Record<string, number> = {};
  for (const value of values) counted[String(value)] = (counted[String(value)] ?? 0) + 1;
  return counted;
}

const coldStarts = (stack: OfflineStack, functionKey: string): number =>
  stack.output
    .split('\n')
    .filter((line) => line.includes(`λ ${functionKey}: environment`) && line.includes('cold start')).length;

describe('load past the machine bound', function () {
  this.timeout(180_000);
  let stack: OfflineStack;
  let copy: ProjectCopy | undefined;
  const agent = new Agent({ keepAlive: false, maxSockets: Infinity });

  before(async () => {
    // A copy of the project whose hello hangs for an event whose key1 starts with "hang" (a handler that never
    // answers, as a stuck downstream call makes it); the checkout's own handler stays untouched.
    copy = await copyProject();
    const handler = join(copy.dir, 'handlers', 'hello.ts');
    const source = await readFile(handler, 'utf8');
    const testEvent = "    case 'test-event':\n";
    if (!source.includes(testEvent)) throw new Error(`handlers/hello.ts has no "${testEvent.trim()}" case`);
    await writeFile(
      handler,
      source.replace(
        testEvent,
        `${testEvent}      if (input.event.key1.startsWith('hang')) await new Promise((end) => setTimeout(end, 3_600_000));\n`,
      ),
    );
    stack = await OfflineStack.start({
      projectDir: copy.dir,
      env: { LAMBDA_MAX_ENVIRONMENTS: String(MAX_ENVIRONMENTS) },
      params: { scheduleEnabled: 'false', maximumEventAge: '21600' },
    });
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.error(stack.tail(60));
  });

  after(async () => {
    agent.destroy();
    await stack?.stop();
    await copy?.remove();
  });

  it('answers 200 calls at once, starting no environment past the bound, saying they wait (not throttled)', async () => {
    const answers = await Promise.all(Array.from({ length: 200 }, () => invokeHello(stack, agent)));
    expect(counts(answers)).to.deep.equal({ 200: 200 });
    expect(coldStarts(stack, 'hello')).to.be.at.most(MAX_ENVIRONMENTS);
    expect(stack.output).to.match(/runs are waiting for the machine, not throttled: 2 environments alive/);
    expect(stack.output).not.to.match(/TooManyRequests|throttled \(/);
    const { machine } = await environments(stack);
    expect(machine).to.include({ maxEnvironments: MAX_ENVIRONMENTS, waiting: 0 });
  });

  it('keeps answering while a client holds 5,000 connections open, and after they close', async () => {
    const sockets: Socket[] = [];
    try {
      for (const port of [stack.ports.lambda, stack.ports.http]) {
        const opened = await Promise.all(
          Array.from(
            { length: 2_500 },
            () =>
              new Promise<Socket>((resolve, reject) => {
                const socket = connect(port, '127.0.0.1', () => resolve(socket));
                socket.on('error', reject);
              }),
          ),
        );
        sockets.push(...opened);
      }
      expect(sockets).to.have.length(5_000);
      expect(await invokeHello(stack, agent, 'crowded')).to.equal(200);
      expect((await fetch(`http://127.0.0.1:${stack.ports.http}/hello?key1=crowded`)).status).to.equal(200);
    } finally {
      for (const socket of sockets) socket.destroy();
    }
    expect(await invokeHello(stack, agent, 'after')).to.equal(200);
    expect(stack.child.exitCode).to.equal(null);
  });

  it('waits when a handler hangs every environment: the hung runs time out, the others and an upload then run', async function () {
    // hello's timeout is 10 s: the hung runs end at it, and what waited behind them runs then.
    this.timeout(90_000);
    const hung = Array.from({ length: MAX_ENVIRONMENTS }, (_, index) =>
      invokeHello(stack, agent, `hang-${index}`),
    );
    await waitFor('every environment busy with a hung run', async () => {
      const busy = (await environments(stack)).environments.filter((view) => view.state === 'busy');
      return busy.length === MAX_ENVIRONMENTS;
    });
    const behind = Array.from({ length: 4 }, (_, index) => invokeHello(stack, agent, `behind-${index}`));
    const calls = [...hung, ...behind];
    const key = `targets/machine-load/behind hung environments.txt`;
    await stack.putText(key, 'acknowledged while every environment hangs');
    const waiting = await waitFor('runs waiting for the machine', async () => {
      const { machine } = await environments(stack);
      return machine !== null && machine.waiting > 0 ? machine : undefined;
    });
    expect(waiting.alive).to.equal(MAX_ENVIRONMENTS);
    // The stack answers meanwhile: the Invoke API refuses a bad call at once, the console answers.
    const bad = await fetch(`http://127.0.0.1:${stack.ports.lambda}/2015-03-31/functions/nope/invocations`, {
      method: 'POST',
      body: '{}',
    });
    expect(bad.status).to.equal(404);
    const answers = await Promise.all(calls);
    expect(counts(answers)).to.deep.equal({ 200: MAX_ENVIRONMENTS + 4 });
    // The hung runs, and only they, ended at the timeout (REPORT … Status: timeout), in the 10 s Lambda gives them.
    expect(stack.output.match(/^REPORT .*\tStatus: timeout\t/gm)?.length).to.equal(MAX_ENVIRONMENTS);
    await stack.waitForOutput(/"message":"object processed".*behind hung environments/, 30_000);
  });
});

describe('a burst while the stack stops', function () {
  this.timeout(180_000);
  let first: OfflineStack | undefined;
  let second: OfflineStack | undefined;

  afterEach(function () {
    if (this.currentTest?.state === 'failed')
      console.error(`${first?.tail() ?? ''}\n${second?.tail() ?? ''}`);
  });

  after(async () => {
    await second?.stop();
    await first?.stop({ keepState: true });
    if (first) await rm(first.stateDir, { recursive: true, force: true });
  });

  it('processes every acknowledged upload after the restart; the rest were refused, none lost', async () => {
    const options = {
      env: { LAMBDA_MAX_ENVIRONMENTS: String(MAX_ENVIRONMENTS) },
      params: { scheduleEnabled: 'false', maximumEventAge: '21600' },
      timeScale: 0.01,
    };
    first = await OfflineStack.start(options);
    const stack = first;
    const s3 = stack.s3Client();
    const acknowledged: string[] = [];
    let refused = 0;
    let next = 0;
    const keys = Array.from({ length: 300 }, (_, index) => `targets/stop-burst/${index}.txt`);
    const uploaders = Array.from({ length: 16 }, async () => {
      while (next < keys.length) {
        const key = keys[next++] as string;
        try {
          await stack.putText(key, `uploaded while stopping ${key}`);
          acknowledged.push(key);
        } catch {
          refused += 1;
        }
      }
    });
    await waitFor('a few uploads acknowledged', () => acknowledged.length >= 30);
    const stopping = stack.stop({ keepState: true });
    await Promise.all(uploaders);
    await stopping;
    s3.destroy();
    expect(acknowledged.length + refused).to.equal(keys.length);

    second = await OfflineStack.start({ ...options, stateDir: stack.stateDir, ports: stack.ports });
    const restarted = second;
    await waitFor(
      'every acknowledged upload processed',
      () => {
        const processed = new Set(
          [...stack.logLines(), ...restarted.logLines()]
            .filter((line) => line.message === 'object processed')
            .map((line) => String(line.key)),
        );
        return acknowledged.every((key) => processed.has(key));
      },
      { timeoutMs: 90_000, intervalMs: 250 },
    );
  });
});
