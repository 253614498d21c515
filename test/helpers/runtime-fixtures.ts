/** The fixture functions of test/fixtures/runtime, as execution environments run them. */
import { resolve } from 'node:path';
import type { FunctionSpec } from '../../offline/environments/environment-types';

export const RUNTIME_FIXTURES = resolve(__dirname, '..', 'fixtures', 'runtime');
export const BOOTSTRAP = resolve(__dirname, '..', '..', 'offline', 'runtime', 'bootstrap.cjs');

/** A function whose handler is `handlers.<name>` (or another fixture file) of test/fixtures/runtime. */
export function fixtureSpec(handler: string, overrides: Partial<FunctionSpec> = {}): FunctionSpec {
  return {
    key: 'fixture',
    name: 'lambda-notes-test-fixture',
    arn: 'arn:aws:lambda:ap-northeast-1:000000000000:function:lambda-notes-test-fixture',
    handler,
    taskRoot: RUNTIME_FIXTURES,
    runtime: 'nodejs24.x',
    memorySizeMb: 128,
    timeoutSeconds: 5,
    region: 'ap-northeast-1',
    variables: { FIXTURE_VARIABLE: 'set' },
    ...overrides,
  };
}
