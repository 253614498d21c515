/**
 * The builds of serverless-esbuild, as the offline stack hears of them: esbuild reports the end of every build of a
 * bundle to plugins/esbuild-build-report.cjs (serverless.yml custom.esbuild.plugins, a documented option of both),
 * which calls the listener registered here, in the same process. The report relies on serverless-esbuild building
 * each handler's entry with a context of its own (entryPoints: [one entry]) and rebuilding it on every change in
 * offline: checked against the version it was written for.
 */
import { requireVersion } from './package-version';

const WRITTEN_FOR = '1.57.2';
const LISTENER = Symbol.for('lambda-notes.esbuild-build');

export interface BuildReport {
  readonly entryPoints: readonly string[];
  readonly errors: readonly { text: string; file?: string; line?: number; column?: number }[];
  readonly startedAt: number;
  readonly endedAt: number;
}

function isBuildReport(value: unknown): value is BuildReport {
  if (typeof value !== 'object' || value === null) return false;
  const report = value as Record<string, unknown>;
  return (
    Array.isArray(report.entryPoints) &&
    report.entryPoints.every((entry) => typeof entry === 'string') &&
    Array.isArray(report.errors) &&
    typeof report.endedAt === 'number'
  );
}

/** Calls `onBuild` for each bundle build from now on; the returned function stops it. */
export function listenToBuilds(onBuild: (report: BuildReport) => void): () => void {
  requireVersion('serverless-esbuild', WRITTEN_FOR, 'The offline build report');
  const listener = (report: unknown): void => {
    if (isBuildReport(report)) onBuild(report);
  };
  const global = globalThis as Record<symbol, unknown>;
  global[LISTENER] = listener;
  return () => {
    if (global[LISTENER] === listener) Reflect.deleteProperty(global, LISTENER);
  };
}
