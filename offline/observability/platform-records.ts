/**
 * Lambda's own lines around an invocation in the JSON log format: the platform events of CloudWatch Logs'
 * system logs, `{time, type, record}`, with the records of the Telemetry API's schema (Lambda developer guide,
 * "Lambda Telemetry API Event schema reference": platform.start, platform.runtimeDone, platform.report), each
 * sent only at or above the function's system log level.
 */
import type { ReportFigures } from './invocation-logs';

export interface SystemLog {
  readonly format: 'Text' | 'JSON';
  /** DEBUG, INFO or WARN (JSON only). */
  readonly level?: string;
}

const LEVELS = ['DEBUG', 'INFO', 'WARN'];

/** platform.start and platform.report at INFO; platform.runtimeDone (the Text format's END) at DEBUG. */
const EVENT_LEVEL = { 'platform.start': 'INFO', 'platform.runtimeDone': 'DEBUG', 'platform.report': 'INFO' };

type PlatformEvent = keyof typeof EVENT_LEVEL;

function shown(system: SystemLog, event: PlatformEvent): boolean {
  return LEVELS.indexOf(EVENT_LEVEL[event]) >= LEVELS.indexOf(system.level ?? 'INFO');
}

function record(event: PlatformEvent, at: number, fields: Record<string, unknown>): string {
  return JSON.stringify({ time: new Date(at).toISOString(), type: event, record: fields });
}

export function jsonStart(system: SystemLog, requestId: string, at: number): string[] {
  return shown(system, 'platform.start')
    ? [record('platform.start', at, { requestId, version: '$LATEST' })]
    : [];
}

/** platform.runtimeDone and platform.report for a run that ended at `at`. */
export function jsonEnd(system: SystemLog, requestId: string, at: number, figures: ReportFigures): string[] {
  const status = figures.status ?? 'success';
  const lines: string[] = [];
  if (shown(system, 'platform.runtimeDone')) {
    lines.push(
      record('platform.runtimeDone', at, { requestId, status, metrics: { durationMs: figures.durationMs } }),
    );
  }
  if (shown(system, 'platform.report')) {
    const billed = figures.durationMs + (figures.initDurationMs ?? 0);
    lines.push(
      record('platform.report', at, {
        requestId,
        metrics: {
          durationMs: figures.durationMs,
          billedDurationMs: Math.max(1, Math.ceil(billed)),
          memorySizeMB: figures.memorySizeMb,
          maxMemoryUsedMB: Math.round(figures.maxMemoryUsedMb),
          ...(figures.initDurationMs === undefined ? {} : { initDurationMs: figures.initDurationMs }),
        },
        status,
        ...(figures.errorType === undefined ? {} : { errorType: figures.errorType }),
      }),
    );
  }
  return lines;
}
