/**
 * Runs `serverless package` for a stage, the way a deploy starts, and hands back the CloudFormation it wrote.
 * No AWS credentials reach the child: packaging must not need any. The esbuild work folder is a fresh one
 * (`sls package` empties its work folder, and a running `npm start` loads handlers from `.esbuild/`), and it
 * and the package directory are removed afterwards. The per-stage settings file (stages/<stage>.json, written by
 * `npm run deploy`) comes from a directory of the test's own: the given settings, or none, never the
 * developer's. One run per stage, parameters and settings per test process.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import type { Template } from './cfn-validate';

export type { Template } from './cfn-validate';

export interface PackagedStage {
  template: Template;
  /** Size in bytes of each artifact zip, by file name (`hello.zip`). */
  artifacts: Record<string, number>;
  /** Each artifact's files as Lambda unpacks them, by zip name then path (`handlers/hello.js`). */
  files: Record<string, Record<string, Buffer>>;
  /** stdout and stderr of `sls package`, interleaved. */
  output: string;
}

/** Every way the framework's AWS SDK could find credentials, and its shared files, made unusable. */
const CREDENTIAL_VARIABLES = [
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_SECURITY_TOKEN',
  'AWS_PROFILE',
  'AWS_DEFAULT_PROFILE',
  'AWS_WEB_IDENTITY_TOKEN_FILE',
  'AWS_ROLE_ARN',
  'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI',
  'AWS_CONTAINER_CREDENTIALS_FULL_URI',
];

const PROJECT_DIR = resolve(__dirname, '..', '..');
const SERVERLESS_BIN = join(PROJECT_DIR, 'node_modules', 'serverless', 'bin', 'serverless.js');

const cache = new Map<string, Promise<PackagedStage>>();

/** Lines that start with "Warning" once colours and indentation are stripped. */
export function warningLines(output: string): string[] {
  // eslint-disable-next-line no-control-regex
  const plain = output.replace(/\u001b\[[0-9;]*m/g, '');
  return plain.split(/\r?\n/).filter((line) => line.trimStart().startsWith('Warning'));
}

/** The content of stages/<stage>.json as `npm run deploy` writes it. */
export type StageSettingsFile = Record<string, string | number>;

export function packageStage(
  stage: string,
  params: Record<string, string> = {},
  settings?: StageSettingsFile,
): Promise<PackagedStage> {
  const key = JSON.stringify([
    stage,
    Object.entries(params).sort(([a], [b]) => a.localeCompare(b)),
    settings,
  ]);
  let packaged = cache.get(key);
  if (!packaged) {
    packaged = runPackage(stage, params, settings);
    cache.set(key, packaged);
  }
  return packaged;
}

async function runPackage(
  stage: string,
  params: Record<string, string>,
  settings: StageSettingsFile | undefined,
): Promise<PackagedStage> {
  const packageDir = await mkdtemp(join(tmpdir(), `lambda-notes-package-${stage}-`));
  const stagesDir = join(packageDir, 'stages');
  await mkdir(stagesDir);
  if (settings) await writeFile(join(stagesDir, `${stage}.json`), JSON.stringify(settings));
  const workFolder = `.esbuild-package-${randomBytes(6).toString('hex')}`;
  const env: NodeJS.ProcessEnv = {
    ...Object.fromEntries(
      Object.entries(process.env).filter(([name]) => !CREDENTIAL_VARIABLES.includes(name)),
    ),
    SLS_TELEMETRY_DISABLED: '1',
    ESBUILD_WORK_FOLDER: workFolder,
    LAMBDA_NOTES_STAGES_DIR: stagesDir,
    // Files that do not exist: no profile on this machine can lend credentials either.
    AWS_SHARED_CREDENTIALS_FILE: join(packageDir, 'no-credentials'),
    AWS_CONFIG_FILE: join(packageDir, 'no-config'),
    AWS_EC2_METADATA_DISABLED: 'true',
  };
  const args = [
    SERVERLESS_BIN,
    'package',
    '--stage',
    stage,
    '--package',
    join(packageDir, 'out'),
    ...Object.entries(params).map(([name, value]) => `--param=${name}=${value}`),
  ];
  const command = `sls ${args.slice(1).join(' ')}`;
  try {
    const { code, output } = await run(args, env);
    if (code !== 0) throw new Error(`\`${command}\` exited with ${code}:\n${output}`);
    const warnings = warningLines(output);
    if (warnings.length > 0) {
      throw new Error(
        `\`${command}\` printed ${warnings.length} warning line(s); none is allowed:\n${output}`,
      );
    }
    const template = JSON.parse(
      await readFile(join(packageDir, 'out', 'cloudformation-template-update-stack.json'), 'utf8'),
    ) as Template;
    const artifacts: Record<string, number> = {};
    const files: Record<string, Record<string, Buffer>> = {};
    for (const name of (await readdir(join(packageDir, 'out'))).filter((file) => file.endsWith('.zip'))) {
      artifacts[name] = (await stat(join(packageDir, 'out', name))).size;
      files[name] = await unzip(join(packageDir, 'out', name), join(packageDir, `${name}.d`));
    }
    return { template, artifacts, files, output };
  } finally {
    await rm(packageDir, { recursive: true, force: true });
    await rm(join(PROJECT_DIR, workFolder), { recursive: true, force: true });
  }
}

/** Node reads no zip archives: Python's zipfile module (python3 is on every machine npm builds addons on). */
async function unzip(zip: string, into: string): Promise<Record<string, Buffer>> {
  const { code, output } = await run(['-m', 'zipfile', '-e', zip, into], process.env, 'python3');
  if (code !== 0) throw new Error(`Could not unpack ${zip} with python3 -m zipfile:\n${output}`);
  const files: Record<string, Buffer> = {};
  for (const entry of await readdir(into, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    files[relative(into, path)] = await readFile(path);
  }
  return files;
}

/** Runs a command in the project directory (node by default); resolves with its exit code and output. */
export function run(
  args: string[],
  env: NodeJS.ProcessEnv,
  command = process.execPath,
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(command, args, { cwd: PROJECT_DIR, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolveRun({ code, output }));
  });
}
