/**
 * The Runtime API's streaming path over HTTP (a server on a free loopback port per test): a runtime posts its
 * response chunked with `Lambda-Runtime-Function-Response-Mode: streaming` and maybe error trailers, as AWS's
 * Node.js runtime client does (v3 src/ResponseStream.js); the Runtime API hands the chunks on as they arrive and
 * answers as the runtime interface emulator does (rapi/handler/invocationresponse.go, directinvoke.go).
 */
import { expect } from 'chai';
import { type ClientRequest, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type Invocation,
  RuntimeApi,
  type RuntimeAnswer,
  startRuntimeApiServer,
} from '../../offline/environments/runtime-api';
import type { StreamedResponse } from '../../offline/environments/streamed-response';

const REQUEST_ID = '8476a536-e9f4-11e8-9739-2dfe598c3fcd';
const INVOCATION: Invocation = {
  requestId: REQUEST_ID,
  event: '{}',
  deadlineMs: Date.now() + 60_000,
  invokedFunctionArn: 'arn:aws:lambda:ap-northeast-1:000000000000:function:lambda-notes-dev-hello',
  traceId: 'Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1',
};

interface Reply {
  readonly status: number;
  readonly body: string;
}

describe('Runtime API: streamed responses', () => {
  let server: Server | undefined;
  let answers: Array<[string, RuntimeAnswer]>;
  let streams: StreamedResponse[];
  let runtime: RuntimeApi;
  let port: number;
  /** Chunks each stream's reader got, in order. */
  let read: string[];

  async function start(limit?: number): Promise<void> {
    answers = [];
    streams = [];
    read = [];
    runtime = new RuntimeApi({
      ready: () => undefined,
      answered: (requestId, answer) => answers.push([requestId, answer]),
      initFailed: () => undefined,
      streamStarted: (_requestId, response) => {
        streams.push(response);
        void (async () => {
          for await (const chunk of response.chunks()) read.push(chunk.toString('utf8'));
        })();
      },
    });
    server = await startRuntimeApiServer(runtime, limit);
    port = (server.address() as AddressInfo).port;
    // The runtime has asked for the event, and holds it.
    const next = runtime.handle('GET', '/2018-06-01/runtime/invocation/next', '', {});
    runtime.assign(INVOCATION);
    await next;
  }

  afterEach(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
    server = undefined;
  });

  /** A streamed POST as AWS's client opens it; the reply resolves when the Runtime API answers. */
  function open(
    headers: Record<string, string> = { 'Lambda-Runtime-Function-Response-Mode': 'streaming' },
    requestId = REQUEST_ID,
  ): { request: ClientRequest; reply: Promise<Reply> } {
    const request = httpRequest({
      host: '127.0.0.1',
      port,
      method: 'POST',
      path: `/2018-06-01/runtime/invocation/${requestId}/response`,
      headers: {
        Trailer: 'Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body',
        'Content-Type': 'text/plain',
        'Transfer-Encoding': 'chunked',
        ...headers,
      },
    });
    const reply = new Promise<Reply>((resolve, reject) => {
      request.on('response', (response) => {
        let body = '';
        response.setEncoding('utf8').on('data', (text: string) => (body += text));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      });
      request.on('error', reject);
    });
    return { request, reply };
  }

  async function until<T>(what: string, check: () => T | undefined): Promise<T> {
    for (let tries = 0; tries < 400; tries += 1) {
      const value = check();
      if (value !== undefined) return value;
      await new Promise((resolve) => setImmediate(resolve));
    }
    throw new Error(`never saw ${what}`);
  }

  it('hands each chunk on while the request is still open, then answers 202 with the stream complete', async () => {
    await start();
    const { request, reply } = open();
    request.write('one;');
    await until('chunk 1', () => (read.length === 1 ? read : undefined));
    expect(read).to.deep.equal(['one;']);
    expect(answers, 'nothing answered while the stream is open').to.deep.equal([]);
    expect(streams[0]?.contentType).to.equal('text/plain');
    request.end('two');
    expect(await reply).to.deep.equal({ status: 202, body: '{"status":"OK"}' });
    expect(read.join('')).to.equal('one;two');
    expect(answers).to.deep.equal([[REQUEST_ID, { kind: 'streamed' }]]);
  });

  it("refuses a next while the stream is open (403): the invocation is not over until the stream's end", async () => {
    await start();
    const { request, reply } = open();
    request.write('x');
    await until('the stream', () => streams[0]);
    const next = await runtime.handle('GET', '/2018-06-01/runtime/invocation/next', '', {});
    expect(next.status).to.equal(403);
    request.end();
    expect((await reply).status).to.equal(202);
  });

  it("decodes the error trailers (base64 JSON) into the function's error, Node.js fields kept", async () => {
    await start();
    const { request, reply } = open();
    request.write('partial');
    const error = { errorType: 'TypeError', errorMessage: 'broke', trace: ['TypeError: broke', '    at x'] };
    request.addTrailers({
      'Lambda-Runtime-Function-Error-Type': 'TypeError',
      'Lambda-Runtime-Function-Error-Body': Buffer.from(JSON.stringify(error)).toString('base64'),
    });
    request.end();
    expect((await reply).status).to.equal(202);
    expect(read.join('')).to.equal('partial');
    expect(answers).to.deep.equal([[REQUEST_ID, { kind: 'error', payload: error }]]);
  });

  it('cuts a response past the streaming limit: 413 to the runtime, Function.ResponseSizeTooLarge to the caller', async () => {
    await start(1024);
    const { request, reply } = open();
    request.write(Buffer.alloc(1000, 'x'));
    request.write(Buffer.alloc(1000, 'y'));
    request.end();
    expect((await reply).status).to.equal(413);
    expect(answers).to.deep.equal([
      [
        REQUEST_ID,
        {
          kind: 'error',
          payload: {
            errorType: 'Function.ResponseSizeTooLarge',
            errorMessage: 'Response payload size exceeded maximum allowed payload size (1024 bytes).',
          },
        },
      ],
    ]);
    expect(read.join('').length).to.be.at.most(1024);
  });

  it('a response mode other than streaming: 400 InvalidFunctionResponseMode, Runtime.InvalidResponseModeHeader to the caller', async () => {
    await start();
    const { request, reply } = open({ 'Lambda-Runtime-Function-Response-Mode': 'buffered' });
    request.end('x');
    expect(await reply).to.deep.equal({
      status: 400,
      body: JSON.stringify({
        errorMessage: 'Invalid function response mode',
        errorType: 'InvalidFunctionResponseMode',
      }),
    });
    expect(answers).to.deep.equal([
      [
        REQUEST_ID,
        { kind: 'error', payload: { errorType: 'Runtime.InvalidResponseModeHeader', errorMessage: '' } },
      ],
    ]);
  });

  it('a stream for another request id: 400 InvalidRequestID, nothing handed on', async () => {
    await start();
    const { request, reply } = open(undefined, 'not-the-request');
    request.end('x');
    expect((await reply).status).to.equal(400);
    expect(streams).to.deep.equal([]);
    expect(answers).to.deep.equal([]);
  });

  it('a runtime that dies mid-stream: the stream ends, the caller gets Runtime.TruncatedResponse', async () => {
    await start();
    const { request, reply } = open();
    reply.catch(() => undefined);
    request.write('half');
    await until('chunk 1', () => (read.length === 1 ? read : undefined));
    request.destroy();
    await until('the answer', () => answers[0]);
    expect(read.join('')).to.equal('half');
    expect(answers[0]?.[1]).to.deep.include({ kind: 'error' });
    const [, answer] = answers[0] ?? [];
    expect(answer?.kind === 'error' ? answer.payload.errorType : undefined).to.equal(
      'Runtime.TruncatedResponse',
    );
  });
});
