/**
 * A real headless Chromium for the tests that look at a page, driven by playwright-core. The browser comes
 * from npm (@sparticuz/chromium, unpacked to the temp dir on first use), so `npm ci && npm test` needs no
 * system package; CHROMIUM_PATH, or a Chromium the system has, is used instead when present.
 */
import { access, mkdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { type Browser, chromium } from 'playwright-core';

const SYSTEM_CHROMIUMS = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

/**
 * Flags for a machine with no network but loopback: without the background-networking ones Chromium keeps
 * trying to reach Google's hosts.
 */
const QUIET_FLAGS = [
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/** Which Chromium to start, and with which flags. */
export async function chromiumToLaunch(
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ executablePath: string; args: string[]; source: string }> {
  const given = env.CHROMIUM_PATH;
  if (given) {
    if (!(await exists(given))) throw new Error(`CHROMIUM_PATH is set to ${given}, which does not exist.`);
    return { executablePath: given, args: ['--no-sandbox', ...QUIET_FLAGS], source: 'CHROMIUM_PATH' };
  }
  for (const path of SYSTEM_CHROMIUMS) {
    if (await exists(path))
      return { executablePath: path, args: ['--no-sandbox', ...QUIET_FLAGS], source: path };
  }
  const { default: packaged } = await import('@sparticuz/chromium');
  return {
    executablePath: await unpackInOwnFolder(() => packaged.executablePath()),
    args: [...packaged.args, ...QUIET_FLAGS],
    source: '@sparticuz/chromium',
  };
}

/**
 * @sparticuz/chromium unpacks to `<tmpdir>/chromium` and reuses whatever binary it finds there, whichever version
 * put it there: it unpacks into a folder named after its own version instead.
 */
async function unpackInOwnFolder(unpack: () => Promise<string>): Promise<string> {
  const packageDir = dirname(dirname(require.resolve('@sparticuz/chromium')));
  const { version } = JSON.parse(await readFile(join(packageDir, 'package.json'), 'utf8')) as {
    version: string;
  };
  const folder = join(tmpdir(), `sparticuz-chromium-${version}`);
  await mkdir(folder, { recursive: true });
  const tmpdirBefore = process.env.TMPDIR;
  process.env.TMPDIR = folder;
  try {
    return await unpack();
  } finally {
    if (tmpdirBefore === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = tmpdirBefore;
  }
}

export async function launchBrowser(): Promise<Browser> {
  const { executablePath, args } = await chromiumToLaunch();
  return chromium.launch({ executablePath, args, headless: true, timeout: 60_000 });
}
