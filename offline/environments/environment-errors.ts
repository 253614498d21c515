import type { FunctionErrorPayload } from '../model/outcomes';
import type { RunResult } from './environment-types';
/**
 * What Lambda answers when an environment fails a run rather than the function: a timeout, a runtime that exits,
 * memory exhaustion. Payloads and messages as recorded against AWS (test/parity names each recording).
 */

/** The invoke payload of a run stopped at its timeout (the configured timeout, two decimals). */
export function timeoutPayload(requestId: string, timeoutSeconds: number): FunctionErrorPayload {
  return {
    errorType: 'Sandbox.Timedout',
    errorMessage: `RequestId: ${requestId} Error: Task timed out after ${timeoutSeconds.toFixed(2)} seconds`,
  };
}

/** The log line Lambda writes when it stops a run at its timeout (the time actually elapsed). */
export function timeoutLogLine(requestId: string, elapsedMs: number, at: Date): string {
  return `${at.toISOString()} ${requestId} Task timed out after ${(elapsedMs / 1000).toFixed(2)} seconds`;
}

/** Go's names of the signals a runtime process may die of (Lambda's messages are written by Go). */
const SIGNAL_NAMES: Readonly<Record<string, string>> = {
  SIGKILL: 'killed',
  SIGABRT: 'aborted',
  SIGTERM: 'terminated',
  SIGSEGV: 'segmentation fault',
  SIGINT: 'interrupt',
  SIGBUS: 'bus error',
  SIGILL: 'illegal instruction',
  SIGFPE: 'floating point exception',
  SIGTRAP: 'trace/breakpoint trap',
  SIGHUP: 'hangup',
  SIGPIPE: 'broken pipe',
};

/** "exit status 1", "signal: killed", or, for a clean exit, no reason at all. */
export function exitReason(code: number | null, signal: NodeJS.Signals | null): string {
  if (signal !== null)
    return `Runtime exited with error: signal: ${SIGNAL_NAMES[signal] ?? signal.toLowerCase()}`;
  if (code === 0 || code === null) return 'Runtime exited without providing a reason';
  return `Runtime exited with error: exit status ${code}`;
}

/** A runtime process that ended during a run. */
export function exitPayload(
  requestId: string,
  code: number | null,
  signal: NodeJS.Signals | null,
): FunctionErrorPayload {
  return {
    errorType: 'Runtime.ExitError',
    errorMessage: `RequestId: ${requestId} Error: ${exitReason(code, signal)}`,
  };
}

/**
 * A run stopped because its environment went past the function's memory size (killed, as a cgroup would): the
 * caller gets the runtime's exit (Runtime.ExitError, "signal: killed"); REPORT names it Runtime.OutOfMemory.
 */
export function outOfMemoryPayload(requestId: string): FunctionErrorPayload {
  return exitPayload(requestId, null, 'SIGKILL');
}

/** Why a runtime group was killed by the environment's watch, when it was. */
export type KilledFor = 'memory' | 'processes' | undefined;

/** How a run ends whose runtime died under it: out of memory when the watch killed it for that, else its exit. */
export function runtimeGoneResult(
  killedFor: KilledFor,
  requestId: string,
  code: number | null,
  signal: NodeJS.Signals | null,
  durationMs: number,
): Omit<RunResult, 'maxMemoryUsedMb'> {
  return killedFor === 'memory'
    ? {
        outcome: { ok: false, error: outOfMemoryPayload(requestId) },
        durationMs,
        status: 'error',
        reportErrorType: 'Runtime.OutOfMemory',
      }
    : {
        outcome: { ok: false, error: exitPayload(requestId, code, signal) },
        durationMs,
        status: 'error',
        reportErrorType: 'Runtime.ExitError',
      };
}

/** Why the environment was reset after its runtime died, for its log line and the Environments tab. */
export function runtimeGoneReason(
  killedFor: KilledFor,
  context: {
    readonly memorySizeMb: number;
    readonly processLimit: number;
    readonly code: number | null;
    readonly signal: NodeJS.Signals | null;
    readonly error: string | undefined;
  },
): string {
  if (killedFor === 'memory') return `its runtime went past ${context.memorySizeMb} MB and was killed`;
  if (killedFor === 'processes')
    return `its processes and threads went past ${context.processLimit} and were killed`;
  if (context.error !== undefined) return `its runtime could not run (${context.error})`;
  return exitReason(context.code, context.signal);
}
