'use strict';
/**
 * `npm start`: runs `serverless offline start` with the local S3 and the async queue, and makes sure that
 * Ctrl-C (or a SIGTERM to this process or to npm) stops all of it. serverless runs in its own process group
 * and every stop signal is passed to the whole group; if npm goes away without passing one on, the group
 * is stopped all the same. serverless also holds an IPC channel to this process: when this process dies,
 * even by kill -9 (nothing of it runs then), the channel closes and the offline plugin stops the stack, so no
 * orphan keeps the ports.
 */
const { spawn } = require('node:child_process');
const { join } = require('node:path');

const env = {
  ...process.env,
  SLS_TELEMETRY_DISABLED: '1',
  // 0.1: a retry that waits 1 minute on AWS waits 6 s here — slow enough to watch, fast enough to wait for.
  LAMBDA_ASYNC_TIME_SCALE: process.env.LAMBDA_ASYNC_TIME_SCALE || '0.1',
};
/**
 * What would stop the stack at once is checked before serverless spends seconds loading, with the module the
 * offline plugin reads its settings with (offline/plugin/settings.ts): the plugin checks again (it holds the
 * lock), this only answers sooner. A stack still stopping on the same state dir
 * (its npm start was just killed, or stopped) is waited for here, before the new one binds the same ports.
 */
async function preflight() {
  const { require: requireTs } = require('tsx/cjs/api');
  const { readOfflineSettings } = requireTs('../offline/plugin/settings.ts', __filename);
  const { waitForStateDir } = requireTs('../offline/state/lock.ts', __filename);
  try {
    const { stateDir } = readOfflineSettings(env, join(__dirname, '..'));
    await waitForStateDir(stateDir, { onWait: (line) => process.stdout.write(`${line}\n`) });
  } catch (error) {
    return error.message;
  }
  return undefined;
}

function start() {
  const serverless = join(__dirname, '..', 'node_modules', 'serverless', 'bin', 'serverless.js');
  const child = spawn(process.execPath, [serverless, 'offline', 'start', ...process.argv.slice(2)], {
    cwd: join(__dirname, '..'),
    env,
    stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
    detached: true,
  });
  // The channel is only there to close when this process dies; it must not keep this process alive.
  child.channel?.unref();

  let stopping = false;
  function stop(signal) {
    if (stopping) return;
    stopping = true;
    try {
      process.kill(-child.pid, signal);
    } catch {
      // Already gone.
    }
  }

  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => stop(signal));

  const parent = process.ppid;
  const orphanWatch = setInterval(() => {
    if (process.ppid !== parent) stop('SIGTERM');
  }, 500);

  child.on('exit', (code, signal) => {
    clearInterval(orphanWatch);
    process.exitCode = code ?? (signal ? 1 : 0);
  });
}

void preflight().then((refusal) => {
  if (refusal) {
    process.stderr.write(`✖ offline could not start: ${refusal}\n`);
    process.exit(1);
  }
  start();
});
