/**
 * The runtime process of an environment: which program runs it, with which flags and variables. Lambda's
 * Node.js runtime sets the heap flags from the memory size and the variables listed in "Defined runtime
 * environment variables" of the Lambda developer guide.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { debugProcess } from './debugging';
import type { EnvironmentOptions, FunctionSpec } from './environment-types';
import { loggingVariables } from './logging-config';
import { runtimeNode } from './runtime-node';
import { inOwnGroup, SANDBOX_VARIABLE } from './process-tree';

/** The heap flags of Lambda's Node.js runtime bootstrap for a memory size (new space a tenth, split in two). */
export function heapFlags(memorySizeMb: number): string[] {
  const newSpace = Math.floor(memorySizeMb / 10);
  return [
    `--max-semi-space-size=${Math.floor(newSpace / 2)}`,
    `--max-old-space-size=${memorySizeMb - newSpace}`,
  ];
}

/** Starts the runtime of `spec`, talking to the Runtime API on 127.0.0.1:`apiPort`. */
export function spawnRuntime(spec: FunctionSpec, options: EnvironmentOptions, apiPort: number): ChildProcess {
  // The leader of a process group of its own: what the function starts is counted, frozen and ended with it.
  // LAMBDA_DEBUG: the inspector and the debugger's inherited hooks, for a debugged function only.
  const debug = debugProcess(spec, process.env);
  const group = inOwnGroup(runtimeNode(spec.runtime).path, [
    ...heapFlags(spec.memorySizeMb),
    ...debug.flags,
    options.bootstrap,
  ]);
  return spawn(group.command, group.args, {
    cwd: spec.taskRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: group.detached,
    env: {
      ...group.variables,
      ...options.hostVariables,
      ...spec.variables,
      ...debug.variables,
      _HANDLER: spec.handler,
      AWS_REGION: spec.region,
      AWS_DEFAULT_REGION: spec.region,
      AWS_EXECUTION_ENV: `AWS_Lambda_${spec.runtime}`,
      AWS_LAMBDA_FUNCTION_NAME: spec.name,
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(spec.memorySizeMb),
      AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
      AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
      AWS_LAMBDA_LOG_STREAM_NAME: options.logStream,
      AWS_LAMBDA_RUNTIME_API: `127.0.0.1:${apiPort}`,
      LAMBDA_TASK_ROOT: spec.taskRoot,
      LAMBDA_RUNTIME_DIR: join(options.bootstrap, '..'),
      LANG: 'en_US.UTF-8',
      TZ: ':UTC',
      TMPDIR: options.tmpDir,
      IS_OFFLINE: 'true',
      ...loggingVariables(spec.logging, spec.name),
      ...(options.sandboxMark === undefined ? {} : { [SANDBOX_VARIABLE]: options.sandboxMark }),
    },
  });
}
