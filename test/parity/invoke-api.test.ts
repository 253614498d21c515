/**
 * Parity of the offline Lambda Invoke API with answers recorded against AWS (test/parity/recorded). One offline
 * stack; each case calls the Lambda port over HTTP as the SDKs do and turns the answer into botocore's view (the
 * form LocalStack's snapshots keep), then compares field by field.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { OfflineStack, PROJECT_DIR } from '../../support/offline-stack';
import { type Answer, botocoreView, expectParity, loadRecorded, recordedCase } from './shape';

const HELLO = 'lambda-notes-dev-hello';
const HELLO_EVENT = readFileSync(join(PROJECT_DIR, 'events', 'hello.json'), 'utf8');
const recordings = loadRecorded('lambda-invoke.json');
const docs = loadRecorded('lambda-invoke-docs.json');

describe('parity: Lambda Invoke API against recorded AWS answers', function () {
  this.timeout(60_000);
  let stack: OfflineStack;

  async function invoke(
    functionName: string,
    options: { type?: string; logType?: string; body?: Buffer | string; query?: string } = {},
  ): Promise<Answer> {
    const headers: Record<string, string> = {};
    if (options.type) headers['X-Amz-Invocation-Type'] = options.type;
    if (options.logType) headers['X-Amz-Log-Type'] = options.logType;
    const response = await fetch(
      `http://localhost:${stack.ports.lambda}/2015-03-31/functions/${encodeURIComponent(functionName)}/invocations${options.query ?? ''}`,
      { method: 'POST', headers, body: options.body ?? HELLO_EVENT },
    );
    return { status: response.status, headers: response.headers, text: await response.text() };
  }

  before(async () => {
    // s3Upload at reserved concurrency 0: every call to it is throttled, hello runs normally.
    stack = await OfflineStack.start({ params: { s3UploadReservedConcurrency: '0' } });
  });

  after(async () => {
    await stack?.stop();
  });

  it('LogType Tail on a cold start: LogResult, START … END, REPORT with Init Duration', async () => {
    const answer = await invoke(HELLO, { logType: 'Tail' });
    const view = botocoreView(answer);
    const tail = recordedCase(recordings, 'log-type-tail');
    expectParity(tail, view, { ...(tail.recorded as object), Payload: 'value1' });
    const log = Buffer.from(String(view.LogResult), 'base64').toString('utf8');
    const lines = log.split(/(?<=\n)/);
    const cold = recordedCase(recordings, 'log-lines-cold');
    expectParity(cold, { first: lines[0], last: lines.slice(-2) });
    expect(lines[0]).to.contain(answer.headers.get('x-amzn-RequestId'));
  });

  it('a warm run: REPORT without Init Duration', async () => {
    const view = botocoreView(await invoke(HELLO, { logType: 'Tail' }));
    const lines = Buffer.from(String(view.LogResult), 'base64')
      .toString('utf8')
      .split(/(?<=\n)/);
    expectParity(recordedCase(recordings, 'log-lines-warm'), { first: lines[0], last: lines.slice(-2) });
  });

  it('RequestResponse: ExecutedVersion, Payload, StatusCode 200', async () => {
    const source = recordedCase(recordings, 'request-response');
    expectParity(source, botocoreView(await invoke(HELLO)), {
      ...(source.recorded as object),
      Payload: 'value1',
    });
  });

  it('Event: 202 with an empty payload', async () => {
    expectParity(recordedCase(recordings, 'event'), botocoreView(await invoke(HELLO, { type: 'Event' })));
  });

  it('DryRun: 204 with an empty payload', async () => {
    expectParity(recordedCase(recordings, 'dry-run'), botocoreView(await invoke(HELLO, { type: 'DryRun' })));
  });

  it("a function error: FunctionError Unhandled and the runtime's error fields", async () => {
    const view = botocoreView(await invoke(HELLO, { body: '[1]' }));
    expectParity(recordedCase(recordings, 'function-error'), view);
    expect((view.Payload as { errorType: string }).errorType).to.equal('InvalidEventError');
  });

  it('a payload that is not JSON: 400 InvalidRequestContentException', async () => {
    expectParity(
      recordedCase(recordings, 'not-json'),
      botocoreView(await invoke(HELLO, { body: 'not json' })),
    );
  });

  it('a payload that is not UTF-8: 400 InvalidRequestContentException', async () => {
    const body = Buffer.from([0x6e, 0x87, 0x72, 0x9e]);
    expectParity(recordedCase(recordings, 'not-utf8'), botocoreView(await invoke(HELLO, { body })));
  });

  it('reserved concurrency 0: 429 TooManyRequestsException', async () => {
    expectParity(
      recordedCase(recordings, 'throttled'),
      botocoreView(await invoke('lambda-notes-dev-s3Upload', { body: '{}' })),
    );
  });

  it('an unknown function: 404 ResourceNotFoundException naming its $LATEST ARN', async () => {
    expectParity(recordedCase(recordings, 'not-found'), botocoreView(await invoke('doesnotexist')));
  });

  for (const [name, functionName] of [
    ['by-full-arn', `arn:aws:lambda:ap-northeast-1:000000000000:function:${HELLO}`],
    ['by-partial-arn', `000000000000:function:${HELLO}`],
    ['by-qualified-arn', `arn:aws:lambda:ap-northeast-1:000000000000:function:${HELLO}:$LATEST`],
  ] as const) {
    it(`FunctionName ${name.replace('by-', 'as a ')}`, async () => {
      expectParity(recordedCase(docs, name), botocoreView(await invoke(functionName)));
    });
  }

  it('a sync payload over 6 MB: 413 RequestEntityTooLargeException', async () => {
    const body = `"${'x'.repeat(6 * 1024 * 1024)}"`;
    expectParity(recordedCase(docs, 'sync-too-large'), botocoreView(await invoke(HELLO, { body })));
  });

  it('an Event payload over 1 MB: 413 RequestEntityTooLargeException', async () => {
    const body = `"${'x'.repeat(1024 * 1024)}"`;
    expectParity(
      recordedCase(docs, 'event-too-large'),
      botocoreView(await invoke(HELLO, { type: 'Event', body })),
    );
  });

  it('the context the handler gets: function ARN, name, memory, the request id answered', async () => {
    const answer = await invoke(HELLO, { logType: 'Tail' });
    const logged = Buffer.from(answer.headers.get('X-Amz-Log-Result') ?? '', 'base64')
      .toString('utf8')
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>)[0];
    expectParity(recordedCase(recordings, 'context'), {
      functionName: logged?.function_name,
      memoryLimitInMB: logged?.function_memory_size,
      invokedFunctionArn: logged?.function_arn,
      awsRequestId: logged?.function_request_id,
    });
    expect(logged?.function_request_id).to.equal(answer.headers.get('x-amzn-RequestId'));
  });

  it('x-amzn-RequestId on the answer is the id the run logs under', async () => {
    const answer = await invoke(HELLO, { logType: 'Tail' });
    const start = Buffer.from(answer.headers.get('X-Amz-Log-Result') ?? '', 'base64')
      .toString('utf8')
      .split('\n')[0];
    expectParity(recordedCase(docs, 'request-id-header'), {
      'x-amzn-RequestId': answer.headers.get('x-amzn-RequestId'),
      START: start,
    });
  });
});
