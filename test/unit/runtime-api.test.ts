/**
 * The Runtime API's state machine (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html), without a
 * server: what a runtime asking and answering gets back, and what the environment is told.
 */
import { expect } from 'chai';
import {
  type ApiReply,
  type Invocation,
  RESPONSE_PAYLOAD_LIMIT,
  RuntimeApi,
  type RuntimeAnswer,
  runtimeErrorPayload,
} from '../../offline/environments/runtime-api';
import type { FunctionErrorPayload } from '../../offline/model/outcomes';

const NEXT = '/2018-06-01/runtime/invocation/next';
const INVOCATION: Invocation = {
  requestId: '8476a536-e9f4-11e8-9739-2dfe598c3fcd',
  event: '{"key1":"value1"}',
  deadlineMs: 1542409706888,
  invokedFunctionArn: 'arn:aws:lambda:ap-northeast-1:000000000000:function:lambda-notes-dev-hello',
  traceId: 'Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1',
  clientContext: '{"custom":{"a":1}}',
};

function api(): {
  runtime: RuntimeApi;
  ready: number[];
  answers: Array<[string, RuntimeAnswer]>;
  initErrors: FunctionErrorPayload[];
} {
  const ready: number[] = [];
  const answers: Array<[string, RuntimeAnswer]> = [];
  const initErrors: FunctionErrorPayload[] = [];
  const runtime = new RuntimeApi({
    ready: () => ready.push(ready.length + 1),
    answered: (requestId, answer) => answers.push([requestId, answer]),
    initFailed: (payload) => initErrors.push(payload),
  });
  return { runtime, ready, answers, initErrors };
}

const post = (runtime: RuntimeApi, path: string, body: string, headers = {}): Promise<ApiReply> =>
  runtime.handle('POST', `/2018-06-01/runtime${path}`, body, headers);

describe('Runtime API', () => {
  it('answers a waiting next with the event and the headers Lambda sends', async () => {
    const { runtime, ready } = api();
    const next = runtime.handle('GET', NEXT, '', {});
    runtime.assign(INVOCATION);
    const reply = await next;
    expect(reply.status).to.equal(200);
    expect(reply.body).to.equal(INVOCATION.event);
    expect(reply.headers).to.include({
      'lambda-runtime-aws-request-id': INVOCATION.requestId,
      'lambda-runtime-deadline-ms': '1542409706888',
      'lambda-runtime-invoked-function-arn': INVOCATION.invokedFunctionArn,
      'lambda-runtime-trace-id': INVOCATION.traceId,
      'lambda-runtime-client-context': INVOCATION.clientContext,
    });
    expect(reply.headers).not.to.have.property('lambda-runtime-cognito-identity');
    expect(ready).to.deep.equal([1]);
  });

  it('hands an event assigned before the runtime asks to its next next', async () => {
    const { runtime } = api();
    runtime.assign(INVOCATION);
    expect((await runtime.handle('GET', NEXT, '', {})).body).to.equal(INVOCATION.event);
  });

  it('takes the response of the request under way (202) and passes it on', async () => {
    const { runtime, answers } = api();
    runtime.assign(INVOCATION);
    await runtime.handle('GET', NEXT, '', {});
    const reply = await post(runtime, `/invocation/${INVOCATION.requestId}/response`, '"value1"');
    expect(reply.status).to.equal(202);
    expect(JSON.parse(reply.body)).to.deep.equal({ status: 'OK' });
    expect(answers).to.deep.equal([[INVOCATION.requestId, { kind: 'response', body: '"value1"' }]]);
  });

  it('refuses an answer for another request id: 400 InvalidRequestID, nothing passed on', async () => {
    const { runtime, answers } = api();
    runtime.assign(INVOCATION);
    await runtime.handle('GET', NEXT, '', {});
    const reply = await post(runtime, '/invocation/someone-else/response', '{}');
    expect(reply.status).to.equal(400);
    expect(JSON.parse(reply.body)).to.include({ errorType: 'InvalidRequestID' });
    expect(answers).to.deep.equal([]);
  });

  it('refuses a second answer to the same request: 403 InvalidStateTransition (rapid), the first one stands', async () => {
    const { runtime, answers } = api();
    runtime.assign(INVOCATION);
    await runtime.handle('GET', NEXT, '', {});
    await post(runtime, `/invocation/${INVOCATION.requestId}/response`, '"first"');
    const again = await post(runtime, `/invocation/${INVOCATION.requestId}/error`, '{}');
    expect(again.status).to.equal(403);
    expect(JSON.parse(again.body)).to.deep.equal({
      errorType: 'InvalidStateTransition',
      errorMessage:
        'State transition from RuntimeResponseSentState to InvocationErrorResponse failed for runtime. Error: State transition is not allowed',
    });
    expect(answers).to.deep.equal([[INVOCATION.requestId, { kind: 'response', body: '"first"' }]]);
  });

  it('refuses an answer before any event (Started) and while the runtime waits for one (Ready)', async () => {
    const { runtime, answers } = api();
    const early = await post(runtime, `/invocation/${INVOCATION.requestId}/response`, '{}');
    expect(JSON.parse(early.body)).to.include({ errorType: 'InvalidStateTransition' });
    expect(JSON.parse(early.body).errorMessage).to.match(
      /^State transition from Started to InvocationResponse /,
    );
    const next = runtime.handle('GET', NEXT, '', {});
    const waiting = await post(runtime, `/invocation/${INVOCATION.requestId}/response`, '{}');
    expect(waiting.status).to.equal(403);
    expect(JSON.parse(waiting.body).errorMessage).to.match(
      /^State transition from Ready to InvocationResponse /,
    );
    runtime.assign(INVOCATION);
    expect((await next).body).to.equal(INVOCATION.event);
    expect(answers).to.deep.equal([]);
  });

  it("takes the runtime's error as it is sent (Node.js fields kept)", async () => {
    const { runtime, answers } = api();
    runtime.assign(INVOCATION);
    await runtime.handle('GET', NEXT, '', {});
    const error = {
      errorType: 'EmptyObjectError',
      errorMessage: 'empty',
      trace: ['EmptyObjectError: empty'],
    };
    await post(runtime, `/invocation/${INVOCATION.requestId}/error`, JSON.stringify(error), {
      'lambda-runtime-function-error-type': 'EmptyObjectError',
    });
    expect(answers).to.deep.equal([[INVOCATION.requestId, { kind: 'error', payload: error }]]);
  });

  it('keeps an error body that is not JSON as the message, typed by its header', () => {
    expect(runtimeErrorPayload('it broke', 'Runtime.Custom')).to.deep.equal({
      errorType: 'Runtime.Custom',
      errorMessage: 'it broke',
    });
    expect(runtimeErrorPayload('', undefined)).to.deep.equal({
      errorType: 'Runtime.Unknown',
      errorMessage: '',
    });
  });

  it('answers a response over 6,291,556 bytes with 413, and the caller gets Function.ResponseSizeTooLarge', async () => {
    const { runtime, answers } = api();
    runtime.assign(INVOCATION);
    await runtime.handle('GET', NEXT, '', {});
    const reply = await post(
      runtime,
      `/invocation/${INVOCATION.requestId}/response`,
      `"${'x'.repeat(RESPONSE_PAYLOAD_LIMIT)}"`,
    );
    expect(reply.status).to.equal(413);
    expect(answers[0]?.[1]).to.deep.equal({
      kind: 'error',
      payload: {
        errorMessage: 'Response payload size exceeded maximum allowed payload size (6291556 bytes).',
        errorType: 'Function.ResponseSizeTooLarge',
      },
    });
  });

  it('refuses a next while a run is under way (403), and an assign while one is', async () => {
    const { runtime } = api();
    runtime.assign(INVOCATION);
    await runtime.handle('GET', NEXT, '', {});
    expect((await runtime.handle('GET', NEXT, '', {})).status).to.equal(403);
    expect(() => runtime.assign({ ...INVOCATION, requestId: 'second' })).to.throw(/busy/);
  });

  it('passes an init error on (202)', async () => {
    const { runtime, initErrors } = api();
    const reply = await post(
      runtime,
      '/init/error',
      '{"errorType":"Runtime.ImportModuleError","errorMessage":"x"}',
    );
    expect(reply.status).to.equal(202);
    expect(initErrors).to.deep.equal([{ errorType: 'Runtime.ImportModuleError', errorMessage: 'x' }]);
  });

  it('answers 404 for a route the Runtime API does not have', async () => {
    const { runtime } = api();
    expect((await runtime.handle('GET', '/2018-06-01/runtime/invocation', '', {})).status).to.equal(404);
    expect((await runtime.handle('DELETE', NEXT, '', {})).status).to.equal(404);
  });
});
