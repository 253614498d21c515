/**
 * lib/logger.ts writes what Powertools for AWS Lambda's Logger writes: each case runs the same calls through both,
 * with the same environment, and compares the lines byte for byte but for the timestamp. Powertools stays a
 * development dependency for this comparison only.
 */
import { Logger as PowertoolsLogger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import { expect } from 'chai';
import { EmptyObjectError } from '../../lib/errors';
import { type LogAttributes, Logger } from '../../lib/logger';
import { fakeContext } from '../../support/fixtures';

interface Line {
  stream: 'stdout' | 'stderr';
  text: string;
}

type Calls = (logger: Pick<Logger, 'addContext' | 'info' | 'warn' | 'error'>) => void;

const ENV_NAMES = [
  'AWS_LAMBDA_INITIALIZATION_TYPE',
  '_X_AMZN_TRACE_ID',
  'POWERTOOLS_LOG_LEVEL',
  'LOG_LEVEL',
  'POWERTOOLS_SERVICE_NAME',
  'POWERTOOLS_DEV',
  'TZ',
] as const;

/** Timestamps differ by when each line was written; everything else must not. */
function normalise(text: string): string {
  const timestamp = /"timestamp":"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)"/.exec(text);
  expect(timestamp, `an ISO timestamp in ${text}`).to.not.equal(null);
  return text.replace(/"timestamp":"[^"]*"/, '"timestamp":"…"');
}

function powertoolsLines(calls: Calls): Line[] {
  const lines: Line[] = [];
  const { write: stdoutWrite } = process.stdout;
  const { write: stderrWrite } = process.stderr;
  const capture = (stream: Line['stream']): typeof process.stdout.write =>
    ((chunk: string | Uint8Array): boolean => {
      lines.push({ stream, text: typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8') });
      return true;
    }) as typeof process.stdout.write;
  process.stdout.write = capture('stdout');
  process.stderr.write = capture('stderr');
  try {
    const logger = new PowertoolsLogger({ serviceName: 'lambda-notes' });
    calls({
      addContext: (context: Context) => logger.addContext(context),
      info: (message: string, attributes?: LogAttributes) => logger.info(message, attributes ?? {}),
      warn: (message: string, attributes?: LogAttributes) => logger.warn(message, attributes ?? {}),
      error: (message: string, attributes?: LogAttributes) => logger.error(message, attributes ?? {}),
    } as Pick<Logger, 'addContext' | 'info' | 'warn' | 'error'>);
  } finally {
    process.stdout.write = stdoutWrite;
    process.stderr.write = stderrWrite;
  }
  return lines;
}

function ownLines(calls: Calls): Line[] {
  const lines: Line[] = [];
  calls(new Logger({ serviceName: 'lambda-notes', write: (stream, text) => lines.push({ stream, text }) }));
  return lines;
}

function expectSameAsPowertools(calls: Calls): Line[] {
  const ours = ownLines(calls).map((line) => ({ ...line, text: normalise(line.text) }));
  const theirs = powertoolsLines(calls).map((line) => ({ ...line, text: normalise(line.text) }));
  expect(ours).to.deep.equal(theirs);
  expect(ours.length).to.be.above(0);
  return ours;
}

describe('logger: the lines of Powertools Logger', () => {
  const saved = Object.fromEntries(ENV_NAMES.map((name) => [name, process.env[name]]));

  beforeEach(() => {
    for (const name of ENV_NAMES) Reflect.deleteProperty(process.env, name);
    process.env.AWS_LAMBDA_INITIALIZATION_TYPE = 'on-demand';
  });

  after(() => {
    for (const name of ENV_NAMES) {
      const value = saved[name];
      if (value === undefined) Reflect.deleteProperty(process.env, name);
      else process.env[name] = value;
    }
  });

  it('a line before the invocation context: level, message, timestamp, service, sampling_rate', () => {
    const [line] = expectSameAsPowertools((logger) => logger.info('cold start'));
    expect(Object.keys(JSON.parse(line?.text ?? '{}') as object)).to.deep.equal([
      'level',
      'message',
      'timestamp',
      'service',
      'sampling_rate',
    ]);
  });

  it('with the context: cold_start, function_arn, function_memory_size, function_name, function_request_id', () => {
    const [line] = expectSameAsPowertools((logger) => {
      logger.addContext(fakeContext());
      logger.info('value1 = value1');
    });
    expect(JSON.parse(line?.text ?? '{}')).to.include({
      cold_start: true,
      function_name: fakeContext().functionName,
    });
  });

  it('cold_start is true for the first invocation only', () => {
    const lines = expectSameAsPowertools((logger) => {
      for (const message of ['first', 'second']) {
        logger.addContext(fakeContext());
        logger.info(message);
      }
    });
    expect(lines.map((line) => (JSON.parse(line.text) as { cold_start: boolean }).cold_start)).to.deep.equal([
      true,
      false,
    ]);
  });

  it('cold_start is false with provisioned concurrency', () => {
    process.env.AWS_LAMBDA_INITIALIZATION_TYPE = 'provisioned-concurrency';
    expectSameAsPowertools((logger) => {
      logger.addContext(fakeContext());
      logger.info('pre-initialised');
    });
  });

  it("the call's attributes after the standard keys, empty ones left out, BigInt as a string", () => {
    expectSameAsPowertools((logger) => {
      logger.addContext(fakeContext());
      logger.info('object processed', {
        bucket: 'lambda-s3-test-dev',
        key: 'targets/日本.txt',
        size: 25,
        lines: 1,
        nested: { kept: null, alsoKept: '' },
        list: [1, 'two'],
        empty: '',
        nothing: null,
        missing: undefined,
        big: 10n,
      });
    });
  });

  it('an error attribute as name, location, message, stack, cause and its own fields, on stderr', () => {
    const cause = new Error('socket hang up');
    const error = Object.assign(new EmptyObjectError('s3://b/k is empty', { cause }), { code: 'E_EMPTY' });
    const [line] = expectSameAsPowertools((logger) => {
      logger.addContext(fakeContext());
      logger.error('object failed', { bucket: 'b', key: 'k', error });
    });
    expect(line?.stream).to.equal('stderr');
  });

  it('WARN on stderr, INFO on stdout', () => {
    const lines = expectSameAsPowertools((logger) => {
      logger.info('to stdout');
      logger.warn('to stderr');
    });
    expect(lines.map((line) => line.stream)).to.deep.equal(['stdout', 'stderr']);
  });

  it("the X-Ray trace id from Lambda's _X_AMZN_TRACE_ID", () => {
    process.env._X_AMZN_TRACE_ID =
      'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1';
    const [line] = expectSameAsPowertools((logger) => {
      logger.addContext(fakeContext());
      logger.info('traced');
    });
    expect(JSON.parse(line?.text ?? '{}')).to.include({
      xray_trace_id: '1-5759e988-bd862e3fe1be46a994272793',
    });
  });

  it('a reserved key in the attributes is dropped with a warning', () => {
    const lines = expectSameAsPowertools((logger) => logger.info('hello', { level: 'DEBUG', extra: 1 }));
    expect(lines).to.have.length(2);
  });

  it('POWERTOOLS_LOG_LEVEL=WARN leaves INFO out', () => {
    process.env.POWERTOOLS_LOG_LEVEL = 'WARN';
    const lines = expectSameAsPowertools((logger) => {
      logger.info('left out');
      logger.warn('kept');
    });
    expect(lines).to.have.length(1);
  });
});
