'use strict';
/**
 * Entry point serverless.yml loads. The emulation itself is TypeScript (offline/plugin/), loaded only when an
 * offline command runs, so `sls package` and `sls deploy` never load it: under `npm start` as the bundle the
 * launcher built (scripts/offline-plugin-bundle.cjs), otherwise compiled on the fly by tsx.
 */
class OfflineAsyncPlugin {
  constructor(serverless, cliOptions, { log }) {
    // LAMBDA_DEBUG: the bundles' maps carry the TypeScript sources, so that a debugger shows them without reading
    // the project folder (chrome://inspect). Offline only: the deployed maps stay small (serverless.yml says why).
    const esbuild = serverless.service.custom && serverless.service.custom.esbuild;
    const debugging = process.env.LAMBDA_DEBUG || cliOptions.lambdaDebug;
    if (debugging && serverless.processedInput.commands[0] === 'offline' && esbuild) {
      esbuild.sourcesContent = true;
    }
    // `sls offline start --lambdaDebug hello --lambdaDebugPort 9300`: LAMBDA_DEBUG and LAMBDA_DEBUG_PORT on the
    // command line (osls merges these options into serverless-offline's command).
    this.commands = {
      offline: {
        commands: {
          start: {
            options: {
              lambdaDebug: {
                usage: 'Functions to run under an inspector, comma-separated, or all (as LAMBDA_DEBUG)',
                type: 'string',
              },
              lambdaDebugPort: {
                usage: "The first debugged function's inspector port, 9229 by default (as LAMBDA_DEBUG_PORT)",
                type: 'string',
              },
            },
          },
        },
      },
    };
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
