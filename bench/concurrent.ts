/**
 * concurrent: a load test as a new user writes one — 1,000 RequestResponse invokes of hello at once over the
 * Invoke API, then 1,000 GET /hello at once over the HTTP API, each call on a connection of its own. AWS answers
 * them in about a second (1,000 is its default account concurrency); offline they must all be answered 200, the
 * last within 10 s, with the stack's whole process tree (npm, serverless, environments, esbuild) under 1 GB at
 * its peak, sampled every 100 ms. Calls past the machine bound wait for an environment; none may be lost.
 */
import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';
import { treeMemory } from './memory';
import type { BenchStack } from './stack';
import { round } from './stats';

export const CONCURRENT_GOAL = { withinS: 10, peakRssMbMax: 1024 } as const;

export interface ConcurrentBurst {
  readonly calls: number;
  /** Answers by HTTP status (`200`), a function error (`200 FunctionError`), or the socket's error code. */
  readonly answers: Record<string, number>;
  /** Answered 200 with the function's result. */
  readonly ok: number;
  /** Calls that got no HTTP answer at all. */
  readonly lost: number;
  /** From the first call sent to the last answer. */
  readonly lastAnswerS: number;
  /** The stack's whole process tree, summed RSS, at its highest during the burst. */
  readonly peakRssMb: number;
  /** Environments the stack started for the burst (its `cold start` lines). */
  readonly environmentsStarted: number;
  readonly met: boolean;
}

export interface ConcurrentResult {
  readonly invoke: ConcurrentBurst;
  readonly http: ConcurrentBurst;
  readonly goal: typeof CONCURRENT_GOAL;
}

type Call = (agent: Agent) => Promise<string>;

function call(
  port: number,
  method: 'GET' | 'POST',
  path: string,
  body: string | undefined,
  agent: Agent,
): Promise<string> {
  return new Promise((resolve) => {
    const sent = request({ host: '127.0.0.1', port, method, path, agent }, (response) => {
      response.resume();
      response.on('end', () => {
        const functionError = response.headers['x-amz-function-error'] !== undefined;
        resolve(`${response.statusCode ?? 0}${functionError ? ' FunctionError' : ''}`);
      });
      response.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'response error'));
    });
    sent.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    sent.end(body);
  });
}

async function burst(stack: BenchStack, calls: number, one: Call): Promise<ConcurrentBurst> {
  const root = stack.stack.child.pid;
  if (root === undefined) throw new Error('the offline stack has no pid');
  const agent = new Agent({ keepAlive: false, maxSockets: Infinity });
  const outputBefore = stack.stack.output.length;
  let peakRssMb = treeMemory(root).rssMb;
  const sampler = setInterval(() => {
    peakRssMb = Math.max(peakRssMb, treeMemory(root).rssMb);
  }, 100);
  const started = performance.now();
  let last = started;
  try {
    const results = await Promise.all(
      Array.from({ length: calls }, async () => {
        const answer = await one(agent);
        last = Math.max(last, performance.now());
        return answer;
      }),
    );
    peakRssMb = Math.max(peakRssMb, treeMemory(root).rssMb);
    const answers: Record<string, number> = {};
    for (const answer of results) answers[answer] = (answers[answer] ?? 0) + 1;
    const ok = answers['200'] ?? 0;
    const lost = results.filter((answer) => !/^\d{3}/.test(answer)).length;
    const lastAnswerS = round((last - started) / 1000);
    const environmentsStarted = stack.stack.output
      .slice(outputBefore)
      .split('\n')
      .filter((line) => line.includes('(cold start')).length;
    return {
      calls,
      answers,
      ok,
      lost,
      lastAnswerS,
      peakRssMb: round(peakRssMb, 1),
      environmentsStarted,
      met:
        ok === calls && lastAnswerS <= CONCURRENT_GOAL.withinS && peakRssMb <= CONCURRENT_GOAL.peakRssMbMax,
    };
  } finally {
    clearInterval(sampler);
    agent.destroy();
  }
}

export async function measureConcurrent(
  stack: BenchStack,
  calls: number,
  progress: (message: string) => void,
): Promise<ConcurrentResult> {
  const { ports } = stack.stack;
  const invoke = await burst(stack, calls, (agent) =>
    call(
      ports.lambda,
      'POST',
      '/2015-03-31/functions/lambda-notes-dev-hello/invocations',
      '{"key1":"load"}',
      agent,
    ),
  );
  progress(
    `concurrent: ${calls} invokes: ${invoke.ok} answered 200, the last after ${invoke.lastAnswerS} s, peak RSS ${invoke.peakRssMb} MB, ${invoke.environmentsStarted} environments started`,
  );
  const http = await burst(stack, calls, (agent) =>
    call(ports.http, 'GET', '/hello?key1=load', undefined, agent),
  );
  progress(
    `concurrent: ${calls} HTTP requests: ${http.ok} answered 200, the last after ${http.lastAnswerS} s, peak RSS ${http.peakRssMb} MB`,
  );
  return { invoke, http, goal: CONCURRENT_GOAL };
}
