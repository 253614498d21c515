/**
 * The local console in Firefox (Debian's firefox-esr, `apt-get install firefox-esr`), driven over WebDriver BiDi:
 * Test reached with Tab runs hello.json and shows "value1", the Monitor graphs draw, and no tab scrolls
 * sideways at 1,280 px. Its own script, `npm run test:firefox`, outside `npm test`: no Firefox that runs here
 * installs from npm. Run without a Firefox, it fails at once saying how to get one.
 */
import { expect } from 'chai';
import { FirefoxBidi, firefoxPath } from '../helpers/firefox-bidi';
import { OfflineStack } from '../../support/offline-stack';
import { waitFor } from '../../support/wait';

describe('local Lambda console (headless Firefox ESR over WebDriver BiDi)', function () {
  this.timeout(120_000);
  let stack: OfflineStack | undefined;
  let firefox: FirefoxBidi | undefined;

  before(async () => {
    const executable = await firefoxPath();
    if (!executable)
      throw new Error(
        'no Firefox found: `apt-get install firefox-esr`, or set FIREFOX_PATH to a Firefox binary.',
      );
    stack = await OfflineStack.start({ timeScale: 0.001 });
    firefox = await FirefoxBidi.launch(executable);
    await firefox.setViewport(1280, 900);
    await firefox.navigate(`http://localhost:${stack.ports.metrics}/`);
    await waitFor('the console to be ready in Firefox', () =>
      firefox?.evaluate<boolean>('document.body.dataset.ready === "true"'),
    );
  });

  after(async () => {
    await firefox?.close();
    await stack?.stop();
  });

  it('runs hello.json from Test, reached with Tab, and shows "value1"', async () => {
    const ff = firefox as FirefoxBidi;
    expect(await ff.evaluate<string>('document.querySelector("#test-event").value')).to.equal(
      'fixture:hello.json',
    );
    await ff.evaluate('document.querySelector("#tab-test").focus()');
    for (let i = 0; i < 20; i += 1) {
      if ((await ff.evaluate<string>('document.activeElement.id')) === 'test-run') break;
      await ff.press('Tab');
    }
    expect(await ff.evaluate<string>('document.activeElement.id')).to.equal('test-run');
    // Tab moves the focus as a user's would; Enter sent over BiDi reaches the page (keydown, keypress) but this
    // Firefox ESR does not turn it into the button's activation, so the focused button is clicked instead.
    await ff.evaluate('document.activeElement.click()');
    const payload = await waitFor('the result in Firefox', () =>
      ff.evaluate<string | undefined>('document.querySelector("#test-payload")?.textContent'),
    );
    expect(payload).to.equal('"value1"');
  });

  it('draws the Monitor graphs with uPlot', async () => {
    const ff = firefox as FirefoxBidi;
    await ff.evaluate('document.querySelector("#tab-monitor").click()');
    await waitFor('the graphs in Firefox', () =>
      ff.evaluate<boolean>('document.querySelector("#panel-monitor").dataset.ready === "true"'),
    );
    expect(await ff.evaluate<number>('document.querySelectorAll("#graphs canvas").length')).to.be.at.least(9);
    expect(await ff.evaluate<string>('document.querySelector("body").dataset.error ?? ""')).to.equal('');
  });

  it('fits 1,280 px without horizontal scrolling on every tab', async () => {
    const ff = firefox as FirefoxBidi;
    for (const tab of ['test', 'monitor', 'events', 'dlq', 'logs']) {
      await ff.evaluate(`document.querySelector("#tab-${tab}").click()`);
      expect(await ff.evaluate<number>('document.documentElement.scrollWidth'), tab).to.be.at.most(1280);
    }
  });
});
