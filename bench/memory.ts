/**
 * The offline stack's memory and its warm paths: the process tree of the stack as it was started (`npm start`:
 * npm, the serverless process and every process under it — execution environments, esbuild's service; or
 * `sls offline` alone) read from /proc, idle with both functions warm and then every few seconds after a burst;
 * and sequential warm invokes of hello over the Invoke API or the HTTP API. Linux only (/proc); elsewhere the
 * section says it cannot measure.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { InvokeCommand } from '@aws-sdk/client-lambda';
import type { BenchStack } from './stack';
import { percentile } from './stats';

const KIB_PER_MIB = 1024;

export interface ProcessMemory {
  readonly pid: number;
  /**
   * What the process is: `npm`, `launcher` (scripts/start-offline.cjs), `sls offline`, `environment` (a runtime),
   * `esbuild`, or its command's first word.
   */
  readonly role: string;
  readonly rssMb: number;
  /** Proportional set size: shared pages (the node binary) split among the processes sharing them. */
  readonly pssMb: number;
}

export interface TreeMemory {
  readonly rssMb: number;
  readonly pssMb: number;
  /** RSS by role: the serverless process alone, the environments together, the rest. */
  readonly byRole: Record<string, { count: number; rssMb: number; pssMb: number }>;
}

const round1 = (value: number): number => Math.round(value * 10) / 10;

function kib(text: string, field: string): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(text);
  return match?.[1] === undefined ? 0 : Number(match[1]);
}

function roleOf(pid: number): string {
  const command = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  if (command.some((part) => part.endsWith('bootstrap.cjs'))) return 'environment';
  if (command.some((part) => part.endsWith('serverless.js'))) return 'sls offline';
  // npm start's launcher runs serverless in its own process.
  if (command.some((part) => part.endsWith('start-offline.cjs'))) return 'sls offline';
  // npm sets its process title (`npm start`) over its command line.
  if (/^npm( |$)/.test(command[0] ?? '') || command.some((part) => part.endsWith('npm-cli.js'))) return 'npm';
  if (command.some((part) => part.includes('esbuild'))) return 'esbuild';
  return command[0]?.split('/').at(-1) ?? 'process';
}

/** The process and all its descendants, as /proc shows them now. */
export function processTree(root: number): ProcessMemory[] {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // The command name is in parentheses and may hold spaces: the fields after it are fixed.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parents.set(Number(entry), ppid);
    } catch {
      // gone meanwhile
    }
  }
  const tree = new Set([root]);
  for (let grown = true; grown;) {
    grown = false;
    for (const [pid, ppid] of parents) {
      if (!tree.has(pid) && tree.has(ppid)) {
        tree.add(pid);
        grown = true;
      }
    }
  }
  const processes: ProcessMemory[] = [];
  for (const pid of tree) {
    try {
      const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
      processes.push({
        pid,
        role: roleOf(pid),
        rssMb: round1(kib(rollup, 'Rss') / KIB_PER_MIB),
        pssMb: round1(kib(rollup, 'Pss') / KIB_PER_MIB),
      });
    } catch {
      // gone meanwhile
    }
  }
  return processes;
}

export function treeMemory(root: number): TreeMemory {
  const processes = processTree(root);
  const byRole: TreeMemory['byRole'] = {};
  for (const entry of processes) {
    const role = (byRole[entry.role] ??= { count: 0, rssMb: 0, pssMb: 0 });
    role.count += 1;
    role.rssMb = round1(role.rssMb + entry.rssMb);
    role.pssMb = round1(role.pssMb + entry.pssMb);
  }
  return {
    rssMb: round1(processes.reduce((sum, entry) => sum + entry.rssMb, 0)),
    pssMb: round1(processes.reduce((sum, entry) => sum + entry.pssMb, 0)),
    byRole,
  };
}

export interface IdleMemory {
  /** The median of the samples by RSS. */
  readonly median: TreeMemory;
  readonly samples: number;
}

/** Runs hello once (Invoke API) and s3Upload once (an upload), lets the stack settle, then samples its tree. */
export async function measureIdleMemory(
  stack: BenchStack,
  progress: (line: string) => void,
): Promise<IdleMemory> {
  const pid = stack.stack.child.pid;
  if (pid === undefined) throw new Error('the offline stack has no pid');
  await stack.stack
    .lambdaClient()
    .send(
      new InvokeCommand({ FunctionName: 'lambda-notes-dev-hello', Payload: Buffer.from('{"key1":"warm"}') }),
    );
  const key = `targets/bench/idle-${Date.now()}.txt`;
  const processed = stack.log.processed(key, 30_000);
  await stack.put(key, 'warm');
  await processed;
  const samples: TreeMemory[] = [];
  for (let index = 0; index < 5; index += 1) {
    await new Promise((done) => setTimeout(done, 1000));
    samples.push(treeMemory(pid));
  }
  samples.sort((a, b) => a.rssMb - b.rssMb);
  const median = samples[Math.floor(samples.length / 2)] as TreeMemory;
  progress(`idle, both functions warm: RSS ${median.rssMb} MB (PSS ${median.pssMb} MB)`);
  return { median, samples: samples.length };
}

export interface AfterBurstMemory {
  /** Right when the burst's last upload was processed. */
  readonly atEnd: TreeMemory;
  /** Seconds after the burst until the tree's RSS was under `limitMb`, or null within the watch. */
  readonly backUnderLimitS: number | null;
  readonly limitMb: number;
  /** [seconds after the burst, RSS MB] every sample. */
  readonly curve: Array<[number, number]>;
  readonly last: TreeMemory;
}

/** Samples the tree every `everyMs` for `watchMs` after a burst, noting when RSS went under `limitMb`. */
export async function watchAfterBurst(
  stack: BenchStack,
  limitMb: number,
  { watchMs, everyMs }: { watchMs: number; everyMs: number },
  progress: (line: string) => void,
): Promise<AfterBurstMemory> {
  const pid = stack.stack.child.pid;
  if (pid === undefined) throw new Error('the offline stack has no pid');
  const start = performance.now();
  const atEnd = treeMemory(pid);
  const curve: Array<[number, number]> = [[0, atEnd.rssMb]];
  let backUnderLimitS: number | null = atEnd.rssMb <= limitMb ? 0 : null;
  let last = atEnd;
  while (performance.now() - start < watchMs) {
    await new Promise((done) => setTimeout(done, everyMs));
    last = treeMemory(pid);
    const at = round1((performance.now() - start) / 1000);
    curve.push([at, last.rssMb]);
    if (backUnderLimitS === null && last.rssMb <= limitMb) backUnderLimitS = at;
  }
  progress(
    `after the burst: RSS ${atEnd.rssMb} MB, ${last.rssMb} MB ${round1(watchMs / 1000)} s later; under ${limitMb} MB ${backUnderLimitS === null ? 'not reached' : `after ${backUnderLimitS} s`}`,
  );
  return { atEnd, backUnderLimitS, limitMb, curve, last };
}

export interface WarmInvoke {
  readonly invokes: number;
  readonly medianMs: number;
  readonly p99Ms: number;
}

/** Sequential RequestResponse invokes of hello over the Invoke API (after warm-ups when `warmUp`): their times. */
export async function warmInvokeTimes(stack: BenchStack, count: number, warmUp = true): Promise<number[]> {
  const client = stack.stack.lambdaClient();
  const payload = Buffer.from('{"key1":"value1","key2":"value2","key3":"value3"}');
  const once = async (): Promise<number> => {
    const started = performance.now();
    const output = await client.send(
      new InvokeCommand({ FunctionName: 'lambda-notes-dev-hello', Payload: payload }),
    );
    const ms = performance.now() - started;
    if (output.FunctionError)
      throw new Error(`hello failed: ${Buffer.from(output.Payload ?? []).toString()}`);
    return ms;
  };
  try {
    if (warmUp) for (let index = 0; index < 10; index += 1) await once();
    const times: number[] = [];
    for (let index = 0; index < count; index += 1) times.push(await once());
    return times;
  } finally {
    client.destroy();
  }
}

/** Sequential GET /hello over the HTTP API (after warm-ups when `warmUp`): their times. */
export async function warmHttpTimes(stack: BenchStack, count: number, warmUp = true): Promise<number[]> {
  const url = `http://127.0.0.1:${stack.stack.ports.http}/hello?key1=value1`;
  const once = async (): Promise<number> => {
    const started = performance.now();
    const response = await fetch(url);
    await response.text();
    const ms = performance.now() - started;
    if (response.status !== 200) throw new Error(`GET /hello answered ${response.status}`);
    return ms;
  };
  if (warmUp) for (let index = 0; index < 10; index += 1) await once();
  const times: number[] = [];
  for (let index = 0; index < count; index += 1) times.push(await once());
  return times;
}

export function summariseInvokes(times: readonly number[]): WarmInvoke {
  return {
    invokes: times.length,
    medianMs: Math.round(percentile(times, 50) * 100) / 100,
    p99Ms: Math.round(percentile(times, 99) * 100) / 100,
  };
}
