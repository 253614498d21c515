/**
 * A failed build on a real offline stack: while the last build of hello failed (a syntax error saved in
 * handlers/hello.ts), each run of it fails with esbuild's first error — not with the code of an earlier build — the
 * console shows the error and the terminal repeats it once a run; the next good build runs again; and saves made
 * during a build are built after it, never lost. The stack runs a
 * copy of the project (the tracked handler is never edited), on free ports, stopped in `after` also on failure.
 */
import { expect } from 'chai';
import { readFile, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InvokeCommand } from '@aws-sdk/client-lambda';
import type { EnvironmentsView } from '../../offline/console/contract';
import { OfflineStack } from '../../support/offline-stack';
import { copyProject, type ProjectCopy } from '../../support/project-copy';
import { waitFor } from '../../support/wait';

const HELLO = 'lambda-notes-dev-hello';
const GOOD_LINE = '  logger.addContext(context);';
const BROKEN_LINE = '  logger.addContext(context) +;';

describe('a failed build offline', function () {
  this.timeout(120_000);
  let project: ProjectCopy;
  let stack: OfflineStack;
  let handler: string;
  let original: string;
  let brokenLine: number;

  before(async () => {
    project = await copyProject();
    handler = join(project.dir, 'handlers', 'hello.ts');
    original = await readFile(handler, 'utf8');
    brokenLine = original.split('\n').indexOf(GOOD_LINE) + 1;
    if (brokenLine === 0) throw new Error(`handlers/hello.ts has no line "${GOOD_LINE}" to break`);
    stack = await OfflineStack.start({ projectDir: project.dir, params: { scheduleEnabled: 'false' } });
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.log(stack?.tail(60));
  });

  after(async () => {
    await stack?.stop();
    await project?.remove();
  });

  async function view(): Promise<EnvironmentsView> {
    const response = await fetch(`http://localhost:${stack.ports.metrics}/api/environments`);
    return (await response.json()) as EnvironmentsView;
  }

  async function invokeHello(): Promise<{ functionError: string | undefined; payload: unknown }> {
    const output = await stack
      .lambdaClient()
      .send(
        new InvokeCommand({ FunctionName: HELLO, Payload: Buffer.from(JSON.stringify({ key1: 'value1' })) }),
      );
    return {
      functionError: output.FunctionError,
      payload: JSON.parse(Buffer.from(output.Payload ?? []).toString()) as unknown,
    };
  }

  it('builds a save written in two steps, truncated then written 20 ms later (an editor may save so)', async () => {
    await truncate(handler);
    const at = Date.now() + 20;
    await waitFor('the write 20 ms after the truncation', () => Date.now() >= at, { intervalMs: 2 });
    await writeFile(handler, original.replace('return input.event.key1;', 'return `saved in two steps`;'));
    await waitFor(
      'the saved code to run',
      async () => (await invokeHello()).payload === 'saved in two steps',
      { timeoutMs: 20_000, intervalMs: 50 },
    );
    await writeFile(handler, original);
    await waitFor('the original code to run again', async () => (await invokeHello()).payload === 'value1', {
      timeoutMs: 20_000,
      intervalMs: 50,
    });
  });

  it("fails each run with esbuild's first error while the build is broken, and runs the new code once fixed", async () => {
    expect(await invokeHello()).to.deep.equal({ functionError: undefined, payload: 'value1' });

    await writeFile(handler, original.replace(GOOD_LINE, BROKEN_LINE));
    const shown = await waitFor(
      'the build failure in the console',
      async () => (await view()).buildFailures.find((failure) => failure.functionKey === 'hello'),
      { timeoutMs: 20_000 },
    );
    const where = `handlers/hello.ts:${brokenLine}:${BROKEN_LINE.indexOf(';')}: Unexpected ";"`;
    expect(shown.error).to.equal(where);
    expect((await view()).buildFailures.map((failure) => failure.functionKey)).to.deep.equal(['hello']);

    const linesBefore = (stack.output.match(/λ hello: not run, its last build failed: /g) ?? []).length;
    for (let run = 0; run < 2; run += 1) {
      const failed = await invokeHello();
      expect(failed.functionError).to.equal('Unhandled');
      expect(failed.payload).to.deep.include({ errorType: 'Runtime.UserCodeSyntaxError' });
      expect((failed.payload as { errorMessage: string }).errorMessage).to.contain(where);
    }
    await waitFor(
      'one terminal line a failed run',
      () =>
        (
          stack.output.match(
            /λ hello: not run, its last build failed: handlers\/hello\.ts:\d+:\d+: Unexpected ";"\n/g,
          ) ?? []
        ).length ===
        linesBefore + 2,
    );

    await writeFile(
      handler,
      original.replace('return input.event.key1;', 'return `fixed ${input.event.key1}`;'),
    );
    await waitFor('the build failure to clear', async () => (await view()).buildFailures.length === 0, {
      timeoutMs: 20_000,
    });
    expect(await invokeHello()).to.deep.equal({ functionError: undefined, payload: 'fixed value1' });
  });
});
