/**
 * A local endpoint for the AWS calls of `sls deploy`, `sls remove` and the project's scripts (all pointed at it
 * with AWS_ENDPOINT_URL): it records every call (service and region from the SigV4 scope, operation) and answers
 * as AWS does for one CloudFormation stack — DescribeStacks, DescribeStackResource, DeleteStack, then
 * DescribeStackEvents for a deleted stack — and its deployment bucket (there, and empty), plus STS
 * GetCallerIdentity and ECR's "no such repository". Anything
 * else is refused as AWS refuses an unknown key (403 InvalidClientTokenId), so a command that goes further than
 * a test expects fails loudly instead of reaching AWS.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { PROJECT_DIR } from '../../support/offline-stack';

export interface RecordedCall {
  /** The service in the SigV4 credential scope, e.g. `cloudformation`. */
  service: string;
  region: string;
  /** Query Action, JSON X-Amz-Target operation, or the REST method and path. */
  operation: string;
}

export interface FakeStack {
  name: string;
  status: string;
  outputs: Record<string, string>;
  /** Physical ids of the stack's resources, by logical id. */
  resources: Record<string, string>;
}

export const FAKE_ACCOUNT = '123456789012';

const escapeXml = (text: string): string => text.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);

function queryResponse(action: string, result: string): string {
  return `<${action}Response><${action}Result>${result}</${action}Result><ResponseMetadata><RequestId>fake</RequestId></ResponseMetadata></${action}Response>`;
}

function queryError(response: ServerResponse, status: number, code: string, message: string): void {
  response.writeHead(status, { 'content-type': 'text/xml', 'x-amzn-requestid': 'fake' });
  response.end(
    `<ErrorResponse><Error><Type>Sender</Type><Code>${code}</Code><Message>${escapeXml(message)}</Message></Error><RequestId>fake</RequestId></ErrorResponse>`,
  );
}

export class FakeAws {
  readonly calls: RecordedCall[] = [];

  private constructor(
    private readonly server: Server,
    /** The one stack there is; undefined: none (or deleted). `answer: false` refuses every call. */
    public stack: FakeStack | undefined,
    private readonly answer: boolean,
  ) {}

  /** Starts on a free port of 127.0.0.1; `answer: false` records and refuses every call. */
  static async start(stack: FakeStack | undefined, { answer = true } = {}): Promise<FakeAws> {
    const server = createServer();
    const fake = new FakeAws(server, stack, answer);
    server.on('request', (request: IncomingMessage, response: ServerResponse) =>
      fake.handle(request, response),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return fake;
  }

  get endpoint(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** The operations called on one service, in order. */
  operations(service: string): string[] {
    return this.calls.filter((call) => call.service === service).map((call) => call.operation);
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.closeAllConnections();
      this.server.close(() => resolve());
    });
  }

  private handle(request: IncomingMessage, response: ServerResponse): void {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      const scope = /Credential=[^/]+\/\d{8}\/([^/]+)\/([^/]+)\/aws4_request/.exec(
        request.headers.authorization ?? '',
      );
      const target = request.headers['x-amz-target'];
      const form = new URLSearchParams(body);
      const operation =
        (typeof target === 'string' ? target.split('.').pop() : undefined) ??
        form.get('Action') ??
        `${request.method} ${request.url}`;
      const call = { region: scope?.[1] ?? 'unsigned', service: scope?.[2] ?? 'unsigned', operation };
      this.calls.push(call);
      if (!this.answer || !this.answerCall(call, form, response)) {
        queryError(
          response,
          403,
          'InvalidClientTokenId',
          'The security token included in the request is invalid.',
        );
      }
    });
  }

  /** Answers the calls it knows; false for any other. */
  private answerCall(call: RecordedCall, form: URLSearchParams, response: ServerResponse): boolean {
    const reply = (xml: string): void => {
      response.writeHead(200, { 'content-type': 'text/xml', 'x-amzn-requestid': 'fake' });
      response.end(xml);
    };
    const stack = this.stack;
    const stackId = (name: string): string =>
      `arn:aws:cloudformation:${call.region}:${FAKE_ACCOUNT}:stack/${name}/0f2b7c30-cb1e-11f0-8de9-0a1b2c3d4e5f`;
    const named = form.get('StackName');
    const isOurs = stack !== undefined && (named === stack.name || named === stackId(stack.name));
    const missingStack = (): void =>
      queryError(response, 400, 'ValidationError', `Stack with id ${named} does not exist`);

    switch (`${call.service} ${call.operation}`) {
      case 'sts GetCallerIdentity':
        reply(
          queryResponse(
            'GetCallerIdentity',
            `<Arn>arn:aws:iam::${FAKE_ACCOUNT}:user/test</Arn><UserId>AIDATEST</UserId><Account>${FAKE_ACCOUNT}</Account>`,
          ),
        );
        return true;
      case 'ecr DescribeRepositories':
        response.writeHead(400, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': 'fake' });
        response.end(
          JSON.stringify({ __type: 'RepositoryNotFoundException', message: 'The repository does not exist' }),
        );
        return true;
      case 'cloudformation DescribeStacks': {
        if (!isOurs) return (missingStack(), true);
        const outputs = Object.entries(stack.outputs)
          .map(
            ([key, value]) =>
              `<member><OutputKey>${key}</OutputKey><OutputValue>${escapeXml(value)}</OutputValue></member>`,
          )
          .join('');
        reply(
          queryResponse(
            'DescribeStacks',
            `<Stacks><member><StackName>${stack.name}</StackName><StackId>${stackId(stack.name)}</StackId><StackStatus>${stack.status}</StackStatus><CreationTime>2026-11-01T00:00:00Z</CreationTime><Outputs>${outputs}</Outputs></member></Stacks>`,
          ),
        );
        return true;
      }
      case 'cloudformation DescribeStackResource': {
        if (!isOurs) return (missingStack(), true);
        const logicalId = form.get('LogicalResourceId') ?? '';
        const physicalId = stack.resources[logicalId];
        if (physicalId === undefined) {
          queryError(
            response,
            400,
            'ValidationError',
            `Resource ${logicalId} does not exist for stack ${stack.name}`,
          );
          return true;
        }
        reply(
          queryResponse(
            'DescribeStackResource',
            `<StackResourceDetail><StackName>${stack.name}</StackName><StackId>${stackId(stack.name)}</StackId><LogicalResourceId>${logicalId}</LogicalResourceId><PhysicalResourceId>${physicalId}</PhysicalResourceId><ResourceType>AWS::S3::Bucket</ResourceType><LastUpdatedTimestamp>2026-11-01T00:00:00Z</LastUpdatedTimestamp><ResourceStatus>CREATE_COMPLETE</ResourceStatus></StackResourceDetail>`,
          ),
        );
        return true;
      }
      case 'cloudformation DeleteStack':
        if (isOurs) this.stack = undefined;
        reply(
          '<DeleteStackResponse><ResponseMetadata><RequestId>fake</RequestId></ResponseMetadata></DeleteStackResponse>',
        );
        return true;
      case 'cloudformation DescribeStackEvents':
        // Asked while waiting for a deletion: a stack that is gone "does not exist", which ends the wait.
        if (isOurs) return false;
        missingStack();
        return true;
      default:
        return this.answerS3(call, response);
    }
  }

  /** S3, path-style: the stack's deployment bucket exists and is empty (what `sls remove` empties first). */
  private answerS3(call: RecordedCall, response: ServerResponse): boolean {
    const bucket = this.stack?.resources.ServerlessDeploymentBucket;
    if (call.service !== 's3' || bucket === undefined) return false;
    const [method, path = ''] = call.operation.split(' ');
    const [name, query = ''] = path.slice(1).split('?');
    if (name?.replace(/\/$/, '') !== bucket) return false;
    if (method === 'HEAD' && query === '') {
      response.writeHead(200, { 'x-amz-bucket-region': call.region });
      response.end();
      return true;
    }
    if (method === 'GET' && new URLSearchParams(query).get('list-type') === '2') {
      response.writeHead(200, { 'content-type': 'application/xml' });
      response.end(
        `<ListBucketResult><Name>${bucket}</Name><KeyCount>0</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated></ListBucketResult>`,
      );
      return true;
    }
    return false;
  }
}

/**
 * The environment of a command that must reach this endpoint and nothing else: signed with made-up keys, no
 * profile, no instance metadata, the framework's stack polling quick.
 */
export function fakeAwsEnv(endpoint: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
    AWS_SECRET_ACCESS_KEY: 'not-a-real-secret',
    AWS_ENDPOINT_URL: endpoint,
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_SHARED_CREDENTIALS_FILE: join(PROJECT_DIR, 'no-such-credentials-file'),
    AWS_CONFIG_FILE: join(PROJECT_DIR, 'no-such-config-file'),
    SLS_TELEMETRY_DISABLED: '1',
    SLS_AWS_MONITORING_FREQUENCY: '50',
    ...extra,
  };
}
