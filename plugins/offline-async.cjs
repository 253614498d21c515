'use strict';
/**
 * Entry point serverless.yml loads. The emulation itself is TypeScript (offline/plugin/), loaded only when an
 * offline command runs, so `sls package` and `sls deploy` never load it: under `npm start` as the bundle the
 * launcher built (scripts/offline-plugin-bundle.cjs), otherwise compiled on the fly by tsx.
 */
class OfflineAsyncPlugin {
  constructor(serverless, cliOptions, { log }) {
    let emulation;
    const get = () => {
      if (!emulation) {
        const bundle = process.env.LAMBDA_NOTES_PLUGIN_BUNDLE;
        const { OfflineAsync } = bundle
          ? require(bundle)
          : require('tsx/cjs/api').require('../offline/plugin/offline-plugin.ts', __filename);
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
