/**
 * How a run ends and what Lambda makes of it: the error a runtime reports, a run's last outcome, and the record
 * an on-success / on-failure destination gets
 * (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html).
 */

export type DestinationCondition =
  | 'Success'
  | 'RetriesExhausted'
  | 'EventAgeExceeded'
  /** reservedConcurrency 0: the event goes to the on-failure destination at once, never attempted. */
  | 'ZeroReservedConcurrency';

/**
 * An error as the runtime reports it: Node.js sends errorType, errorMessage and trace; Lambda's own errors
 * (timeout, exit, memory) only the first two. Whatever the runtime sends is passed on as it is.
 */
export interface FunctionErrorPayload {
  readonly errorType: string;
  readonly errorMessage: string;
  readonly trace?: readonly string[];
  readonly [field: string]: unknown;
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
