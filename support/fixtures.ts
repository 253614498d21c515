import type { APIGatewayProxyEventV2, Context, S3Event, S3EventRecord, ScheduledEvent } from 'aws-lambda';
import helloJson from '../events/hello.json';
import s3PutJson from '../events/s3-put.json';
import scheduleJson from '../events/schedule.json';
import type { HelloEvent } from '../lib/hello';

/** The JSON in events/, each checked at compile time against the type the handlers receive. */
interface EventFixtures {
  hello: HelloEvent;
  's3-put': S3Event;
  schedule: ScheduledEvent;
}

export type EventName = keyof EventFixtures;

function scheduledEvent(json: typeof scheduleJson): ScheduledEvent {
  // JSON imports widen "Scheduled Event" to string; check it at runtime instead of casting it away.
  const detailType = json['detail-type'];
  if (detailType !== 'Scheduled Event') {
    throw new Error(`events/schedule.json: detail-type is "${detailType}", expected "Scheduled Event".`);
  }
  return { ...json, 'detail-type': detailType };
}

const fixtures: EventFixtures = {
  hello: helloJson,
  's3-put': s3PutJson,
  schedule: scheduledEvent(scheduleJson),
};

/** A fresh deep copy of events/<name>.json: a test may change it without affecting any other test. */
export function loadEvent<N extends EventName>(name: N): EventFixtures[N] {
  return structuredClone(fixtures[name]);
}

/** The one record of events/s3-put.json, deep-copied. */
export function s3PutRecord(): S3EventRecord {
  const [record] = loadEvent('s3-put').Records;
  if (record === undefined) throw new Error('events/s3-put.json has no record.');
  return record;
}

/**
 * An S3 notification with one record per key, each a copy of the record in events/s3-put.json.
 * Keys are given as S3 writes them into notifications (already form-URL-encoded, e.g. `targets/a+b%2Bc.txt`).
 */
export function s3PutEvent(encodedKeys: readonly string[]): S3Event {
  return {
    Records: encodedKeys.map((key, index) => {
      const record = s3PutRecord();
      record.s3.object.key = key;
      // Real notifications carry a distinct, increasing sequencer per object.
      record.s3.object.sequencer = `0A1B2C3D4E5F6789${index.toString(16).toUpperCase().padStart(2, '0')}`;
      return record;
    }),
  };
}

/**
 * An HTTP API (payload format 2.0) request for GET /hello, as API Gateway sends it. With no query string, API
 * Gateway omits queryStringParameters altogether.
 */
export function httpEvent(query: Readonly<Record<string, string>> | undefined): APIGatewayProxyEventV2 {
  const rawQueryString = query === undefined ? '' : new URLSearchParams(query).toString();
  return {
    version: '2.0',
    routeKey: 'GET /hello',
    rawPath: '/hello',
    rawQueryString,
    headers: {
      accept: '*/*',
      host: 'abcdef1234.execute-api.ap-northeast-1.amazonaws.com',
      'user-agent': 'curl/8.5.0',
    },
    ...(query === undefined ? {} : { queryStringParameters: { ...query } }),
    requestContext: {
      accountId: '123456789012',
      apiId: 'abcdef1234',
      domainName: 'abcdef1234.execute-api.ap-northeast-1.amazonaws.com',
      domainPrefix: 'abcdef1234',
      http: {
        method: 'GET',
        path: '/hello',
        protocol: 'HTTP/1.1',
        sourceIp: '203.0.113.10',
        userAgent: 'curl/8.5.0',
      },
      requestId: 'JKJaXmPLvHcESHA=',
      routeKey: 'GET /hello',
      stage: '$default',
      time: '25/Nov/2026:13:00:00 +0000',
      timeEpoch: 1795611600000,
    },
    isBase64Encoded: false,
  };
}

/** A Lambda context with the fields Powertools Logger reads; the callback-style methods are unused by async handlers. */
export function fakeContext(functionName = 'lambda-notes-test-fn'): Context {
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:ap-northeast-1:123456789012:function:${functionName}`,
    memoryLimitInMB: '1024',
    awsRequestId: 'c6af9ac6-7b61-11e6-9a41-93e812345678',
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: '2026/11/25/[$LATEST]0123456789abcdef0123456789abcdef',
    getRemainingTimeInMillis: () => 30_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
