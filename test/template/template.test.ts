/**
 * What a deploy would create, proven without AWS: `sls package` per stage (no credentials in its environment),
 * then the CloudFormation it wrote is checked against the CloudFormation resource specification and against
 * what serverless.yml promises: per-function roles with exactly the permissions the code uses, private and
 * TLS-only buckets named so that no other account can hold the name, retries into the dead-letter queue, alarms
 * that page once per failure, outputs the scripts read, settings kept per stage, and the per-stage differences.
 */
import { isDeepStrictEqual } from 'node:util';
import { expect } from 'chai';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { mockClient } from 'aws-sdk-client-mock';
import { applyParams } from '../../scripts/deploy-stage';
import { checkKeptSettings, settingsInTemplate } from '../../scripts/kept-settings';
import {
  deadLetterQueueName,
  defaultUploadBucketName,
  lambdaFunctionName,
  localUploadBucketName,
  UsageError,
} from '../../scripts/project';
import {
  dependencyCycles,
  policyProblems,
  validateTemplate,
  type Template,
  type TemplateResource,
} from '../helpers/cfn-validate';
import { ACCOUNT, describedStack, REGION } from '../helpers/cloudformation';
import { packageStage, warningLines } from '../helpers/package-template';
import { rejection } from '../helpers/rejection';

/** A package takes ~5–10 s; the first test of each stage waits for it, the others reuse it. */
const PACKAGE_TIMEOUT_MS = 120_000;

const FUNCTIONS = [
  { key: 'hello', logicalId: 'HelloLambdaFunction', role: 'HelloRole', logGroup: 'HelloLogGroup' },
  {
    key: 's3Upload',
    logicalId: 'S3UploadLambdaFunction',
    role: 'S3UploadRole',
    logGroup: 'S3UploadLogGroup',
  },
] as const;

const STAGES = [
  {
    stage: 'dev',
    scheduleExpression: 'rate(1 minute)',
    scheduleState: 'ENABLED',
    maximumEventAge: 3600,
    logRetentionDays: 7,
    nodeOptions: '--enable-source-maps',
    uploadsDeletionPolicy: 'Delete',
    uploadsReplacePolicy: 'Delete',
  },
  {
    stage: 'prod',
    scheduleExpression: 'cron(0 0 * * ? *)',
    scheduleState: 'DISABLED',
    maximumEventAge: 21600,
    logRetentionDays: 90,
    nodeOptions: undefined,
    // Retained, except that a first deploy which rolls back deletes the empty bucket it made (it would
    // block the next try with "already exists"); UpdateReplacePolicy knows no such variant.
    uploadsDeletionPolicy: 'RetainExceptOnCreate',
    uploadsReplacePolicy: 'Retain',
  },
] as const;

const OVERRIDES = {
  uploadBucket: 'my-bucket-dev',
  alarmEmail: 'a@example.com',
  helloReservedConcurrency: '2',
};
/** The same settings as `npm run deploy` keeps them in stages/dev.json after a deploy with OVERRIDES. */
const KEPT_SETTINGS = applyParams({ region: 'ap-northeast-1' }, Object.entries(OVERRIDES)).kept as Record<
  string,
  string
>;

/** The template without what changes from one package to the next (the artifacts' upload folder). */
const comparable = (template: Template): unknown =>
  JSON.parse(
    JSON.stringify(template).replace(
      /serverless\/lambda-notes\/dev\/[^/"]+\//g,
      'serverless/lambda-notes/dev/<time>/',
    ),
  );

const DLQ_ARN = { 'Fn::GetAtt': ['DeadLetterQueue', 'Arn'] };
const ALARM_TOPIC = { Ref: 'AlarmTopic' };

/** The value at a path of keys and indexes, or undefined where the path leaves the document. */
function at(value: unknown, ...path: (string | number)[]): unknown {
  let current = value;
  for (const step of path) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Record<string | number, unknown>)[step];
  }
  return current;
}

const asList = (value: unknown): unknown[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

function resourceOf(template: Template, logicalId: string, type: string): TemplateResource {
  const resource = template.Resources[logicalId];
  expect(resource, `resource ${logicalId}`).to.be.an('object');
  expect(resource?.Type, `type of ${logicalId}`).to.equal(type);
  return resource as TemplateResource;
}

const propertiesOf = (template: Template, logicalId: string, type: string): Record<string, unknown> =>
  resourceOf(template, logicalId, type).Properties ?? {};

const ofType = (template: Template, type: string): [string, TemplateResource][] =>
  Object.entries(template.Resources).filter(([, resource]) => resource.Type === type);

const logGroupName = (stage: string, functionKey: string): string =>
  `/aws/lambda/${lambdaFunctionName(stage, functionKey)}`;

const sub = (text: string): { 'Fn::Sub': string } => ({ 'Fn::Sub': text });

/** The default upload bucket name as the template gives it to CloudFormation. */
const bucketSub = (stage: string): string => `lambda-notes-${stage}-\${AWS::AccountId}-\${AWS::Region}`;

/** What CloudFormation makes of a Fn::Sub text with these pseudo parameters. */
const resolveSub = (text: string, account: string, region: string): string =>
  text
    .replaceAll('${AWS::AccountId}', account)
    .replaceAll('${AWS::Region}', region)
    .replaceAll('${AWS::Partition}', 'aws');

/** Each (effect, action, resource, condition) an IAM role's inline policies grant, one line each, sorted. */
function grantsOf(template: Template, roleId: string): string[] {
  const grants: string[] = [];
  for (const policy of asList(at(template, 'Resources', roleId, 'Properties', 'Policies'))) {
    for (const statement of asList(at(policy, 'PolicyDocument', 'Statement'))) {
      const effect = String(at(statement, 'Effect'));
      const condition = at(statement, 'Condition');
      for (const action of asList(at(statement, 'Action'))) {
        for (const resource of asList(at(statement, 'Resource'))) {
          const when = condition === undefined ? '' : ` if ${JSON.stringify(condition)}`;
          grants.push(`${effect} ${String(action)} on ${JSON.stringify(resource)}${when}`);
        }
      }
    }
  }
  return grants.sort();
}

/** The grant lines `grantsOf` gives for these actions on this resource. */
const allow = (actions: string[], resource: unknown, condition?: unknown): string[] =>
  actions.map(
    (action) =>
      `Allow ${action} on ${JSON.stringify(resource)}${condition === undefined ? '' : ` if ${JSON.stringify(condition)}`}`,
  );

const logGrants = (stage: string, functionKey: string): string[] =>
  allow(
    ['logs:CreateLogStream', 'logs:PutLogEvents'],
    sub(
      'arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:' +
        `${logGroupName(stage, functionKey)}:*`,
    ),
  );

/** The statement of a bucket policy that denies every S3 action on these resources without TLS. */
function expectDeniesInsecureTransport(policy: Record<string, unknown>, resources: unknown[]): void {
  const denials = asList(at(policy, 'PolicyDocument', 'Statement')).filter(
    (statement) =>
      at(statement, 'Effect') === 'Deny' &&
      at(statement, 'Principal') === '*' &&
      asList(at(statement, 'Action')).includes('s3:*') &&
      String(at(statement, 'Condition', 'Bool', 'aws:SecureTransport')) === 'false',
  );
  expect(
    denials,
    `a Deny s3:* statement for aws:SecureTransport false in ${JSON.stringify(policy)}`,
  ).to.have.length(1);
  expect(asList(at(denials[0], 'Resource'))).to.have.deep.members(resources);
}

function expectPrivateEncryptedBucket(properties: Record<string, unknown>): void {
  expect(properties.PublicAccessBlockConfiguration).to.deep.equal({
    BlockPublicAcls: true,
    BlockPublicPolicy: true,
    IgnorePublicAcls: true,
    RestrictPublicBuckets: true,
  });
  expect(properties.OwnershipControls).to.deep.equal({ Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] });
  const algorithms = asList(at(properties, 'BucketEncryption', 'ServerSideEncryptionConfiguration')).map(
    (rule) => at(rule, 'ServerSideEncryptionByDefault', 'SSEAlgorithm'),
  );
  expect(algorithms, 'bucket encryption').to.have.length.greaterThan(0);
  for (const algorithm of algorithms) expect(algorithm).to.be.oneOf(['AES256', 'aws:kms', 'aws:kms:dsse']);
}

for (const expected of STAGES) {
  const { stage } = expected;
  const retained = expected.uploadsDeletionPolicy !== 'Delete';
  const packaged = () => packageStage(stage);

  describe(`template: sls package --stage ${stage}`, function () {
    this.timeout(PACKAGE_TIMEOUT_MS);

    it('packages without AWS credentials and prints no warning', async () => {
      const { output } = await packaged();
      expect(output).to.match(/Service packaged/);
      expect(warningLines(output), output).to.deep.equal([]);
    });

    it('passes the CloudFormation specification check', async () => {
      const problems = validateTemplate((await packaged()).template);
      expect(problems, `problems:\n${problems.join('\n')}`).to.deep.equal([]);
    });

    it('the specification check names an unknown property, a missing required one and wrong types', async () => {
      const template = structuredClone((await packaged()).template);
      const resources = template.Resources;
      const bucket = at(resources, 'S3BucketUploads', 'Properties') as Record<string, unknown>;
      bucket.NotABucketProperty = 'x';
      const rule = at(bucket, 'OwnershipControls', 'Rules', 0) as Record<string, unknown>;
      rule.NotARuleProperty = 'x';
      delete (at(resources, 'HelloLambdaPermissionHttpApi', 'Properties') as Record<string, unknown>).Action;
      const hello = at(resources, 'HelloLambdaFunction', 'Properties') as Record<string, unknown>;
      hello.Handler = { file: 'handlers/hello.handler' };
      hello.MemorySize = 'lots';
      // CloudFormation takes numbers and booleans as strings: no problem.
      (at(resources, 'S3UploadLambdaFunction', 'Properties') as Record<string, unknown>).MemorySize = '256';
      (at(bucket, 'PublicAccessBlockConfiguration') as Record<string, unknown>).BlockPublicAcls = 'true';
      resources.Unknown = { Type: 'AWS::Nothing::Here', Properties: {} };

      const problems = validateTemplate(template);

      const expectedProblems = [
        'Resources.S3BucketUploads.Properties.NotABucketProperty: unknown property for AWS::S3::Bucket',
        'Resources.S3BucketUploads.Properties.OwnershipControls.Rules[0].NotARuleProperty: unknown property for AWS::S3::Bucket.OwnershipControlsRule',
        'Resources.HelloLambdaPermissionHttpApi.Properties.Action: required property of AWS::Lambda::Permission missing',
        'Resources.HelloLambdaFunction.Properties.Handler: expected String, got an object',
        'Resources.HelloLambdaFunction.Properties.MemorySize: expected Integer, got string "lots"',
        'Resources.Unknown.Type: AWS::Nothing::Here is not a resource type in the CloudFormation specification',
      ];
      expect(problems, `problems:\n${problems.join('\n')}`).to.have.members(expectedProblems);
    });

    it('the dependency check finds the cycle a role granting on the bucket by reference would make', async () => {
      const template = structuredClone((await packaged()).template);
      const statements = at(
        template,
        'Resources',
        'S3UploadRole',
        'Properties',
        'Policies',
        0,
        'PolicyDocument',
        'Statement',
      );
      (statements as unknown[]).push({
        Effect: 'Allow',
        Action: 's3:GetObject',
        Resource: { 'Fn::Sub': '${S3BucketUploads.Arn}/targets/*' },
      });

      const cycles = dependencyCycles(template);

      expect(cycles, 'cycles').to.have.length.greaterThan(0);
      for (const cycle of cycles) {
        expect(cycle.split(' → '), cycle).to.include.members([
          'S3BucketUploads',
          'S3UploadLambdaFunction',
          'S3UploadRole',
        ]);
      }
    });

    it('the policy check flags Allow of Action *, service:* and Resource *, not a Deny', async () => {
      const template = structuredClone((await packaged()).template);
      const statements = at(
        template,
        'Resources',
        'HelloRole',
        'Properties',
        'Policies',
        0,
        'PolicyDocument',
        'Statement',
      );
      (statements as unknown[]).push(
        { Effect: 'Allow', Action: '*', Resource: DLQ_ARN },
        { Effect: 'Allow', Action: ['s3:GetObject'], Resource: '*' },
        { Effect: 'Deny', Action: '*', Resource: '*' },
      );
      template.Resources.ExtraPolicy = {
        Type: 'AWS::IAM::Policy',
        Properties: {
          PolicyName: 'extra',
          Roles: [{ Ref: 'S3UploadRole' }],
          PolicyDocument: {
            Version: '2012-10-17',
            Statement: { Effect: 'Allow', Action: 'sqs:*', Resource: DLQ_ARN },
          },
        },
      };

      const problems = policyProblems(template);

      expect(problems, problems.join('\n')).to.have.length(3);
      expect(
        problems.filter((problem) => problem.includes('HelloRole') && /Action \*$/.test(problem)),
      ).to.have.length(1);
      expect(
        problems.filter((problem) => problem.includes('HelloRole') && /Resource \*$/.test(problem)),
      ).to.have.length(1);
      expect(
        problems.filter((problem) => problem.includes('ExtraPolicy') && /Action sqs:\*$/.test(problem)),
      ).to.have.length(1);
    });

    it('has both functions on nodejs24.x, arm64, 128 MB, each with its own role', async () => {
      const { template } = await packaged();
      expect(ofType(template, 'AWS::Lambda::Function').map(([id]) => id)).to.have.members(
        FUNCTIONS.map((fn) => fn.logicalId),
      );
      for (const fn of FUNCTIONS) {
        const properties = propertiesOf(template, fn.logicalId, 'AWS::Lambda::Function');
        expect(properties.FunctionName, fn.logicalId).to.equal(lambdaFunctionName(stage, fn.key));
        expect(properties.Runtime, fn.logicalId).to.equal('nodejs24.x');
        expect(properties.Architectures, fn.logicalId).to.deep.equal(['arm64']);
        expect(properties.MemorySize, fn.logicalId).to.equal(128);
        expect(properties.Role, fn.logicalId).to.deep.equal({ 'Fn::GetAtt': [fn.role, 'Arn'] });
        resourceOf(template, fn.role, 'AWS::IAM::Role');
      }
    });

    it(`sets NODE_OPTIONS ${expected.nodeOptions === undefined ? 'not at all' : `to "${expected.nodeOptions}"`} (source maps cost cold-start time: dev only)`, async () => {
      const { template } = await packaged();
      for (const fn of FUNCTIONS) {
        const { Environment } = propertiesOf(template, fn.logicalId, 'AWS::Lambda::Function') as {
          Environment: { Variables: Record<string, string> };
        };
        expect(Environment.Variables.NODE_OPTIONS, fn.logicalId).to.equal(expected.nodeOptions);
        expect(Object.values(Environment.Variables), `empty variables of ${fn.logicalId}`).not.to.include('');
      }
    });

    it('has no shared IamRoleLambdaExecution role', async () => {
      const { template } = await packaged();
      expect(template.Resources).not.to.have.property('IamRoleLambdaExecution');
      expect(ofType(template, 'AWS::IAM::Role').map(([id]) => id)).to.have.members(
        FUNCTIONS.map((fn) => fn.role),
      );
    });

    it('names the upload bucket after the account and region (resolved by CloudFormation), as the scripts expect', async () => {
      const { template } = await packaged();
      const bucket = propertiesOf(template, 'S3BucketUploads', 'AWS::S3::Bucket');
      expect(bucket.BucketName).to.deep.equal(sub(bucketSub(stage)));
      expect(resolveSub(bucketSub(stage), '123456789012', 'ap-northeast-1')).to.equal(
        defaultUploadBucketName(stage, '123456789012', 'ap-northeast-1'),
      );
      // The offline name (the notes' lambda-s3-test-<stage>) is for the local S3 only.
      expect(JSON.stringify(template)).not.to.include(localUploadBucketName(stage));
    });

    it('gives the bucket name and whether it is retained as stack outputs', async () => {
      const { template } = await packaged();
      expect(at(template, 'Outputs', 'UploadBucketName', 'Value')).to.deep.equal({ Ref: 'S3BucketUploads' });
      expect(at(template, 'Outputs', 'UploadBucketRetained', 'Value')).to.deep.equal({
        'Fn::If': ['RetainUploads', 'true', 'false'],
      });
      // Evaluated by CloudFormation: true exactly where the bucket is retained (prod).
      expect(at(template, 'Conditions', 'RetainUploads')).to.deep.equal({
        'Fn::Not': [{ 'Fn::Equals': [expected.uploadsDeletionPolicy, 'Delete'] }],
      });
    });

    it(`gives the settings a deploy adopts as outputs: none set by default`, async () => {
      const { template } = await packaged();
      expect(at(template, 'Outputs', 'AlarmEmail', 'Value')).to.deep.equal({
        'Fn::If': ['HasAlarmEmail', '', 'none'],
      });
      expect(at(template, 'Outputs', 'HelloReservedConcurrency', 'Value')).to.equal('none');
      expect(at(template, 'Outputs', 'S3UploadReservedConcurrency', 'Value')).to.equal('none');
      for (const fn of FUNCTIONS) {
        expect(
          propertiesOf(template, fn.logicalId, 'AWS::Lambda::Function'),
          fn.logicalId,
        ).not.to.have.property('ReservedConcurrentExecutions');
      }
    });

    it(`${retained ? 'retains the upload bucket on stack deletion (not after a failed first create) and replacement, versioned' : 'deletes the upload bucket with the stack, unversioned'}`, async () => {
      const { template } = await packaged();
      const bucket = resourceOf(template, 'S3BucketUploads', 'AWS::S3::Bucket');
      expect(bucket.DeletionPolicy).to.equal(expected.uploadsDeletionPolicy);
      expect(bucket.UpdateReplacePolicy).to.equal(expected.uploadsReplacePolicy);
      // Versioning and expiry of old versions follow the same condition.
      expect(bucket.Properties?.VersioningConfiguration).to.deep.equal({
        'Fn::If': ['RetainUploads', { Status: 'Enabled' }, { Ref: 'AWS::NoValue' }],
      });
      expect(at(bucket.Properties, 'LifecycleConfiguration', 'Rules')).to.deep.equal([
        {
          Id: 'abort-incomplete-multipart-uploads',
          Status: 'Enabled',
          AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 },
        },
        {
          'Fn::If': [
            'RetainUploads',
            {
              Id: 'expire-noncurrent-versions',
              Status: 'Enabled',
              NoncurrentVersionExpiration: { NoncurrentDays: 30 },
            },
            { Ref: 'AWS::NoValue' },
          ],
        },
      ]);
    });

    it('retains nothing but the upload bucket (the rest goes with the stack)', async () => {
      const { template } = await packaged();
      // The framework retains each function version it publishes, so that an update can roll back to it;
      // versions go when their function is deleted.
      const kept = Object.entries(template.Resources)
        .filter(([, resource]) => resource.Type !== 'AWS::Lambda::Version')
        .filter(
          ([, resource]) =>
            (resource.DeletionPolicy ?? 'Delete') !== 'Delete' ||
            (resource.UpdateReplacePolicy ?? 'Delete') !== 'Delete',
        )
        .map(([id]) => id);
      expect(kept).to.deep.equal(retained ? ['S3BucketUploads'] : []);
    });

    it('has no circular dependency, and the bucket waits for the permission its notification needs', async () => {
      const { template } = await packaged();
      expect(dependencyCycles(template)).to.deep.equal([]);
      // S3 tests the notification target when the configuration is set: the permission must exist first.
      expect(asList(resourceOf(template, 'S3BucketUploads', 'AWS::S3::Bucket').DependsOn)).to.include(
        'S3UploadLambdaPermissionUploadsS3',
      );
    });

    it('notifies s3Upload of objects created under targets/ only, and only from this account', async () => {
      const { template } = await packaged();
      const bucket = propertiesOf(template, 'S3BucketUploads', 'AWS::S3::Bucket');
      expect(at(bucket, 'NotificationConfiguration')).to.deep.equal({
        LambdaConfigurations: [
          {
            Event: 's3:ObjectCreated:*',
            Function: { 'Fn::GetAtt': ['S3UploadLambdaFunction', 'Arn'] },
            Filter: { S3Key: { Rules: [{ Name: 'prefix', Value: 'targets/' }] } },
          },
        ],
      });
      const s3Permissions = ofType(template, 'AWS::Lambda::Permission').filter(
        ([, permission]) => permission.Properties?.Principal === 's3.amazonaws.com',
      );
      expect(s3Permissions).to.have.length(1);
      expect(s3Permissions[0]?.[1].Properties).to.deep.include({
        FunctionName: { 'Fn::GetAtt': ['S3UploadLambdaFunction', 'Arn'] },
        Action: 'lambda:InvokeFunction',
        SourceAccount: { Ref: 'AWS::AccountId' },
        SourceArn: sub(`arn:\${AWS::Partition}:s3:::${bucketSub(stage)}`),
      });
    });

    it('keeps the upload bucket private, owner-enforced and encrypted', async () => {
      const { template } = await packaged();
      expectPrivateEncryptedBucket(propertiesOf(template, 'S3BucketUploads', 'AWS::S3::Bucket'));
    });

    it('denies non-TLS access to the upload bucket and its objects', async () => {
      const { template } = await packaged();
      const policy = propertiesOf(template, 'UploadBucketPolicy', 'AWS::S3::BucketPolicy');
      expect(policy.Bucket).to.deep.equal({ Ref: 'S3BucketUploads' });
      const bucket = bucketSub(stage);
      expectDeniesInsecureTransport(policy, [
        sub(`arn:\${AWS::Partition}:s3:::${bucket}`),
        sub(`arn:\${AWS::Partition}:s3:::${bucket}/*`),
      ]);
    });

    it('keeps the deployment bucket private, owner-enforced and encrypted', async () => {
      const { template } = await packaged();
      expectPrivateEncryptedBucket(propertiesOf(template, 'ServerlessDeploymentBucket', 'AWS::S3::Bucket'));
    });

    it('denies non-TLS access to the deployment bucket and its objects', async () => {
      const { template } = await packaged();
      const policies = ofType(template, 'AWS::S3::BucketPolicy').filter(([, policy]) =>
        isDeepStrictEqual(policy.Properties?.Bucket, { Ref: 'ServerlessDeploymentBucket' }),
      );
      expect(policies).to.have.length(1);
      const arn = (...suffix: string[]) => ({
        'Fn::Join': [
          '',
          ['arn:', { Ref: 'AWS::Partition' }, ':s3:::', { Ref: 'ServerlessDeploymentBucket' }, ...suffix],
        ],
      });
      expectDeniesInsecureTransport(policies[0]?.[1].Properties ?? {}, [arn(), arn('/*')]);
    });

    it(`schedules hello with ${expected.scheduleExpression}, ${expected.scheduleState}`, async () => {
      const { template } = await packaged();
      const rule = propertiesOf(template, 'HelloEventsRuleSchedule1', 'AWS::Events::Rule');
      expect(rule.ScheduleExpression).to.equal(expected.scheduleExpression);
      expect(rule.State).to.equal(expected.scheduleState);
      expect(asList(rule.Targets).map((target) => at(target, 'Arn'))).to.deep.equal([
        { 'Fn::GetAtt': ['HelloLambdaFunction', 'Arn'] },
      ]);
      const permissions = ofType(template, 'AWS::Lambda::Permission').filter(([, permission]) =>
        isDeepStrictEqual(permission.Properties?.SourceArn, {
          'Fn::GetAtt': ['HelloEventsRuleSchedule1', 'Arn'],
        }),
      );
      expect(permissions.map(([, permission]) => permission.Properties)).to.deep.equal([
        {
          FunctionName: { 'Fn::GetAtt': ['HelloLambdaFunction', 'Arn'] },
          Action: 'lambda:InvokeFunction',
          Principal: 'events.amazonaws.com',
          SourceArn: { 'Fn::GetAtt': ['HelloEventsRuleSchedule1', 'Arn'] },
        },
      ]);
    });

    it(`retries async events twice for up to ${expected.maximumEventAge} s, then sends them to the DLQ`, async () => {
      const { template } = await packaged();
      const configs = ofType(template, 'AWS::Lambda::EventInvokeConfig').map(
        ([, config]) => config.Properties,
      );
      expect(configs).to.have.deep.members(
        FUNCTIONS.map((fn) => ({
          FunctionName: { Ref: fn.logicalId },
          Qualifier: '$LATEST',
          MaximumRetryAttempts: 2,
          MaximumEventAgeInSeconds: expected.maximumEventAge,
          DestinationConfig: { OnFailure: { Destination: DLQ_ARN } },
        })),
      );
    });

    it('has the dead-letter queue the scripts read, kept 14 days and encrypted', async () => {
      const { template } = await packaged();
      const queue = propertiesOf(template, 'DeadLetterQueue', 'AWS::SQS::Queue');
      expect(queue.QueueName).to.equal(`lambda-notes-${stage}-dlq`);
      expect(queue.QueueName).to.equal(deadLetterQueueName(stage));
      expect(queue.MessageRetentionPeriod).to.equal(1209600);
      expect(queue.SqsManagedSseEnabled).to.equal(true);
    });

    it('lets hello write its own logs and send to the DLQ, nothing else', async () => {
      const { template } = await packaged();
      expect(grantsOf(template, 'HelloRole')).to.deep.equal(
        [...logGrants(stage, 'hello'), ...allow(['sqs:SendMessage'], DLQ_ARN)].sort(),
      );
    });

    it('lets s3Upload write its own logs, read targets/ of its bucket and send to the DLQ, nothing else', async () => {
      const { template } = await packaged();
      const bucket = bucketSub(stage);
      expect(grantsOf(template, 'S3UploadRole')).to.deep.equal(
        [
          ...logGrants(stage, 's3Upload'),
          ...allow(['s3:GetObject'], sub(`arn:\${AWS::Partition}:s3:::${bucket}/targets/*`)),
          ...allow(['sqs:SendMessage'], DLQ_ARN),
        ].sort(),
      );
    });

    it('grants IAM only through the two roles, assumable by Lambda alone', async () => {
      const { template } = await packaged();
      const iam = Object.entries(template.Resources).filter(([, resource]) =>
        resource.Type.startsWith('AWS::IAM::'),
      );
      expect(iam.map(([id]) => id)).to.have.members(FUNCTIONS.map((fn) => fn.role));
      for (const [id, role] of iam) {
        expect(role.Properties, id).not.to.have.any.keys('ManagedPolicyArns', 'PermissionsBoundary');
        expect(at(role.Properties, 'AssumeRolePolicyDocument', 'Statement'), id).to.deep.equal([
          { Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' },
        ]);
      }
    });

    it('has no wildcard action or resource in any identity policy', async () => {
      const problems = policyProblems((await packaged()).template);
      expect(problems, problems.join('\n')).to.deep.equal([]);
    });

    it(`keeps each function's logs and the HTTP access log ${expected.logRetentionDays} days`, async () => {
      const { template } = await packaged();
      expect(ofType(template, 'AWS::Logs::LogGroup').map(([id]) => id)).to.have.members([
        ...FUNCTIONS.map((fn) => fn.logGroup),
        'HttpApiLogGroup',
      ]);
      expect(propertiesOf(template, 'HttpApiLogGroup', 'AWS::Logs::LogGroup')).to.deep.equal({
        // Under /aws/vendedlogs/: no growth of the account's CloudWatch Logs resource policy.
        LogGroupName: `/aws/vendedlogs/http-api/lambda-notes-${stage}`,
        RetentionInDays: expected.logRetentionDays,
      });
      for (const fn of FUNCTIONS) {
        expect(propertiesOf(template, fn.logGroup, 'AWS::Logs::LogGroup'), fn.logGroup).to.deep.equal({
          LogGroupName: logGroupName(stage, fn.key),
          RetentionInDays: expected.logRetentionDays,
        });
      }
    });

    it('alarms on lost async events (DestinationDeliveryFailures) and throttles of each function', async () => {
      const { template } = await packaged();
      const alarms = ofType(template, 'AWS::CloudWatch::Alarm').map(([, alarm]) => alarm.Properties ?? {});
      for (const fn of FUNCTIONS) {
        for (const metric of ['DestinationDeliveryFailures', 'Throttles']) {
          const matching = alarms.filter(
            (alarm) =>
              alarm.Namespace === 'AWS/Lambda' &&
              alarm.MetricName === metric &&
              isDeepStrictEqual(alarm.Dimensions, [{ Name: 'FunctionName', Value: { Ref: fn.logicalId } }]),
          );
          expect(matching, `${metric} alarm of ${fn.logicalId}`).to.have.length(1);
          expect(matching[0], `${metric} alarm of ${fn.logicalId}`).to.deep.include({
            Statistic: 'Sum',
            Threshold: 0,
            ComparisonOperator: 'GreaterThanThreshold',
            TreatMissingData: 'notBreaching',
            AlarmActions: [ALARM_TOPIC],
          });
        }
      }
    });

    it('pages a failed direct call of hello (its Errors), and no alarm counts an event the DLQ alarm reports', async () => {
      // Errors counts each attempt of an async event too, and AsyncEventsDropped the events sent to the on-failure
      // destination: https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html. hello's async
      // source (the schedule) runs no code that can throw; s3Upload's only source is S3.
      const { template } = await packaged();
      const lambdaAlarms = ofType(template, 'AWS::CloudWatch::Alarm')
        .map(([, alarm]) => alarm.Properties ?? {})
        .filter((alarm) => alarm.Namespace === 'AWS/Lambda');
      expect(lambdaAlarms.map((alarm) => alarm.MetricName)).not.to.include('AsyncEventsDropped');
      const errors = lambdaAlarms.filter((alarm) => alarm.MetricName === 'Errors');
      expect(errors).to.have.length(1);
      expect(errors[0]).to.deep.include({
        AlarmName: `lambda-notes-${stage}-hello-errors`,
        Dimensions: [{ Name: 'FunctionName', Value: { Ref: 'HelloLambdaFunction' } }],
        Statistic: 'Sum',
        Period: 300,
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
        TreatMissingData: 'notBreaching',
        AlarmActions: [ALARM_TOPIC],
      });
      expect(errors[0]).not.to.have.property('OKActions');
    });

    it('alarms when a caller of the HTTP API gets a server error', async () => {
      const { template } = await packaged();
      const alarms = ofType(template, 'AWS::CloudWatch::Alarm')
        .map(([, alarm]) => alarm.Properties ?? {})
        .filter((alarm) => alarm.Namespace === 'AWS/ApiGateway');
      expect(alarms).to.have.length(1);
      expect(alarms[0]).to.deep.include({
        MetricName: '5xx',
        Dimensions: [{ Name: 'ApiId', Value: { Ref: 'HttpApi' } }],
        Statistic: 'Sum',
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
        AlarmActions: [ALARM_TOPIC],
      });
    });

    it('alarms while the dead-letter queue holds a message, idle queue included', async () => {
      const { template } = await packaged();
      const alarms = ofType(template, 'AWS::CloudWatch::Alarm')
        .map(([, alarm]) => alarm.Properties ?? {})
        .filter((alarm) => alarm.Namespace === 'AWS/SQS');
      expect(alarms).to.have.length(1);
      expect(alarms[0]).to.deep.include({
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': ['DeadLetterQueue', 'QueueName'] } }],
        Statistic: 'Maximum',
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
        AlarmActions: [ALARM_TOPIC],
        OKActions: [ALARM_TOPIC],
      });
      // SQS sends no metrics for a queue untouched for six hours: "ignore" keeps ALARM while a message
      // waits, where notBreaching would turn it OK. Sources:
      // https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-available-cloudwatch-metrics.html
      // https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html#alarms-and-missing-data
      expect(alarms[0]?.TreatMissingData).to.equal('ignore');
    });

    it('sends every alarm to the encrypted AlarmTopic, and OK only from the DLQ alarm', async () => {
      const { template } = await packaged();
      const alarms = ofType(template, 'AWS::CloudWatch::Alarm');
      expect(alarms).to.have.length(7);
      for (const [id, alarm] of alarms)
        expect(alarm.Properties?.AlarmActions, id).to.deep.equal([ALARM_TOPIC]);
      expect(
        alarms.filter(([, alarm]) => alarm.Properties?.OKActions !== undefined).map(([id]) => id),
      ).to.deep.equal(['DeadLetterQueueAlarm']);
      expect(propertiesOf(template, 'AlarmTopic', 'AWS::SNS::Topic').KmsMasterKeyId).to.deep.equal({
        Ref: 'AlarmTopicKey',
      });
    });

    it('encrypts the AlarmTopic with a rotated key of its own that CloudWatch may use (not the AWS-managed SNS key)', async () => {
      const { template } = await packaged();
      const key = propertiesOf(template, 'AlarmTopicKey', 'AWS::KMS::Key');
      expect(key.EnableKeyRotation).to.equal(true);
      const statements = (key.KeyPolicy as { Statement: Array<{ Principal: unknown; Action: unknown }> })
        .Statement;
      expect(statements).to.deep.include.members([
        {
          Sid: 'CloudWatchAlarmsPublish',
          Effect: 'Allow',
          Principal: { Service: 'cloudwatch.amazonaws.com' },
          Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          Resource: '*',
          Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
        },
      ]);
    });

    it('throttles the public HTTP API stage and keeps an access log', async () => {
      const { template } = await packaged();
      const stageProps = propertiesOf(template, 'HttpApiStage', 'AWS::ApiGatewayV2::Stage');
      expect(stageProps.DefaultRouteSettings).to.deep.equal({
        ThrottlingBurstLimit: 20,
        ThrottlingRateLimit: 10,
      });
      expect(stageProps.AccessLogSettings)
        .to.have.property('DestinationArn')
        .that.deep.equals({
          'Fn::GetAtt': ['HttpApiLogGroup', 'Arn'],
        });
    });

    it('subscribes no e-mail to the alarms unless alarmEmail is given', async () => {
      const { template } = await packaged();
      const subscription = resourceOf(template, 'AlarmEmailSubscription', 'AWS::SNS::Subscription');
      expect(subscription.Condition).to.equal('HasAlarmEmail');
      expect(subscription.Properties).to.deep.include({ TopicArn: ALARM_TOPIC, Protocol: 'email' });
      expect(at(template, 'Conditions', 'HasAlarmEmail')).to.deep.equal({
        'Fn::Not': [{ 'Fn::Equals': ['', ''] }],
      });
    });

    it('packages each function in its own zip, hello smaller than s3Upload', async () => {
      const { template, artifacts } = await packaged();
      expect(artifacts).to.have.all.keys('hello.zip', 's3Upload.zip');
      for (const fn of FUNCTIONS) {
        expect(at(template, 'Resources', fn.logicalId, 'Properties', 'Code', 'S3Key')).to.match(
          new RegExp(`/${fn.key}\\.zip$`),
        );
      }
      expect(artifacts['hello.zip']).to.be.greaterThan(0);
      expect(artifacts['hello.zip']).to.be.lessThan(artifacts['s3Upload.zip'] ?? 0);
    });
  });
}

describe(`template: sls package --stage dev ${Object.entries(OVERRIDES)
  .map(([name, value]) => `--param=${name}=${value}`)
  .join(' ')}`, function () {
  this.timeout(PACKAGE_TIMEOUT_MS);
  const packaged = () => packageStage('dev', OVERRIDES);

  it('packages without AWS credentials, prints no warning and passes the specification check', async () => {
    const { output, template } = await packaged();
    expect(warningLines(output), output).to.deep.equal([]);
    const problems = validateTemplate(template);
    expect(problems, problems.join('\n')).to.deep.equal([]);
  });

  it('names the upload bucket after uploadBucket, and its policy, permission, role and output follow', async () => {
    const { template } = await packaged();
    expect(propertiesOf(template, 'S3BucketUploads', 'AWS::S3::Bucket').BucketName).to.deep.equal(
      sub('my-bucket-dev'),
    );
    const text = JSON.stringify(template);
    expect(text).not.to.include(bucketSub('dev'));
    expect(text).not.to.include(localUploadBucketName('dev'));
    expect(grantsOf(template, 'S3UploadRole')).to.include.members(
      allow(['s3:GetObject'], sub('arn:${AWS::Partition}:s3:::my-bucket-dev/targets/*')),
    );
    expect(
      asList(
        at(
          template,
          'Resources',
          'UploadBucketPolicy',
          'Properties',
          'PolicyDocument',
          'Statement',
          0,
          'Resource',
        ),
      ),
    ).to.deep.equal([
      sub('arn:${AWS::Partition}:s3:::my-bucket-dev'),
      sub('arn:${AWS::Partition}:s3:::my-bucket-dev/*'),
    ]);
    expect(
      at(template, 'Resources', 'S3UploadLambdaPermissionUploadsS3', 'Properties', 'SourceArn'),
    ).to.deep.equal(sub('arn:${AWS::Partition}:s3:::my-bucket-dev'));
    expect(at(template, 'Outputs', 'UploadBucketName', 'Value')).to.deep.equal({ Ref: 'S3BucketUploads' });
    expect(dependencyCycles(template)).to.deep.equal([]);
  });

  it('reserves helloReservedConcurrency for hello only, and says so in an output', async () => {
    const { template } = await packaged();
    expect(
      propertiesOf(template, 'HelloLambdaFunction', 'AWS::Lambda::Function').ReservedConcurrentExecutions,
    ).to.equal(2);
    expect(propertiesOf(template, 'S3UploadLambdaFunction', 'AWS::Lambda::Function')).not.to.have.property(
      'ReservedConcurrentExecutions',
    );
    expect(at(template, 'Outputs', 'HelloReservedConcurrency', 'Value')).to.equal('2');
    expect(at(template, 'Outputs', 'S3UploadReservedConcurrency', 'Value')).to.equal('none');
  });

  it('subscribes the alarmEmail address to the alarms', async () => {
    const { template } = await packaged();
    expect(at(template, 'Conditions', 'HasAlarmEmail')).to.deep.equal({
      'Fn::Not': [{ 'Fn::Equals': ['a@example.com', ''] }],
    });
    const subscription = resourceOf(template, 'AlarmEmailSubscription', 'AWS::SNS::Subscription');
    expect(subscription.Condition).to.equal('HasAlarmEmail');
    expect(subscription.Properties).to.deep.include({
      TopicArn: ALARM_TOPIC,
      Protocol: 'email',
      Endpoint: 'a@example.com',
    });
  });
});

describe('template: the settings npm run deploy keeps in stages/dev.json', function () {
  this.timeout(PACKAGE_TIMEOUT_MS);

  it('a later package without flags reads them: the same template as with the --param flags', async () => {
    const withFlags = await packageStage('dev', OVERRIDES);
    const fromFile = await packageStage('dev', {}, KEPT_SETTINGS);
    expect(warningLines(fromFile.output), fromFile.output).to.deep.equal([]);
    expect(comparable(fromFile.template)).to.deep.equal(comparable(withFlags.template));
  });

  it('gives the alarm e-mail to the subscription and to the output a checkout without the file adopts', async () => {
    const { template } = await packageStage('dev', {}, KEPT_SETTINGS);
    expect(at(template, 'Resources', 'AlarmEmailSubscription', 'Properties', 'Endpoint')).to.equal(
      'a@example.com',
    );
    expect(at(template, 'Outputs', 'AlarmEmail', 'Value')).to.deep.equal({
      'Fn::If': ['HasAlarmEmail', 'a@example.com', 'none'],
    });
  });

  it('a --param still wins over the file, and the kept region is used', async () => {
    const { template, output } = await packageStage(
      'dev',
      { alarmEmail: 'flag@example.com' },
      { ...KEPT_SETTINGS, region: 'eu-west-1' },
    );
    expect(output).to.match(/stage dev \(eu-west-1\)/);
    expect(at(template, 'Resources', 'AlarmEmailSubscription', 'Properties', 'Endpoint')).to.equal(
      'flag@example.com',
    );
    expect(propertiesOf(template, 'S3BucketUploads', 'AWS::S3::Bucket').BucketName).to.deep.equal(
      sub('my-bucket-dev'),
    );
  });
});

describe('template: the check every deploy passes (scripts/kept-settings.ts), on the packaged templates', function () {
  this.timeout(PACKAGE_TIMEOUT_MS);
  const where = { account: ACCOUNT, region: REGION, partition: 'aws' };
  /** The stack as a deploy with OVERRIDES left it: its outputs say so. */
  const deployedWithSettings = describedStack('dev', {
    UploadBucketName: OVERRIDES.uploadBucket,
    UploadBucketRetained: 'false',
    AlarmEmail: OVERRIDES.alarmEmail,
    HelloReservedConcurrency: OVERRIDES.helloReservedConcurrency,
    S3UploadReservedConcurrency: 'none',
  });
  let cloudFormation: ReturnType<typeof mockClient>;
  before(() => {
    cloudFormation = mockClient(CloudFormationClient);
  });
  after(() => cloudFormation.restore());
  afterEach(() => cloudFormation.reset());

  const check = (template: Template) =>
    checkKeptSettings({
      cloudFormation: new CloudFormationClient({ region: REGION }),
      stage: 'dev',
      region: REGION,
      template,
      named: new Set(),
    });

  it("reads what the stack's outputs will say from the template: the defaults", async () => {
    const { template } = await packageStage('dev');
    expect(settingsInTemplate(template, where)).to.deep.equal({
      uploadBucket: defaultUploadBucketName('dev', ACCOUNT, REGION),
      alarmEmail: 'none',
      helloReservedConcurrency: 'none',
      s3UploadReservedConcurrency: 'none',
    });
  });

  it('… and the settings a deploy was given', async () => {
    const { template } = await packageStage('dev', OVERRIDES);
    expect(settingsInTemplate(template, where)).to.deep.equal({
      ...OVERRIDES,
      s3UploadReservedConcurrency: 'none',
    });
  });

  it('stops the template of a checkout without stages/dev.json over the stack deployed with settings, naming each', async () => {
    cloudFormation.on(DescribeStacksCommand).resolves(deployedWithSettings);
    const { template } = await packageStage('dev');
    const error = await rejection(check(template));
    expect(error).to.be.instanceOf(UsageError);
    expect((error as Error).message).to.include(
      `uploadBucket my-bucket-dev → ${defaultUploadBucketName('dev', ACCOUNT, REGION)}, alarmEmail a@example.com → none, helloReservedConcurrency 2 → none`,
    );
  });

  it('lets the template of a checkout with the file through, and the one made with the flags', async () => {
    cloudFormation.on(DescribeStacksCommand).resolves(deployedWithSettings);
    await check((await packageStage('dev', {}, KEPT_SETTINGS)).template);
    await check((await packageStage('dev', OVERRIDES)).template);
  });
});
