/**
 * Parity of the offline execution environments with answers recorded against AWS (test/parity/recorded/
 * lambda-environments.json): timeouts, runtimes that exit, memory exhaustion, REPORT's fields, warm module scope
 * and /tmp before and after a timeout. The functions are those of test/fixtures/runtime, run as the offline stack
 * runs hello and s3Upload: environments behind the project's Invoke API server, called over HTTP as the SDKs do.
 */
import { expect } from 'chai';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FunctionSpec } from '../../offline/environments/environment-types';
import { type InProcessLambda, startInProcessLambda } from '../../support/in-process-lambda';
import { BOOTSTRAP, fixtureSpec } from '../helpers/runtime-fixtures';
import { botocoreView, expectParity, loadRecorded, recordedCase } from './shape';

const recordings = loadRecorded('lambda-environments.json');

const FUNCTIONS: FunctionSpec[] = [
  fixtureSpec('handlers.sleep', { key: 'sleeper', name: 'parity-sleeper', timeoutSeconds: 1 }),
  // Its first run times out on a cold start, as the recorded REPORT's did (it has an Init Duration).
  fixtureSpec('handlers.sleep', { key: 'cold-sleeper', name: 'parity-cold-sleeper', timeoutSeconds: 1 }),
  fixtureSpec('handlers.exit', { key: 'exiter', name: 'parity-exiter' }),
  fixtureSpec('handlers.large', { key: 'large', name: 'parity-large' }),
  fixtureSpec('handlers.allocate', { key: 'allocator', name: 'parity-allocator', memorySizeMb: 128 }),
  fixtureSpec('handlers.echo', { key: 'counter', name: 'parity-counter' }),
  fixtureSpec('handlers.timeoutEnvironment', {
    key: 'reuse',
    name: 'parity-reuse',
    timeoutSeconds: 1,
  }),
];

describe('parity: execution environments against recorded AWS answers', function () {
  this.timeout(60_000);
  let tmpRoot: string;
  let lambda: InProcessLambda | undefined;
  let port: number;

  before(async () => {
    tmpRoot = await mkdtemp(join(tmpdir(), 'lambda-notes-parity-'));
    lambda = await startInProcessLambda(
      FUNCTIONS.map((spec) => ({
        ...spec,
        arn: `arn:aws:lambda:ap-northeast-1:000000000000:function:${spec.name}`,
      })),
      { tmpRoot, bootstrap: BOOTSTRAP },
    );
    port = lambda.port;
  });

  after(async () => {
    await lambda?.stop();
    await rm(tmpRoot, { recursive: true, force: true });
  });

  async function invoke(name: string, event: unknown, tail = false) {
    const response = await fetch(`http://127.0.0.1:${port}/2015-03-31/functions/${name}/invocations`, {
      method: 'POST',
      headers: tail ? { 'X-Amz-Log-Type': 'Tail' } : {},
      body: JSON.stringify(event),
    });
    const answer = { status: response.status, headers: response.headers, text: await response.text() };
    const view = botocoreView(answer);
    const log =
      view.LogResult === undefined ? '' : Buffer.from(String(view.LogResult), 'base64').toString('utf8');
    return {
      view,
      requestId: response.headers.get('x-amzn-RequestId'),
      lines: log.split('\n').filter(Boolean),
    };
  }

  it('a run past its timeout: Sandbox.Timedout naming the configured timeout (test_lambda_invoke_with_timeout)', async () => {
    const { view, requestId } = await invoke('parity-sleeper', { ms: 3000 });
    expectParity(recordedCase(recordings, 'timeout'), view);
    expect(JSON.stringify(view.Payload)).to.contain(String(requestId));
  });

  it("a cold start's timeout in its log: the line before END and REPORT's Status: timeout (telemetry schema)", async () => {
    const { lines } = await invoke('parity-cold-sleeper', { ms: 3000 }, true);
    const report = lines.find((line) => line.startsWith('REPORT'));
    const timedOut = lines.find((line) => line.includes('Task timed out after'));
    expectParity(recordedCase(recordings, 'timeout-report'), { timedOut, report });
    expect(lines.indexOf(timedOut ?? '')).to.equal(lines.findIndex((line) => line.startsWith('END')) - 1);
  });

  it('a runtime that exits with status 0 during a run: "Runtime exited without providing a reason" (test_lambda_handler_exit)', async () => {
    expectParity(recordedCase(recordings, 'handler-exit'), (await invoke('parity-exiter', { code: 0 })).view);
  });

  it('a runtime that exits with status 127: "Runtime exited with error: exit status 127" (test_lambda_runtime_wrapper_not_found)', async () => {
    expectParity(
      recordedCase(recordings, 'exit-status'),
      (await invoke('parity-exiter', { code: 127 })).view,
    );
  });

  it('a result over 6,291,556 bytes: Function.ResponseSizeTooLarge (test_lambda_too_large_response)', async () => {
    expectParity(recordedCase(recordings, 'too-large-response'), (await invoke('parity-large', {})).view);
  });

  it('memory past the memory size: signal: killed, and REPORT Status error, Error Type Runtime.OutOfMemory (AWS answers quoted)', async () => {
    const { view, lines } = await invoke('parity-allocator', { mb: 400 }, true);
    const report = lines.find((line) => line.startsWith('REPORT'));
    const after = lines.slice(lines.indexOf(report ?? '') + 1);
    expectParity(recordedCase(recordings, 'out-of-memory'), {
      FunctionError: view.FunctionError,
      Payload: view.Payload,
      report,
      after,
    });
  });

  it('a warm environment keeps module scope: the second run counts on (test_lambda_cache_local[nodejs])', async () => {
    const first = (await invoke('parity-counter', {})).view.Payload as { runs: number };
    const second = (await invoke('parity-counter', {})).view.Payload as { runs: number };
    expectParity(recordedCase(recordings, 'warm-module-scope'), {
      first: { counter: first.runs - 1 },
      second: { counter: second.runs - 1 },
    });
  });

  it('/tmp and module scope before and after a timeout: /tmp kept, module scope new (test_lambda_invoke_timed_out_environment_reuse)', async () => {
    const payload = async (event: unknown): Promise<unknown> =>
      (await invoke('parity-reuse', event)).view.Payload;
    const offline = {
      'invoke-result-file-write': await payload({ 'write-file': 'some-content' }),
      'invoke-result-file-read': await payload({ 'read-file': true }),
      'invoke-result-set-number': await payload({ 'set-number': 42 }),
      'invoke-result-read-number': await payload({ 'read-number': true }),
      'invoke-result-timed-out': (await invoke('parity-reuse', { sleep: 2 })).view.FunctionError,
      'invoke-result-file-read-after-timeout': await payload({ 'read-file': true }),
      'invoke-result-read-number-after-timeout': await payload({ 'read-number': true }),
    };
    // botocore hands a function's `null` result over as the text "null".
    for (const [key, value] of Object.entries(offline))
      if (value === null) Object.assign(offline, { [key]: 'null' });
    expectParity(recordedCase(recordings, 'timeout-environment-reuse'), offline);
  });
});
