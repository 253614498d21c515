// @ts-check
/**
 * The local Lambda console's page: plain DOM code, no framework, one module per tab. This one starts it: the
 * tabs' controls, the functions and queues of the overview, the first event in Test, then the tab of the URL,
 * refreshed every 2 seconds while on screen.
 */
import { listQueues, refreshDlq, setUpDlqTab } from './dlq-tab.js';
import { $, apiGet, clearGlobalError, h, showGlobalError, utc } from './dom.js';
import { refreshEnvironments } from './environments-tab.js';
import { refreshEvents, setUpEventsTab } from './events-tab.js';
import { refreshLogs, setUpLogsTab } from './logs-tab.js';
import { monitorIsLive, refreshMonitor, setUpMonitorTab } from './monitor-tab.js';
import { currentTab, setUpTabs, showTab, whenTabShown } from './tabs.js';
import { firstFixture, loadEvent, loadEventList, setUpTestTab } from './test-tab.js';

/** @typedef {import('../contract').Overview} Overview */

/** @type {Overview | undefined} set once the page has started; until then no tab refreshes */
let overview;

/**
 * @param {HTMLSelectElement} select
 * @param {Overview['functions']} functions
 * @param {{ all?: boolean }} [options] all: a first choice of all functions
 */
function fillFunctions(select, functions, { all = false } = {}) {
  const current = select.value;
  select.replaceChildren(
    ...(all ? [h('option', { value: '' }, 'all functions')] : []),
    ...functions.map((fn) => h('option', { value: fn.key }, `${fn.key} (${fn.name})`)),
  );
  if (current) select.value = current;
}

/** Refreshes the tab on screen; Test has nothing to refresh. */
async function refreshTab() {
  if (!overview) return;
  const tab = currentTab();
  if (tab === 'monitor') await refreshMonitor();
  else if (tab === 'events') await refreshEvents();
  else if (tab === 'dlq') await refreshDlq();
  else if (tab === 'environments') await refreshEnvironments();
  else if (tab === 'logs') await refreshLogs();
}

async function start() {
  overview = await apiGet('/api/overview', {});
  $('#since').textContent = `Offline stack started ${utc(overview.since)} UTC · every asset served locally`;
  fillFunctions($('#test-function', HTMLSelectElement), overview.functions);
  fillFunctions($('#monitor-function', HTMLSelectElement), overview.functions);
  fillFunctions($('#events-function', HTMLSelectElement), overview.functions, { all: true });
  fillFunctions($('#logs-function', HTMLSelectElement), overview.functions, { all: true });
  listQueues(overview.deadLetterQueues);
  const first = await firstFixture();
  await loadEventList(first ? `fixture:${first.name}` : '');
  await loadEvent();
  showTab(location.hash.slice(1) || 'test');
  document.body.dataset.ready = 'true';
  // Live refresh of the tab on screen; the Test tab and the Logs search only change on request.
  setInterval(() => {
    const tab = currentTab();
    if (tab === 'monitor' && !monitorIsLive()) return;
    if (tab === 'test' || tab === 'logs' || document.hidden) return;
    refreshTab().then(clearGlobalError, showGlobalError);
  }, 2000);
}

setUpTabs();
whenTabShown(() => refreshTab().catch(showGlobalError));
setUpTestTab();
setUpMonitorTab();
setUpEventsTab();
setUpDlqTab();
setUpLogsTab();
start().catch(showGlobalError);
