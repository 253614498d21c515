/**
 * The runtime clients' rules beyond UserFunctionTest.js, for the peer suite (test/parity/runtime-client.test.ts):
 * what both clients share, the v4 client's (nodejs24.x) and the v3 client's (nodejs22.x), each with its source.
 */
import { RUNTIME_FIXTURES } from '../helpers/runtime-fixtures';
import { HANDLERS, type PeerCase, V4 } from './runtime-client-cases';

/** Rules both clients share, run on both runtimes. */
export const SHARED_CASES: PeerCase[] = [
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
export const V4_CASES: PeerCase[] = [
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
export const V3_CASES: PeerCase[] = [
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
