/**
 * InvokeWithResponseStream through the Invoke API's HTTP edge, read by the AWS SDK's own
 * InvokeWithResponseStreamCommand (its event-stream decoder checks the framing and CRCs), with real execution
 * environments running test/fixtures/runtime/streaming.cjs behind it. Contract: Lambda API reference
 * (InvokeWithResponseStream, InvokeWithResponseStreamResponseEvent, InvokeWithResponseStreamCompleteEvent); a
 * plain Invoke of a streaming function answers the streamed bytes whole (Lambda developer guide,
 * config-rs-invoke-furls: "You can still invoke your function without response streaming by directly calling the
 * Invoke API operation"; the runtime interface emulator's sendPayloadLimitedResponse).
 */
import {
  InvokeCommand,
  InvokeWithResponseStreamCommand,
  type InvokeWithResponseStreamCompleteEvent,
  LambdaClient,
} from '@aws-sdk/client-lambda';
import { EventStreamCodec } from '@smithy/core/event-streams';
import { fromUtf8, toUtf8 } from '@smithy/core/serde';
import { expect } from 'chai';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, get as httpGet, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { invokeComplete, payloadChunk } from '../../offline/api/event-stream';
import type { InvokeApi } from '../../offline/api/invoke-api';
import type { StreamLine } from '../../offline/console/contract';
import { streamInvoke } from '../../offline/console/invoke-stream';
import { BOOTSTRAP, fixtureSpec } from '../helpers/runtime-fixtures';
import { type Gate, startGate } from '../helpers/gate';
import { type InProcessLambda, startInProcessLambda } from '../../support/in-process-lambda';
import { waitFor } from '../../support/wait';

/** Deployed name → fixture handler (and its timeout). */
const FUNCTIONS: Record<string, { handler: string; timeoutSeconds?: number }> = {
  'notes-gated': { handler: 'streaming.gated' },
  'notes-chunks': { handler: 'streaming.chunks' },
  'notes-fails': { handler: 'streaming.failMidStream' },
  'notes-forever': { handler: 'streaming.forever', timeoutSeconds: 0.5 },
  'notes-echo': { handler: 'handlers.echo' },
};

describe('the event-stream framing of InvokeWithResponseStream', () => {
  const codec = new EventStreamCodec(toUtf8, fromUtf8);

  it('a PayloadChunk event: its headers and the bytes as they are', () => {
    const message = codec.decode(payloadChunk(Buffer.from('abc')));
    expect(message.headers).to.deep.equal({
      ':event-type': { type: 'string', value: 'PayloadChunk' },
      ':content-type': { type: 'string', value: 'application/octet-stream' },
      ':message-type': { type: 'string', value: 'event' },
    });
    expect(toUtf8(message.body)).to.equal('abc');
  });

  it('an InvokeComplete event: JSON of ErrorCode, ErrorDetails, LogResult', () => {
    const message = codec.decode(
      invokeComplete({ ErrorCode: 'TypeError', ErrorDetails: 'x', LogResult: 'TG9n' }),
    );
    expect(message.headers[':event-type']?.value).to.equal('InvokeComplete');
    expect(message.headers[':content-type']?.value).to.equal('application/json');
    expect(JSON.parse(toUtf8(message.body))).to.deep.equal({
      ErrorCode: 'TypeError',
      ErrorDetails: 'x',
      LogResult: 'TG9n',
    });
  });

  it('a corrupted frame is refused by the SDK codec (its CRCs are real)', () => {
    const frame = payloadChunk(Buffer.from('abc'));
    const at = frame.length - 5;
    frame[at] = (frame[at] ?? 0) ^ 0xff;
    expect(() => codec.decode(frame)).to.throw(/checksum/i);
  });
});

describe('InvokeWithResponseStream (SDK → Invoke API → real environments)', function () {
  this.timeout(30_000);
  let tmpRoot: string;
  let server: Server;
  let client: LambdaClient;
  let api: InvokeApi;
  let lambda: InProcessLambda | undefined;
  /** START, END and REPORT lines the runner wrote. */
  let lambdaLines = '';
  const gates: Gate[] = [];
  /** Request ids of the runs that are over. */
  const finished = new Set<string>();

  before(async () => {
    tmpRoot = await mkdtemp(join(tmpdir(), 'lambda-notes-stream-invoke-'));
    const specs = Object.entries(FUNCTIONS).map(([name, fixture]) =>
      fixtureSpec(fixture.handler, {
        key: name,
        name,
        arn: `arn:aws:lambda:ap-northeast-1:000000000000:function:${name}`,
        timeoutSeconds: fixture.timeoutSeconds ?? 5,
      }),
    );
    lambda = await startInProcessLambda(specs, {
      tmpRoot,
      bootstrap: BOOTSTRAP,
      write: (text) => {
        lambdaLines += text;
      },
      invoked: (requestId) => finished.add(requestId),
    });
    ({ api, server } = lambda);
    client = new LambdaClient({
      region: 'ap-northeast-1',
      endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      credentials: { accessKeyId: 'offline', secretAccessKey: 'offline' },
      maxAttempts: 1,
    });
  });

  afterEach(async () => {
    await Promise.all(gates.splice(0).map((gate) => gate.close()));
  });

  after(async () => {
    client?.destroy();
    await lambda?.stop();
    await rm(tmpRoot, { recursive: true, force: true });
  });

  /** Every event of the answer: chunks as text, and the InvokeComplete. */
  async function streamed(functionName: string, payload: unknown, logType?: 'Tail') {
    const answer = await client.send(
      new InvokeWithResponseStreamCommand({
        FunctionName: functionName,
        Payload: Buffer.from(JSON.stringify(payload)),
        ...(logType ? { LogType: logType } : {}),
      }),
    );
    const chunks: string[] = [];
    let complete: InvokeWithResponseStreamCompleteEvent | undefined;
    for await (const event of answer.EventStream ?? []) {
      if (event.PayloadChunk?.Payload) chunks.push(toUtf8(event.PayloadChunk.Payload));
      if (event.InvokeComplete) complete = event.InvokeComplete;
    }
    return { answer, chunks, complete };
  }

  it('the first chunk reaches the client before the handler ends (the handler waits for a signal sent after chunk 1)', async () => {
    const gate = await startGate();
    gates.push(gate);
    const answer = await client.send(
      new InvokeWithResponseStreamCommand({
        FunctionName: 'notes-gated',
        Payload: Buffer.from(JSON.stringify({ releaseUrl: gate.url })),
      }),
    );
    expect(answer.StatusCode).to.equal(200);
    expect(answer.ExecutedVersion).to.equal('$LATEST');
    expect(answer.ResponseStreamContentType).to.equal('application/octet-stream');
    const requestId = answer.$metadata.requestId ?? '';
    const events: string[] = [];
    let complete: InvokeWithResponseStreamCompleteEvent | undefined;
    for await (const event of answer.EventStream ?? []) {
      if (event.PayloadChunk?.Payload) {
        const text = toUtf8(event.PayloadChunk.Payload);
        events.push(text);
        if (events.length === 1) {
          expect(text).to.equal('first;');
          expect(finished.has(requestId), 'the run is still under way at chunk 1').to.equal(false);
          gate.open();
        }
      }
      if (event.InvokeComplete) complete = event.InvokeComplete;
    }
    expect(events.join('')).to.equal('first;second');
    expect(complete).to.deep.equal({});
    expect(finished.has(requestId)).to.equal(true);
    // The run lasts until the stream ends: its REPORT is written then, once.
    expect(lambdaLines.match(new RegExp(`REPORT RequestId: ${requestId}\t`, 'g'))).to.have.length(1);
  });

  // "Streamed responses are not interrupted or stopped when the invoking client connection is broken" (Lambda
  // developer guide, Response streaming for Lambda functions).
  it('a client that goes away mid-stream: the function runs on to its end, and the environment takes the next invoke', async () => {
    const gate = await startGate();
    gates.push(gate);
    const port = (server.address() as AddressInfo).port;
    const requestId = await new Promise<string>((resolve, reject) => {
      const call = httpRequest(
        {
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: '/2021-11-15/functions/notes-gated/response-streaming-invocations',
        },
        (response) => {
          response.once('data', () => {
            call.destroy();
            resolve(String(response.headers['x-amzn-requestid']));
          });
        },
      );
      call.on('error', () => undefined);
      call.on('close', () => reject(new Error('closed before the first chunk')));
      call.end(JSON.stringify({ releaseUrl: gate.url }));
    });
    expect(finished.has(requestId), 'the run goes on after its client left').to.equal(false);
    gate.open();
    await waitFor('the abandoned run to end', () => finished.has(requestId));
    const { chunks, complete } = await streamed('notes-gated', { releaseUrl: gate.url });
    expect(chunks.join('')).to.equal('first;second');
    expect(complete).to.deep.equal({});
    const report = lambdaLines.split('\n').find((line) => line.startsWith(`REPORT RequestId: ${requestId}`));
    expect(report, 'the abandoned run was reported as a normal end')
      .to.be.a('string')
      .and.not.match(/Status:/);
  });

  it('an error mid-stream: the chunks before it, then InvokeComplete with the error type and message', async () => {
    const { chunks, complete } = await streamed('notes-fails', {});
    expect(chunks.join('')).to.equal('partial');
    expect(complete).to.deep.equal({ ErrorCode: 'TypeError', ErrorDetails: 'broke mid-stream' });
  });

  it('LogType Tail: InvokeComplete carries LogResult (base64 of the log)', async () => {
    const { answer, complete } = await streamed('notes-fails', {}, 'Tail');
    const log = Buffer.from(complete?.LogResult ?? '', 'base64').toString('utf8');
    const requestId = answer.$metadata.requestId ?? '';
    expect(log).to.include(`START RequestId: ${requestId} Version: $LATEST`);
    expect(log).to.include('Invoke Error');
    expect(log).to.match(new RegExp(`REPORT RequestId: ${requestId}\\tDuration: [\\d.]+ ms`));
  });

  it('a handler that streams forever: its chunks, then InvokeComplete Sandbox.Timedout at the timeout', async () => {
    const { chunks, complete } = await streamed('notes-forever', {});
    expect(chunks.join('')).to.match(/^0;1;/);
    expect(complete?.ErrorCode).to.equal('Sandbox.Timedout');
    expect(complete?.ErrorDetails).to.match(/Task timed out after 0\.50 seconds$/);
  });

  it('a function that does not stream: its JSON result as one PayloadChunk', async () => {
    const { answer, chunks, complete } = await streamed('notes-echo', { n: 1 });
    expect(answer.ResponseStreamContentType).to.equal('application/json');
    expect(chunks).to.have.length(1);
    expect(JSON.parse(chunks[0] ?? 'null')).to.deep.include({ event: { n: 1 } });
    expect(complete).to.deep.equal({});
  });

  it('a plain Invoke of a streaming function answers the streamed bytes whole, as they are (not JSON)', async () => {
    const answer = await client.send(
      new InvokeCommand({
        FunctionName: 'notes-chunks',
        Payload: Buffer.from(JSON.stringify({ chunks: ['plain ', 'text'] })),
      }),
    );
    expect(answer.FunctionError).to.equal(undefined);
    expect(toUtf8(answer.Payload ?? new Uint8Array())).to.equal('plain text');
  });

  it('InvocationType Event is refused: ValidationException, the enum being [RequestResponse, DryRun]', async () => {
    const error: unknown = await client
      .send(
        new InvokeWithResponseStreamCommand({
          FunctionName: 'notes-chunks',
          InvocationType: 'Event' as 'RequestResponse',
          Payload: Buffer.from('{}'),
        }),
      )
      .then(
        () => undefined,
        (failure: unknown) => failure,
      );
    expect(error).to.be.instanceOf(Error);
    expect((error as Error).name).to.equal('ValidationException');
    expect((error as Error).message).to.include('[RequestResponse, DryRun]');
  });

  it("the console's streamed Test passes chunk 1 on before the run ends, then how it ended (first-chunk time, log)", async () => {
    const gate = await startGate();
    gates.push(gate);
    const consoleServer = createServer((_request, response) => {
      void streamInvoke(api, 'notes-gated', JSON.stringify({ releaseUrl: gate.url }), response);
    });
    await new Promise<void>((resolve) => consoleServer.listen(0, '127.0.0.1', resolve));
    try {
      const lines = await new Promise<StreamLine[]>((resolve, reject) => {
        const port = (consoleServer.address() as AddressInfo).port;
        httpGet(`http://127.0.0.1:${port}/`, (response) => {
          const seen: StreamLine[] = [];
          let pending = '';
          response.setEncoding('utf8').on('data', (text: string) => {
            pending += text;
            const complete = pending.split('\n');
            pending = complete.pop() ?? '';
            for (const line of complete) {
              seen.push(JSON.parse(line) as StreamLine);
              if (seen.length === 1) gate.open();
            }
          });
          response.on('end', () => resolve(seen));
        }).on('error', reject);
      });
      expect(lines[0]).to.deep.equal({ kind: 'chunk', text: 'first;' });
      expect(lines[1]).to.deep.equal({ kind: 'chunk', text: 'second' });
      const end = lines[2];
      expect(end).to.deep.include({ kind: 'end', statusCode: 200 });
      if (end?.kind !== 'end') return;
      expect(end.firstChunkMs).to.be.a('number').and.to.be.at.most(end.roundTripMs);
      expect(end.errorCode).to.equal(undefined);
      expect(end.log).to.be.a('string');
    } finally {
      consoleServer.closeAllConnections();
      await new Promise((resolve) => consoleServer.close(resolve));
    }
  });

  it("the console's streamed Test decodes a character split across two chunks", async () => {
    const consoleServer = createServer((_request, response) => {
      // "é" is C3 A9 in UTF-8: one byte a chunk, 50 ms apart so that they arrive apart.
      const event = { chunks: ['ww==', 'qQ=='], base64: true, gapMs: 50 };
      void streamInvoke(api, 'notes-chunks', JSON.stringify(event), response);
    });
    await new Promise<void>((resolve) => consoleServer.listen(0, '127.0.0.1', resolve));
    try {
      const body = await new Promise<string>((resolve, reject) => {
        const port = (consoleServer.address() as AddressInfo).port;
        httpGet(`http://127.0.0.1:${port}/`, (response) => {
          let text = '';
          response.setEncoding('utf8').on('data', (part: string) => (text += part));
          response.on('end', () => resolve(text));
        }).on('error', reject);
      });
      const lines = body
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as StreamLine);
      const chunks = lines.flatMap((line) => (line.kind === 'chunk' ? [line.text] : []));
      expect(chunks, 'two chunks').to.have.length(2);
      expect(chunks.join('')).to.equal('é');
    } finally {
      consoleServer.closeAllConnections();
      await new Promise((resolve) => consoleServer.close(resolve));
    }
  });
});
