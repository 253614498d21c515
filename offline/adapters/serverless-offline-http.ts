/**
 * serverless-offline serves the HTTP API (routes, API Gateway's event and response mapping); the function behind
 * a route runs in this project's execution environments. This is the one hook into serverless-offline, and why:
 * its HTTP server asks its `Lambda` for the function of a route (`get(functionKey)`) and calls `setEvent` and
 * `runHandler` on the answer, and that `Lambda` is created inside serverless-offline with no option to supply
 * another. The hook replaces `get` of the class that serverless-offline exports publicly
 * (`serverless-offline/lambda`), for the functions this project runs, with an object that runs them here. Owning
 * the HTTP API instead would copy API Gateway's mapping, a large body of serverless-offline's code. The stage's
 * throttle is applied here too, before the function runs: a request it refuses gets API Gateway's 429.
 */
import { requireVersion } from './package-version';

/** What serverless-offline's HTTP server calls on the function of a route (13.10.1). */
export interface RouteFunction {
  setEvent(event: unknown): void;
  setClientContext(clientContext: unknown): void;
  runHandler(): Promise<unknown>;
  cleanup(): Promise<void>;
  readonly status: 'IDLE';
}

interface LambdaClass {
  prototype: { get(this: unknown, functionKey: string): unknown };
}

const WRITTEN_FOR = '13.10.1';

interface Route {
  readonly functionKeys: ReadonlySet<string>;
  run(functionKey: string, event: unknown, clientContext: unknown): Promise<unknown>;
  admit(routeKey: string): boolean;
}
const HOOKED = Symbol.for('lambda-notes.serverless-offline.get');

/** A function error as serverless-offline's HTTP server reports it (502 and the error's message). */
export class RouteFunctionError extends Error {
  constructor(
    override readonly name: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * API Gateway's answer to a request its throttle refuses (429, `{"message":"Too Many Requests"}`), as a proxy
 * result serverless-offline sends on as it is.
 */
export const TOO_MANY_REQUESTS = {
  statusCode: 429,
  headers: { 'Content-Type': 'application/json' },
  body: JSON.stringify({ message: 'Too Many Requests' }),
} as const;

/** The route a request matched, as API Gateway keys its route settings: `GET /hello`. */
export function routeKeyOf(event: unknown, functionKey: string): string {
  if (typeof event !== 'object' || event === null) return functionKey;
  const { routeKey, httpMethod, resource } = event as Record<string, unknown>;
  if (typeof routeKey === 'string') return routeKey;
  if (typeof httpMethod === 'string' && typeof resource === 'string') return `${httpMethod} ${resource}`;
  return functionKey;
}

/**
 * Routes serverless-offline's runs of `functionKeys` to `run`, which resolves with the function's result or
 * rejects with its error, once `admit` lets the request's route through. Idempotent; refuses another
 * serverless-offline version.
 */
export async function routeToEnvironments(
  functionKeys: ReadonlySet<string>,
  run: (functionKey: string, event: unknown, clientContext: unknown) => Promise<unknown>,
  admit: (routeKey: string) => boolean = () => true,
): Promise<void> {
  requireVersion('serverless-offline', WRITTEN_FOR, "The offline stack's HTTP hook");
  const { default: Lambda } = (await import('serverless-offline/lambda')) as { default: LambdaClass };
  const prototype = Lambda.prototype as LambdaClass['prototype'] & { [HOOKED]?: Route };
  if (typeof prototype.get !== 'function') {
    throw new Error(
      `serverless-offline ${WRITTEN_FOR}'s Lambda has no get(functionKey): the HTTP hook cannot work.`,
    );
  }
  const hooked = prototype[HOOKED] !== undefined;
  prototype[HOOKED] = { functionKeys, run, admit };
  if (hooked) return;
  const original = prototype.get;
  prototype.get = function (this: unknown, functionKey: string): unknown {
    const route = prototype[HOOKED];
    if (route === undefined || !route.functionKeys.has(functionKey)) return original.call(this, functionKey);
    let event: unknown;
    let clientContext: unknown;
    const routed: RouteFunction = {
      status: 'IDLE',
      setEvent: (value) => {
        event = value;
      },
      setClientContext: (value) => {
        clientContext = value;
      },
      runHandler: () =>
        route.admit(routeKeyOf(event, functionKey))
          ? route.run(functionKey, event, clientContext)
          : Promise.resolve(TOO_MANY_REQUESTS),
      cleanup: () => Promise.resolve(),
    };
    return routed;
  };
}
