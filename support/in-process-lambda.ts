/**
 * Lambda's Invoke API over real execution environments, in this process: an EnvironmentPool, a FunctionRunner and
 * an InvokeApi wired as the stack's composition root (offline/plugin/emulation.ts) wires them for a sync Invoke,
 * without serverless, the local S3 or the async queue. For the tests and benches of the run path; `stop()` ends
 * every environment and the server.
 */
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { InvokeApi, startInvokeApiServer } from '../offline/api/invoke-api';
import { Concurrency } from '../offline/environments/concurrency';
import type { FunctionSpec } from '../offline/environments/environment-types';
import { FunctionRunner, syncOutcome } from '../offline/environments/function-runner';
import { EnvironmentPool } from '../offline/environments/pool';
import { processMemory } from '../offline/environments/process-memory';
import { InvocationLogs } from '../offline/observability/invocation-logs';
import { MetricsRecorder } from '../offline/observability/metrics-recorder';

export interface InProcessLambdaOptions {
  /** The environments' TMPDIRs go in folders of this one. */
  readonly tmpRoot: string;
  /** The runtime the environments run (offline/runtime/bootstrap.cjs). */
  readonly bootstrap: string;
  /** Lambda's own lines (START, END, REPORT), as the runner writes them for the terminal. */
  write?(text: string): void;
  /** A sync invoke has its outcome; the Invoke API answers next. */
  invoked?(requestId: string): void;
}

export interface InProcessLambda {
  readonly pool: EnvironmentPool;
  readonly api: InvokeApi;
  readonly server: Server;
  readonly port: number;
  stop(): Promise<void>;
}

export async function startInProcessLambda(
  specs: readonly FunctionSpec[],
  options: InProcessLambdaOptions,
): Promise<InProcessLambda> {
  const pool = new EnvironmentPool({
    functions: new Map(specs.map((spec) => [spec.key, spec])),
    idleMs: 600_000,
    tmpRoot: options.tmpRoot,
    bootstrap: options.bootstrap,
    hostVariables: { PATH: process.env.PATH ?? '' },
    memory: await processMemory(),
    write: () => undefined,
    log: () => undefined,
    newId: randomUUID,
    now: Date.now,
  });
  const runner = new FunctionRunner({
    pool,
    concurrency: new Concurrency(new Map()),
    logs: new InvocationLogs(),
    metrics: new MetricsRecorder(specs.map((spec) => spec.key)),
    write: (text) => options.write?.(text),
    now: Date.now,
  });
  const api = new InvokeApi({
    region: 'ap-northeast-1',
    accountId: '000000000000',
    functions: new Map(specs.map((spec) => [spec.name, spec.key])),
    newRequestId: randomUUID,
    invoke: async (functionKey, event, invoke) => {
      const outcome = syncOutcome(
        await runner.run(functionKey, event, {
          requestId: invoke.requestId,
          clientContext: invoke.clientContext,
          ...(invoke.onStream ? { onStream: invoke.onStream } : {}),
        }),
      );
      options.invoked?.(invoke.requestId);
      return outcome;
    },
    enqueue: () => Promise.reject(new Error('no async queue in process')),
    log: () => undefined,
  });
  const server = await startInvokeApiServer(api, { host: '127.0.0.1', port: 0 }, () => undefined);
  return {
    pool,
    api,
    server,
    port: (server.address() as AddressInfo).port,
    stop: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await pool.stop();
    },
  };
}
