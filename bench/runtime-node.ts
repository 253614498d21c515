/**
 * runtimeNode: what the function's own Node costs at a cold start. For the host's Node (a runtime with no binary
 * of its own) and each runtime with one (nodejs22.x, nodejs24.x): a bare `<node> -e 0`, then a new execution
 * environment running hello (bundled with esbuild as serverless-esbuild bundles it) for one event — its Init
 * Duration and the time from start to answer — interleaved, medians over the rounds.
 *
 *   npx tsx bench/runtime-node.ts [--runs 15] [--before <another checkout's offline/runtime/bootstrap.cjs>]
 *
 * `--before` adds a row: that runtime on the host's Node (what every function ran on before runtimes had a Node
 * of their own).
 */
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSync } from 'esbuild';
import { ExecutionEnvironment, logStreamName } from '../offline/environments/environment';
import { processMemory } from '../offline/environments/process-memory';
import { runtimeNode } from '../offline/environments/runtime-node';
import { PROJECT_DIR } from '../support/offline-stack';
import { median, round } from './stats';

const runsFlag = process.argv.indexOf('--runs');
const RUNS = runsFlag > 0 ? Number(process.argv[runsFlag + 1]) : 15;
const beforeFlag = process.argv.indexOf('--before');
const HOST_RUNTIME = `nodejs${process.versions.node.split('.')[0]}.x`;
const BOOTSTRAP = join(PROJECT_DIR, 'offline', 'runtime', 'bootstrap.cjs');

interface Row {
  readonly label: string;
  readonly runtime: string;
  readonly bootstrap: string;
}

const ROWS: Row[] = [
  ...(beforeFlag > 0
    ? [{ label: 'before', runtime: HOST_RUNTIME, bootstrap: String(process.argv[beforeFlag + 1]) }]
    : []),
  ...[HOST_RUNTIME, 'nodejs22.x', 'nodejs24.x'].map((runtime) => ({
    label: runtime,
    runtime,
    bootstrap: BOOTSTRAP,
  })),
];

async function main(): Promise<void> {
  const workDir = await mkdtemp(join(tmpdir(), 'lambda-notes-runtime-node-'));
  try {
    buildSync({
      entryPoints: [join(PROJECT_DIR, 'handlers', 'hello.ts')],
      outfile: join(workDir, 'task', 'handlers', 'hello.js'),
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'cjs',
      minify: true,
      logLevel: 'error',
    });
    const event = await readFile(join(PROJECT_DIR, 'events', 'hello.json'), 'utf8');
    const memory = await processMemory();
    const samples = new Map(
      ROWS.map((row) => [row, { bare: [] as number[], init: [] as number[], first: [] as number[] }]),
    );
    for (let round = 0; round <= RUNS; round += 1) {
      for (const row of ROWS) {
        const { runtime } = row;
        const node = runtimeNode(runtime).path;
        const bareStart = performance.now();
        spawnSync(node, ['-e', '0']);
        const bareMs = performance.now() - bareStart;
        const id = randomUUID().replaceAll('-', '');
        const started = performance.now();
        const environment = await ExecutionEnvironment.start(
          {
            key: 'hello',
            name: 'lambda-notes-bench-hello',
            arn: 'arn:aws:lambda:ap-northeast-1:000000000000:function:lambda-notes-bench-hello',
            handler: 'handlers/hello.handler',
            taskRoot: join(workDir, 'task'),
            runtime,
            memorySizeMb: 128,
            timeoutSeconds: 30,
            region: 'ap-northeast-1',
            variables: {},
          },
          {
            id,
            logStream: logStreamName(new Date(), id),
            tmpDir: join(workDir, id),
            bootstrap: row.bootstrap,
            hostVariables: { PATH: process.env.PATH ?? '' },
            memory,
            output: () => undefined,
            ended: () => undefined,
            now: Date.now,
          },
        );
        try {
          const result = await environment.run(
            {
              requestId: randomUUID(),
              event,
              invokedFunctionArn: environment.spec.arn,
              traceId: 'Root=1-0-0',
            },
            { append: () => undefined },
          );
          if (!result.outcome.ok) throw new Error(`${runtime}: ${JSON.stringify(result.outcome.error)}`);
          // The first round warms the file system cache for each binary: not counted.
          if (round === 0) continue;
          const entry = samples.get(row);
          entry?.bare.push(bareMs);
          entry?.init.push(result.initDurationMs ?? Number.NaN);
          entry?.first.push(performance.now() - started);
        } finally {
          await environment.end('bench over');
        }
      }
    }
    console.log(`runtimeNode (hello, n=${RUNS}, medians in ms)`);
    console.log('row         node       bare -e 0  Init Duration  start→answer');
    for (const [row, entry] of samples) {
      const version = spawnSync(runtimeNode(row.runtime).path, ['--version']).stdout.toString().trim();
      console.log(
        [
          row.label.padEnd(11),
          version.padEnd(10),
          String(round(median(entry.bare))).padStart(9),
          String(round(median(entry.init))).padStart(14),
          String(round(median(entry.first))).padStart(13),
        ].join(' '),
      );
    }
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

void main();
