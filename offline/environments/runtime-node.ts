/**
 * The Node.js that runs a function: its runtime's major (nodejs24.x → Node 24, nodejs22.x → Node 22), as on
 * Lambda, while the host's Node runs the framework. The binaries come from the npm registry with `npm ci`: the
 * optional dependencies `lambda-runtime-node<major>-<platform>-<arch>` are aliases of the `node-<platform>-<arch>`
 * packages (the per-platform binaries of npm's `node` package), and npm installs only those of this platform.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

export interface RuntimeNode {
  /** The program an environment's runtime process runs. */
  readonly path: string;
  /** Why the host's Node runs the function instead of its runtime's, when it does (one line, said at start). */
  readonly fallback?: string;
}

const HOST_MAJOR = Number(process.versions.node.split('.')[0]);

/** The npm package (an optional dependency of this project) that holds `major`'s binary for this platform. */
export function runtimeNodePackage(major: number, platform = process.platform, arch = process.arch): string {
  return `lambda-runtime-node${major}-${platform}-${arch}`;
}

const chosen = new Map<string, RuntimeNode>();

/** The Node for `runtime` (`nodejs24.x`); the host's when the runtime names no Node major or none is installed. */
export function runtimeNode(runtime: string): RuntimeNode {
  const known = chosen.get(runtime);
  if (known) return known;
  const major = Number(/^nodejs(\d+)\.x$/.exec(runtime)?.[1] ?? Number.NaN);
  let node: RuntimeNode = { path: process.execPath };
  if (Number.isFinite(major)) {
    const packageName = runtimeNodePackage(major);
    const binary = installedBinary(packageName);
    if (binary) node = { path: binary };
    else if (major !== HOST_MAJOR) {
      node = {
        path: process.execPath,
        fallback: `${runtime}: no Node ${major} for ${process.platform}-${process.arch} (npm package ${packageName}); functions run on the host's Node ${process.versions.node}`,
      };
    }
  }
  chosen.set(runtime, node);
  return node;
}

function installedBinary(packageName: string): string | undefined {
  try {
    const binary = join(dirname(require.resolve(`${packageName}/package.json`)), 'bin', 'node');
    return existsSync(binary) ? binary : undefined;
  } catch {
    return undefined;
  }
}
