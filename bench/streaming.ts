/**
 * What a streamed invoke measures: time to the first chunk and to the end of an InvokeWithResponseStream, beside a
 * plain Invoke of the same function (which answers only at the end) and a plain Invoke of a function that does not
 * stream (the warm Invoke path's floor). The function (test/fixtures/runtime/streaming.cjs `paced`) writes a first
 * chunk, waits PACE_MS, then writes the rest. Everything runs in process on free ports: the Invoke API, the real
 * pool, runner and environments, and the AWS SDK as the client.
 *
 *   npx tsx bench/streaming.ts [runs]     (default 30 warm runs of each; one cold run first, not counted)
 */
import { InvokeCommand, InvokeWithResponseStreamCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { startInProcessLambda } from '../support/in-process-lambda';
import { BOOTSTRAP, fixtureSpec } from '../test/helpers/runtime-fixtures';

const PACE_MS = 200;
const RUNS = Number(process.argv[2] ?? 30);

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.ceil(sorted.length / 2) - 1] ?? Number.NaN;
};
const p99 = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.ceil(sorted.length * 0.99) - 1] ?? Number.NaN;
};

async function main(): Promise<void> {
  const tmpRoot = await mkdtemp(join(tmpdir(), 'lambda-notes-bench-streaming-'));
  const specs = [
    fixtureSpec('streaming.paced', { key: 'paced', name: 'bench-paced' }),
    fixtureSpec('handlers.echo', { key: 'echo', name: 'bench-echo' }),
  ];
  const lambda = await startInProcessLambda(specs, { tmpRoot, bootstrap: BOOTSTRAP });
  const client = new LambdaClient({
    region: 'ap-northeast-1',
    endpoint: `http://127.0.0.1:${lambda.port}`,
    credentials: { accessKeyId: 'offline', secretAccessKey: 'offline' },
    maxAttempts: 1,
  });
  const payload = Buffer.from(JSON.stringify({ ms: PACE_MS }));
  try {
    const streamed = async (): Promise<{ firstMs: number; endMs: number }> => {
      const started = performance.now();
      const answer = await client.send(
        new InvokeWithResponseStreamCommand({ FunctionName: 'bench-paced', Payload: payload }),
      );
      let firstMs = Number.NaN;
      for await (const event of answer.EventStream ?? []) {
        if (event.PayloadChunk && Number.isNaN(firstMs)) firstMs = performance.now() - started;
      }
      return { firstMs, endMs: performance.now() - started };
    };
    const plain = async (name: string): Promise<number> => {
      const started = performance.now();
      await client.send(new InvokeCommand({ FunctionName: name, Payload: payload }));
      return performance.now() - started;
    };
    const cold = await streamed();
    await plain('bench-echo');
    const first: number[] = [];
    const end: number[] = [];
    const buffered: number[] = [];
    const floor: number[] = [];
    for (let run = 0; run < RUNS; run += 1) {
      const { firstMs, endMs } = await streamed();
      first.push(firstMs);
      end.push(endMs);
      buffered.push(await plain('bench-paced'));
      floor.push(await plain('bench-echo'));
    }
    const row = (label: string, values: number[]): string =>
      `${label.padEnd(58)} median ${median(values).toFixed(1).padStart(7)} ms   p99 ${p99(values).toFixed(1).padStart(7)} ms`;
    console.log(`streamed invoke, handler pacing its chunks ${PACE_MS} ms apart; ${RUNS} warm runs each`);
    console.log(`cold: first chunk ${cold.firstMs.toFixed(1)} ms, end ${cold.endMs.toFixed(1)} ms`);
    console.log(row('InvokeWithResponseStream: first chunk at the client', first));
    console.log(row('InvokeWithResponseStream: InvokeComplete at the client', end));
    console.log(row('Invoke of the same function (buffered): answer', buffered));
    console.log(row('Invoke of a function that does not stream (floor)', floor));
    console.log(
      `first chunk − floor: ${(median(first) - median(floor)).toFixed(1)} ms; end − first chunk: ${(median(end) - median(first)).toFixed(1)} ms (the handler waits ${PACE_MS} ms)`,
    );
  } finally {
    client.destroy();
    await lambda.stop();
    await rm(tmpRoot, { recursive: true, force: true });
  }
}

void main();
