/**
 * Real execution environments for a test: started with the project's runtime (offline/runtime/bootstrap.cjs),
 * run once or more, and all ended by `endAll` (call it in afterEach, so that a failing test ends them too).
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { ExecutionEnvironment, logStreamName } from '../../offline/environments/environment';
import type {
  EnvironmentOptions,
  FunctionSpec,
  RunResult,
} from '../../offline/environments/environment-types';
import { processMemory } from '../../offline/environments/process-memory';
import { BOOTSTRAP } from './runtime-fixtures';

export interface ObservedRun extends RunResult {
  /** What the environment wrote while the run was under way. */
  readonly log: string;
  readonly requestId: string;
  /** The response parsed from JSON, or the error payload. */
  readonly payload: unknown;
}

export class TestEnvironments {
  readonly #started: ExecutionEnvironment[] = [];

  constructor(private readonly tmpRoot: () => string) {}

  async start(
    spec: FunctionSpec,
    overrides: Partial<EnvironmentOptions> = {},
  ): Promise<ExecutionEnvironment> {
    const id = randomUUID().replaceAll('-', '');
    const environment = await ExecutionEnvironment.start(spec, {
      id,
      logStream: logStreamName(new Date(), id),
      tmpDir: join(this.tmpRoot(), id),
      bootstrap: BOOTSTRAP,
      hostVariables: { PATH: process.env.PATH ?? '' },
      memory: await processMemory(),
      output: (text, _stream, sink) => sink?.append(text),
      ended: () => undefined,
      now: Date.now,
      ...overrides,
    });
    this.#started.push(environment);
    return environment;
  }

  run(environment: ExecutionEnvironment, event: unknown = {}): Promise<ObservedRun> {
    return observeRun(environment, event);
  }

  async endAll(): Promise<void> {
    await Promise.all(this.#started.splice(0).map((environment) => environment.end('test over')));
  }
}

/** Runs one event in `environment` under a new request id, keeping what the environment wrote meanwhile. */
export async function observeRun(
  environment: ExecutionEnvironment,
  event: unknown = {},
): Promise<ObservedRun> {
  let log = '';
  const requestId = randomUUID();
  const result = await environment.run(
    {
      requestId,
      event: JSON.stringify(event),
      invokedFunctionArn: environment.spec.arn,
      traceId: 'Root=1-6750a1b2-0123456789abcdef01234567;Parent=0123456789abcdef;Sampled=0',
    },
    { append: (text) => (log += text) },
  );
  const payload: unknown = result.outcome.ok ? JSON.parse(result.outcome.body) : result.outcome.error;
  return { ...result, log, requestId, payload };
}
