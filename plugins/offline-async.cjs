'use strict';
/**
 * Entry point serverless.yml loads. The emulation itself is TypeScript (offline/plugin/), compiled on the fly
 * by tsx and only when an offline command runs, so `sls package` and `sls deploy` never load it.
 */
class OfflineAsyncPlugin {
  constructor(serverless, cliOptions, { log }) {
    // LAMBDA_DEBUG: the bundles' maps carry the TypeScript sources, so that a debugger shows them without reading
    // the project folder (chrome://inspect). Offline only: the deployed maps stay small (serverless.yml says why).
    const esbuild = serverless.service.custom && serverless.service.custom.esbuild;
    if (process.env.LAMBDA_DEBUG && serverless.processedInput.commands[0] === 'offline' && esbuild) {
      esbuild.sourcesContent = true;
    }
    let emulation;
    const get = () => {
      if (!emulation) {
        const { require: requireTs } = require('tsx/cjs/api');
        const { OfflineAsync } = requireTs('../offline/plugin/offline-plugin.ts', __filename);
        emulation = new OfflineAsync(serverless, cliOptions, log);
      }
      return emulation;
    };
    this.hooks = {
      'before:offline:start:init': () => get().prepare(),
      'after:offline:start:init': () => get().start(),
      'before:offline:start:end': () => get().stop(),
      'offline:functionsUpdated:cleanup': () => get().reload(),
      'before:invoke:local:loadEnvVars': () => get().prepareInvokeLocal(),
    };
  }
}

module.exports = OfflineAsyncPlugin;
