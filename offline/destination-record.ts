/**
 * The record Lambda sends to an on-success / on-failure destination, field for field:
 * https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html
 */

export type DestinationCondition =
  | 'Success'
  | 'RetriesExhausted'
  | 'EventAgeExceeded'
  /** reservedConcurrency 0: the event goes to the on-failure destination at once, never attempted. */
  | 'ZeroReservedConcurrency';

export interface FunctionErrorPayload {
  readonly errorType: string;
  readonly errorMessage: string;
  readonly trace: readonly string[];
}

export interface DestinationRecord {
  readonly version: '1.0';
  readonly timestamp: string;
  readonly requestContext: {
    readonly requestId: string;
    readonly functionArn: string;
    readonly condition: DestinationCondition;
    readonly approximateInvokeCount: number;
  };
  readonly requestPayload: unknown;
  readonly responseContext?: {
    readonly statusCode: 200;
    readonly executedVersion: '$LATEST';
    readonly functionError?: 'Unhandled';
  };
  readonly responsePayload?: unknown;
}

export type LastOutcome =
  | { readonly ok: true; readonly result: unknown }
  | { readonly ok: false; readonly error: FunctionErrorPayload };

export function destinationRecord(input: {
  readonly requestId: string;
  readonly functionArn: string;
  readonly condition: DestinationCondition;
  readonly approximateInvokeCount: number;
  readonly requestPayload: unknown;
  readonly timestamp: Date;
  /** Absent when the event expired before any run. */
  readonly lastOutcome: LastOutcome | undefined;
}): DestinationRecord {
  const { lastOutcome } = input;
  return {
    version: '1.0',
    timestamp: input.timestamp.toISOString(),
    requestContext: {
      requestId: input.requestId,
      functionArn: input.functionArn,
      condition: input.condition,
      approximateInvokeCount: input.approximateInvokeCount,
    },
    requestPayload: input.requestPayload,
    ...(lastOutcome === undefined
      ? {}
      : lastOutcome.ok
        ? {
            responseContext: { statusCode: 200, executedVersion: '$LATEST' },
            responsePayload: lastOutcome.result,
          }
        : {
            responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
            responsePayload: lastOutcome.error,
          }),
  };
}

const ERROR_TYPE = /^([A-Za-z_$][\w$.]*)(?::|$)/;

/** The error's name as its stack's first line states it ("EmptyObjectError: …" → "EmptyObjectError"). */
export function errorTypeFromStackLine(line: string | undefined): string | undefined {
  return ERROR_TYPE.exec(line ?? '')?.[1];
}

/**
 * Lambda reports a thrown error as {errorType: its name, errorMessage, trace}. The error may have crossed a
 * worker-thread boundary, where structured cloning keeps only built-in names; the stack's first line still
 * carries the original name ("EmptyObjectError: …").
 */
export function functionErrorPayload(error: unknown): FunctionErrorPayload {
  if (!(error instanceof Error)) {
    // As the Node.js runtime reports a thrown non-Error: its typeof.
    return { errorType: typeof error, errorMessage: String(error), trace: [] };
  }
  const trace = (error.stack ?? '').split('\n');
  const errorType = error.name !== 'Error' ? error.name : (errorTypeFromStackLine(trace[0]) ?? 'Error');
  return { errorType, errorMessage: error.message, trace };
}
