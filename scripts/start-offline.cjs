'use strict';
/**
 * `npm start`: runs `serverless offline start` with the local S3 and the async queue, and makes sure that
 * Ctrl-C (or a SIGTERM to this process or to npm) stops all of it. serverless runs in its own process group
 * and every stop signal is passed to the whole group; if npm goes away without passing one on, the group
 * is stopped all the same.
 */
const { spawn } = require('node:child_process');
const { join } = require('node:path');

const env = {
  ...process.env,
  SLS_TELEMETRY_DISABLED: '1',
  // 0.1: a retry that waits 1 minute on AWS waits 6 s here — slow enough to watch, fast enough to wait for.
  LAMBDA_ASYNC_TIME_SCALE: process.env.LAMBDA_ASYNC_TIME_SCALE || '0.1',
};
const serverless = join(__dirname, '..', 'node_modules', 'serverless', 'bin', 'serverless.js');
const child = spawn(process.execPath, [serverless, 'offline', 'start', ...process.argv.slice(2)], {
  cwd: join(__dirname, '..'),
  env,
  stdio: 'inherit',
  detached: true,
});

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
