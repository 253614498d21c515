'use strict';
/**
 * An esbuild plugin (serverless.yml custom.esbuild.plugins) that reports the end of every build of a handler's
 * bundle — its entry point and esbuild's errors — to whoever listens in this process: the offline stack does
 * (offline/adapters/esbuild-builds.ts), so that a run of a function whose last build failed says why instead of
 * running the code of an earlier build. Nothing listens under `sls package` or `sls deploy`: it does nothing there.
 */
const LISTENER = Symbol.for('lambda-notes.esbuild-build');

/** @param {import('esbuild').Message} message */
function describe(message) {
  const at = message.location;
  return {
    text: message.text,
    ...(at ? { file: at.file, line: at.line, column: at.column, lineText: at.lineText } : {}),
  };
}

module.exports = () => [
  {
    name: 'lambda-notes-build-report',
    /** @param {import('esbuild').PluginBuild} build */
    setup(build) {
      const entryPoints = build.initialOptions.entryPoints;
      let startedAt = Date.now();
      build.onStart(() => {
        startedAt = Date.now();
      });
      build.onEnd((result) => {
        const listener = /** @type {Record<symbol, unknown>} */ (globalThis)[LISTENER];
        if (typeof listener !== 'function') return;
        listener({ entryPoints, errors: result.errors.map(describe), startedAt, endedAt: Date.now() });
      });
    },
  },
];
