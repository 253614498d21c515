'use strict';
/**
 * `npm start`: `serverless offline start` with the local S3 and the async queue, run in this very process — one
 * process for the whole stack besides npm and the execution environments (each a process of its own memory,
 * bench/README.md). The offline plugin comes as one prebuilt file (scripts/offline-plugin-bundle.cjs), so no
 * TypeScript compiler stays loaded. Stopping: Ctrl-C, or SIGTERM to this process, stops the stack cleanly
 * (serverless-offline's own handlers); if npm goes away without passing a signal on — SIGTERM or kill -9 to npm —
 * the offline plugin sees its parent change and stops the stack (offline/plugin/process-guard.ts), so no orphan
 * keeps the ports; a kill -9 of npm's whole process group ends it at once, and what was acknowledged resumes at
 * the next start.
 */
const { join } = require('node:path');
const { offlinePluginBundle } = require('./offline-plugin-bundle.cjs');

const PROJECT_DIR = join(__dirname, '..');
const SERVERLESS = join(PROJECT_DIR, 'node_modules', 'serverless', 'bin', 'serverless.js');

process.env.SLS_TELEMETRY_DISABLED = '1';
// 0.1: a retry that waits 1 minute on AWS waits 6 s here — slow enough to watch, fast enough to wait for.
process.env.LAMBDA_ASYNC_TIME_SCALE = process.env.LAMBDA_ASYNC_TIME_SCALE || '0.1';

/** The plugin as serverless will load it: the bundle, or (when it cannot be built) the TypeScript through tsx. */
async function loadPlugin() {
  try {
    const bundle = await offlinePluginBundle();
    process.env.LAMBDA_NOTES_PLUGIN_BUNDLE = bundle;
    return require(bundle);
  } catch (error) {
    process.stderr.write(
      `offline: the plugin bundle could not be built (${error.message}); compiling with tsx\n`,
    );
    const { require: requireTs } = require('tsx/cjs/api');
    return requireTs('../offline/plugin/offline-plugin.ts', __filename);
  }
}

/**
 * What would stop the stack at once is checked before serverless spends seconds loading, with the module the
 * offline plugin reads its settings with (offline/plugin/settings.ts): the plugin checks again (it holds the
 * lock), this only answers sooner. A stack still stopping on the same state dir (its npm start was just killed,
 * or stopped) is waited for here, before this one binds the same ports.
 */
async function preflight(plugin) {
  try {
    const { stateDir } = plugin.readOfflineSettings(process.env, PROJECT_DIR);
    await plugin.waitForStateDir(stateDir, { onWait: (line) => process.stdout.write(`${line}\n`) });
  } catch (error) {
    return error.message;
  }
  return undefined;
}

void loadPlugin()
  .then(preflight)
  .then((refusal) => {
    if (refusal) {
      process.stderr.write(`✖ offline could not start: ${refusal}\n`);
      process.exit(1);
    }
    process.chdir(PROJECT_DIR);
    process.argv = [process.argv[0], SERVERLESS, 'offline', 'start', ...process.argv.slice(2)];
    require(SERVERLESS);
  });
