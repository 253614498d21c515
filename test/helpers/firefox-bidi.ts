/**
 * Debian's Firefox ESR driven over WebDriver BiDi, the W3C protocol Firefox speaks natively
 * (https://w3c.github.io/webdriver-bidi/). playwright-core cannot drive it (its Firefox needs Playwright's own
 * build, and its BiDi channel sends commands this ESR lacks), so this is a small client of the few commands the
 * console test needs: navigate, evaluate, keys, viewport, screenshot.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { access, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'undici';

export const FIREFOX_PATHS = ['/usr/lib/firefox-esr/firefox-esr', '/usr/lib/firefox/firefox'];

/** The Firefox to drive: FIREFOX_PATH, or Debian's; undefined when there is none. */
export async function firefoxPath(env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  for (const path of env.FIREFOX_PATH ? [env.FIREFOX_PATH] : FIREFOX_PATHS) {
    if (
      await access(path).then(
        () => true,
        () => false,
      )
    )
      return path;
  }
  return undefined;
}

interface BidiResponse {
  id?: number;
  type?: string;
  result?: Record<string, unknown>;
  error?: string;
  message?: string;
}

/** WebDriver's key codes for the keys the test presses. */
export const KEYS = { Tab: '\uE004' } as const;

export class FirefoxBidi {
  #nextId = 1;
  readonly #pending = new Map<
    number,
    { resolve(r: Record<string, unknown>): void; reject(e: Error): void }
  >();

  context = '';
  version = '';

  private constructor(
    private readonly child: ChildProcess,
    private readonly socket: WebSocket,
    private readonly profile: string,
  ) {
    socket.addEventListener('message', (event) => {
      const message = JSON.parse(String(event.data)) as BidiResponse;
      const pending = message.id === undefined ? undefined : this.#pending.get(message.id);
      if (!pending || message.id === undefined) return;
      this.#pending.delete(message.id);
      if (message.type === 'error') pending.reject(new Error(`${message.error}: ${message.message}`));
      else pending.resolve(message.result ?? {});
    });
  }

  static async launch(executable: string, timeoutMs = 60_000): Promise<FirefoxBidi> {
    const profile = await mkdtemp(join(tmpdir(), 'console-firefox-'));
    const child = spawn(
      executable,
      ['--headless', '--no-remote', '--profile', profile, '--remote-debugging-port=0', 'about:blank'],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, MOZ_CRASHREPORTER_DISABLE: '1' } },
    );
    let output = '';
    try {
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`Firefox did not open WebDriver BiDi within ${timeoutMs} ms:\n${output}`)),
          timeoutMs,
        );
        const read = (chunk: Buffer) => {
          output += chunk.toString();
          const match = /WebDriver BiDi listening on (ws:\/\/\S+)/.exec(output);
          if (match?.[1]) {
            clearTimeout(timer);
            resolve(match[1]);
          }
        };
        child.stdout?.on('data', read);
        child.stderr?.on('data', read);
        child.once('exit', (code) => {
          clearTimeout(timer);
          reject(new Error(`Firefox exited (code ${code}) before opening WebDriver BiDi:\n${output}`));
        });
      });
      const socket = new WebSocket(`${url.replace(/\/$/, '')}/session`);
      await new Promise<void>((resolve, reject) => {
        socket.addEventListener('open', () => resolve(), { once: true });
        socket.addEventListener('error', () => reject(new Error(`cannot connect to ${url}`)), { once: true });
      });
      const browser = new FirefoxBidi(child, socket, profile);
      const session = await browser.send('session.new', { capabilities: {} });
      browser.version =
        (session.capabilities as { browserVersion?: string } | undefined)?.browserVersion ?? '';
      const tree = await browser.send('browsingContext.getTree', {});
      const context = (tree.contexts as Array<{ context: string }>)[0]?.context;
      if (!context) throw new Error('Firefox reported no browsing context.');
      browser.context = context;
      return browser;
    } catch (error) {
      child.kill('SIGKILL');
      await rm(profile, { recursive: true, force: true });
      throw error;
    }
  }

  send(method: string, params: Record<string, unknown>): Promise<Record<string, unknown>> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.socket.send(JSON.stringify({ id, method, params }));
    });
  }

  async setViewport(width: number, height: number): Promise<void> {
    await this.send('browsingContext.setViewport', { context: this.context, viewport: { width, height } });
  }

  async navigate(url: string): Promise<void> {
    await this.send('browsingContext.navigate', { context: this.context, url, wait: 'complete' });
  }

  /** Evaluates an expression in the page (a promise is awaited); returns its JSON-serialisable value. */
  async evaluate<T>(expression: string): Promise<T> {
    const result = await this.send('script.evaluate', {
      expression: `(async () => JSON.stringify(await (${expression})))()`,
      target: { context: this.context },
      awaitPromise: true,
    });
    if (result.type === 'exception') {
      const details = result.exceptionDetails as { text?: string } | undefined;
      throw new Error(`in Firefox: ${details?.text ?? 'exception'}`);
    }
    const value = (result.result as { value?: string } | undefined)?.value;
    return (value === undefined ? undefined : JSON.parse(value)) as T;
  }

  async press(key: keyof typeof KEYS): Promise<void> {
    await this.send('input.performActions', {
      context: this.context,
      actions: [
        {
          type: 'key',
          id: 'keyboard',
          actions: [
            { type: 'keyDown', value: KEYS[key] },
            { type: 'keyUp', value: KEYS[key] },
          ],
        },
      ],
    });
  }

  async screenshot(): Promise<Buffer> {
    const result = await this.send('browsingContext.captureScreenshot', {
      context: this.context,
      origin: 'document',
    });
    return Buffer.from(String(result.data), 'base64');
  }

  async close(): Promise<void> {
    await this.send('browser.close', {}).catch(() => undefined);
    this.socket.close();
    if (this.child.exitCode === null) {
      const exited = new Promise((done) => this.child.once('exit', done));
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    }
    await rm(this.profile, { recursive: true, force: true });
  }
}
