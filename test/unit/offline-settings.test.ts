import { expect } from 'chai';
import { availableParallelism } from 'node:os';
import {
  configuredPorts,
  lambdaEndpoint,
  localEnvironment,
  readOfflineSettings,
} from '../../offline/plugin/settings';
import { asyncRunResult, httpAnswer } from '../../offline/plugin/run-outcomes';
import { RouteFunctionError } from '../../offline/adapters/serverless-offline-http';

function thrown(run: () => unknown): Error {
  try {
    run();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected an error');
}

describe('readOfflineSettings (the environment variables of npm start)', () => {
  it('takes AWS timings, 10 idle minutes, 4 pollers per core and .offline by default', () => {
    expect(readOfflineSettings({}, '/srv/notes')).to.deep.equal({
      timeScale: 1,
      stateDir: '/srv/notes/.offline',
      metricsPort: 3004,
      idleMs: 600_000,
      asyncPollers: Math.max(8, 4 * availableParallelism()),
      accountConcurrency: 1000,
      maxEnvironments: undefined,
    });
  });

  it('scales the idle time by the time scale, and resolves the state dir from the service folder', () => {
    const settings = readOfflineSettings(
      {
        LAMBDA_ASYNC_TIME_SCALE: '0.1',
        LAMBDA_IDLE_SECONDS: '30',
        LAMBDA_ASYNC_POLLERS: '3',
        OFFLINE_METRICS_PORT: '0',
        OFFLINE_STATE_DIR: 'tmp/state',
        LAMBDA_ACCOUNT_CONCURRENCY: '50',
        LAMBDA_MAX_ENVIRONMENTS: '6',
      },
      '/srv/notes',
    );
    expect(settings).to.deep.equal({
      timeScale: 0.1,
      stateDir: '/srv/notes/tmp/state',
      metricsPort: 0,
      idleMs: 3_000,
      asyncPollers: 3,
      accountConcurrency: 50,
      maxEnvironments: 6,
    });
  });

  for (const [name, value, says] of [
    ['LAMBDA_ASYNC_TIME_SCALE', '0', 'LAMBDA_ASYNC_TIME_SCALE must be a positive number'],
    ['LAMBDA_ASYNC_TIME_SCALE', 'fast', 'got "fast"'],
    ['LAMBDA_IDLE_SECONDS', '-5', 'LAMBDA_IDLE_SECONDS must be a positive number'],
    ['LAMBDA_ASYNC_POLLERS', '2.5', 'LAMBDA_ASYNC_POLLERS must be a whole number'],
    ['OFFLINE_METRICS_PORT', '70000', 'OFFLINE_METRICS_PORT must be a port number'],
    ['LAMBDA_ACCOUNT_CONCURRENCY', '0', 'LAMBDA_ACCOUNT_CONCURRENCY must be a positive number'],
    ['LAMBDA_ACCOUNT_CONCURRENCY', '99.5', 'LAMBDA_ACCOUNT_CONCURRENCY must be a whole number'],
    ['LAMBDA_MAX_ENVIRONMENTS', 'many', 'LAMBDA_MAX_ENVIRONMENTS must be a positive number'],
    ['LAMBDA_MAX_ENVIRONMENTS', '-1', 'got "-1"'],
  ] as const) {
    it(`refuses ${name}=${value} with a message that names it`, () => {
      expect(thrown(() => readOfflineSettings({ [name]: value }, '/srv')).message).to.contain(says);
    });
  }
});

describe('localEnvironment, configuredPorts and lambdaEndpoint (serverless.yml and the command line)', () => {
  it("points functions at serverless.yml's local S3, with serverless-s3-local's credentials", () => {
    expect(localEnvironment({ s3: { host: '127.0.0.1', port: 5000 } })).to.deep.equal({
      S3_ENDPOINT: 'http://127.0.0.1:5000',
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
      AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
    });
    expect(localEnvironment(undefined).S3_ENDPOINT).to.equal('http://localhost:4569');
  });

  it('names the configured ports for the lock holder file, leaving out those not set', () => {
    expect(
      configuredPorts({ 'serverless-offline': { httpPort: 3000, lambdaPort: '3002' }, s3: {} }, 3004),
    ).to.deep.equal({ http: 3000, lambda: '3002', metrics: 3004 });
  });

  it('takes the Lambda port from the command line first, then serverless.yml, then 3002', () => {
    const custom = { 'serverless-offline': { lambdaPort: 4002, host: '0.0.0.0' } };
    expect(lambdaEndpoint(custom, { lambdaPort: '5002' })).to.deep.equal({ host: '0.0.0.0', port: 5002 });
    expect(lambdaEndpoint(custom, {})).to.deep.equal({ host: '0.0.0.0', port: 4002 });
    expect(lambdaEndpoint(undefined, {})).to.deep.equal({ host: 'localhost', port: 3002 });
  });

  it('refuses a Lambda port that is not a port number, naming the value', () => {
    expect(thrown(() => lambdaEndpoint(undefined, { lambdaPort: 'abc' })).message).to.contain('got "abc"');
  });
});

describe('run outcomes for the async queue and the HTTP API', () => {
  const error = { errorType: 'EmptyObjectError', errorMessage: 'targets/a.txt is empty', trace: [] };

  it('gives the queue a result, an error, or a throttle (not an attempt)', () => {
    expect(asyncRunResult({ kind: 'result', payload: 'ok' })).to.deep.equal({ ok: true, result: 'ok' });
    expect(asyncRunResult({ kind: 'function-error', payload: error })).to.deep.equal({ ok: false, error });
    expect(asyncRunResult({ kind: 'throttled', reason: 'ConcurrentInvocationLimitExceeded' })).to.deep.equal({
      throttled: true,
      reason: 'ConcurrentInvocationLimitExceeded',
    });
  });

  it("gives serverless-offline the result, or the function's error type and message to answer 502 with", () => {
    expect(httpAnswer({ kind: 'result', payload: { statusCode: 200 } })).to.deep.equal({ statusCode: 200 });
    const functionError = thrown(() => httpAnswer({ kind: 'function-error', payload: error }));
    expect(functionError).to.be.instanceOf(RouteFunctionError);
    expect([functionError.name, functionError.message]).to.deep.equal([
      'EmptyObjectError',
      'targets/a.txt is empty',
    ]);
    const throttled = thrown(() =>
      httpAnswer({ kind: 'throttled', reason: 'ReservedFunctionConcurrentInvocationLimitExceeded' }),
    );
    expect(throttled.name).to.equal('TooManyRequestsException');
  });
});
