/**
 * The installed version of a package this project adapts, and the check that it is the one the adapter was
 * written for: an adapter that touches another package's behaviour refuses to start on another version rather
 * than misbehave quietly.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The `version` of the package.json above a package's resolved entry point (exports may hide package.json). */
export function installedVersion(packageName: string, resolveFrom: string = __dirname): string {
  let folder = dirname(require.resolve(packageName, { paths: [resolveFrom] }));
  for (;;) {
    try {
      const manifest = JSON.parse(readFileSync(join(folder, 'package.json'), 'utf8')) as {
        name?: unknown;
        version?: unknown;
      };
      if (manifest.name === packageName && typeof manifest.version === 'string') return manifest.version;
    } catch {
      // no package.json at this level
    }
    const parent = dirname(folder);
    if (parent === folder) throw new Error(`cannot find the package.json of ${packageName}`);
    folder = parent;
  }
}

export class AdapterVersionError extends Error {
  override name = 'AdapterVersionError';
}

export function requireVersion(
  packageName: string,
  written: string,
  what: string,
  installed = installedVersion(packageName),
): void {
  if (installed !== written) {
    throw new AdapterVersionError(
      `${what} was written for ${packageName} ${written}, but ${installed} is installed: run npm ci (package-lock.json pins ${written}), or check the adapter against ${installed} and update it.`,
    );
  }
}
