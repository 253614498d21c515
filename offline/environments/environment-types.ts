/** The types an execution environment is described by: what it runs, what it shows, how a run ends. */
import type { ProcessMemory } from './process-memory';
import type { FunctionErrorPayload } from '../model/outcomes';
import type { ExecutionEnvironment } from './environment';
import type { LoggingConfig } from './logging-config';
import type { StreamedResponse } from './streamed-response';

/** What an environment runs: one function as serverless.yml defines it, offline. */
export interface FunctionSpec {
  readonly key: string;
  /** The deployed name (lambda-notes-dev-hello). */
  readonly name: string;
  readonly arn: string;
  /** `handlers/hello.handler`, relative to taskRoot. */
  readonly handler: string;
  /** The folder holding the bundles (serverless-esbuild's build folder). */
  readonly taskRoot: string;
  /** nodejs24.x */
  readonly runtime: string;
  readonly memorySizeMb: number;
  readonly timeoutSeconds: number;
  readonly region: string;
  /** The function's variables: provider's, function's, and the local endpoints. */
  readonly variables: Readonly<Record<string, string>>;
  /** serverless.yml's logs settings (Lambda's LoggingConfig); Text format when absent. */
  readonly logging?: LoggingConfig;
  /** LAMBDA_DEBUG: the inspector's port of the function's runtime (debugging.ts). */
  readonly debugPort?: number;
  /** serverless.yml's timeout of a debugged function, whose `timeoutSeconds` is lifted while it is debugged. */
  readonly timeoutSecondsConfigured?: number;
}

export type EnvironmentState = 'initializing' | 'idle' | 'busy' | 'ended';

export interface EnvironmentView {
  readonly id: string;
  readonly functionKey: string;
  readonly logStream: string;
  /** The runtime process, while there is one (none after a reset, until the next run). */
  readonly pid: number | undefined;
  readonly state: EnvironmentState;
  readonly startedAt: number;
  readonly runs: number;
  /** Runtimes ended by a failed run (timeout, exit, memory) and started again for the next. */
  readonly resets: number;
  readonly lastRunAt: number | undefined;
  readonly initDurationMs: number | undefined;
  readonly memorySizeMb: number;
  /** Resident set of every process of the environment (the runtime and what it started), at the last sample. */
  readonly rssMb: number | undefined;
  /** Processes of the environment at the last sample. */
  readonly processes: number | undefined;
  /** Stopped between runs, as Lambda freezes an environment that waits for its next event. */
  readonly frozen: boolean;
  readonly maxMemoryUsedMb: number | undefined;
  readonly endedAt: number | undefined;
  readonly endReason: string | undefined;
  /** The inspector's port on 127.0.0.1 when the function is debugged (LAMBDA_DEBUG). */
  readonly debugPort: number | undefined;
}

/** Where a run's output goes while it runs (the invocation's log). */
export interface OutputSink {
  append(text: string): void;
}

export interface RunRequest {
  readonly requestId: string;
  readonly event: string;
  readonly invokedFunctionArn: string;
  readonly clientContext?: string;
  readonly traceId: string;
  /**
   * The caller reads a streamed response as it arrives (InvokeWithResponseStream); without it, a streamed response
   * is buffered under the buffered limit and answered as one body, as Lambda answers a plain Invoke.
   */
  readonly onStream?: (response: StreamedResponse) => void;
}

/** How a run ended, and the REPORT figures Lambda gives for it. */
export interface RunResult {
  readonly outcome:
    | {
        readonly ok: true;
        readonly body: string;
        /** The body came as a stream (read by the caller, or buffered here): not JSON, of this type. */
        readonly streamed?: { readonly contentType: string };
      }
    | { readonly ok: false; readonly error: FunctionErrorPayload };
  /** REPORT's Status and Error Type, for runs that did not end in an answer of the runtime. */
  readonly status?: 'timeout' | 'error';
  readonly reportErrorType?: string;
  readonly durationMs: number;
  readonly initDurationMs?: number;
  readonly maxMemoryUsedMb: number;
}

export interface EnvironmentOptions {
  readonly id: string;
  readonly logStream: string;
  readonly tmpDir: string;
  readonly bootstrap: string;
  /** Variables of the host that the runtime needs (PATH). */
  readonly hostVariables: Readonly<Record<string, string>>;
  readonly memory: ProcessMemory;
  /** Lambda's limit on an Init phase (10 s); tests shorten it. */
  readonly initLimitMs?: number;
  /** Stop the environment's processes between runs (default true); an environment under a debugger is not. */
  readonly freeze?: boolean;
  /** Processes and threads past which the environment is ended (default: Lambda's quota, 1,024). */
  readonly processLimit?: number;
  /** LAMBDA_OFFLINE_SANDBOX's value: what finds this environment's processes if its stack dies (process-tree.ts). */
  readonly sandboxMark?: string;
  /** Every chunk the process writes, for the offline terminal; `sink` is the run's log when one is under way. */
  output(text: string, stream: 'stdout' | 'stderr', sink: OutputSink | undefined): void;
  /** Called once, when the environment is over (for whatever reason). */
  ended(environment: ExecutionEnvironment): void;
  now(): number;
}
