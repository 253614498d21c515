/**
 * Response streaming through real execution environments: the project's runtime (offline/runtime/bootstrap.cjs
 * with response-stream.cjs) runs the streaming handlers of test/fixtures/runtime/streaming.cjs, and the run's
 * caller reads the response as it arrives. Sources: AWS's Node.js runtime client (v3 src/ResponseStream.js,
 * HttpResponseStream.js, UserFunction.js, Runtime.js; v4 src/runtime/streaming-invoke-processor.ts), the runtime
 * interface emulator (directinvoke.go, rapi/handler/invocationresponse.go) and the Lambda developer guide.
 */
import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExecutionEnvironment, logStreamName } from '../../offline/environments/environment';
import type { FunctionSpec, RunResult } from '../../offline/environments/environment-types';
import type { StreamedResponse } from '../../offline/environments/streamed-response';
import { processMemory } from '../../offline/environments/process-memory';
import { BOOTSTRAP, fixtureSpec } from '../helpers/runtime-fixtures';
import { type Gate, startGate } from '../helpers/gate';

class Sink {
  text = '';
  append(text: string): void {
    this.text += text;
  }
}

interface StreamedRun {
  readonly result: Promise<RunResult>;
  /** The chunks the caller read, as text, in order. */
  readonly chunks: string[];
  readonly sink: Sink;
  /** Resolves with the response once it starts streaming. */
  readonly started: Promise<StreamedResponse>;
  /** Resolves once the caller has read the whole response. */
  readonly read: Promise<void>;
}

describe('response streaming (real execution environments)', function () {
  this.timeout(20_000);
  let tmpRoot: string;
  const started: ExecutionEnvironment[] = [];
  const gates: Gate[] = [];

  before(async () => {
    tmpRoot = await mkdtemp(join(tmpdir(), 'lambda-notes-streaming-'));
  });

  afterEach(async () => {
    await Promise.all(gates.splice(0).map((gate) => gate.close()));
    await Promise.all(started.splice(0).map((environment) => environment.end('test over')));
  });

  after(async () => {
    await rm(tmpRoot, { recursive: true, force: true });
  });

  async function start(spec: FunctionSpec): Promise<ExecutionEnvironment> {
    const id = randomUUID().replaceAll('-', '');
    const environment = await ExecutionEnvironment.start(spec, {
      id,
      logStream: logStreamName(new Date(), id),
      tmpDir: join(tmpRoot, id),
      bootstrap: BOOTSTRAP,
      hostVariables: { PATH: process.env.PATH ?? '' },
      memory: await processMemory(),
      output: (text, _stream, sink) => sink?.append(text),
      ended: () => undefined,
      now: Date.now,
    });
    started.push(environment);
    return environment;
  }

  function request(environment: ExecutionEnvironment, event: unknown) {
    return {
      requestId: randomUUID(),
      event: JSON.stringify(event),
      invokedFunctionArn: environment.spec.arn,
      traceId: 'Root=1-6750a1b2-0123456789abcdef01234567;Parent=0123456789abcdef;Sampled=0',
    };
  }

  /** A run whose caller reads the streamed response chunk by chunk. */
  function streamRun(environment: ExecutionEnvironment, event: unknown): StreamedRun {
    const chunks: string[] = [];
    const sink = new Sink();
    let begin: (response: StreamedResponse) => void = () => undefined;
    const startedResponse = new Promise<StreamedResponse>((resolve) => {
      begin = resolve;
    });
    const read = startedResponse.then(async (response) => {
      for await (const chunk of response.chunks()) chunks.push(chunk.toString('utf8'));
    });
    const result = environment.run({ ...request(environment, event), onStream: begin }, sink);
    return { result, chunks, sink, started: startedResponse, read };
  }

  /** A run whose caller asked for no stream (a plain Invoke): the response is buffered. */
  async function bufferedRun(environment: ExecutionEnvironment, event: unknown) {
    const sink = new Sink();
    const result = await environment.run(request(environment, event), sink);
    return { ...result, log: sink.text };
  }

  async function gate(): Promise<Gate> {
    const opened = await startGate();
    gates.push(opened);
    return opened;
  }

  it('defines awslambda before the handler loads, and streams the chunks in order', async () => {
    const environment = await start(fixtureSpec('streaming.chunks'));
    const run = streamRun(environment, { chunks: ['a', 'b', 'c'] });
    const result = await run.result;
    await run.read;
    expect(result.outcome).to.deep.include({ ok: true });
    expect(run.chunks.join('')).to.equal('abc');
    expect((await run.started).contentType).to.equal('application/octet-stream');
  });

  it('hands the caller the first chunk before the handler ends (it waits for a signal sent after chunk 1)', async () => {
    const signal = await gate();
    const environment = await start(fixtureSpec('streaming.gated'));
    let begin: (response: StreamedResponse) => void = () => undefined;
    const streaming = new Promise<StreamedResponse>((resolve) => {
      begin = resolve;
    });
    const result = environment.run(
      { ...request(environment, { releaseUrl: signal.url }), onStream: begin },
      new Sink(),
    );
    const iterator = (await streaming).chunks()[Symbol.asyncIterator]();
    const first = await iterator.next();
    expect(String(first.value)).to.equal('first;');
    let ended = false;
    void result.then(() => {
      ended = true;
    });
    expect(ended, 'the run is still under way when chunk 1 arrives').to.equal(false);
    signal.open();
    const rest: string[] = [];
    for (let next = await iterator.next(); !next.done; next = await iterator.next())
      rest.push(String(next.value));
    expect(rest.join('')).to.equal('second');
    expect((await result).outcome).to.deep.include({ ok: true });
  });

  it('an error mid-stream: the chunks before it, then the error of the trailers, Invoke Error logged (v3 ResponseStreamTest "send error in trailer")', async () => {
    const environment = await start(fixtureSpec('streaming.failMidStream'));
    const run = streamRun(environment, {});
    const result = await run.result;
    await run.read;
    expect(run.chunks.join('')).to.equal('partial');
    expect(result.outcome.ok).to.equal(false);
    if (result.outcome.ok) return;
    expect(result.outcome.error).to.include({ errorType: 'TypeError', errorMessage: 'broke mid-stream' });
    expect(result.outcome.error.trace?.[0]).to.equal('TypeError: broke mid-stream');
    expect(run.sink.text).to.match(
      /\tERROR\tInvoke Error \t\{"errorType":"TypeError","errorMessage":"broke mid-stream"/,
    );
  });

  it('a handler that streams forever is stopped at its timeout (Sandbox.Timedout) and the environment is reset', async () => {
    const environment = await start(fixtureSpec('streaming.forever', { timeoutSeconds: 0.5 }));
    const run = streamRun(environment, {});
    const result = await run.result;
    await run.read;
    expect(run.chunks.join('')).to.match(/^0;1;/);
    expect(result.status).to.equal('timeout');
    expect(result.outcome).to.deep.include({ ok: false });
    if (result.outcome.ok) return;
    expect(result.outcome.error.errorType).to.equal('Sandbox.Timedout');
    expect(environment.view()).to.include({ resets: 1, state: 'idle' });
    const next = streamRun(environment, {});
    expect((await next.result).status).to.equal('timeout');
  });

  it("a handler that returns without ending the stream waits for its end as AWS's client does (v4 waitForStreamClosure): the timeout", async () => {
    const environment = await start(fixtureSpec('streaming.neverEnds', { timeoutSeconds: 0.5 }));
    const run = streamRun(environment, {});
    const result = await run.result;
    await run.read;
    expect(run.chunks.join('')).to.equal('open');
    expect(result.status).to.equal('timeout');
    expect(environment.view()).to.include({ resets: 1 });
  });

  it('a write after the end: what was written before the end is the answer, and the environment runs the next event', async () => {
    const environment = await start(fixtureSpec('streaming.writeAfterEnd'));
    const run = streamRun(environment, {});
    const result = await run.result;
    await run.read;
    expect(run.chunks.join('')).to.equal('done');
    expect(result.outcome).to.deep.include({ ok: true });
    const second = streamRun(environment, {});
    expect((await second.result).outcome).to.deep.include({ ok: true });
    await second.read;
    expect(second.chunks.join('')).to.equal('done');
    expect(environment.view()).to.include({ runs: 2, resets: 0 });
  });

  it('HttpResponseStream.from: its content type, the JSON prelude and 8 NUL bytes before the body (v3 "metadata prelude")', async () => {
    const environment = await start(fixtureSpec('streaming.httpResponse'));
    const run = streamRun(environment, {});
    await run.result;
    await run.read;
    expect((await run.started).contentType).to.equal('application/vnd.awslambda.http-integration-response');
    expect(run.chunks.join('')).to.equal(
      `${JSON.stringify({ statusCode: 201, headers: { 'x-note': 'streamed' } })}${'\u0000'.repeat(8)}body`,
    );
  });

  it('writes objects as JSON and warns that a returned value is ignored (v3 Runtime.js)', async () => {
    const environment = await start(fixtureSpec('streaming.objectAndReturn'));
    const run = streamRun(environment, {});
    const result = await run.result;
    await run.read;
    expect(result.outcome).to.deep.include({ ok: true });
    expect(run.chunks.join('')).to.equal('{"note":1}');
    expect(run.sink.text).to.match(/\tWARN\tStreaming handlers ignore return values\.\n/);
  });

  it('takes a stream pipeline into the response (v3 ResponseStreamTest "can pipeline")', async () => {
    const environment = await start(fixtureSpec('streaming.piped'));
    const run = streamRun(environment, {});
    expect((await run.result).outcome).to.deep.include({ ok: true });
    await run.read;
    expect(run.chunks.join('')).to.equal('abc');
  });

  it('refuses a handler that is not async: "Streaming does not support non-async handlers." (v4 streaming-invoke-processor)', async () => {
    const environment = await start(fixtureSpec('streaming.notAsync'));
    const result = await bufferedRun(environment, {});
    expect(result.outcome).to.deep.include({ ok: false });
    if (result.outcome.ok) return;
    expect(result.outcome.error).to.include({
      errorType: 'Error',
      errorMessage: 'Streaming does not support non-async handlers.',
    });
  });

  it('setContentType after the first write throws Runtime.InvalidStreamingOperation (v3 "setContentType throws after first write")', async () => {
    const environment = await start(fixtureSpec('streaming.contentType'));
    const run = streamRun(environment, {});
    const result = await run.result;
    await run.read;
    expect((await run.started).contentType).to.equal('text/plain');
    expect(run.chunks.join('')).to.equal('typed');
    expect(result.outcome).to.deep.include({ ok: false });
    if (result.outcome.ok) return;
    expect(result.outcome.error).to.include({
      errorType: 'Runtime.InvalidStreamingOperation',
      errorMessage: 'Cannot set content-type, too late.',
    });
  });

  it('refuses an unknown streaming mode at init: Runtime.MalformedStreamingHandler (v3 UserFunction.js)', async () => {
    const environment = await start(fixtureSpec('streaming.malformed'));
    const result = await bufferedRun(environment, {});
    expect(result.outcome).to.deep.include({ ok: false });
    if (result.outcome.ok) return;
    expect(result.outcome.error).to.include({
      errorType: 'Runtime.MalformedStreamingHandler',
      errorMessage: 'Only response streaming is supported.',
    });
  });

  it('a plain Invoke of a streaming function gets the streamed bytes as one body, of the stream type', async () => {
    const environment = await start(fixtureSpec('streaming.chunks'));
    const result = await bufferedRun(environment, { chunks: ['plain ', 'text'] });
    expect(result.outcome).to.deep.equal({
      ok: true,
      body: 'plain text',
      streamed: { contentType: 'application/octet-stream' },
    });
  });

  it('a plain Invoke past the buffered limit (6 MB): Function.ResponseSizeTooLarge', async () => {
    const environment = await start(fixtureSpec('streaming.large'));
    const result = await bufferedRun(environment, { bytes: 7 * 1024 * 1024 });
    expect(result.outcome).to.deep.include({ ok: false });
    if (result.outcome.ok) return;
    expect(result.outcome.error).to.deep.equal({
      errorType: 'Function.ResponseSizeTooLarge',
      errorMessage: 'Response payload size exceeded maximum allowed payload size (6291556 bytes).',
    });
    const next = streamRun(environment, { chunks: ['still', ' serving'] });
    expect((await next.result).outcome).to.deep.include({ ok: true });
  });

  it('streams more than the buffered limit to a caller that reads the stream (8 MB)', async () => {
    const environment = await start(fixtureSpec('streaming.large'));
    const sink = new Sink();
    let bytes = 0;
    let reading: Promise<void> = Promise.resolve();
    const result = await environment.run(
      {
        ...request(environment, { bytes: 8 * 1024 * 1024 }),
        onStream: (response) => {
          reading = (async () => {
            for await (const chunk of response.chunks()) bytes += chunk.length;
          })();
        },
      },
      sink,
    );
    await reading;
    expect(result.outcome).to.deep.include({ ok: true });
    expect(bytes).to.equal(8 * 1024 * 1024);
  });
});
