/**
 * Whether the last build of each function's bundle failed, and how: serverless-esbuild rebuilds the bundles when a
 * source changes, and a failed build writes nothing, so the environments would go on running the code of an earlier
 * build while the developer looks at a change that is not there. Instead, while a function's last build failed,
 * every run of it fails at once with esbuild's first error, as Lambda fails the runs of a function whose code
 * cannot load: a syntax error is Runtime.UserCodeSyntaxError, a missing module Runtime.ImportModuleError.
 */
import type { FunctionErrorPayload } from '../model/outcomes';
import type { FunctionSpec } from './environment-types';

/** One of esbuild's messages, as the build report passes it (plugins/esbuild-build-report.cjs). */
export interface BuildMessage {
  readonly text: string;
  readonly file?: string;
  readonly line?: number;
  readonly column?: number;
}

export interface BuildFailure {
  readonly functionKey: string;
  /** esbuild's first error: `handlers/hello.ts:12:30: Unexpected ";"`. */
  readonly error: string;
  readonly errorCount: number;
  /** When the build ended, epoch ms. */
  readonly at: number;
}

/** `handlers/hello.handler` → `handlers/hello`, `./handlers/hello.ts` → `handlers/hello`: a bundle's entry. */
export function entryOf(path: string): string {
  const withoutDot = path.replace(/^\.\//, '').replaceAll('\\', '/');
  const slash = withoutDot.lastIndexOf('/');
  const dot = withoutDot.lastIndexOf('.');
  return dot > slash ? withoutDot.slice(0, dot) : withoutDot;
}

/** esbuild's message as esbuild prints it in the terminal: file:line:column (its column counts from 0). */
export function describeBuildError(message: BuildMessage): string {
  if (message.file === undefined || message.line === undefined) return message.text;
  return `${message.file}:${message.line}:${message.column ?? 0}: ${message.text}`;
}

export class BuildStatus {
  readonly #failures = new Map<string, BuildFailure>();
  /**
   * Functions whose failed build a later build fixed: the failure stands until the new bundle is in place and the
   * environments are replaced (`codeReloaded`), or a run in between would answer with the code from before.
   */
  readonly #fixed = new Set<string>();
  /** Each bundle's entry → the functions whose handler it holds. */
  readonly #functionsOf = new Map<string, string[]>();

  constructor(functions: Iterable<Pick<FunctionSpec, 'key' | 'handler'>>) {
    for (const { key, handler } of functions) {
      const entry = entryOf(handler);
      this.#functionsOf.set(entry, [...(this.#functionsOf.get(entry) ?? []), key]);
    }
  }

  /** A build of `entryPoints` ended: with errors, its functions fail until a build of theirs succeeds. */
  record(entryPoints: readonly string[], errors: readonly BuildMessage[], at: number): void {
    const [first] = errors;
    for (const entry of entryPoints) {
      for (const functionKey of this.#functionsOf.get(entryOf(entry)) ?? []) {
        if (first === undefined) {
          if (this.#failures.has(functionKey)) this.#fixed.add(functionKey);
          continue;
        }
        this.#fixed.delete(functionKey);
        this.#failures.set(functionKey, {
          functionKey,
          error: describeBuildError(first),
          errorCount: errors.length,
          at,
        });
      }
    }
  }

  /** The new bundles are in place and the environments replaced: what a build fixed runs again. */
  codeReloaded(): void {
    for (const functionKey of this.#fixed) this.#failures.delete(functionKey);
    this.#fixed.clear();
  }

  failure(functionKey: string): BuildFailure | undefined {
    return this.#failures.get(functionKey);
  }

  list(): BuildFailure[] {
    return [...this.#failures.values()];
  }
}

/** The error a run of a function whose last build failed answers with. */
export function buildFailurePayload(failure: BuildFailure): FunctionErrorPayload {
  const missingModule = /^Could not resolve /.test(failure.error.replace(/^[^ ]+: /, ''));
  return {
    errorType: missingModule ? 'Runtime.ImportModuleError' : 'Runtime.UserCodeSyntaxError',
    errorMessage: `The last build of ${failure.functionKey} failed: ${failure.error}${failure.errorCount > 1 ? ` (and ${failure.errorCount - 1} more error(s))` : ''}. Nothing runs until a build succeeds: fix the source and save.`,
    trace: [],
  };
}
