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
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, get as httpGet, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { invokeComplete, payloadChunk } from '../../offline/api/event-stream';
import { InvokeApi, type SyncOutcome, startInvokeApiServer } from '../../offline/api/invoke-api';
import type { StreamLine } from '../../offline/console/contract';
import { streamInvoke } from '../../offline/console/invoke-stream';
import { ExecutionEnvironment, logStreamName } from '../../offline/environments/environment';
import { processMemory } from '../../offline/environments/process-memory';
import { BOOTSTRAP, fixtureSpec } from '../helpers/runtime-fixtures';
import { type Gate, startGate } from '../helpers/gate';

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
  const environments = new Map<string, ExecutionEnvironment>();
  const gates: Gate[] = [];
  /** Request ids of the runs that are over. */
  const finished = new Set<string>();

  before(async () => {
    tmpRoot = await mkdtemp(join(tmpdir(), 'lambda-notes-stream-invoke-'));
    for (const [name, fixture] of Object.entries(FUNCTIONS)) {
      const id = randomUUID().replaceAll('-', '');
      environments.set(
        name,
        await ExecutionEnvironment.start(
          fixtureSpec(fixture.handler, { name, timeoutSeconds: fixture.timeoutSeconds ?? 5 }),
          {
            id,
            logStream: logStreamName(new Date(), id),
            tmpDir: join(tmpRoot, id),
            bootstrap: BOOTSTRAP,
            hostVariables: { PATH: process.env.PATH ?? '' },
            memory: await processMemory(),
            output: (text, _stream, sink) => sink?.append(text),
            ended: () => undefined,
            now: Date.now,
          },
        ),
      );
    }
    api = new InvokeApi({
      region: 'ap-northeast-1',
      accountId: '000000000000',
      functions: new Map(Object.keys(FUNCTIONS).map((name) => [name, name])),
      newRequestId: randomUUID,
      invoke: async (functionKey, event, options): Promise<SyncOutcome> => {
        const environment = environments.get(functionKey);
        if (!environment) throw new Error(`no environment for ${functionKey}`);
        let log = '';
        const result = await environment.run(
          {
            requestId: options.requestId,
            event: JSON.stringify(event),
            invokedFunctionArn: environment.spec.arn,
            traceId: 'Root=1-6750a1b2-0123456789abcdef01234567;Parent=0123456789abcdef;Sampled=0',
            ...(options.onStream ? { onStream: options.onStream } : {}),
          },
          { append: (text) => (log += text) },
        );
        finished.add(options.requestId);
        const logTail = Buffer.from(log).toString('base64');
        const { outcome } = result;
        if (!outcome.ok) return { kind: 'function-error', payload: outcome.error, logTail };
        return outcome.streamed
          ? {
              kind: 'result',
              payload: outcome.body,
              raw: { body: outcome.body, contentType: outcome.streamed.contentType },
              logTail,
            }
          : { kind: 'result', payload: JSON.parse(outcome.body) as unknown, logTail };
      },
      enqueue: () => Promise.reject(new Error('not queued here')),
      log: () => undefined,
    });
    server = await startInvokeApiServer(api, { host: '127.0.0.1', port: 0 }, () => undefined);
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
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
    await Promise.all([...environments.values()].map((environment) => environment.end('test over')));
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
  });

  it('an error mid-stream: the chunks before it, then InvokeComplete with the error type and message', async () => {
    const { chunks, complete } = await streamed('notes-fails', {});
    expect(chunks.join('')).to.equal('partial');
    expect(complete).to.deep.equal({ ErrorCode: 'TypeError', ErrorDetails: 'broke mid-stream' });
  });

  it('LogType Tail: InvokeComplete carries LogResult (base64 of the log)', async () => {
    const { complete } = await streamed('notes-fails', {}, 'Tail');
    expect(Buffer.from(complete?.LogResult ?? '', 'base64').toString('utf8')).to.include('Invoke Error');
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
});
