/**
 * Peer suite: the handler fixtures of AWS's Node.js runtime interface client (vendored in
 * test/peer/runtime-client, Apache-2.0) run through the project's execution environments and Runtime API — real
 * processes, not a mock — each case asserting what AWS's client answers and naming the client's test that states
 * it. The v3 client (UserFunctionTest.js, IsAsyncTest.js, src/Runtime.js, src/CallbackContext.js) is the runtime
 * of nodejs22.x, the v4 client (integration-tests/tests/function/*.test.ts, src/**) that of nodejs24.x; a case
 * runs on the runtime(s) whose client states it.
 *
 * UserFunctionTest calls the loaded handler directly; through a runtime, the v3 client answers null for a
 * synchronous handler that returns without calling back (src/Runtime.js `_setDefaultExitListener`), so those
 * cases expect null on nodejs22.x and the handler's value on nodejs24.x. Its four `xit` cases (skipped by AWS:
 * Node's module syntax detection loads them) are left out, as AWS leaves them out.
 */
import { expect } from 'chai';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { RunResult } from '../../offline/environments/environment-types';
import { fixtureSpec, RUNTIME_FIXTURES } from '../helpers/runtime-fixtures';
import { type ObservedRun, TestEnvironments } from '../helpers/environment-runs';

const PEER = resolve(__dirname, '..', 'peer', 'runtime-client');
const V3 = join(PEER, 'v3');
const HANDLERS = join(V3, 'handlers');
const V4 = join(PEER, 'v4', 'module-loader');

type Expected =
  | { readonly result: unknown }
  | { readonly errorType: string; readonly message?: RegExp | string; readonly atInit?: boolean };

interface PeerCase {
  /** The client's test that states the answer: file, then the test's title. */
  readonly source: string;
  readonly taskRoot: string;
  readonly handler: string;
  readonly event?: unknown;
  /** What the v3 client (nodejs22.x) answers; `nodejs24` when the v4 client answers otherwise. */
  readonly expected: Expected;
  readonly nodejs24?: Expected;
  /** What the run's log shows (or must not show) before the answer. */
  readonly log?: RegExp;
  readonly notLog?: RegExp;
}

const ECHO = 'This is a echo test';
const USER_FUNCTION = 'test/unit/UserFunctionTest.js';
const NULL_ON_V3 = (value: unknown): Pick<PeerCase, 'expected' | 'nodejs24'> => ({
  expected: { result: null },
  nodejs24: { result: value },
});

/** Every case of UserFunctionTest.js's `UserFunction.load method` (its `xit` cases left out, as AWS does). */
const USER_FUNCTION_CASES: PeerCase[] = [
  {
    source: 'should successfully load a user function',
    taskRoot: HANDLERS,
    handler: 'core.echo',
    event: ECHO,
    expected: { result: ECHO },
  },
  {
    source: 'should successfully load a user function nested in an object',
    taskRoot: HANDLERS,
    handler: 'nestedHandler.nested.somethingComplex.handler',
    expected: { result: 'something interesting' },
  },
  {
    source: 'should successfully load a user function with a path to the module',
    taskRoot: V3,
    handler: 'handlers/nestedHandler.nested.somethingComplex.handler',
    expected: { result: 'something interesting' },
  },
  {
    source: "should throw a MalformedHandlerName error if the handler string contains '..'",
    taskRoot: HANDLERS,
    handler: 'malformed..handler',
    expected: {
      errorType: 'Runtime.MalformedHandlerName',
      message:
        "'malformed..handler' is not a valid handler name. Use absolute paths when specifying root directories in handler names.",
      atInit: true,
    },
  },
  {
    source: 'should throw a MalformedHandlerName error if the handler string does not contain a dot',
    taskRoot: HANDLERS,
    handler: 'malformedHandler',
    expected: { errorType: 'Runtime.MalformedHandlerName', message: 'Bad handler', atInit: true },
  },
  {
    // The test's app root does not exist; an environment's task root always does, so the missing folders are
    // the handler's module root here: the same handler string reaches the same rule.
    source:
      'should throw a MalformedHandlerName error if the path to the handler does not exists and malformed handler',
    taskRoot: HANDLERS,
    handler: 'non/existent/path/malformedHandler',
    expected: { errorType: 'Runtime.MalformedHandlerName', message: 'Bad handler', atInit: true },
  },
  {
    source: 'should throw a ImportModuleError error if the module does not exists',
    taskRoot: HANDLERS,
    handler: 'noModule.echo',
    expected: {
      errorType: 'Runtime.ImportModuleError',
      message: /^Error: Cannot find module 'noModule'/,
      atInit: true,
    },
  },
  {
    source: 'should throw a HandlerNotFound error if the handler does not exists',
    taskRoot: HANDLERS,
    handler: 'nestedHandler.nested.somethingComplex.nonHandler',
    expected: {
      errorType: 'Runtime.HandlerNotFound',
      message: 'nestedHandler.nested.somethingComplex.nonHandler is undefined or not exported',
      atInit: true,
    },
  },
  {
    source: 'should throw a HandlerNotFound error if the handler is not a function',
    taskRoot: HANDLERS,
    handler: 'core.noFunctionHandler',
    expected: { errorType: 'Runtime.HandlerNotFound', atInit: true },
  },
  {
    source: 'should successfully load a user function in an ES module in a file with .mjs extension',
    taskRoot: HANDLERS,
    handler: 'esModule.echo',
    event: ECHO,
    expected: { result: ECHO },
  },
  {
    source: 'should successfully load a user function CommonJS module in a file with .cjs extension',
    taskRoot: HANDLERS,
    handler: 'cjsModule.echo',
    event: ECHO,
    expected: { result: ECHO },
  },
  {
    source: 'should default to load the cjs module without extension',
    taskRoot: HANDLERS,
    handler: 'precedence.handler',
    expected: { result: "I don't have a .js file suffix" },
  },
  {
    source: 'should default to load the .js file over the .mjs module',
    taskRoot: HANDLERS,
    handler: 'precedenceJsVsMjs.handler',
    expected: { result: 'I do have a .js file suffix' },
  },
  {
    source: 'should default to load the .mjs file over the .cjs module',
    taskRoot: HANDLERS,
    handler: 'precedenceMjsVsCjs.handler',
    expected: { result: 'I do have a .mjs file suffix' },
  },
  {
    source: 'should support init',
    taskRoot: HANDLERS,
    handler: 'asyncInit.handler',
    expected: { result: 'Hi' },
  },
  {
    source: 'should support init in .js files in packages using the module type',
    taskRoot: join(HANDLERS, 'async_init_package'),
    handler: 'index.handler',
    expected: { result: 'Hi' },
  },
  {
    source: 'should support init in .js files in packages using the module type, nested',
    taskRoot: join(HANDLERS, 'async_init_package/nested'),
    handler: 'index.handler',
    expected: { result: 42 },
  },
  {
    source: 'should support init in .js files in packages using the module type, nested even more',
    taskRoot: join(HANDLERS, 'async_init_package/nested/even/more'),
    handler: 'index.handler',
    ...NULL_ON_V3(42),
  },
  {
    source:
      'should support init in .js files in packages using the module type, nested even more + moduleRoot',
    taskRoot: join(HANDLERS, 'async_init_package/nested'),
    handler: 'even/more/index.handler',
    ...NULL_ON_V3(42),
  },
  {
    source: 'should use commonjs when package.json cannot be read',
    taskRoot: join(HANDLERS, 'async_init_type_not_module'),
    handler: 'index.ret42',
    ...NULL_ON_V3(42),
  },
  {
    source: 'should use commonjs when node_modules is reached before package.json',
    taskRoot: join(HANDLERS, 'async_init_with_node_modules'),
    handler: 'node_modules/index.ret42',
    ...NULL_ON_V3(42),
  },
  {
    source: 'should bubble up rejections occurred during init as errors',
    taskRoot: HANDLERS,
    handler: 'asyncInitRejection.handler',
    expected: {
      errorType: 'AsyncInitRejectionException',
      message: 'Oh noes! something bad happened',
      atInit: true,
    },
  },
  {
    source: 'should not load a CommonJS module if the package has the module type defined',
    taskRoot: join(HANDLERS, 'async_init_package'),
    handler: 'cjsModuleInEsmPackage.echo',
    expected: {
      errorType: 'ReferenceError',
      message: /exports is not defined in ES module scope/,
      atInit: true,
    },
  },
  {
    source: "should successfully load a user function exported as 'default'",
    taskRoot: HANDLERS,
    handler: 'defaultHandler.default',
    expected: { result: null },
    // The v4 client imports a CommonJS file (module-loader.ts): the namespace's `default` is module.exports, the
    // object `{ default }`, so handler-resolver.ts finds an object, not a function.
    nodejs24: {
      errorType: 'Runtime.HandlerNotFound',
      message: 'defaultHandler.default is not a function',
      atInit: true,
    },
  },
  {
    source: "should successfully load a user function exported as 'default', esm",
    taskRoot: HANDLERS,
    handler: 'defaultHandlerESM.default',
    ...NULL_ON_V3(42),
  },
  {
    source: 'should successfully load a user function that uses different import styles, esm',
    taskRoot: HANDLERS,
    handler: 'esModuleImports.echo',
    event: 'moon',
    expected: { result: 'moon' },
  },
  {
    source: 'should successfully load a CJS handler from extensionless file (no package.json)',
    taskRoot: join(HANDLERS, 'extensionless'),
    handler: 'index.handler',
    expected: { result: 'Hello from extensionless CJS' },
  },
  {
    source: 'should load CJS handler from extensionless file with type:commonjs',
    taskRoot: join(HANDLERS, 'pkg', 'type-cjs'),
    handler: 'cjs.handler',
    expected: { result: 'Hello from extensionless CJS' },
  },
  {
    source: 'should load CJS handler from extensionless file with type:module',
    taskRoot: join(HANDLERS, 'pkg', 'type-esm'),
    handler: 'cjs.handler',
    expected: { result: 'Hello from extensionless CJS' },
    // The v4 client imports the extensionless file (module-loader.ts), which Node reads as an ES module under
    // `"type": "module"`; the v3 client requires it (CommonJS whatever the package says).
    nodejs24: {
      errorType: 'ReferenceError',
      message: /module is not defined in ES module scope/,
      atInit: true,
    },
  },
  {
    source: 'should load CJS handler from JS file with type:commonjs',
    taskRoot: join(HANDLERS, 'pkg', 'type-cjs'),
    handler: 'cjsModule.handler',
    expected: { result: 'Hello from CJS.js' },
  },
  {
    source: 'should fail to load ESM handler from JS file with type:commonjs',
    taskRoot: join(HANDLERS, 'pkg', 'type-cjs'),
    handler: 'esmModule.handler',
    expected: { errorType: 'Runtime.UserCodeSyntaxError', message: /^SyntaxError: /, atInit: true },
  },
  {
    source: 'should load ESM handler from JS file with type:module',
    taskRoot: join(HANDLERS, 'pkg', 'type-esm'),
    handler: 'esmModule.handler',
    expected: { result: 'Hello from ESM.js' },
  },
  {
    source: 'should fail to load CJS handler from JS file with type:module',
    taskRoot: join(HANDLERS, 'pkg', 'type-esm'),
    handler: 'cjsModule.handler',
    expected: {
      errorType: 'ReferenceError',
      message: /module is not defined in ES module scope/,
      atInit: true,
    },
  },
  {
    source: 'should fail to load CJS handler from MJS file without type context',
    taskRoot: join(HANDLERS, 'pkg-less'),
    handler: 'cjsInMjs.handler',
    expected: {
      errorType: 'ReferenceError',
      message: /module is not defined in ES module scope/,
      atInit: true,
    },
  },
  {
    source: 'should fail to load ESM handler from CJS file without type context',
    taskRoot: join(HANDLERS, 'pkg-less'),
    handler: 'esmInCjs.handler',
    expected: { errorType: 'Runtime.UserCodeSyntaxError', message: /^SyntaxError: /, atInit: true },
  },
  {
    source: 'should fail to load mixed context handler from JS file without type context',
    taskRoot: join(HANDLERS, 'pkg-less'),
    handler: 'cjsAndMjs.handler',
    expected: { errorType: 'Runtime.UserCodeSyntaxError', message: /^SyntaxError: /, atInit: true },
  },
  {
    source: 'should successfully load ESM handler importing from CJS',
    taskRoot: join(HANDLERS, 'pkg-less'),
    handler: 'esmImportCjs.handler',
    expected: { result: 'Hello from CJS!' },
  },
  {
    source: 'should fail when CJS tries to import from ESM using static import',
    taskRoot: join(HANDLERS, 'pkg-less'),
    handler: 'cjsImportESM.handler',
    expected: { errorType: 'Runtime.UserCodeSyntaxError', message: /^SyntaxError: /, atInit: true },
  },
  {
    source: 'should successfully load CJS handler importing from CJS',
    taskRoot: join(HANDLERS, 'pkg-less'),
    handler: 'cjsImportCjs.handler',
    expected: { result: 'Hello from CJS!' },
  },
  {
    source: 'should fail when using require in .mjs',
    taskRoot: join(HANDLERS, 'pkg-less'),
    handler: 'esmRequireCjs.handler',
    expected: {
      errorType: 'ReferenceError',
      message: /require is not defined in ES module scope/,
      atInit: true,
    },
  },
];

/** Rules both clients share, run on both runtimes. */
const SHARED_CASES: PeerCase[] = [
  {
    // UserFunction.js / module-loader.ts: MODULE_NOT_FOUND while loading is Runtime.ImportModuleError, with the
    // message of Node's error (the missing package, not the handler file).
    source: 'UserFunction.js, module-loader.ts: a missing dependency of the handler module',
    taskRoot: RUNTIME_FIXTURES,
    handler: 'missing-dependency.handler',
    expected: {
      errorType: 'Runtime.ImportModuleError',
      message: /^Error: Cannot find module 'a-package-that-is-not-installed'/,
      atInit: true,
    },
  },
];

const CALLBACK_DEPRECATED =
  'ERROR: AWS Lambda has removed support for callback-based function handlers starting with Node.js 24. You need to modify this function to use a supported handler signature to use Node.js 24 or later. For more information see https://docs.aws.amazon.com/lambda/latest/dg/nodejs-handler.html.';

/** The v4 client's rules (nodejs24.x), from its integration tests and sources. */
const V4_CASES: PeerCase[] = [
  {
    source: 'callback-deprecation.test.ts: should throw Node.js 24+ error for callback handler',
    taskRoot: V4,
    handler: 'callback-handlers.callbackHandler',
    expected: { errorType: 'Runtime.CallbackHandlerDeprecated', message: CALLBACK_DEPRECATED, atInit: true },
  },
  {
    source: 'callback-deprecation.test.ts: should throw error for handler with 4 args',
    taskRoot: V4,
    handler: 'callback-handlers.callbackHandlerWithExtra',
    expected: { errorType: 'Runtime.CallbackHandlerDeprecated', message: CALLBACK_DEPRECATED, atInit: true },
  },
  {
    source: 'callback-deprecation.test.ts: should not throw for single arg handler',
    taskRoot: V4,
    handler: 'valid-handlers.singleArgHandler',
    expected: { result: 'single arg result' },
  },
  {
    source: 'callback-deprecation.test.ts: should not throw for two arg handler',
    taskRoot: V4,
    handler: 'valid-handlers.twoArgHandler',
    expected: { result: 'two arg result' },
  },
  {
    source: 'callback-deprecation.test.ts: should not throw for no arg handler',
    taskRoot: V4,
    handler: 'valid-handlers.noArgHandler',
    expected: { result: 'no arg result' },
  },
  {
    source: 'user-function-loader.test.ts: should throw MalformedHandlerNameError for relative paths',
    taskRoot: V4,
    handler: '../outside/module.handler',
    expected: { errorType: 'Runtime.MalformedHandlerName', atInit: true },
  },
  {
    source: 'user-function-loader.test.ts: should propagate syntax errors from module',
    taskRoot: V4,
    handler: 'python.hello',
    expected: { errorType: 'Runtime.UserCodeSyntaxError', message: /^SyntaxError: /, atInit: true },
  },
  {
    source: 'user-function-loader.test.ts: should propagate runtime errors from module',
    taskRoot: V4,
    handler: 'error.handler',
    // `class RandomFooError extends Error {}` keeps the name Error: the payload's errorType is the error's name.
    expected: { errorType: 'Error', message: 'Random Foo Error', atInit: true },
  },
  {
    source: 'module-loader.test.ts: should throw a ImportModuleError if the module does not exists',
    taskRoot: V4,
    handler: 'some_random_dir/this_does_not_exist.handler',
    expected: { errorType: 'Runtime.ImportModuleError', atInit: true },
  },
  {
    // src/function/handler-resolver.ts: a name not found on the module is looked up on its default export.
    source: "handler-resolver.ts: the module's `default` export when the name is not on the module",
    taskRoot: RUNTIME_FIXTURES,
    handler: 'peer-rules-default.onDefaultExport',
    expected: { result: 'from the default export' },
  },
  {
    // src/utils/serialize.ts + src/runtime/buffered-invoke-processor.ts: the failed serialisation fails the run.
    source: 'serialize.ts: a result that cannot be stringified',
    taskRoot: RUNTIME_FIXTURES,
    handler: 'peer-rules.circular',
    expected: { errorType: 'Runtime.JSONStringifyError', message: 'Unable to stringify response body' },
  },
  {
    // src/runtime/buffered-invoke-processor.ts: `await this.handler(event, context)`, whatever it returns.
    source: 'buffered-invoke-processor.ts: a synchronous handler answers what it returns',
    taskRoot: HANDLERS,
    handler: 'isAsync.handlerNotAsync',
    expected: { result: { statusCode: 200, body: '"Hello from Lambda!"' } },
  },
];

/** The v3 client's rules (nodejs22.x) that nodejs24.x no longer has. */
const V3_CASES: PeerCase[] = [
  {
    // CallbackContext.js: with callbackWaitsForEmptyEventLoop (the default) the result is sent once the loop is
    // empty (beforeExit), after the runtime's own listener: the nextTick a function's beforeExit listener
    // schedules runs before the answer; with the flag false, the answer goes before the loop ever empties.
    source: 'CallbackContext.js: callbackWaitsForEmptyEventLoop true waits for the empty event loop',
    taskRoot: HANDLERS,
    handler: 'beforeExitBehaviour.callbackWithTrueFlag',
    expected: { result: 'hello' },
    log: /\tINFO\tfrom process\.nextTick\n/,
  },
  {
    source: 'CallbackContext.js: callbackWaitsForEmptyEventLoop false answers at once',
    taskRoot: HANDLERS,
    handler: 'beforeExitBehaviour.callbackWithFalseFlag',
    expected: { result: 'hello' },
    notLog: /from process\.nextTick/,
  },
  {
    source:
      'IsAsyncTest.js: is async should be false since it is a callback (CallbackContext.js: the callback answers)',
    taskRoot: HANDLERS,
    handler: 'isAsyncCallback.handler',
    expected: { result: { statusCode: 200, body: '{"message":"hello world"}' } },
  },
  {
    source: 'IsAsyncTest.js: is async should be false (Runtime.js: no callback, the loop empties: null)',
    taskRoot: HANDLERS,
    handler: 'isAsync.handlerNotAsync',
    expected: { result: null },
  },
  {
    source: 'IsAsyncTest.js: is async should be true (Runtime.js: the promise answers)',
    taskRoot: HANDLERS,
    handler: 'isAsync.handlerAsync',
    expected: { result: { statusCode: 200, body: '"Hello from Lambda!"' } },
  },
  {
    source: 'RAPIDClient.js: a result that cannot be stringified',
    taskRoot: RUNTIME_FIXTURES,
    handler: 'peer-rules.circular',
    expected: { errorType: 'Error', message: 'Unable to stringify response body' },
  },
  {
    source: 'Runtime.js: an async handler whose promise never settles (Runtime.NodeJsExit)',
    taskRoot: RUNTIME_FIXTURES,
    handler: 'peer-rules.neverSettles',
    expected: {
      errorType: 'Runtime.NodeJsExit',
      message: /^The Lambda runtime client detected an unexpected Node.js exit code/,
    },
  },
];

function expectAnswer(run: ObservedRun, expected: Expected, peerCase?: PeerCase): void {
  if (peerCase?.log) expect(run.log).to.match(peerCase.log);
  if (peerCase?.notLog) expect(run.log).not.to.match(peerCase.notLog);
  if ('result' in expected) {
    expect(run.outcome, run.log).to.deep.include({ ok: true });
    expect(run.payload).to.deep.equal(expected.result);
    return;
  }
  expect(run.outcome.ok, run.log).to.equal(false);
  const error = (run.outcome as Extract<RunResult['outcome'], { ok: false }>).error;
  expect(error.errorType, error.errorMessage).to.equal(expected.errorType);
  if (typeof expected.message === 'string') expect(error.errorMessage).to.equal(expected.message);
  else if (expected.message) expect(error.errorMessage).to.match(expected.message);
  // An init error is reported by the runtime before any event (REPORT: Status error, the error's type).
  if (expected.atInit) expect(run).to.include({ status: 'error', reportErrorType: expected.errorType });
  else expect(run.status).to.equal(undefined);
}

describe("peer: AWS's Node.js runtime client cases through the offline environments", function () {
  this.timeout(30_000);
  let tmpRoot = '';
  const environments = new TestEnvironments(() => tmpRoot);

  before(async () => {
    tmpRoot = await mkdtemp(join(tmpdir(), 'lambda-notes-peer-'));
  });
  afterEach(() => environments.endAll());
  after(() => rm(tmpRoot, { recursive: true, force: true }));

  async function runCase(peerCase: PeerCase, runtime: string): Promise<ObservedRun> {
    const environment = await environments.start(
      fixtureSpec(peerCase.handler, { taskRoot: peerCase.taskRoot, runtime, timeoutSeconds: 10 }),
    );
    return environments.run(environment, peerCase.event ?? {});
  }

  for (const runtime of ['nodejs22.x', 'nodejs24.x']) {
    describe(`${USER_FUNCTION} and shared rules on ${runtime}`, () => {
      for (const peerCase of [...USER_FUNCTION_CASES, ...SHARED_CASES]) {
        it(peerCase.source, async () => {
          const expected =
            runtime === 'nodejs24.x' ? (peerCase.nodejs24 ?? peerCase.expected) : peerCase.expected;
          expectAnswer(await runCase(peerCase, runtime), expected);
        });
      }
    });
  }

  describe('v4 client rules on nodejs24.x', () => {
    for (const peerCase of V4_CASES) {
      it(peerCase.source, async () => expectAnswer(await runCase(peerCase, 'nodejs24.x'), peerCase.expected));
    }
  });

  describe('v3 client rules on nodejs22.x', () => {
    for (const peerCase of V3_CASES) {
      it(peerCase.source, async () =>
        expectAnswer(await runCase(peerCase, 'nodejs22.x'), peerCase.expected, peerCase),
      );
    }
  });
});
