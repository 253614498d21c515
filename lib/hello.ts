import type { APIGatewayProxyEventV2, ScheduledEvent } from 'aws-lambda';
import { InvalidEventError } from './errors';
import { isObject } from './is-object';

/** The console's hello-world test event (events/hello.json). */
export interface HelloEvent {
  key1: unknown;
  key2?: unknown;
  key3?: unknown;
}

export type HelloInput =
  | { kind: 'test-event'; event: HelloEvent }
  | { kind: 'http'; event: APIGatewayProxyEventV2 }
  | { kind: 'schedule'; event: ScheduledEvent };

/** Tells the three ways hello is invoked apart: a direct invoke, an HTTP API request, a schedule. */
export function classifyHelloEvent(event: unknown): HelloInput {
  if (isObject(event) && event.source === 'aws.events' && event['detail-type'] === 'Scheduled Event') {
    return { kind: 'schedule', event: event as unknown as ScheduledEvent };
  }
  if (isObject(event) && isObject(event.requestContext) && isObject(event.requestContext.http)) {
    return { kind: 'http', event: event as unknown as APIGatewayProxyEventV2 };
  }
  if (isObject(event) && 'key1' in event) {
    return { kind: 'test-event', event: event as unknown as HelloEvent };
  }
  const got = isObject(event)
    ? `an object with keys [${Object.keys(event).join(', ')}]`
    : (JSON.stringify(event) ?? 'nothing');
  throw new InvalidEventError(
    `hello expects the hello-world test event {"key1": …, "key2": …, "key3": …} (see events/hello.json), got ${got}.`,
  );
}

/** The three values the blueprint logs, in order: `value1 = …`, `value2 = …`, `value3 = …`. */
export function blueprintLines(event: HelloEvent): string[] {
  return [event.key1, event.key2, event.key3].map((value, index) => `value${index + 1} = ${String(value)}`);
}

/** An HTTP request's query string as the test event: GET /hello?key1=a&key2=b. */
export function helloEventFromQuery(event: APIGatewayProxyEventV2): HelloEvent {
  const query = event.queryStringParameters ?? {};
  return { key1: query.key1 ?? null, key2: query.key2 ?? null, key3: query.key3 ?? null };
}
