/**
 * The record Lambda sends to an on-success / on-failure destination, field for field:
 * https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html
 */

import type { DestinationCondition, DestinationRecord, LastOutcome } from '../model/outcomes';

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
