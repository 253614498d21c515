// @ts-check
'use strict';
/** The Init phase's handler loading: `file.export` of _HANDLER under LAMBDA_TASK_ROOT, as the Node.js runtime does. */
const { basename, dirname, resolve } = require('node:path');
const { pathToFileURL } = require('node:url');
const { runtimeError } = require('./errors.cjs');

/**
 * Loads the handler, trying .js, .mjs and .cjs; the error types are the runtime's own.
 * @param {string} handlerSetting
 * @param {string} taskRoot
 * @returns {Promise<Function>}
 */
async function loadHandler(handlerSetting, taskRoot) {
  const name = basename(handlerSetting);
  const dot = name.indexOf('.');
  if (dot <= 0) throw runtimeError('Runtime.MalformedHandlerName', `Bad handler ${handlerSetting}`);
  const modulePath = resolve(taskRoot, dirname(handlerSetting), name.slice(0, dot));
  const exportPath = name.slice(dot + 1).split('.');
  /** @type {Record<string, unknown> | undefined} */
  let module;
  for (const extension of ['.js', '.mjs', '.cjs']) {
    const file = `${modulePath}${extension}`;
    try {
      module = extension === '.mjs' ? await import(pathToFileURL(file).href) : require(file);
      break;
    } catch (error) {
      const code = /** @type {{ code?: string }} */ (error).code;
      if (code === 'ERR_REQUIRE_ESM') {
        module = await import(pathToFileURL(file).href);
        break;
      }
      const missing = code === 'MODULE_NOT_FOUND' || code === 'ERR_MODULE_NOT_FOUND';
      if (!missing || !String(/** @type {Error} */ (error).message).includes(file)) throw error;
    }
  }
  if (module === undefined) {
    throw runtimeError('Runtime.ImportModuleError', `Error: Cannot find module '${name.slice(0, dot)}'`);
  }
  /** @type {unknown} */
  let handler = module;
  for (const key of exportPath) handler = /** @type {Record<string, unknown>} */ (handler)?.[key];
  if (handler === undefined)
    throw runtimeError('Runtime.HandlerNotFound', `${name} is undefined or not exported`);
  if (typeof handler !== 'function')
    throw runtimeError('Runtime.HandlerNotFound', `${name} is not a function`);
  return handler;
}

module.exports = { loadHandler };
