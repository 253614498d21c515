/**
 * serverless-esbuild's esbuild service: a Go process (about 16 MB) that esbuild keeps after the bundles are built,
 * for the next build. With `skipRebuild` in serverless.yml, serverless-esbuild 1.57.2 keeps no incremental
 * context in it (each build is a whole `build()`), so nothing is lost when it stops: the offline stack stops it
 * once the bundles are built, and esbuild starts it again for the next build (a code change). Both plugins load
 * the one esbuild package of node_modules, so `stop()` here is the service serverless-esbuild used.
 */
import { installedVersion } from './package-version';

const WRITTEN_FOR = '1.57.2';

/**
 * Stops esbuild's service when serverless-esbuild leaves nothing in it; says why not otherwise (another
 * serverless-esbuild, or incremental rebuilds on).
 */
export async function stopIdleEsbuild(
  esbuildSettings: Record<string, unknown> | undefined,
): Promise<string | undefined> {
  if (esbuildSettings?.skipRebuild !== true) return 'custom.esbuild.skipRebuild is not true';
  const installed = installedVersion('serverless-esbuild');
  if (installed !== WRITTEN_FOR) return `serverless-esbuild ${installed} is not ${WRITTEN_FOR}`;
  const esbuild = await import('esbuild');
  await esbuild.stop();
  return undefined;
}
