/**
 * `serverless package` into a temporary directory with its own esbuild work folder (so that a running offline,
 * which loads handlers from `.esbuild/`, is not disturbed), then each function's zip size and unzipped bundle.
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_DIR } from '../support/offline-stack';
import { type Cleanup, runTimed } from './processes';

export interface PackagedFunction {
  readonly name: string;
  readonly zipBytes: number;
  /** The unzipped handler file, e.g. <dir>/s3Upload/handlers/s3-upload.js. */
  readonly bundle: string;
  /** provider.environment merged with the function's own, as Lambda would set it. */
  readonly environment: Record<string, string>;
}

interface ServerlessState {
  service: {
    provider: { environment?: Record<string, string> };
    functions: Record<string, { handler: string; environment?: Record<string, string> }>;
  };
}

/** `unzip` when installed; otherwise Python's zipfile module (node's zlib does not read zip archives). */
async function unzipCommand(): Promise<(zip: string, into: string) => [string, string[]]> {
  const hasUnzip = await new Promise<boolean>((resolve) => {
    const probe = spawn('unzip', ['-v'], { stdio: 'ignore' });
    probe.on('error', () => resolve(false));
    probe.on('exit', (code) => resolve(code === 0));
  });
  return hasUnzip
    ? (zip, into) => ['unzip', ['-q', '-o', zip, '-d', into]]
    : (zip, into) => ['python3', ['-m', 'zipfile', '-e', zip, into]];
}

/** `projectDir`: another checkout to package (the baseline of a comparison); this one by default. */
export async function packageFunctions(
  cleanup: Cleanup,
  projectDir = PROJECT_DIR,
): Promise<PackagedFunction[]> {
  const dir = await mkdtemp(join(tmpdir(), 'lambda-notes-bench-package-'));
  cleanup.add('package directory', () => rm(dir, { recursive: true, force: true }));
  const workFolder = `.esbuild-bench-${process.pid}`;
  const removeWorkFolder = cleanup.add('esbuild work folder', () =>
    rm(join(projectDir, workFolder), { recursive: true, force: true }),
  );
  const run = await runTimed(
    cleanup,
    process.execPath,
    [
      join(projectDir, 'node_modules', 'serverless', 'bin', 'serverless.js'),
      'package',
      '--stage',
      'dev',
      '--package',
      dir,
    ],
    {
      cwd: projectDir,
      env: { ...process.env, SLS_TELEMETRY_DISABLED: '1', ESBUILD_WORK_FOLDER: workFolder },
      captureStdout: true,
    },
  );
  await removeWorkFolder.run();
  if (run.code !== 0) throw new Error(`serverless package failed (${run.code}):\n${run.stdout}${run.stderr}`);

  const state = JSON.parse(await readFile(join(dir, 'serverless-state.json'), 'utf8')) as ServerlessState;
  const unzip = await unzipCommand();
  const packaged: PackagedFunction[] = [];
  for (const [name, definition] of Object.entries(state.service.functions)) {
    const zip = join(dir, `${name}.zip`);
    const into = join(dir, name);
    await mkdir(into);
    const [command, args] = unzip(zip, into);
    const unzipped = await runTimed(cleanup, command, args);
    if (unzipped.code !== 0) throw new Error(`${command} ${args.join(' ')} failed:\n${unzipped.stderr}`);
    // handlers/s3-upload.handler → handlers/s3-upload.js
    const file = `${definition.handler.slice(0, definition.handler.lastIndexOf('.'))}.js`;
    packaged.push({
      name,
      zipBytes: (await stat(zip)).size,
      bundle: join(into, file),
      environment: { ...state.service.provider.environment, ...definition.environment },
    });
  }
  return packaged;
}
