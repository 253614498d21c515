/**
 * An environment owns its process tree, as a Lambda sandbox does: its runtime starts as the leader of a process
 * group of its own (`inOwnGroup`), every process the function starts is in that group unless it leaves it on
 * purpose, and every way an environment ends signals the whole group.
 *
 * A stack that dies without ending its environments (kill -9) runs nothing more, so what it leaves is found by
 * a mark: every runtime starts with LAMBDA_OFFLINE_SANDBOX=`<stack id> <tmpRoot>` in its environment, which its
 * children inherit, and /proc/<pid>/environ keeps a process's variables as they were at its start (a function
 * changing process.env does not change it). A process is ended only when its own environ holds that variable
 * with the environments' folder of this state dir (`tmpRoot`), and then with its whole process group, which the
 * kernel keeps from being reused while any process of it lives. Two sweeps use the mark:
 * - a guard process per stack (`/bin/sh` alone, about 1 MB) waits for the stack's end (its stdin closes, even on
 *   kill -9) and ends the groups marked with that stack's id: frozen environments run no watch of their own;
 * - the next stack on the same state dir, at start (it holds the state dir's lock, so no live stack uses that
 *   folder), ends every group marked with the folder, whatever stack marked it.
 * /proc is Linux's; elsewhere neither sweep finds anything, and the runtime's own parent watch
 * (offline/runtime/bootstrap.cjs) ends its group when the stack is gone, unless it is frozen.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { parseProcStat } from './process-memory';

/** Puts the process in a new process group of its own (its pid), then becomes the program it is given. */
const PERL = '/usr/bin/perl';
const SETPGRP =
  'delete $ENV{PERL_BADLANG}; setpgrp(0, 0); exec { $ARGV[0] } @ARGV or die "exec $ARGV[0]: $!\\n"';
const hasPerl = existsSync(PERL);

/**
 * How to start `program` as the leader of a process group of its own, in the stack's session. When the stack
 * dies its groups are orphaned, and the kernel sends a group orphaned while stopped (frozen) SIGHUP then SIGCONT:
 * the runtime ends by it, and what ignores SIGHUP is left to the sweeps below. Node can only start one in a new session
 * too (`detached`, setsid), and a session of its own puts the runtime in a scheduler autogroup of its own on
 * Linux: on a loaded machine each handover between the stack and the runtime then waits for the scheduler
 * (measured here: a warm run 1.5-2× as long). So perl, present on Debian (perl-base is essential) and macOS,
 * calls setpgrp and execs the program (same pid, same session); `detached` is the fallback without it. Perl warns
 * about a locale the machine lacks (LANG is Lambda's en_US.UTF-8) unless PERL_BADLANG=0, which it removes again.
 */
export function inOwnGroup(
  program: string,
  args: readonly string[],
): { command: string; args: string[]; detached: boolean; variables: Record<string, string> } {
  return hasPerl
    ? {
        command: PERL,
        args: ['-e', SETPGRP, program, ...args],
        detached: false,
        variables: { PERL_BADLANG: '0' },
      }
    : { command: program, args: [...args], detached: true, variables: {} };
}

/** The variable that marks every process of the offline environments. */
export const SANDBOX_VARIABLE = 'LAMBDA_OFFLINE_SANDBOX';

/** Sends `signal` to every process of group `pgid`; false when the group is gone. */
export function signalGroup(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

/** The value of SANDBOX_VARIABLE in an environ file (NUL-separated NAME=value), if it is there. */
export function markOf(environ: string): string | undefined {
  const prefix = `${SANDBOX_VARIABLE}=`;
  for (const entry of environ.split('\0')) if (entry.startsWith(prefix)) return entry.slice(prefix.length);
  return undefined;
}

/** Process groups holding a process whose mark `matches`, with those processes (Linux; elsewhere none). */
export function markedGroups(matches: (mark: string) => boolean): Map<number, number[]> {
  const groups = new Map<number, number[]>();
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return groups;
  }
  const ownGroup = parseProcStat(readFileSync('/proc/self/stat', 'latin1'))?.pgid;
  for (const name of names) {
    const first = name.charCodeAt(0);
    if (first < 48 || first > 57 || Number(name) === process.pid) continue;
    try {
      const mark = markOf(readFileSync(`/proc/${name}/environ`, 'latin1'));
      if (mark === undefined || !matches(mark)) continue;
      const pgid = parseProcStat(readFileSync(`/proc/${name}/stat`, 'latin1'))?.pgid;
      // Never init's group nor the stack's own (a marked process cannot join it: it runs in another session).
      if (pgid === undefined || pgid <= 1 || pgid === ownGroup) continue;
      groups.set(pgid, [...(groups.get(pgid) ?? []), Number(name)]);
    } catch {
      // Ended while read, or not ours to read: not touched.
    }
  }
  return groups;
}

/**
 * The guard: waits for its stdin to close (the stack is gone, whatever way), then kills every process group
 * holding a process marked `$1`, read from /proc/<pid>/environ (NUL-separated: grep -z); the command name in
 * /proc/<pid>/stat may hold spaces, so the fields are taken after its last ')'. dash's kill takes no `--`.
 */
const GUARD_SCRIPT = `
while read -r _; do :; done
for environ in /proc/[0-9]*/environ; do
  if grep -qzxF "${SANDBOX_VARIABLE}=$1" "$environ" 2>/dev/null; then
    pid=\${environ#/proc/}; pid=\${pid%/environ}
    pgid=$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f3)
    [ -n "$pgid" ] && [ "$pgid" -gt 1 ] && kill -KILL "-$pgid" 2>/dev/null
  fi
done
`;

/** The marks of one stack's environments, and the sweeps that end what a dead stack left. */
export class StackSandboxes {
  /** SANDBOX_VARIABLE's value for this stack's environments. */
  readonly mark: string;
  #guard: ChildProcess | undefined;

  constructor(
    private readonly tmpRoot: string,
    readonly stackId: string = randomUUID(),
  ) {
    this.mark = `${stackId} ${tmpRoot}`;
  }

  /** Ends the process groups an earlier stack left on this state dir; how many there were. */
  endLeftovers(): number {
    // The stack id is a UUID: the folder is what follows its first space.
    const groups = markedGroups(
      (mark) => mark.slice(mark.indexOf(' ') + 1) === this.tmpRoot && mark !== this.mark,
    );
    for (const pgid of groups.keys()) signalGroup(pgid, 'SIGKILL');
    return groups.size;
  }

  /** Starts the guard that ends this stack's environments if the stack dies without ending them (Linux). */
  guard(): void {
    if (this.#guard || process.platform !== 'linux') return;
    const guard = spawn('/bin/sh', ['-c', GUARD_SCRIPT, 'offline-sandbox-guard', this.mark], {
      stdio: ['pipe', 'ignore', 'ignore'],
      // Its own session: a Ctrl-C in the terminal is the stack's to handle, and the guard outlives the stack.
      detached: true,
      env: { PATH: '/usr/bin:/bin' },
    });
    guard.on('error', () => undefined);
    guard.stdin?.on('error', () => undefined);
    guard.unref();
    // The pipe is only there to close when this process ends; it must not keep it alive.
    (guard.stdin as Socket | null)?.unref();
    this.#guard = guard;
  }

  /** The stack ended its environments itself: the guard sweeps once more (finding nothing) and exits. */
  release(): void {
    this.#guard?.stdin?.end();
    this.#guard = undefined;
  }
}
