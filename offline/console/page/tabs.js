// @ts-check
/**
 * The six tabs: which one is on screen, switching by click, arrow keys and the URL's hash (#monitor). Tabs that
 * lead to another (an event to its dead-letter record, an environment to its logs) switch with showTab; main.js
 * says what happens once a tab is shown (its refresh).
 */
import { $ } from './dom.js';

/** @typedef {'test' | 'monitor' | 'events' | 'dlq' | 'environments' | 'logs'} TabName */

/** @type {readonly TabName[]} */
const TABS = ['test', 'monitor', 'events', 'dlq', 'environments', 'logs'];

/** @type {TabName} */
let current = 'test';

/** @type {(tab: TabName) => void} */
let onShown = () => {};

/**
 * @param {string | undefined} name
 * @returns {name is TabName}
 */
const isTabName = (name) => TABS.some((tab) => tab === name);

/** The tab on screen. */
export const currentTab = () => current;

/**
 * Says what to do each time a tab is shown (one listener: main.js's refresh).
 * @param {(tab: TabName) => void} listener
 */
export function whenTabShown(listener) {
  onShown = listener;
}

/**
 * Shows a tab (an unknown name shows Test), keeps its name in the URL's hash, and refreshes it.
 * @param {string | undefined} name
 * @param {{ focus?: boolean }} [options] focus: move the keyboard focus to the tab (arrow keys)
 */
export function showTab(name, { focus = false } = {}) {
  const tab = isTabName(name) ? name : 'test';
  current = tab;
  for (const id of TABS) {
    $(`#tab-${id}`).setAttribute('aria-selected', String(id === tab));
    $(`#panel-${id}`).hidden = id !== tab;
  }
  if (focus) $(`#tab-${tab}`).focus();
  if (location.hash !== `#${tab}`) history.replaceState(null, '', `#${tab}`);
  onShown(tab);
}

export function setUpTabs() {
  $('#tabs').addEventListener('click', (event) => {
    const button = event.target instanceof Element ? event.target.closest('[role="tab"]') : null;
    if (button instanceof HTMLElement) showTab(button.dataset.tab);
  });
  $('#tabs').addEventListener('keydown', (event) => {
    if (event.key !== 'ArrowRight' && event.key !== 'ArrowLeft') return;
    const index = TABS.indexOf(current) + (event.key === 'ArrowRight' ? 1 : -1);
    showTab(TABS[(index + TABS.length) % TABS.length], { focus: true });
    event.preventDefault();
  });
  window.addEventListener('hashchange', () => showTab(location.hash.slice(1)));
}
