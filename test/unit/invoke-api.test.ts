import { expect } from 'chai';
import {
  ASYNC_PAYLOAD_LIMIT,
  type ApiRequest,
  type ApiResponse,
  InvokeApi,
  type InvokeApiDeps,
  SYNC_PAYLOAD_LIMIT,
  type SyncOutcome,
} from '../../offline/api/invoke-api';

const NAME = 'lambda-notes-dev-hello';
const ARN = `arn:aws:lambda:ap-northeast-1:000000000000:function:${NAME}`;

interface Calls {
  invoked: Array<{
    functionKey: string;
    event: unknown;
    requestId: string;
    clientContext: unknown;
    tail: boolean;
  }>;
  enqueued: Array<{ functionKey: string; payload: unknown; requestId: string }>;
}

function api(overrides: Partial<InvokeApiDeps> & { outcome?: SyncOutcome } = {}): {
  api: InvokeApi;
  calls: Calls;
} {
  const calls: Calls = { invoked: [], enqueued: [] };
  let next = 0;
  const deps: InvokeApiDeps = {
    region: 'ap-northeast-1',
    accountId: '000000000000',
    functions: new Map([
      [NAME, 'hello'],
      ['lambda-notes-dev-s3Upload', 's3Upload'],
    ]),
    newRequestId: () => `00000000-0000-4000-8000-${String(++next).padStart(12, '0')}`,
    invoke: async (functionKey, event, options) => {
      calls.invoked.push({ functionKey, event, ...options });
      return overrides.outcome ?? { kind: 'result', payload: 'value1', logTail: 'U1RBUlQ=' };
    },
    enqueue: async (functionKey, payload, options) => {
      calls.enqueued.push({ functionKey, payload, requestId: options.requestId });
      return { requestId: options.requestId };
    },
    log: () => undefined,
    ...overrides,
  };
  return { api: new InvokeApi(deps), calls };
}

function request(
  functionName: string,
  options: {
    headers?: Record<string, string>;
    body?: Buffer | string;
    query?: string;
    bodyBytes?: number;
  } = {},
): ApiRequest {
  const body = Buffer.from(options.body ?? '{}');
  return {
    method: 'POST',
    url: `/2015-03-31/functions/${encodeURIComponent(functionName)}/invocations${options.query ?? ''}`,
    headers: options.headers ?? {},
    body,
    bodyBytes: options.bodyBytes ?? body.length,
  };
}

function parsed(response: ApiResponse): Record<string, unknown> {
  return JSON.parse(response.body) as Record<string, unknown>;
}

describe('invoke-api (Lambda Invoke API contract)', () => {
  describe('RequestResponse', () => {
    it("answers 200 with the payload as JSON, X-Amz-Executed-Version and the run's request id", async () => {
      const { api: invokeApi, calls } = api();
      const response = await invokeApi.handle(request(NAME, { body: '{"key1":"value1"}' }));
      expect(response.status).to.equal(200);
      expect(response.body).to.equal('"value1"');
      expect(response.headers['X-Amz-Executed-Version']).to.equal('$LATEST');
      expect(response.headers['x-amzn-RequestId']).to.equal(calls.invoked[0]?.requestId);
      expect(calls.invoked[0]?.event).to.deep.equal({ key1: 'value1' });
    });

    it('answers null for a handler that returns nothing', async () => {
      const response = await api({ outcome: { kind: 'result', payload: undefined } }).api.handle(
        request(NAME),
      );
      expect(response.body).to.equal('null');
    });

    it('passes an empty body as the event {}', async () => {
      const { api: invokeApi, calls } = api();
      await invokeApi.handle(request(NAME, { body: '' }));
      expect(calls.invoked[0]?.event).to.deep.equal({});
    });

    it('marks a function error with X-Amz-Function-Error: Unhandled, status 200', async () => {
      const payload = { errorType: 'InvalidEventError', errorMessage: 'bad', trace: [] };
      const response = await api({ outcome: { kind: 'function-error', payload } }).api.handle(request(NAME));
      expect(response.status).to.equal(200);
      expect(response.headers['X-Amz-Function-Error']).to.equal('Unhandled');
      expect(parsed(response)).to.deep.equal(payload);
    });

    it('gives X-Amz-Log-Result only with LogType Tail', async () => {
      const withTail = await api().api.handle(request(NAME, { headers: { 'x-amz-log-type': 'Tail' } }));
      const without = await api().api.handle(request(NAME));
      expect(withTail.headers['X-Amz-Log-Result']).to.equal('U1RBUlQ=');
      expect(without.headers).not.to.have.property('X-Amz-Log-Result');
    });

    it('hands the decoded X-Amz-Client-Context to the run', async () => {
      const { api: invokeApi, calls } = api();
      const context = { custom: { foo: 'bar' } };
      await invokeApi.handle(
        request(NAME, {
          headers: { 'x-amz-client-context': Buffer.from(JSON.stringify(context)).toString('base64') },
        }),
      );
      expect(calls.invoked[0]?.clientContext).to.deep.equal(context);
    });

    it('refuses a client context that is not base64 JSON', async () => {
      const response = await api().api.handle(request(NAME, { headers: { 'x-amz-client-context': '!!!' } }));
      expect(response.status).to.equal(400);
      expect(response.headers['x-amzn-ErrorType']).to.equal('InvalidRequestContentException');
    });

    for (const reason of [
      'ReservedFunctionConcurrentInvocationLimitExceeded',
      'ConcurrentInvocationLimitExceeded',
    ] as const) {
      it(`answers a throttle with 429 TooManyRequestsException and its Reason (${reason})`, async () => {
        const response = await api({ outcome: { kind: 'throttled', reason } }).api.handle(request(NAME));
        expect(response.status).to.equal(429);
        expect(response.headers['x-amzn-ErrorType']).to.equal('TooManyRequestsException');
        expect(parsed(response)).to.deep.equal({ Reason: reason, Type: 'User', message: 'Rate Exceeded.' });
      });
    }

    it('answers 500 ServiceException when the runner itself fails', async () => {
      const response = await api({
        invoke: () => Promise.reject(new Error('worker gone')),
      }).api.handle(request(NAME));
      expect(response.status).to.equal(500);
      expect(response.headers['x-amzn-ErrorType']).to.equal('ServiceException');
      expect(response.body).not.to.contain('worker gone');
    });
  });

  describe('payload', () => {
    it('refuses a body that is not JSON with 400 InvalidRequestContentException (not retried by clients)', async () => {
      const { api: invokeApi, calls } = api();
      const response = await invokeApi.handle(request(NAME, { body: 'not json' }));
      expect(response.status).to.equal(400);
      expect(response.headers['x-amzn-ErrorType']).to.equal('InvalidRequestContentException');
      expect(parsed(response).message).to.match(
        /^Could not parse request body into json: Could not parse payload into json: /,
      );
      expect(calls.invoked).to.have.length(0);
    });

    it('refuses a body that is not UTF-8', async () => {
      const response = await api().api.handle(request(NAME, { body: Buffer.from([0x22, 0x87, 0x22]) }));
      expect(response.status).to.equal(400);
      expect(response.headers['x-amzn-ErrorType']).to.equal('InvalidRequestContentException');
    });

    it('refuses a sync payload over 6 MB with 413 RequestEntityTooLargeException', async () => {
      const bytes = SYNC_PAYLOAD_LIMIT + 1;
      const response = await api().api.handle(request(NAME, { bodyBytes: bytes }));
      expect(response.status).to.equal(413);
      expect(response.headers['x-amzn-ErrorType']).to.equal('RequestEntityTooLargeException');
      expect(parsed(response).message).to.equal(
        `${bytes} byte payload is too large for the RequestResponse invocation type (limit 6291456 bytes)`,
      );
    });

    it('accepts a sync payload of exactly 6 MB', async () => {
      const response = await api().api.handle(request(NAME, { body: '{}', bodyBytes: 2 }));
      expect(response.status).to.equal(200);
      const limit = await api().api.handle(
        request(NAME, { body: `"${'x'.repeat(SYNC_PAYLOAD_LIMIT - 2)}"` }),
      );
      expect(limit.status).to.equal(200);
    });

    it('refuses an Event payload over 1 MB, and queues nothing', async () => {
      const { api: invokeApi, calls } = api();
      const bytes = ASYNC_PAYLOAD_LIMIT + 1;
      const response = await invokeApi.handle(
        request(NAME, { headers: { 'x-amz-invocation-type': 'Event' }, bodyBytes: bytes }),
      );
      expect(response.status).to.equal(413);
      expect(parsed(response).message).to.equal(
        `${bytes} byte payload is too large for the Event invocation type (limit 1048576 bytes)`,
      );
      expect(calls.enqueued).to.have.length(0);
    });
  });

  describe('Event and DryRun', () => {
    it("answers 202 with the queued event's request id once the queue accepted it", async () => {
      const { api: invokeApi, calls } = api();
      const response = await invokeApi.handle(
        request('lambda-notes-dev-s3Upload', {
          headers: { 'x-amz-invocation-type': 'Event' },
          body: '{"a":1}',
        }),
      );
      expect(response.status).to.equal(202);
      expect(response.body).to.equal('');
      expect(calls.enqueued).to.deep.equal([
        { functionKey: 's3Upload', payload: { a: 1 }, requestId: response.headers['x-amzn-RequestId'] },
      ]);
    });

    it('answers with the id the queue returns (a queue that makes its own ids)', async () => {
      const response = await api({ enqueue: async () => ({ requestId: 'queue-made-id' }) }).api.handle(
        request(NAME, { headers: { 'x-amz-invocation-type': 'Event' } }),
      );
      expect(response.headers['x-amzn-RequestId']).to.equal('queue-made-id');
    });

    it('answers 500 ServiceException when the queue could not take the event', async () => {
      const response = await api({ enqueue: () => Promise.reject(new Error('disk full')) }).api.handle(
        request(NAME, { headers: { 'x-amz-invocation-type': 'Event' } }),
      );
      expect(response.status).to.equal(500);
      expect(response.headers['x-amzn-ErrorType']).to.equal('ServiceException');
    });

    it('answers DryRun with 204 and runs nothing', async () => {
      const { api: invokeApi, calls } = api();
      const response = await invokeApi.handle(
        request(NAME, { headers: { 'x-amz-invocation-type': 'DryRun' } }),
      );
      expect(response.status).to.equal(204);
      expect(response.body).to.equal('');
      expect(response.headers['x-amzn-RequestId']).to.be.a('string');
      expect(calls.invoked).to.have.length(0);
      expect(calls.enqueued).to.have.length(0);
    });

    it('refuses an unknown invocation type with a ValidationException', async () => {
      const response = await api().api.handle(
        request(NAME, { headers: { 'x-amz-invocation-type': 'Later' } }),
      );
      expect(response.status).to.equal(400);
      expect(response.headers['x-amzn-ErrorType']).to.equal('ValidationException');
      expect(parsed(response).message).to.contain("Value 'Later' at 'invocationType'");
    });

    it('takes the deprecated InvokeAsync route as an Event', async () => {
      const { api: invokeApi, calls } = api();
      const response = await invokeApi.handle({
        ...request(NAME),
        url: `/2014-11-13/functions/${NAME}/invoke-async/`,
      });
      expect(response.status).to.equal(202);
      expect(parsed(response)).to.deep.equal({ Status: 202 });
      expect(calls.enqueued).to.have.length(1);
    });
  });

  describe('FunctionName', () => {
    for (const form of [NAME, ARN, `${ARN}:$LATEST`, `000000000000:function:${NAME}`, `${NAME}:$LATEST`]) {
      it(`finds the function by ${form}`, async () => {
        const { api: invokeApi, calls } = api();
        const response = await invokeApi.handle(request(form));
        expect(response.status).to.equal(200);
        expect(calls.invoked[0]?.functionKey).to.equal('hello');
      });
    }

    it('takes Qualifier=$LATEST', async () => {
      const response = await api().api.handle(request(NAME, { query: '?Qualifier=%24LATEST' }));
      expect(response.status).to.equal(200);
    });

    it('answers an unknown function with 404 ResourceNotFoundException naming its ARN', async () => {
      const response = await api().api.handle(request('doesnotexist'));
      expect(response.status).to.equal(404);
      expect(response.headers['x-amzn-ErrorType']).to.equal('ResourceNotFoundException');
      expect(parsed(response)).to.deep.equal({
        Type: 'User',
        Message:
          'Function not found: arn:aws:lambda:ap-northeast-1:000000000000:function:doesnotexist:$LATEST',
      });
    });

    it('answers a version or alias (none exist offline) with 404', async () => {
      const response = await api().api.handle(request(`${ARN}:7`));
      expect(response.status).to.equal(404);
      expect(parsed(response).Message).to.equal(`Function not found: ${ARN}:7`);
    });

    it('refuses an ARN qualifier that differs from Qualifier', async () => {
      const response = await api().api.handle(request(`${ARN}:$LATEST`, { query: '?Qualifier=prod' }));
      expect(response.status).to.equal(400);
      expect(response.headers['x-amzn-ErrorType']).to.equal('InvalidParameterValueException');
    });

    it('answers an ARN of another region with 404', async () => {
      const response = await api().api.handle(request(ARN.replace('ap-northeast-1', 'us-east-1')));
      expect(response.status).to.equal(404);
      expect(parsed(response).Message).to.equal(
        "Functions from 'us-east-1' are not reachable in this region ('ap-northeast-1')",
      );
    });

    it('refuses a malformed name with a ValidationException', async () => {
      const response = await api().api.handle(request('bad name!'));
      expect(response.status).to.equal(400);
      expect(response.headers['x-amzn-ErrorType']).to.equal('ValidationException');
    });

    it('answers an unknown route with 404 and a request id', async () => {
      const response = await api().api.handle({ ...request(NAME), url: '/2015-03-31/functions' });
      expect(response.status).to.equal(404);
      expect(response.headers['x-amzn-RequestId']).to.be.a('string');
    });
  });

  it('puts x-amzn-RequestId on every answer, a fresh id each time', async () => {
    const { api: invokeApi } = api();
    const answers = await Promise.all([
      invokeApi.handle(request(NAME)),
      invokeApi.handle(request('doesnotexist')),
      invokeApi.handle(request(NAME, { body: 'x' })),
      invokeApi.handle(request(NAME, { headers: { 'x-amz-invocation-type': 'DryRun' } })),
    ]);
    const ids = answers.map((answer) => answer.headers['x-amzn-RequestId']);
    for (const id of ids) expect(id).to.match(/^[0-9a-f-]{36}$/);
    expect(new Set(ids).size).to.equal(ids.length);
  });
});
