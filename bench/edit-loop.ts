/**
 * editLoop: what a developer waits for after a save, on a running stack (`sls offline start` on a copy of the
 * project, free ports, stopped afterwards; the tracked sources are never edited). Save → the first run of the new
 * code, for each function (a `console.log` marker added at module scope, then invoked until a run prints it; a
 * save not run within 5 s counts as lost — never built — and is saved again);
 * save a syntax error → esbuild's error in the terminal, and → the first run that answers with it; three saves
 * within 100 ms → how many reloads ("code changed") they caused. `projectDir` may be an earlier checkout, to
 * measure the same loop before a change.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { InvokeCommand } from '@aws-sdk/client-lambda';
import { OfflineStack, PROJECT_DIR } from '../support/offline-stack';
import { copyProject } from '../support/project-copy';
import { waitFor } from '../support/wait';
import { distribution, percentile } from './stats';

export interface EditLoopResult {
  /** Save → first run of the new code, per function: median and p95, ms, and the saves never built (lost). */
  readonly newCode: Record<string, { median: number; p95: number; n: number; lost: number }>;
  /** Save of a syntax error → esbuild's error printed by the stack. */
  readonly buildErrorPrintedMs: number;
  /** Save of a syntax error → the first run answering with it (null: runs went on with the earlier build). */
  readonly buildErrorAnsweredMs: number | null;
  /** Reloads ("code changed") caused by three saves within 100 ms. */
  readonly reloadsForThreeSaves: number;
}

const HANDLERS: Record<string, string> = { hello: 'handlers/hello.ts', s3Upload: 'handlers/s3-upload.ts' };
const RELOAD = /\[async\] code changed/g;

const count = (text: string, pattern: RegExp): number => (text.match(pattern) ?? []).length;

export async function measureEditLoop(
  edits: number,
  progress: (message: string) => void,
  projectDir: string = PROJECT_DIR,
): Promise<EditLoopResult> {
  const project = await copyProject(projectDir);
  let stack: OfflineStack | undefined;
  try {
    stack = await OfflineStack.start({ projectDir: project.dir, params: { scheduleEnabled: 'false' } });
    const running = stack;
    const client = running.lambdaClient();
    const invoke = async (functionKey: string): Promise<string> => {
      const output = await client.send(
        new InvokeCommand({
          FunctionName: `lambda-notes-dev-${functionKey}`,
          // hello answers its test event; s3Upload refuses anything but S3's, after its module has loaded.
          Payload: Buffer.from(functionKey === 'hello' ? '{"key1":"1","key2":"2","key3":"3"}' : '{}'),
        }),
      );
      return output.FunctionError === undefined
        ? ''
        : String(
            (JSON.parse(Buffer.from(output.Payload ?? []).toString()) as { errorMessage?: unknown })
              .errorMessage,
          );
    };
    /** Invokes until `done` holds, returning ms since `since`. */
    const invokeUntil = async (
      what: string,
      functionKey: string,
      since: number,
      done: (error: string) => boolean,
      timeoutMs = 30_000,
    ): Promise<number> =>
      waitFor(
        `${functionKey} to ${what}`,
        async () => (done(await invoke(functionKey)) ? performance.now() - since : false),
        { timeoutMs, intervalMs: 5 },
      );

    const newCode: EditLoopResult['newCode'] = {};
    const lost: Record<string, number> = {};
    for (const [functionKey, file] of Object.entries(HANDLERS)) {
      const path = join(project.dir, file);
      const original = await readFile(path, 'utf8');
      const samples: number[] = [];
      await invoke(functionKey);
      for (let edit = 1; edit <= edits; edit += 1) {
        const marker = `bench-edit-${functionKey}-${edit}`;
        const saved = performance.now();
        const edited = `${original}\nconsole.log('${marker}');\n`;
        await writeFile(path, edited);
        const ms = await invokeUntil(
          `run edit ${edit}`,
          functionKey,
          saved,
          () => running.output.includes(marker),
          5_000,
        ).catch(() => null);
        if (ms !== null) {
          samples.push(ms);
          continue;
        }
        // Never built: the stack runs the code before this save until another save comes.
        lost[functionKey] = (lost[functionKey] ?? 0) + 1;
        for (let again = 1; ; again += 1) {
          await writeFile(path, `${edited}${' '.repeat(again)}`);
          const built = await invokeUntil(
            `run edit ${edit} saved again`,
            functionKey,
            performance.now(),
            () => running.output.includes(marker),
            5_000,
          ).catch((error: unknown) => {
            if (again === 3) throw error;
            return null;
          });
          if (built !== null) break;
        }
      }
      await writeFile(path, original);
      const dist = distribution(samples);
      newCode[functionKey] = {
        median: dist.median,
        p95: percentile(samples, 95),
        n: samples.length,
        lost: lost[functionKey] ?? 0,
      };
      progress(`editLoop: ${functionKey} save → new code median ${Math.round(dist.median)} ms`);
    }

    const helloPath = join(project.dir, HANDLERS.hello ?? '');
    const hello = await readFile(helloPath, 'utf8');
    await invokeUntil('answer again', 'hello', performance.now(), (error) => error === '');
    const printedBefore = count(running.output, /\[ERROR\]/g);
    const brokenAt = performance.now();
    await writeFile(helloPath, `${hello}\nconst broken = ;\n`);
    await waitFor('esbuild to print the error', () => count(running.output, /\[ERROR\]/g) > printedBefore, {
      timeoutMs: 30_000,
      intervalMs: 5,
    });
    const printedMs = performance.now() - brokenAt;
    // A stack that answers with the earlier build instead gets 5 s to answer with the error.
    const answeredMs = await invokeUntil(
      'answer with the build error',
      'hello',
      brokenAt,
      (error) => error.includes('Unexpected'),
      5_000,
    ).catch(() => null);
    progress(`editLoop: build error printed after ${Math.round(printedMs)} ms`);

    const fixedAt = performance.now();
    await writeFile(helloPath, `${hello}\nconsole.log('bench-fixed');\n`);
    await invokeUntil('run the fixed build', 'hello', fixedAt, () => running.output.includes('bench-fixed'));
    const reloadsBefore = count(running.output, RELOAD);
    // Saves 0, 40 and 80 ms apart, as an editor's format-on-save and a quick second save make them.
    const burstAt = performance.now();
    for (const [index, offsetMs] of [0, 40, 80].entries()) {
      await new Promise((resolve) =>
        setTimeout(resolve, Math.max(0, burstAt + offsetMs - performance.now())),
      );
      await writeFile(helloPath, `${hello}\nconsole.log('bench-burst-${index}');\n`);
    }
    await invokeUntil('run the last of three saves', 'hello', burstAt, () =>
      running.output.includes('bench-burst-2'),
    );
    // Reloads still coming are counted: until none arrives for a second.
    let seen = count(running.output, RELOAD);
    let quietSince = performance.now();
    await waitFor(
      'a second without a reload',
      () => {
        const now = count(running.output, RELOAD);
        if (now !== seen) {
          seen = now;
          quietSince = performance.now();
        }
        return performance.now() - quietSince >= 1_000;
      },
      { timeoutMs: 30_000, intervalMs: 20 },
    );
    return {
      newCode,
      buildErrorPrintedMs: printedMs,
      buildErrorAnsweredMs: answeredMs,
      reloadsForThreeSaves: seen - reloadsBefore,
    };
  } catch (error) {
    throw new Error(`${String(error)}\n${stack?.tail(80) ?? ''}`, { cause: error });
  } finally {
    await stack?.stop();
    await project.remove();
  }
}

/** Issue 23's goals for the loop: the new code runs within 0.3 s (median, on 2 cores); three quick saves, one reload. */
export const EDIT_LOOP_GOAL = { newCodeMedianMsMax: 300, reloadsForThreeSaves: 1 } as const;

const ms = (value: number): string => `${value.toFixed(value < 100 ? 1 : 0)} ms`;

/** The loop's rows in the bench's table (bench/run.ts). */
export function editLoopRows(result: EditLoopResult): {
  figure: string;
  value: string;
  floor: string;
  ratio: string;
  goal: string;
  met: boolean | null;
}[] {
  return [
    ...Object.entries(result.newCode).map(([functionKey, figures]) => ({
      figure: `devLoop: save → new code runs, ${functionKey} (n=${figures.n}, lost ${figures.lost})`,
      value: `${ms(figures.median)} / p95 ${ms(figures.p95)}`,
      floor: '',
      ratio: '',
      goal: `median ≤ ${ms(EDIT_LOOP_GOAL.newCodeMedianMsMax)}, none lost`,
      met: figures.median <= EDIT_LOOP_GOAL.newCodeMedianMsMax && figures.lost === 0,
    })),
    {
      figure: 'devLoop: save a syntax error → printed / a run answers with it',
      value: `${ms(result.buildErrorPrintedMs)} / ${result.buildErrorAnsweredMs === null ? 'never' : ms(result.buildErrorAnsweredMs)}`,
      floor: '',
      ratio: '',
      goal: 'a run answers with it',
      met: result.buildErrorAnsweredMs !== null,
    },
    {
      figure: 'devLoop: three saves within 100 ms → reloads',
      value: String(result.reloadsForThreeSaves),
      floor: '',
      ratio: '',
      goal: String(EDIT_LOOP_GOAL.reloadsForThreeSaves),
      met: result.reloadsForThreeSaves === EDIT_LOOP_GOAL.reloadsForThreeSaves,
    },
  ];
}

// npx tsx bench/edit-loop.ts [checkout] [edits]: this loop alone, as JSON.
if (require.main === module) {
  const [projectDir = PROJECT_DIR, edits = '10'] = process.argv.slice(2);
  measureEditLoop(Number(edits), (line) => process.stderr.write(`${line}\n`), projectDir).then(
    (result) => process.stdout.write(`${JSON.stringify(result, null, 2)}\n`),
    (error: unknown) => {
      process.stderr.write(`${String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
