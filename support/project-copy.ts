/**
 * A copy of this project in a temporary folder, for tests and benches that edit its sources (a handler broken on
 * purpose, a shorter timeout): the sources are copied, node_modules is linked, and `remove()` deletes it all.
 * The tracked files stay untouched, whatever the test does or however it fails.
 */
import { cp, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { PROJECT_DIR } from './offline-stack';

/** What a copy leaves out: installed packages (linked instead), git, and build, state and bench output. */
const LEFT_OUT = new Set(['node_modules', '.git', '.serverless', '.offline', '.s3-local', 'stages']);

export interface ProjectCopy {
  readonly dir: string;
  remove(): Promise<void>;
}

/** Copies `from` (this project by default; the bench also copies an earlier checkout) to a temporary folder. */
export async function copyProject(from: string = PROJECT_DIR): Promise<ProjectCopy> {
  const dir = await mkdtemp(join(tmpdir(), 'lambda-notes-copy-'));
  try {
    await cp(from, dir, {
      recursive: true,
      filter: (source) => {
        const name = basename(source);
        return (
          !LEFT_OUT.has(name) &&
          !name.startsWith('.esbuild') &&
          !source.startsWith(join(from, 'bench', 'tmp'))
        );
      },
    });
    await symlink(join(from, 'node_modules'), join(dir, 'node_modules'), 'dir');
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}
