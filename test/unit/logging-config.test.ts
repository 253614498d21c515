/**
 * serverless.yml's logging settings offline: osls compiles a function's `logs`, or else `provider.logs.lambda`,
 * into Lambda's LoggingConfig (node_modules/serverless/lib/plugins/aws/package/compile/functions.js); inside the
 * environment Lambda sets AWS_LAMBDA_LOG_FORMAT, AWS_LAMBDA_LOG_LEVEL and AWS_LAMBDA_LOG_GROUP_NAME from it, and
 * in the JSON format writes its own lines as platform events (Lambda developer guide: "Configuring JSON and plain
 * text log formats", "Log-level filtering", "Lambda Telemetry API Event schema reference").
 */
import { expect } from 'chai';
import { functionSpecs } from '../../offline/core/service-model';
import { loggingConfig, loggingVariables } from '../../offline/environments/logging-config';
import type { ServiceDefinition } from '../../offline/model/service';
import { InvocationLogs } from '../../offline/observability/invocation-logs';

const FIGURES = { durationMs: 12.34, memorySizeMb: 128, maxMemoryUsedMb: 61, initDurationMs: 150.5 };

describe('logging settings (LoggingConfig) offline', () => {
  it("takes the function's logs over the provider's logs.lambda, as a whole", () => {
    const provider = { lambda: { logFormat: 'JSON', applicationLogLevel: 'DEBUG', systemLogLevel: 'WARN' } };
    expect(loggingConfig(undefined, provider)).to.deep.equal({
      format: 'JSON',
      applicationLogLevel: 'DEBUG',
      systemLogLevel: 'WARN',
    });
    expect(loggingConfig({ logFormat: 'JSON' }, provider)).to.deep.equal({
      format: 'JSON',
      applicationLogLevel: 'INFO',
      systemLogLevel: 'INFO',
    });
    expect(loggingConfig(undefined, { httpApi: true })).to.deep.equal({ format: 'Text' });
  });

  it('sets the variables Lambda sets: levels with the JSON format only, the log group when one is named', () => {
    expect(
      loggingVariables(loggingConfig({ logFormat: 'Text', applicationLogLevel: 'DEBUG' }, undefined), 'fn'),
    ).to.deep.equal({ AWS_LAMBDA_LOG_GROUP_NAME: '/aws/lambda/fn' });
    expect(
      loggingVariables(
        loggingConfig(
          { logFormat: 'JSON', applicationLogLevel: 'warn', logGroup: '/custom/group' },
          undefined,
        ),
        'fn',
      ),
    ).to.deep.equal({
      AWS_LAMBDA_LOG_GROUP_NAME: '/custom/group',
      AWS_LAMBDA_LOG_FORMAT: 'JSON',
      AWS_LAMBDA_LOG_LEVEL: 'WARN',
    });
  });

  it('reaches the functions as serverless.yml defines them', () => {
    const service: ServiceDefinition = {
      service: 'notes',
      provider: {
        region: 'ap-northeast-1',
        stage: 'dev',
        runtime: 'nodejs24.x',
        logs: { lambda: { logFormat: 'JSON' } },
      },
      functions: {
        hello: { handler: 'handlers/hello.handler' },
        quiet: {
          handler: 'handlers/hello.handler',
          logs: { logFormat: 'JSON', applicationLogLevel: 'ERROR' },
        },
      },
    };
    const specs = functionSpecs(service, { taskRoot: '/task', local: {} });
    expect(specs.get('hello')?.logging).to.deep.include({ format: 'JSON', applicationLogLevel: 'INFO' });
    expect(specs.get('quiet')?.logging).to.deep.include({ format: 'JSON', applicationLogLevel: 'ERROR' });
  });

  it('writes START, END and REPORT as platform.start, platform.runtimeDone and platform.report in the JSON format', () => {
    const logs = new InvocationLogs();
    const capture = logs.begin('hello', 'id-1', Date.parse('2026-12-07T00:00:00Z'), 'stream', {
      format: 'JSON',
      level: 'DEBUG',
    });
    capture.append('{"level":"INFO","message":"hi"}\n');
    capture.finish(FIGURES);
    const [start, line, done, report] = capture.entry.lines.map(
      (text) => JSON.parse(text) as Record<string, unknown>,
    );
    expect(start).to.deep.equal({
      time: '2026-12-07T00:00:00.000Z',
      type: 'platform.start',
      record: { requestId: 'id-1', version: '$LATEST' },
    });
    expect(line).to.deep.equal({ level: 'INFO', message: 'hi' });
    expect(done).to.deep.include({ type: 'platform.runtimeDone' });
    expect(report).to.deep.include({
      type: 'platform.report',
      record: {
        requestId: 'id-1',
        metrics: {
          durationMs: 12.34,
          billedDurationMs: 163,
          memorySizeMB: 128,
          maxMemoryUsedMB: 61,
          initDurationMs: 150.5,
        },
        status: 'success',
      },
    });
  });

  it('keeps only the platform events at or above the system log level (INFO: no platform.runtimeDone)', () => {
    const capture = new InvocationLogs().begin('hello', 'id-2', 0, 'stream', {
      format: 'JSON',
      level: 'INFO',
    });
    capture.finish({ ...FIGURES, status: 'timeout' });
    const types = capture.entry.lines.map((text) => (JSON.parse(text) as { type: string }).type);
    expect(types).to.deep.equal(['platform.start', 'platform.report']);
    const warn = new InvocationLogs().begin('hello', 'id-3', 0, 'stream', { format: 'JSON', level: 'WARN' });
    warn.finish(FIGURES);
    expect(warn.entry.lines).to.deep.equal([]);
  });
});
