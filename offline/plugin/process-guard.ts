/**
 * What keeps the offline process from lingering: a fatal start-up error ends it at once with its message, and
 * the stack stops when whoever started it is gone.
 */

/**
 * A fatal start-up error: the message alone (no stack), then exit non-zero at once — the servers already
 * listening would otherwise keep the process (and its ports) alive with nothing working.
 */
export function exitWithError(error: unknown): never {
  const text =
    error instanceof Error
      ? `${error.name === 'Error' ? '' : `${error.name}: `}${error.message}`
      : String(error);
  process.stderr.write(`\n✖ offline could not start: ${text}\n`);
  process.exit(1);
}

/**
 * The stack must not outlive whoever started it. Started by `npm start` (an IPC channel), it stops when the
 * channel closes — the launcher died, even by kill -9; otherwise it stops when its parent process changes.
 * `stop` is called once, with the reason; the result ends the watch.
 */
export function watchParent(stop: (why: string) => void): () => void {
  if (process.channel) {
    process.once('disconnect', () => stop('the launcher (npm start) is gone'));
    process.channel.unref();
    return () => undefined;
  }
  const parent = process.ppid;
  if (parent <= 1) return () => undefined;
  const watch = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(watch);
    stop(`the parent process ${parent} is gone`);
  }, 250).unref();
  return () => clearInterval(watch);
}
