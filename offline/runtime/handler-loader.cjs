// @ts-check
'use strict';
/**
 * The Init phase's handler loading, as AWS's Node.js runtime clients do it: `moduleRoot/module.export.path` of
 * _HANDLER under LAMBDA_TASK_ROOT. The v4 client (nodejs24.x) imports the first of `module`, `module.js`,
 * `module.mjs`, `module.cjs` that exists (src/function/module-loader.ts) and falls back to the module's `default`
 * export (handler-resolver.ts); the v3 client (nodejs22.x and older, src/UserFunction.js) requires an
 * extensionless file first, then `.js` unless the nearest package.json says `"type": "module"`, then imports
 * `.js`/`.mjs` and requires `.cjs`. Both fall back to Node's resolution from the task root, and both name a
 * syntax error Runtime.UserCodeSyntaxError and a missing module Runtime.ImportModuleError.
 */
const { existsSync, readFileSync } = require('node:fs');
const { basename, dirname, join, resolve } = require('node:path');
const { pathToFileURL } = require('node:url');
const { runtimeError } = require('./errors.cjs');
const { callbackClient } = require('./runtime-generation.cjs');

const STREAMING = Symbol.for('aws.lambda.runtime.handler.streaming');

/**
 * @param {string} handlerSetting
 * @returns {{ moduleRoot: string, moduleName: string, handlerPath: string }}
 */
function parseHandler(handlerSetting) {
  if (handlerSetting.includes('..')) {
    throw runtimeError(
      'Runtime.MalformedHandlerName',
      `'${handlerSetting}' is not a valid handler name. Use absolute paths when specifying root directories in handler names.`,
    );
  }
  const name = basename(handlerSetting);
  const match = /^([^.]*)\.(.*)$/.exec(name);
  if (!match) throw runtimeError('Runtime.MalformedHandlerName', 'Bad handler');
  return {
    moduleRoot: handlerSetting.slice(0, handlerSetting.indexOf(name)),
    moduleName: String(match[1]),
    handlerPath: String(match[2]),
  };
}

/** @param {string} file */
const requireIfExists = (file) => (existsSync(file) ? require(file) : undefined);

/** @param {string} file */
const importIfExists = async (file) => (existsSync(file) ? import(pathToFileURL(file).href) : undefined);

/**
 * The v3 client's rule: the nearest package.json decides, node_modules or / ends the search.
 * @param {string} folder
 * @returns {boolean}
 */
function packageTypeIsModule(folder) {
  if (folder.endsWith('/node_modules')) return false;
  const manifest = join(folder, 'package.json');
  if (existsSync(manifest)) {
    try {
      return JSON.parse(readFileSync(manifest, 'utf8'))?.type === 'module';
    } catch (error) {
      console.warn(`${manifest} cannot be read, it will be ignored for ES module detection purposes.`, error);
      return false;
    }
  }
  return folder === '/' ? false : packageTypeIsModule(resolve(folder, '..'));
}

/**
 * @param {string} taskRoot
 * @param {string} moduleRoot
 * @param {string} moduleName
 * @returns {Promise<unknown>}
 */
async function loadModuleV3(taskRoot, moduleRoot, moduleName) {
  const base = resolve(taskRoot, moduleRoot, moduleName);
  const extensionless = requireIfExists(base);
  if (extensionless) return extensionless;
  const typeModule = existsSync(`${base}.js`) && packageTypeIsModule(dirname(`${base}.js`));
  if (!typeModule) {
    const loaded = requireIfExists(`${base}.js`);
    if (loaded) return loaded;
  }
  const loaded =
    (typeModule && (await importIfExists(`${base}.js`))) ||
    (await importIfExists(`${base}.mjs`)) ||
    requireIfExists(`${base}.cjs`);
  if (loaded) return loaded;
  return require(require.resolve(moduleName, { paths: [taskRoot, moduleRoot] }));
}

/**
 * @param {string} taskRoot
 * @param {string} moduleRoot
 * @param {string} moduleName
 * @returns {Promise<unknown>}
 */
async function loadModuleV4(taskRoot, moduleRoot, moduleName) {
  const base = resolve(taskRoot, moduleRoot, moduleName);
  for (const extension of ['', '.js', '.mjs', '.cjs']) {
    const loaded = await importIfExists(`${base}${extension}`);
    if (loaded) return loaded;
  }
  return require(require.resolve(moduleName, { paths: [taskRoot, join(taskRoot, moduleRoot)] }));
}

/**
 * @param {unknown} error
 * @returns {unknown} the error as the runtime client reports it
 */
function loadError(error) {
  if (error instanceof SyntaxError) {
    return Object.assign(runtimeError('Runtime.UserCodeSyntaxError', String(error)), {
      ...(callbackClient ? {} : { stack: error.stack }),
    });
  }
  if (error instanceof Error && /** @type {{ code?: unknown }} */ (error).code === 'MODULE_NOT_FOUND') {
    return runtimeError('Runtime.ImportModuleError', String(error));
  }
  return error;
}

/**
 * @param {string} path
 * @param {unknown} module
 * @param {boolean} objectsOnly the v4 client descends into objects only
 */
function findIn(path, module, objectsOnly) {
  /** @type {unknown} */
  let found = module;
  for (const key of path.split('.')) {
    if (objectsOnly ? typeof found !== 'object' || found === null : !found) return undefined;
    found = /** @type {Record<string, unknown>} */ (found)[key];
  }
  return found;
}

/**
 * @param {unknown} module
 * @param {string} handlerPath
 * @param {string} handlerSetting
 * @returns {Function}
 */
function resolveHandler(module, handlerPath, handlerSetting) {
  let handler = findIn(handlerPath, module, !callbackClient);
  if (!handler && !callbackClient && typeof module === 'object' && module !== null && 'default' in module) {
    handler = findIn(handlerPath, /** @type {{ default: unknown }} */ (module).default, true);
  }
  if (!handler)
    throw runtimeError('Runtime.HandlerNotFound', `${handlerSetting} is undefined or not exported`);
  if (typeof handler !== 'function')
    throw runtimeError('Runtime.HandlerNotFound', `${handlerSetting} is not a function`);
  return handler;
}

/** @param {Function} handler */
const isStreaming = (handler) =>
  /** @type {Record<symbol, unknown>} */ (/** @type {unknown} */ (handler))[STREAMING] === 'response';

/** @param {Function} handler */
const isAsync = (handler) => handler.constructor?.name === 'AsyncFunction';

/**
 * nodejs24.x refuses a callback-style handler (three parameters or more, not streaming) at init
 * (v4 src/function/callback-deprecation.ts); the v3 client of nodejs22.x only warns about a synchronous one
 * (src/WarningForCallbackHandlers.js).
 * @param {Function} handler
 */
function checkCallbackStyle(handler) {
  if (!callbackClient) {
    if (handler.length >= 3 && !isStreaming(handler)) {
      throw runtimeError(
        'Runtime.CallbackHandlerDeprecated',
        'ERROR: AWS Lambda has removed support for callback-based function handlers starting with Node.js 24. You need to modify this function to use a supported handler signature to use Node.js 24 or later. For more information see https://docs.aws.amazon.com/lambda/latest/dg/nodejs-handler.html.',
      );
    }
    return;
  }
  if (
    process.env.AWS_LAMBDA_NODEJS_DISABLE_CALLBACK_WARNING === undefined &&
    handler.length === 3 &&
    !isAsync(handler) &&
    !isStreaming(handler)
  ) {
    console.warn(
      'AWS Lambda plans to remove support for callback-based function handlers starting with Node.js 24. You will need to update this function to use an async handler to use Node.js 24 or later. For more information and to provide feedback on this change, see https://github.com/aws/aws-lambda-nodejs-runtime-interface-client/issues/137. To disable this warning, set the AWS_LAMBDA_NODEJS_DISABLE_CALLBACK_WARNING environment variable.',
    );
  }
}

/**
 * Loads the handler named by `handlerSetting` under `taskRoot`; the errors are the runtime client's own.
 * @param {string} handlerSetting
 * @param {string} taskRoot
 * @returns {Promise<Function>}
 */
async function loadHandler(handlerSetting, taskRoot) {
  const { moduleRoot, moduleName, handlerPath } = parseHandler(handlerSetting);
  /** @type {unknown} */
  let module;
  try {
    module = await (callbackClient ? loadModuleV3 : loadModuleV4)(taskRoot, moduleRoot, moduleName);
  } catch (error) {
    throw loadError(error);
  }
  const handler = resolveHandler(module, handlerPath, handlerSetting);
  checkCallbackStyle(handler);
  return handler;
}

module.exports = { loadHandler, isAsync };
