/**
 * The log of each invocation as Lambda writes it to CloudWatch Logs: `START`, the function's own lines, `END` and
 * `REPORT` (https://docs.aws.amazon.com/lambda/latest/dg/nodejs-logging.html). Kept in memory, newest first and
 * bounded, for `LogType: Tail` and for whoever shows logs; each line is also written to the offline output.
 */

import { jsonEnd, jsonStart, type SystemLog } from './platform-records';

export interface InvocationLogEntry {
  functionKey: string;
  requestId: string;
  startedAt: number;
  /** The log stream of the environment that ran it (one per environment, as CloudWatch names them). */
  logStream: string;
  /** The invocation's log as Lambda writes it, START … END, REPORT included; no trailing newlines. */
  lines: string[];
}

export interface ReportFigures {
  readonly durationMs: number;
  readonly memorySizeMb: number;
  readonly maxMemoryUsedMb: number;
  /** Only on a cold start. */
  readonly initDurationMs?: number;
  /** Only when the run did not end in the runtime's answer: a timeout, or an error of the environment. */
  readonly status?: 'timeout' | 'error';
  readonly errorType?: string;
}

/** Lambda's own lines around an invocation (format of the Node.js runtime, see the recordings in test/parity). */
export function startLine(requestId: string): string {
  return `START RequestId: ${requestId} Version: $LATEST`;
}

export function endLine(requestId: string): string {
  return `END RequestId: ${requestId}`;
}

/**
 * Since 2025-08-01 the INIT phase of a ZIP function on a managed runtime is billed too, so a cold start's Billed
 * Duration covers Init Duration as well (https://aws.amazon.com/blogs/compute/aws-lambda-standardizes-billing-for-init-phase/).
 */
export function reportLine(requestId: string, figures: ReportFigures): string {
  const billed = figures.durationMs + (figures.initDurationMs ?? 0);
  const fields = [
    `REPORT RequestId: ${requestId}`,
    `Duration: ${figures.durationMs.toFixed(2)} ms`,
    `Billed Duration: ${Math.max(1, Math.ceil(billed))} ms`,
    `Memory Size: ${figures.memorySizeMb} MB`,
    `Max Memory Used: ${Math.round(figures.maxMemoryUsedMb)} MB`,
  ];
  if (figures.initDurationMs !== undefined)
    fields.push(`Init Duration: ${figures.initDurationMs.toFixed(2)} ms`);
  if (figures.status !== undefined) fields.push(`Status: ${figures.status}`);
  if (figures.errorType !== undefined) fields.push(`Error Type: ${figures.errorType}`);
  // Lambda ends the REPORT line with a tab.
  return `${fields.join('\t')}\t`;
}

/** What `LogType: Tail` returns (X-Amz-Log-Result): base64 of the last 4 KB of the invocation's log. */
export const LOG_TAIL_BYTES = 4096;

export function logTail(lines: readonly string[]): string {
  const text = Buffer.from(lines.map((line) => `${line}\n`).join(''), 'utf8');
  return text.subarray(Math.max(0, text.length - LOG_TAIL_BYTES)).toString('base64');
}

/** One invocation being written: the function's output is appended as it arrives. */
export class InvocationCapture {
  readonly entry: InvocationLogEntry;
  #partial = '';
  #bytes = 0;
  #truncated = false;

  constructor(
    functionKey: string,
    requestId: string,
    startedAt: number,
    logStream: string,
    private readonly maxBytes: number,
    /** The function's log format and system log level: JSON turns START, END and REPORT into platform events. */
    private readonly system: SystemLog = { format: 'Text' },
  ) {
    const opening =
      system.format === 'JSON' ? jsonStart(system, requestId, startedAt) : [startLine(requestId)];
    this.entry = { functionKey, requestId, startedAt, logStream, lines: opening };
  }

  /** A chunk of the function's stdout or stderr; split into lines, the last partial line kept until more comes. */
  append(chunk: string): void {
    if (this.#truncated) return;
    this.#bytes += Buffer.byteLength(chunk);
    if (this.#bytes > this.maxBytes) {
      this.#truncated = true;
      this.#partial = '';
      this.entry.lines.push(
        `[offline: the rest of this invocation's output is not kept (over ${this.maxBytes} bytes)]`,
      );
      return;
    }
    const parts = (this.#partial + chunk).split('\n');
    this.#partial = parts.pop() ?? '';
    this.entry.lines.push(...parts);
  }

  /**
   * Ends the log: END and REPORT, then Lambda's own lines about a runtime that died (`after`). Returns the lines
   * this adds (for the offline output).
   */
  finish(figures: ReportFigures, after: readonly string[] = []): string[] {
    const added: string[] = [];
    if (this.#partial !== '') {
      this.entry.lines.push(this.#partial);
      this.#partial = '';
    }
    const { requestId } = this.entry;
    if (this.system.format === 'JSON') added.push(...jsonEnd(this.system, requestId, Date.now(), figures));
    else added.push(endLine(requestId), reportLine(requestId, figures));
    added.push(...after);
    this.entry.lines.push(...added);
    return added;
  }
}

/** Per-invocation logs, newest first, bounded in number and in bytes per invocation. */
export class InvocationLogs {
  readonly #entries: InvocationLogEntry[] = [];

  constructor(
    private readonly limits: { maxEntries: number; maxBytesPerEntry: number } = {
      maxEntries: 500,
      maxBytesPerEntry: 256 * 1024,
    },
  ) {}

  begin(
    functionKey: string,
    requestId: string,
    startedAt: number,
    logStream: string,
    system?: SystemLog,
  ): InvocationCapture {
    const capture = new InvocationCapture(
      functionKey,
      requestId,
      startedAt,
      logStream,
      this.limits.maxBytesPerEntry,
      system,
    );
    this.#entries.unshift(capture.entry);
    if (this.#entries.length > this.limits.maxEntries) this.#entries.length = this.limits.maxEntries;
    return capture;
  }

  entries(
    filter: { functionKey?: string; requestId?: string; logStream?: string; limit?: number } = {},
  ): InvocationLogEntry[] {
    const matching = this.#entries.filter(
      (entry) =>
        (filter.functionKey === undefined || entry.functionKey === filter.functionKey) &&
        (filter.requestId === undefined || entry.requestId === filter.requestId) &&
        (filter.logStream === undefined || entry.logStream === filter.logStream),
    );
    return (filter.limit === undefined ? matching : matching.slice(0, filter.limit)).map((entry) => ({
      ...entry,
      lines: [...entry.lines],
    }));
  }
}
