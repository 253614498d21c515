'use strict';
/**
 * The offline plugin (offline/plugin/offline-plugin.ts and what it imports) as one CommonJS file, for `npm start`:
 * serverless then loads plain JavaScript instead of compiling TypeScript with tsx, which keeps an esbuild service
 * process and its compiler state alive for the stack's whole life (about 30 MB of `npm start`'s memory, bench/README.md).
 * Built with esbuild, which then stops (its service process ends); kept under node_modules/.cache and built again
 * only when a file under offline/ is newer. npm packages stay outside the bundle, as required by the plugin.
 */
const { mkdir, readdir, readFile, rename, stat } = require('node:fs/promises');
const { dirname, join } = require('node:path');

const PROJECT_DIR = join(__dirname, '..');
const SOURCES = join(PROJECT_DIR, 'offline');
const ENTRY = join(SOURCES, 'plugin', 'offline-plugin.ts');
const BUNDLE = join(PROJECT_DIR, 'node_modules', '.cache', 'lambda-notes', 'offline-plugin.cjs');

/** The newest modification time of the plugin's sources and of this script. */
async function newestSource(directory = SOURCES) {
  let newest = (await stat(__filename)).mtimeMs;
  for (const entry of await readdir(directory, { withFileTypes: true })) {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, await newestSource(path));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, (await stat(path)).mtimeMs);
  }
  return newest;
}

/**
 * Each module keeps its own `__dirname` (the plugin finds the runtime's bootstrap and the console's page files
 * next to their modules), which one bundle file would otherwise share.
 */
const ownDirname = {
  name: 'own-dirname',
  setup(build) {
    build.onLoad({ filter: /\.ts$/ }, async ({ path }) => ({
      contents: (await readFile(path, 'utf8')).replaceAll('__dirname', JSON.stringify(dirname(path))),
      loader: 'ts',
    }));
  },
};

/** The bundle's path, built first when it is missing or older than a source. */
async function offlinePluginBundle() {
  const built = await stat(BUNDLE).then(
    (found) => found.mtimeMs,
    () => 0,
  );
  if (built > (await newestSource())) return BUNDLE;
  const esbuild = require('esbuild');
  await mkdir(dirname(BUNDLE), { recursive: true });
  // Written aside, then renamed: two starts at once never load a half-written bundle.
  const partial = `${BUNDLE}.${process.pid}.tmp`;
  try {
    await esbuild.build({
      entryPoints: [ENTRY],
      outfile: partial,
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      packages: 'external',
      logLevel: 'error',
      plugins: [ownDirname],
    });
  } finally {
    await esbuild.stop();
  }
  await rename(partial, BUNDLE);
  return BUNDLE;
}

module.exports = { offlinePluginBundle };
