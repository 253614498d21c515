/**
 * The UserFunctionTest.js cases of the peer suite (test/parity/runtime-client.test.ts): AWS's runtime-client fixtures, the answer
 * each client gives, and the client's test that states it.
 */
import { join, resolve } from 'node:path';

const PEER = resolve(__dirname, '..', 'peer', 'runtime-client');
const V3 = join(PEER, 'v3');
export const HANDLERS = join(V3, 'handlers');
export const V4 = join(PEER, 'v4', 'module-loader');

export type Expected =
  | { readonly result: unknown }
  | { readonly errorType: string; readonly message?: RegExp | string; readonly atInit?: boolean };

export interface PeerCase {
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
export const USER_FUNCTION = 'test/unit/UserFunctionTest.js';
const NULL_ON_V3 = (value: unknown): Pick<PeerCase, 'expected' | 'nodejs24'> => ({
  expected: { result: null },
  nodejs24: { result: value },
});

/** Every case of UserFunctionTest.js's `UserFunction.load method` (its `xit` cases left out, as AWS does). */
export const USER_FUNCTION_CASES: PeerCase[] = [
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
