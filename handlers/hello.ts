/**
 * hello — the AWS console "hello-world" blueprint: logs key1..key3 of its event and returns key1.
 * Invoked directly (events/hello.json), over HTTP (GET /hello?key1=…) and on a schedule (events/schedule.json).
 * Event formats: https://docs.aws.amazon.com/lambda/latest/dg/services-apigateway.html,
 * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-run-lambda-schedule.html
 */
import type { APIGatewayProxyResultV2, Context } from 'aws-lambda';
import { blueprintLines, classifyHelloEvent, helloEventFromQuery } from '../lib/hello';
import { logger } from '../lib/logger';

export const handler = async (event: unknown, context: Context): Promise<unknown> => {
  logger.addContext(context);
  const input = classifyHelloEvent(event);
  switch (input.kind) {
    case 'schedule':
      logger.info('scheduled run', { time: input.event.time, rule: input.event.resources[0] });
      return { scheduledAt: input.event.time };
    case 'http': {
      const values = helloEventFromQuery(input.event);
      for (const line of blueprintLines(values)) logger.info(line);
      return {
        statusCode: 200,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ result: values.key1, ...values }),
      } satisfies APIGatewayProxyResultV2;
    }
    case 'test-event':
      for (const line of blueprintLines(input.event)) logger.info(line);
      return input.event.key1;
  }
};
