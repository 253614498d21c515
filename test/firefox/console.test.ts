/**
 * The local console in Firefox (Debian's firefox-esr, `apt-get install firefox-esr`), driven by puppeteer-core over
 * WebDriver BiDi, the protocol Firefox has built in (no geckodriver): Test reached with Tab and run with Enter
 * shows "value1", the Monitor graphs draw, and no tab scrolls sideways at 1,280 px. Its own script,
 * `npm run test:firefox`, outside `npm test`: no Firefox that runs here installs from npm. Run without a Firefox,
 * it fails at once saying how to get one.
 */
import { access } from 'node:fs/promises';
import { expect } from 'chai';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { OfflineStack } from '../../support/offline-stack';

const FIREFOX_PATHS = ['/usr/bin/firefox-esr', '/usr/lib/firefox/firefox'];

/** The Firefox to drive: FIREFOX_PATH, or Debian's; undefined when there is none. */
async function firefoxPath(env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
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

describe('local Lambda console (headless Firefox ESR over WebDriver BiDi)', function () {
  this.timeout(120_000);
  let stack: OfflineStack | undefined;
  let firefox: Browser | undefined;
  let page: Page;
  let base: string;

  /** A value from the page; expressions as text, as the tests are type-checked without the DOM's types. */
  async function read<T>(expression: string): Promise<T> {
    return (await page.evaluate(expression)) as T;
  }

  before(async () => {
    const executablePath = await firefoxPath();
    if (!executablePath)
      throw new Error(
        'no Firefox found: `apt-get install firefox-esr`, or set FIREFOX_PATH to a Firefox binary.',
      );
    stack = await OfflineStack.start({ timeScale: 0.001 });
    base = `http://localhost:${stack.ports.metrics}`;
    firefox = await puppeteer.launch({ browser: 'firefox', executablePath, headless: true });
    // A page of its own: in headless mode the tab Firefox opens at launch does not have the focus
    // (document.hasFocus() is false), and Firefox turns Enter into a button's click only in the focused document.
    page = await firefox.newPage();
    page.setDefaultTimeout(15_000);
    await page.setViewport({ width: 1280, height: 900 });
    await page.goto(`${base}/`);
    await page.waitForSelector('body[data-ready="true"]');
    expect(await read<boolean>('document.hasFocus()'), 'the page has the keyboard focus').to.equal(true);
  });

  after(async () => {
    try {
      await firefox?.close();
    } finally {
      await stack?.stop();
    }
  });

  it('runs hello.json from Test, reached with Tab and Enter, and shows "value1"', async () => {
    // As a keyboard user meets the page on another tab: Tab to the Test tab, Enter, Tab to the Test button,
    // Enter. The first function (hello) and the first event of events/ (hello.json) are preselected.
    await page.goto(`${base}/#monitor`);
    await page.waitForSelector('body[data-ready="true"]');
    expect(await read<string>('document.querySelector("#test-event").value')).to.equal('fixture:hello.json');
    for (let i = 0; i < 5; i += 1) {
      await page.keyboard.press('Tab');
      if ((await read<string | undefined>('document.activeElement?.id')) === 'tab-test') break;
    }
    expect(await read<string | undefined>('document.activeElement?.id')).to.equal('tab-test');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#panel-test:not([hidden])');
    for (let i = 0; i < 20; i += 1) {
      if ((await read<string | undefined>('document.activeElement?.id')) === 'test-run') break;
      await page.keyboard.press('Tab');
    }
    expect(await read<string | undefined>('document.activeElement?.id')).to.equal('test-run');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#test-result[data-status]');
    expect(await read<string>('document.querySelector("#test-result").dataset.status')).to.equal('succeeded');
    expect(await read<string>('document.querySelector("#test-payload").textContent')).to.equal('"value1"');
  });

  it('draws the Monitor graphs with uPlot', async () => {
    await page.click('#tab-monitor');
    await page.waitForSelector('#panel-monitor[data-ready="true"]');
    expect(await read<number>('document.querySelectorAll("#graphs canvas").length')).to.be.at.least(9);
    expect(await read<string>('document.body.dataset.error ?? ""')).to.equal('');
  });

  it('fits 1,280 px without horizontal scrolling on every tab', async () => {
    for (const tab of ['test', 'monitor', 'events', 'dlq', 'environments', 'logs']) {
      await page.click(`#tab-${tab}`);
      await page.waitForSelector(`#panel-${tab}:not([hidden])`);
      expect(await read<number>('document.documentElement.scrollWidth'), tab).to.be.at.most(1280);
    }
  });
});
