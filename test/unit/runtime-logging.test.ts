/**
 * The runtime's console as AWS's Node.js runtime clients write it (v3 src/LogPatch.js and test/unit/LogPatchTest.js,
 * v4 src/logging/*.ts and their tests): one ordered stream, TRACE to FATAL, AWS_LAMBDA_LOG_LEVEL drops what is
 * below it, AWS_LAMBDA_LOG_FORMAT=JSON writes JSON records, the "Invoke Error" line carries the error's own fields,
 * and lines outside an invocation carry the request id each client gives them.
 */
import { expect } from 'chai';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixtureSpec } from '../helpers/runtime-fixtures';
import { type ObservedRun, TestEnvironments } from '../helpers/environment-runs';

const lines = (run: ObservedRun): string[] => run.log.split('\n').filter((line) => line !== '');

describe("the runtime's console (logging as Lambda writes it)", function () {
  this.timeout(20_000);
  let tmpRoot = '';
  const environments = new TestEnvironments(() => tmpRoot);

  before(async () => {
    tmpRoot = await mkdtemp(join(tmpdir(), 'lambda-notes-logging-'));
  });
  afterEach(() => environments.endAll());
  after(() => rm(tmpRoot, { recursive: true, force: true }));

  async function runOnce(handler: string, variables: Record<string, string> = {}, runtime = 'nodejs24.x') {
    const environment = await environments.start(fixtureSpec(`logging.${handler}`, { variables, runtime }));
    return environments.run(environment);
  }

  it('writes every level in order on one stream, console.fatal included (Text format)', async () => {
    const run = await runOnce('levels');
    const levels = lines(run)
      .slice(1)
      .map((line) => line.split('\t')[2]);
    expect(levels).to.deep.equal(['TRACE', 'DEBUG', 'INFO', 'INFO', 'WARN', 'ERROR', 'FATAL']);
    for (const line of lines(run).slice(1)) expect(line.split('\t')[1]).to.equal(run.requestId);
  });

  it('drops the lines below AWS_LAMBDA_LOG_LEVEL (a DEBUG line at INFO)', async () => {
    const run = await runOnce('levels', { AWS_LAMBDA_LOG_LEVEL: 'INFO', AWS_LAMBDA_LOG_FORMAT: 'JSON' });
    const levels = lines(run).map((line) => (JSON.parse(line) as { level: string }).level);
    expect(levels).to.deep.equal(['INFO', 'INFO', 'INFO', 'WARN', 'ERROR', 'FATAL']);
  });

  it("applies the function's logging settings (serverless.yml logs: JSON format, application log level WARN)", async () => {
    const environment = await environments.start(
      fixtureSpec('logging.levels', {
        logging: { format: 'JSON', applicationLogLevel: 'WARN', systemLogLevel: 'INFO' },
      }),
    );
    const run = await environments.run(environment);
    const levels = lines(run).map((line) => (JSON.parse(line) as { level: string }).level);
    expect(levels).to.deep.equal(['WARN', 'ERROR', 'FATAL']);
  });

  it('writes JSON records with AWS_LAMBDA_LOG_FORMAT=JSON, an Error argument as errorType, errorMessage, stackTrace', async () => {
    const run = await runOnce('levels', { AWS_LAMBDA_LOG_FORMAT: 'JSON' });
    const records = lines(run).map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(records[3]).to.include({ level: 'INFO', requestId: run.requestId, message: 'an info line' });
    expect(records[3]?.timestamp).to.match(/^\d{4}-\d{2}-\d{2}T[\d:.]+Z$/);
    const error = records.find((record) => record.level === 'ERROR');
    expect(error).to.include({ errorType: 'ValidationError', errorMessage: 'with an error' });
    expect(error?.message).to.match(/^an error line ValidationError: with an error/);
    expect((error?.stackTrace as string[])[0]).to.equal('ValidationError: with an error');
  });

  it('writes the Invoke Error line with the error’s own fields (Text)', async () => {
    const run = await runOnce('fails');
    const invokeError = lines(run).find((line) => line.includes('Invoke Error'));
    const [, requestId, level, message] = invokeError?.split('\t') ?? [];
    expect([requestId, level, message]).to.deep.equal([run.requestId, 'ERROR', 'Invoke Error ']);
    const fields = JSON.parse(invokeError?.split('\t')[4] ?? '{}') as Record<string, unknown>;
    expect(fields).to.deep.include({
      errorType: 'ValidationError',
      errorMessage: 'key1 is missing',
      details: { field: 'key1' },
    });
    expect((fields.stack as string[])[0]).to.equal('ValidationError: key1 is missing');
  });

  it('writes the Invoke Error as a JSON record of the error in the JSON format', async () => {
    const run = await runOnce('fails', { AWS_LAMBDA_LOG_FORMAT: 'JSON' });
    const record = JSON.parse(lines(run).at(-1) ?? '{}') as {
      level: string;
      message: Record<string, unknown>;
    };
    expect(record.level).to.equal('ERROR');
    expect(record.message).to.deep.include({
      errorType: 'ValidationError',
      errorMessage: 'key1 is missing',
      details: { field: 'key1' },
    });
  });

  it('gives a line outside an invocation the request id of the client: "-" on nodejs24.x, undefined on nodejs22.x', async () => {
    const v4 = await runOnce('levels', {}, 'nodejs24.x');
    const v3 = await runOnce('levels', {}, 'nodejs22.x');
    expect(lines(v4)[0]?.split('\t').slice(1)).to.deep.equal(['-', 'INFO', 'at init']);
    expect(lines(v3)[0]?.split('\t').slice(1)).to.deep.equal(['undefined', 'INFO', 'at init']);
  });
});
