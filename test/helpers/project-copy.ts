/**
 * A copy of this project in a temporary directory, for a test that changes code under a running stack: the test
 * edits the copy, never a tracked file of the checkout. The copy has what `sls offline start` builds and runs
 * (serverless.yml, handlers, lib, offline, plugins, scripts, …) and shares the checkout's node_modules.
 */
import { cp, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { PROJECT_DIR } from '../../support/offline-stack';

/** Top-level entries a stack does not need (tests, docs, the bench) or must not share (builds, state). */
const LEFT_OUT = new Set([
  '.git',
  'node_modules',
  'test',
  'docs',
  'bench',
  'stages',
  '.serverless',
  '.offline',
  '.s3-local',
]);

export interface ProjectCopy {
  readonly dir: string;
  remove(): Promise<void>;
}

export async function copyProject(): Promise<ProjectCopy> {
  const dir = await mkdtemp(join(tmpdir(), 'lambda-notes-copy-'));
  try {
    await cp(PROJECT_DIR, dir, {
      recursive: true,
      filter: (source) => {
        if (source === PROJECT_DIR) return true;
        const name = basename(source);
        const topLevel = join(PROJECT_DIR, name) === source;
        return !(topLevel && (LEFT_OUT.has(name) || name.startsWith('.esbuild')));
      },
    });
    await symlink(join(PROJECT_DIR, 'node_modules'), join(dir, 'node_modules'), 'dir');
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}
