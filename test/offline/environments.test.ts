/**
 * The execution environments of a real offline stack (sls offline): each run's REPORT tells its own
 * environment's memory, idle environments end, and environments killed in the middle of runs lose nothing that S3
 * acknowledged while the other functions go on answering. The stack is started on free ports and stopped in
 * `after`, also when a test fails.
 */
import { expect } from 'chai';
import { InvokeCommand } from '@aws-sdk/client-lambda';
import type { EnvironmentView } from '../../offline/environments/environment-types';
import { deadLetters, recordKey } from '../../support/dead-letters';
import { OfflineStack } from '../../support/offline-stack';
import { waitFor } from '../../support/wait';

const HELLO = 'lambda-notes-dev-hello';
const TIME_SCALE = 0.001;
/** LAMBDA_IDLE_SECONDS for 2 s of this stack's time. */
const IDLE_SECONDS = 2 / TIME_SCALE;

describe('offline execution environments (sls offline)', function () {
  this.timeout(180_000);
  let stack: OfflineStack;

  before(async () => {
    // 6 h scaled: 21.6 s, so that an event whose run was killed is retried rather than aged out on a busy machine.
    stack = await OfflineStack.start({
      timeScale: TIME_SCALE,
      idleSeconds: IDLE_SECONDS,
      params: { maximumEventAge: '21600' },
    });
  });

  after(async function () {
    if (this.currentTest?.state === 'failed') console.log(stack?.tail());
    await stack?.stop();
  });

  async function environments(): Promise<EnvironmentView[]> {
    const response = await fetch(`http://localhost:${stack.ports.metrics}/api/environments`);
    return ((await response.json()) as { environments: EnvironmentView[] }).environments;
  }

  it("reports in REPORT the Max Memory Used of the run's own environment, within its Memory Size", async () => {
    const output = await stack
      .lambdaClient()
      .send(
        new InvokeCommand({ FunctionName: HELLO, LogType: 'Tail', Payload: Buffer.from('{"key1":"m"}') }),
      );
    const log = Buffer.from(output.LogResult ?? '', 'base64').toString('utf8');
    const used = Number(/\tMax Memory Used: (\d+) MB\t/.exec(log)?.[1]);
    expect(used, log).to.be.within(20, 128);
    const [environment] = (await environments()).filter((view) => view.functionKey === 'hello');
    expect(environment?.maxMemoryUsedMb).to.be.within(20, 128);
    expect(log).to.contain('\tMemory Size: 128 MB\t');
  });

  it('ends an environment left idle for LAMBDA_IDLE_SECONDS × the time scale, and says so in the log', async () => {
    const answer = await fetch(`http://localhost:${stack.ports.http}/hello?key1=idle`);
    expect(answer.status).to.equal(200);
    const [started] = (await environments()).filter(
      (view) => view.functionKey === 'hello' && view.state !== 'ended',
    );
    expect(started).to.not.equal(undefined);
    const ended = await waitFor(
      'the idle environment to end',
      async () => (await environments()).find((view) => view.id === started?.id && view.state === 'ended'),
      { timeoutMs: 15_000, intervalMs: 100 },
    );
    expect(ended.endReason).to.equal('idle for 2 s');
    await stack.waitForOutput(new RegExp(`λ hello: environment .+\\]${started?.id} ended: idle for 2 s`));
  });

  it('loses no acknowledged upload when its environments are killed mid-run, and hello keeps answering meanwhile', async () => {
    const keys = Array.from({ length: 60 }, (_, index) => `targets/env-chaos/${index}.txt`);
    const body = 'x'.repeat(512 * 1024);
    let killed = 0;
    let helloAnswers = 0;
    let stopping = false;
    // Kills every s3Upload runtime caught in a run, as often as the console's API answers.
    const killer = (async () => {
      while (!stopping) {
        for (const view of await environments()) {
          if (view.functionKey !== 's3Upload' || view.state !== 'busy' || view.pid === undefined) continue;
          try {
            process.kill(view.pid, 'SIGKILL');
            killed += 1;
          } catch {
            // it ended on its own meanwhile
          }
        }
        const hello = await fetch(`http://localhost:${stack.ports.http}/hello?key1=alive`);
        if (hello.status === 200) helloAnswers += 1;
      }
    })();
    const acknowledged: string[] = [];
    try {
      let next = 0;
      await Promise.all(
        Array.from({ length: 6 }, async () => {
          while (next < keys.length) {
            const key = keys[next++] as string;
            await stack.putText(key, body);
            acknowledged.push(key);
          }
        }),
      );
      await waitFor('a run killed in the middle', () => killed > 0, { timeoutMs: 30_000 });
    } finally {
      stopping = true;
      await killer;
    }
    const outcome = await waitFor(
      'every acknowledged upload processed or in the DLQ',
      async () => {
        const processed = new Set(
          stack
            .logLines()
            .filter((line) => line.message === 'object processed')
            .map((line) => line.key),
        );
        const inDlq = new Set((await deadLetters(stack.stateDir)).map(recordKey));
        const missing = acknowledged.filter((key) => !processed.has(key) && !inDlq.has(key));
        return missing.length === 0 && (await stack.pendingEvents()) === 0 ? { processed, inDlq } : undefined;
      },
      { timeoutMs: 90_000, intervalMs: 250 },
    );
    expect(acknowledged).to.have.length(keys.length);
    // Each killed run is this test's (no other case kills): its event ends processed or in the DLQ, under its id.
    const killedRuns = [
      ...stack.output.matchAll(
        /λ s3Upload (\S+): attempt \d of 3 failed \(Runtime\.ExitError: RequestId: \S+ Error: Runtime exited with error: signal: killed\)/g,
      ),
    ].map((match) => match[1] ?? '');
    expect(killedRuns, stack.tail()).to.not.deep.equal([]);
    const processedIds = new Set(
      stack
        .logLines()
        .filter((line) => line.message === 'object processed' && keys.includes(String(line.key)))
        .map((line) => line.function_request_id),
    );
    const deadLetteredIds = new Set(
      (await deadLetters(stack.stateDir))
        .filter((record) => keys.includes(String(recordKey(record))))
        .map((record) => record.requestContext.requestId),
    );
    for (const requestId of killedRuns) {
      expect(
        processedIds.has(requestId) || deadLetteredIds.has(requestId),
        `the killed run ${requestId}: processed or in the DLQ`,
      ).to.equal(true);
    }
    expect(keys.filter((key) => !outcome.processed.has(key) && !outcome.inDlq.has(key))).to.deep.equal([]);
    expect(helloAnswers).to.be.greaterThan(0);
    expect(stack.child.exitCode).to.equal(null);
  });
});
