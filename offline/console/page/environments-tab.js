// @ts-check
/**
 * Environments: the execution environments, live then recently ended — state (frozen between runs), runs, the
 * memory and the processes of each one's whole process tree, Init Duration, why each ended, a debugged
 * function's inspector port, the functions whose last build failed, and the machine's bound with the runs
 * waiting for it. An environment's log stream opens the Logs tab on that stream alone.
 */
import { $, apiGet, h, seconds, utc } from './dom.js';
import { showStreamLogs } from './logs-tab.js';

/** @typedef {import('../contract').EnvironmentState} EnvironmentState */
/** @typedef {import('../contract').EnvironmentView} EnvironmentView */
/** @typedef {import('../contract').BuildFailure} BuildFailure */

/** @type {Record<EnvironmentState, string>} */
const ENVIRONMENT_STATES = {
  initializing: 'starting (Init)',
  idle: 'idle (warm)',
  busy: 'running',
  ended: 'ended',
};

/** @param {number | null | undefined} value */
const megabytes = (value) => (value === undefined || value === null ? '–' : String(value));

/**
 * The log stream's own part, `[$LATEST]` and the first characters of its id; the whole name is its title.
 * @param {string} logStream
 */
function streamLabel(logStream) {
  const id = logStream.slice(logStream.indexOf(']') + 1);
  return `${logStream.slice(0, logStream.indexOf('['))}…${id.slice(0, 8)}`;
}

/** @param {EnvironmentView} environment */
function environmentRow(environment) {
  const note = environment.state === 'ended' ? environment.endReason : (environment.endReason ?? '');
  return h(
    'tr',
    { 'data-environment': environment.id, 'data-state': environment.state },
    h(
      'td',
      {},
      environment.functionKey,
      environment.debugPort === undefined || environment.debugPort === null
        ? ''
        : h(
            'span',
            { class: 'muted', title: 'LAMBDA_DEBUG: attach a debugger here (README, Debugging a handler)' },
            ` debugger 127.0.0.1:${environment.debugPort}`,
          ),
    ),
    h(
      'td',
      {},
      h(
        'button',
        {
          type: 'button',
          class: 'link',
          title: environment.logStream,
          onclick: () => showStreamLogs(environment),
        },
        streamLabel(environment.logStream),
      ),
    ),
    h(
      'td',
      {},
      environment.frozen && environment.state === 'idle'
        ? 'idle (warm, frozen)'
        : (ENVIRONMENT_STATES[environment.state] ?? environment.state),
    ),
    h('td', {}, utc(environment.startedAt)),
    h('td', {}, String(environment.runs), environment.resets > 0 ? ` (${environment.resets} reset)` : ''),
    h('td', {}, utc(environment.lastRunAt)),
    h(
      'td',
      {},
      `${megabytes(environment.rssMb)} / ${megabytes(environment.maxMemoryUsedMb)} / ${environment.memorySizeMb}`,
    ),
    h('td', {}, environment.state === 'ended' ? '–' : megabytes(environment.processes)),
    h(
      'td',
      {},
      environment.initDurationMs === undefined || environment.initDurationMs === null
        ? '–'
        : `${environment.initDurationMs.toFixed(2)} ms`,
    ),
    h(
      'td',
      { class: 'muted' },
      environment.state === 'ended' ? `${note} (${utc(environment.endedAt)})` : note,
    ),
  );
}

export async function refreshEnvironments() {
  const result = await apiGet('/api/environments', {});
  const live = result.environments.filter((environment) => environment.state !== 'ended');
  /** @param {EnvironmentState} state */
  const count = (state) => live.filter((environment) => environment.state === state).length;
  // No idle time without an environment pool (a console server started without one, as in some tests).
  const idle = result.idleMs === null ? '' : ` An idle environment ends after ${seconds(result.idleMs)}.`;
  // Runs past the machine's bound wait for an environment: said apart from throttles, which refuse a run.
  const machine =
    result.machine === null || result.machine.maxEnvironments === null
      ? ''
      : ` At most ${result.machine.maxEnvironments} alive at once (LAMBDA_MAX_ENVIRONMENTS)${
          result.machine.waiting > 0
            ? `: ${result.machine.waiting} run(s) waiting for the machine (not throttled).`
            : '.'
        }`;
  $('#environments-summary').textContent =
    `${live.length} environment(s) alive: ${count('busy')} running, ${count('idle')} idle, ${count('initializing')} starting.${machine}${idle}`;
  // A failed build is shown first: until it is fixed, every run of the function fails with this error.
  $('#environments-build-failures').replaceChildren(
    ...result.buildFailures.map((failure) =>
      h(
        'p',
        { class: 'error', 'data-build-failure': failure.functionKey },
        `${failure.functionKey}: its last build failed (${utc(failure.at)}): ${failure.error}. Its runs fail until a build succeeds.`,
      ),
    ),
  );
  $('#environments-table tbody', HTMLTableSectionElement).replaceChildren(
    ...result.environments.map(environmentRow),
  );
  $('#panel-environments').dataset.ready = 'true';
}
