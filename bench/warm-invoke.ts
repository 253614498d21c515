/**
 * The bench's warm-invoke section alone, for a change that may cost on the invoke path: the offline stack's warm
 * Invoke of hello, measured as `npm run bench` measures it, and optionally beside another checkout's stack in
 * alternating blocks (both see the same machine).
 *
 *   npm run bench:warm                                      this checkout only
 *   npm run bench:warm -- --baseline ../other-checkout      both, alternating blocks
 *   npm run bench:warm -- --invokes 800 --blocks 8
 */
import { parseArgs } from 'node:util';
import { summariseInvokes, warmInvokeTimes, type WarmInvoke } from './memory';
import { Cleanup } from './processes';
import { startBenchStack } from './stack';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      baseline: { type: 'string' },
      invokes: { type: 'string', default: '400' },
      blocks: { type: 'string', default: '4' },
    },
  });
  const invokes = Number(values.invokes);
  const blocks = Number(values.blocks);
  if (!Number.isInteger(invokes / blocks) || invokes <= 0)
    throw new Error('--invokes must be a multiple of --blocks');
  const cleanup = new Cleanup();
  process.once('SIGINT', () => void cleanup.runAll().finally(() => process.exit(130)));
  try {
    const stack = await startBenchStack(cleanup);
    const baseline =
      values.baseline === undefined
        ? undefined
        : await startBenchStack(cleanup, { projectDir: values.baseline });
    const times: number[] = [];
    const before: number[] = [];
    // Which side goes first alternates too: the stack measured second in a block ran faster here, whichever it was.
    for (let block = 0; block < blocks; block += 1) {
      const sides = [
        async () => times.push(...(await warmInvokeTimes(stack, invokes / blocks, block === 0))),
        async () => {
          if (baseline) before.push(...(await warmInvokeTimes(baseline, invokes / blocks, block === 0)));
        },
      ];
      if (block % 2 === 1) sides.reverse();
      for (const side of sides) await side();
    }
    const show = (what: string, figures: WarmInvoke): string =>
      `${what}: median ${figures.medianMs} ms, p99 ${figures.p99Ms} ms (n=${figures.invokes})`;
    const now = summariseInvokes(times);
    process.stdout.write(`${show('this checkout', now)}\n`);
    if (baseline) {
      const then = summariseInvokes(before);
      process.stdout.write(`${show('baseline', then)}\n`);
      process.stdout.write(`ratio (median): ${(now.medianMs / then.medianMs).toFixed(2)}×\n`);
    }
  } finally {
    await cleanup.runAll();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
