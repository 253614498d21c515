import { expect } from 'chai';
import {
  asyncFunctions,
  functionName,
  s3Subscriptions,
  scheduleRules,
  takeAsyncEvents,
} from '../../offline/core/service-model';
import type { AsyncFunction } from '../../offline/model/async-events';
import { LOCAL_ACCOUNT, type ServiceDefinition } from '../../offline/model/service';

const REGION = 'ap-northeast-1';
const DLQ_NAME = 'lambda-notes-dev-dlq';

/** serverless.yml as the framework resolves it for stage dev (params, !GetAtt, provider.s3). */
function resolvedService(): ServiceDefinition {
  return {
    service: 'lambda-notes',
    provider: { region: REGION, stage: 'dev', s3: { uploads: { name: 'lambda-s3-test-dev' } } },
    functions: {
      hello: {
        handler: 'handlers/hello.handler',
        events: [{ httpApi: 'GET /hello' }, { schedule: { rate: 'rate(1 minute)', enabled: true } }],
        maximumRetryAttempts: 2,
        maximumEventAge: 3600,
        destinations: { onFailure: { type: 'sqs', arn: { 'Fn::GetAtt': ['DeadLetterQueue', 'Arn'] } } },
      },
      s3Upload: {
        handler: 'handlers/s3-upload.handler',
        events: [{ s3: { bucket: 'uploads', event: 's3:ObjectCreated:*', rules: [{ prefix: 'targets/' }] } }],
        maximumRetryAttempts: 2,
        maximumEventAge: 3600,
        destinations: { onFailure: { type: 'sqs', arn: { 'Fn::GetAtt': ['DeadLetterQueue', 'Arn'] } } },
      },
    },
    resources: {
      Resources: {
        DeadLetterQueue: {
          Type: 'AWS::SQS::Queue',
          Properties: { QueueName: DLQ_NAME, MessageRetentionPeriod: 1_209_600 },
        },
        AlarmTopic: { Type: 'AWS::SNS::Topic', Properties: { TopicName: 'lambda-notes-dev-alarms' } },
      },
    },
  };
}

function asyncFunction(service: ServiceDefinition, key: string): AsyncFunction {
  const fn = asyncFunctions(service, 1, 10).get(key);
  if (fn === undefined) throw new Error(`no async function ${key}`);
  return fn;
}

/** The s3Upload function with `destinations.onFailure` replaced. */
function onFailureOf(destination: unknown): AsyncFunction['onFailure'] {
  const service = resolvedService();
  const s3Upload = service.functions.s3Upload;
  if (s3Upload === undefined) throw new Error('fixture without s3Upload');
  s3Upload.destinations = { onFailure: destination };
  return asyncFunction(service, 's3Upload').onFailure;
}

describe('service-model', () => {
  describe('functionName', () => {
    it('is <service>-<stage>-<key> by default', () => {
      expect(functionName(resolvedService(), 's3Upload')).to.equal('lambda-notes-dev-s3Upload');
    });

    it('is the `name` of the function when set', () => {
      const service = resolvedService();
      const hello = service.functions.hello;
      if (hello) hello.name = 'custom-hello';
      expect(functionName(service, 'hello')).to.equal('custom-hello');
    });
  });

  describe('asyncFunctions', () => {
    it('has one entry per function', () => {
      expect([...asyncFunctions(resolvedService(), 1, 10).keys()]).to.deep.equal(['hello', 's3Upload']);
    });

    it('gives each function its $LATEST ARN in the local account', () => {
      expect(asyncFunction(resolvedService(), 's3Upload').arn).to.equal(
        `arn:aws:lambda:${REGION}:000000000000:function:lambda-notes-dev-s3Upload:$LATEST`,
      );
    });

    it('uses the local account 000000000000', () => {
      expect(LOCAL_ACCOUNT).to.equal('000000000000');
    });

    it('uses the `name` of the function in its ARN', () => {
      const service = resolvedService();
      const hello = service.functions.hello;
      if (hello) hello.name = 'custom-hello';
      expect(asyncFunction(service, 'hello').arn).to.equal(
        `arn:aws:lambda:${REGION}:000000000000:function:custom-hello:$LATEST`,
      );
    });

    it('builds the policy from the function settings and the time scale', () => {
      const fn = asyncFunctions(resolvedService(), 0.01, 10).get('hello');
      expect(fn?.policy).to.deep.equal({
        maximumRetryAttempts: 2,
        maximumEventAgeSeconds: 3600,
        timeScale: 0.01,
      });
    });

    it('refuses an invalid setting with the function key in the message', () => {
      const service = resolvedService();
      const hello = service.functions.hello;
      if (hello) hello.maximumRetryAttempts = 5;
      expect(() => asyncFunctions(service, 1, 10)).to.throw('functions.hello.maximumRetryAttempts');
    });

    it('resolves {type: sqs, arn: !GetAtt DeadLetterQueue.Arn} to the QueueName of the resource', () => {
      expect(asyncFunction(resolvedService(), 's3Upload').onFailure).to.deep.equal({
        kind: 'sqs',
        queueName: DLQ_NAME,
      });
    });

    it('resolves a queue without QueueName to its logical id', () => {
      const service = resolvedService();
      const dlq = service.resources?.Resources?.DeadLetterQueue;
      if (dlq) dlq.Properties = {};
      expect(asyncFunction(service, 's3Upload').onFailure).to.deep.equal({
        kind: 'sqs',
        queueName: 'DeadLetterQueue',
      });
    });

    it('resolves an SQS ARN string to its queue name', () => {
      expect(onFailureOf(`arn:aws:sqs:${REGION}:123456789012:other-queue`)).to.deep.equal({
        kind: 'sqs',
        queueName: 'other-queue',
      });
    });

    it('resolves {type: sqs, arn: <SQS ARN>} to its queue name', () => {
      expect(
        onFailureOf({ type: 'sqs', arn: `arn:aws:sqs:${REGION}:123456789012:other-queue` }),
      ).to.deep.equal({
        kind: 'sqs',
        queueName: 'other-queue',
      });
    });

    it('resolves a function key to a function destination', () => {
      expect(onFailureOf('hello')).to.deep.equal({ kind: 'function', functionKey: 'hello' });
    });

    it('resolves a deployed function name to a function destination', () => {
      expect(onFailureOf('lambda-notes-dev-hello')).to.deep.equal({ kind: 'function', functionKey: 'hello' });
    });

    it('resolves a function ARN to a function destination', () => {
      expect(
        onFailureOf(`arn:aws:lambda:${REGION}:123456789012:function:lambda-notes-dev-hello`),
      ).to.deep.equal({
        kind: 'function',
        functionKey: 'hello',
      });
    });

    it('resolves {type: function, arn: <qualified function ARN>} to a function destination', () => {
      const arn = `arn:aws:lambda:${REGION}:123456789012:function:lambda-notes-dev-hello:$LATEST`;
      expect(onFailureOf({ type: 'function', arn })).to.deep.equal({
        kind: 'function',
        functionKey: 'hello',
      });
    });

    it('marks an SNS topic ARN as unsupported', () => {
      expect(onFailureOf(`arn:aws:sns:${REGION}:123456789012:alarms`)?.kind).to.equal('unsupported');
    });

    it('marks {type: sns, arn: !Ref AlarmTopic} as unsupported', () => {
      expect(onFailureOf({ type: 'sns', arn: { Ref: 'AlarmTopic' } })?.kind).to.equal('unsupported');
    });

    it('marks !GetAtt of a resource that is not a queue as unsupported', () => {
      expect(onFailureOf({ type: 'sns', arn: { 'Fn::GetAtt': ['AlarmTopic', 'TopicArn'] } })).to.deep.equal({
        kind: 'unsupported',
        description: 'AWS::SNS::Topic AlarmTopic',
      });
    });

    it('marks a function of another service as unsupported', () => {
      expect(onFailureOf(`arn:aws:lambda:${REGION}:123456789012:function:someone-else`)?.kind).to.equal(
        'unsupported',
      );
    });

    it('has no destination when none is configured', () => {
      const fn = asyncFunction(resolvedService(), 's3Upload');
      expect([fn.onSuccess, asyncFunction(resolvedService(), 'hello').onSuccess]).to.deep.equal([
        undefined,
        undefined,
      ]);
    });

    it('resolves onSuccess as well', () => {
      const service = resolvedService();
      const s3Upload = service.functions.s3Upload;
      if (s3Upload) s3Upload.destinations = { onSuccess: 'hello' };
      expect(asyncFunction(service, 's3Upload').onSuccess).to.deep.equal({
        kind: 'function',
        functionKey: 'hello',
      });
    });

    it('keeps its pollers (10 here) under a lower reservedConcurrency, so that excess events are throttled', () => {
      const service = resolvedService();
      const s3Upload = service.functions.s3Upload;
      if (s3Upload) s3Upload.reservedConcurrency = 3;
      expect(asyncFunction(service, 's3Upload').maxConcurrency).to.equal(10);
    });

    it('runs as many queued events at once as a higher reservedConcurrency allows', () => {
      const service = resolvedService();
      const s3Upload = service.functions.s3Upload;
      if (s3Upload) s3Upload.reservedConcurrency = 25;
      expect(asyncFunction(service, 's3Upload').maxConcurrency).to.equal(25);
    });

    it('reads a reservedConcurrency given as a string (--param) as a number', () => {
      const service = resolvedService();
      const s3Upload = service.functions.s3Upload;
      if (s3Upload) s3Upload.reservedConcurrency = '25';
      expect(asyncFunction(service, 's3Upload').maxConcurrency).to.equal(25);
    });

    it('runs as many queued events at once as it has pollers (10 here) without reservedConcurrency', () => {
      expect(asyncFunction(resolvedService(), 's3Upload').maxConcurrency).to.equal(10);
    });
  });

  describe('s3Subscriptions', () => {
    it('resolves the bucket reference through provider.s3 and keeps event and prefix', () => {
      expect(s3Subscriptions(resolvedService())).to.deep.equal([
        {
          functionKey: 's3Upload',
          bucket: 'lambda-s3-test-dev',
          event: 's3:ObjectCreated:*',
          prefix: 'targets/',
          suffix: undefined,
        },
      ]);
    });

    it('keeps prefix and suffix given as two rules', () => {
      const service = resolvedService();
      const s3Upload = service.functions.s3Upload;
      if (s3Upload) {
        s3Upload.events = [
          {
            s3: {
              bucket: 'uploads',
              event: 's3:ObjectCreated:*',
              rules: [{ prefix: 'in/' }, { suffix: '.csv' }],
            },
          },
        ];
      }
      const [subscription] = s3Subscriptions(service);
      expect([subscription?.prefix, subscription?.suffix]).to.deep.equal(['in/', '.csv']);
    });

    it('takes a bucket that is not in provider.s3 as the bucket name', () => {
      const service = resolvedService();
      const s3Upload = service.functions.s3Upload;
      if (s3Upload) s3Upload.events = [{ s3: 'plain-bucket' }];
      expect(s3Subscriptions(service)).to.deep.equal([
        {
          functionKey: 's3Upload',
          bucket: 'plain-bucket',
          event: 's3:ObjectCreated:*',
          prefix: undefined,
          suffix: undefined,
        },
      ]);
    });

    it('has no subscription for a function without s3 events', () => {
      expect(s3Subscriptions(resolvedService()).some((sub) => sub.functionKey === 'hello')).to.equal(false);
    });
  });

  describe('scheduleRules', () => {
    const ruleArn = (name: string): string => `arn:aws:events:${REGION}:000000000000:rule/${name}`;

    it('builds the rule ARN from the stack name and the logical id Serverless gives the rule', () => {
      expect(scheduleRules(resolvedService())).to.deep.equal([
        {
          functionKey: 'hello',
          expression: 'rate(1 minute)',
          ruleArn: ruleArn('lambda-notes-dev-HelloEventsRuleSchedule1'),
          input: undefined,
        },
      ]);
    });

    it('skips a schedule with enabled: false', () => {
      const service = resolvedService();
      const hello = service.functions.hello;
      if (hello) hello.events = [{ schedule: { rate: 'rate(1 minute)', enabled: false } }];
      expect(scheduleRules(service)).to.deep.equal([]);
    });

    it('accepts a schedule given as a plain expression string', () => {
      const service = resolvedService();
      const hello = service.functions.hello;
      if (hello) hello.events = [{ schedule: 'rate(5 minutes)' }];
      expect(scheduleRules(service).map((rule) => rule.expression)).to.deep.equal(['rate(5 minutes)']);
    });

    it('expands an array of rates into one rule per expression', () => {
      const service = resolvedService();
      const hello = service.functions.hello;
      if (hello) hello.events = [{ schedule: { rate: ['rate(1 minute)', 'cron(0 0 * * ? *)'] } }];
      expect(scheduleRules(service).map((rule) => rule.expression)).to.deep.equal([
        'rate(1 minute)',
        'cron(0 0 * * ? *)',
      ]);
    });

    // Serverless 3 (compile/events/schedule.js) numbers rules per expression, not per event: EventsRuleSchedule1, 2, …
    it('numbers the rules of an array of rates as Serverless does, one number per expression', () => {
      const service = resolvedService();
      const hello = service.functions.hello;
      if (hello) hello.events = [{ schedule: { rate: ['rate(1 minute)', 'cron(0 0 * * ? *)'] } }];
      expect(scheduleRules(service).map((rule) => rule.ruleArn)).to.deep.equal([
        ruleArn('lambda-notes-dev-HelloEventsRuleSchedule1'),
        ruleArn('lambda-notes-dev-HelloEventsRuleSchedule2'),
      ]);
    });

    it('counts a disabled schedule in the numbering, as Serverless does', () => {
      const service = resolvedService();
      const hello = service.functions.hello;
      if (hello) {
        hello.events = [
          { schedule: { rate: 'rate(1 minute)', enabled: false } },
          { schedule: { rate: 'rate(2 minutes)' } },
        ];
      }
      expect(scheduleRules(service).map((rule) => rule.ruleArn)).to.deep.equal([
        ruleArn('lambda-notes-dev-HelloEventsRuleSchedule2'),
      ]);
    });

    // Serverless normalizes "-" to "Dash" and "_" to "Underscore" (naming.getNormalizedResourceName).
    it('normalizes "-" and "_" in the function key as Serverless does', () => {
      const service = resolvedService();
      service.functions['nightly-report_v2'] = {
        handler: 'h.handler',
        events: [{ schedule: 'rate(1 day)' }],
      };
      const rule = scheduleRules(service).find((candidate) => candidate.functionKey === 'nightly-report_v2');
      expect(rule?.ruleArn).to.equal(
        ruleArn('lambda-notes-dev-NightlyDashreportUnderscorev2EventsRuleSchedule1'),
      );
    });

    it('uses the `name` of the schedule as the rule name', () => {
      const service = resolvedService();
      const hello = service.functions.hello;
      if (hello) hello.events = [{ schedule: { rate: 'rate(1 minute)', name: 'hello-every-minute' } }];
      expect(scheduleRules(service)[0]?.ruleArn).to.equal(ruleArn('hello-every-minute'));
    });

    it('passes `input` on', () => {
      const service = resolvedService();
      const hello = service.functions.hello;
      if (hello)
        hello.events = [{ schedule: { rate: 'rate(1 minute)', input: { source: 'schedule', n: 1 } } }];
      expect(scheduleRules(service)[0]?.input).to.deep.equal({ source: 'schedule', n: 1 });
    });
  });

  describe('takeAsyncEvents', () => {
    it('removes s3 and schedule events and keeps httpApi', () => {
      const service = resolvedService();
      takeAsyncEvents(service);
      expect([service.functions.hello?.events, service.functions.s3Upload?.events]).to.deep.equal([
        [{ httpApi: 'GET /hello' }],
        [],
      ]);
    });

    it('leaves nothing for scheduleRules and s3Subscriptions to find afterwards', () => {
      const service = resolvedService();
      takeAsyncEvents(service);
      expect([scheduleRules(service), s3Subscriptions(service)]).to.deep.equal([[], []]);
    });
  });
});
