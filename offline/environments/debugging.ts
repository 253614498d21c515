/**
 * Debugging a function offline (LAMBDA_DEBUG): which functions, their inspector ports, and what a debugged
 * function's runtime process gets. The design is LocalStack's Lambda debug mode (LAMBDA_DEBUG_MODE): one
 * environment per debugged function, kept for the debugger, runs of it one at a time, and its timeout lifted to
 * an hour, so that a run paused at a breakpoint is neither killed nor retried while the developer looks. AWS SAM
 * CLI does the same (`sam local invoke -d`: the timeout is not enforced while debugging).
 */
import { createServer } from 'node:net';
import type { FunctionSpec } from './environment-types';

/** LocalStack's debug mode lifts a debugged function's timeout to 3,600 s: a paused run waits that long. */
export const DEBUG_TIMEOUT_SECONDS = 3600;

/** The inspector's first port: Node's own default, the one VS Code and chrome://inspect look at first. */
export const DEFAULT_DEBUG_PORT = 9229;

/** LAMBDA_DEBUG (which functions) and LAMBDA_DEBUG_PORT (the first function's port), as read. */
export interface DebugSettings {
  readonly functions: 'all' | readonly string[];
  readonly firstPort: number;
}

/** The variables of the offline process that a debugger's child processes need (VS Code's auto attach). */
const DEBUGGER_VARIABLES = ['VSCODE_INSPECTOR_OPTIONS'] as const;

/**
 * The inspector port of each debugged function, in serverless.yml's order for `all`, else in LAMBDA_DEBUG's:
 * the first gets `firstPort`, the next `firstPort + 1` … Names no function of the service: an Error that lists them.
 */
export function debugPorts(settings: DebugSettings, functionKeys: readonly string[]): Map<string, number> {
  const named = settings.functions === 'all' ? functionKeys : settings.functions;
  const unknown = named.filter((key) => !functionKeys.includes(key));
  if (unknown.length > 0) {
    throw new Error(
      `LAMBDA_DEBUG names no function ${unknown.map((key) => `"${key}"`).join(', ')} of serverless.yml; its functions are ${functionKeys.join(', ')} (or LAMBDA_DEBUG=all).`,
    );
  }
  const lastPort = settings.firstPort + named.length - 1;
  if (lastPort > 65_535) {
    throw new Error(`LAMBDA_DEBUG_PORT ${settings.firstPort} leaves no port for ${named.length} functions.`);
  }
  return new Map(named.map((key, index) => [key, settings.firstPort + index]));
}

/** The functions as their environments run them: a debugged one with its inspector port and its timeout lifted. */
export function debuggedSpecs(
  specs: ReadonlyMap<string, FunctionSpec>,
  settings: DebugSettings | undefined,
): Map<string, FunctionSpec> {
  const ports = settings === undefined ? new Map<string, number>() : debugPorts(settings, [...specs.keys()]);
  return new Map(
    [...specs].map(([key, spec]) => {
      const port = ports.get(key);
      return [
        key,
        port === undefined
          ? spec
          : {
              ...spec,
              debugPort: port,
              timeoutSeconds: DEBUG_TIMEOUT_SECONDS,
              timeoutSecondsConfigured: spec.timeoutSeconds,
            },
      ];
    }),
  );
}

/**
 * The flags and variables a debugged function's runtime gets beyond an ordinary one: the inspector on 127.0.0.1
 * (no other machine reaches it), and the debugger's own hooks inherited from the offline process — VS Code's
 * JavaScript Debug Terminal attaches to children through a `--require` in NODE_OPTIONS and
 * VSCODE_INSPECTOR_OPTIONS — with the function's own NODE_OPTIONS (the dev stage's --enable-source-maps) added
 * after the inherited ones, not in their place. Nothing for a function that is not debugged.
 */
export function debugProcess(
  spec: FunctionSpec,
  inherited: NodeJS.ProcessEnv,
): { flags: string[]; variables: Record<string, string> } {
  const port = spec.debugPort;
  if (port === undefined) return { flags: [], variables: {} };
  const variables: Record<string, string> = {};
  const nodeOptions = [inherited.NODE_OPTIONS, spec.variables.NODE_OPTIONS]
    .filter((value): value is string => value !== undefined && value.trim() !== '')
    .join(' ');
  if (nodeOptions !== '') variables.NODE_OPTIONS = nodeOptions;
  for (const name of DEBUGGER_VARIABLES) {
    const value = inherited[name];
    if (value !== undefined) variables[name] = value;
  }
  return { flags: [`--inspect=127.0.0.1:${port}`], variables };
}

/** The start banner's line for a debugged function. */
export function debugBanner(spec: FunctionSpec): string {
  return `λ ${spec.key}: debugger on 127.0.0.1:${spec.debugPort} (VS Code "Attach to ${spec.key}", chrome://inspect); its timeout (${spec.timeoutSecondsConfigured ?? spec.timeoutSeconds} s) is suspended for debugging — a run may pause up to ${DEBUG_TIMEOUT_SECONDS} s — and it runs one event at a time`;
}

/**
 * Refuses a port something already listens on: Node would start the runtime without its inspector (it only prints
 * "address already in use"), and the banner would point the debugger at someone else's process.
 */
export async function assertDebugPortFree(functionKey: string, port: number): Promise<void> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        new Error(
          `LAMBDA_DEBUG: the inspector port of ${functionKey}, 127.0.0.1:${port}, is taken (${error.code ?? error.message}): another debugged process or stack holds it; set LAMBDA_DEBUG_PORT to another port.`,
        ),
      ),
    );
    server.listen(port, '127.0.0.1', () => server.close(() => resolve()));
  });
}
