/**
 * The framework's AWS commands the README names (deploy, invoke -f, logs, metrics, remove) still reach AWS,
 * signed: each is pointed at a local endpoint that records what it is asked and refuses it as AWS refuses an
 * unknown key. No AWS account is involved; the point is which API each command calls, in which region.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { access, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { expect } from 'chai';
import { PROJECT_DIR, SERVERLESS_BIN } from '../helpers/offline-stack';

interface RecordedCall {
  /** The service in the SigV4 credential scope, e.g. `cloudformation`. */
  service: string;
  region: string;
  /** Query Action, JSON X-Amz-Target operation, or the REST path. */
  operation: string;
}

/** Answers every request as AWS answers a key it does not know (STS's query-protocol error document). */
function startRecorder(calls: RecordedCall[]): Promise<Server> {
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      const scope = /Credential=[^/]+\/\d{8}\/([^/]+)\/([^/]+)\/aws4_request/.exec(
        request.headers.authorization ?? '',
      );
      const target = request.headers['x-amz-target'];
      const operation =
        (typeof target === 'string' ? target.split('.').pop() : undefined) ??
        new URLSearchParams(body).get('Action') ??
        `${request.method} ${request.url}`;
      calls.push({ region: scope?.[1] ?? 'unsigned', service: scope?.[2] ?? 'unsigned', operation });
      response.writeHead(403, { 'content-type': 'text/xml', 'x-amzn-requestid': 'recorder' });
      response.end(
        '<ErrorResponse><Error><Type>Sender</Type><Code>InvalidClientTokenId</Code>' +
          '<Message>The security token included in the request is invalid.</Message></Error></ErrorResponse>',
      );
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

function sls(
  args: string[],
  endpoint: string,
  workFolder: string,
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SERVERLESS_BIN, ...args], {
      cwd: PROJECT_DIR,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
        AWS_SECRET_ACCESS_KEY: 'not-a-real-secret',
        AWS_ENDPOINT_URL: endpoint,
        AWS_EC2_METADATA_DISABLED: 'true',
        AWS_SHARED_CREDENTIALS_FILE: join(PROJECT_DIR, 'no-such-credentials-file'),
        AWS_CONFIG_FILE: join(PROJECT_DIR, 'no-such-config-file'),
        ESBUILD_WORK_FOLDER: workFolder,
        SLS_TELEMETRY_DISABLED: '1',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

const COMMANDS: Array<{ args: string[]; reaches: Omit<RecordedCall, 'region'> }> = [
  { args: ['deploy'], reaches: { service: 'sts', operation: 'GetCallerIdentity' } },
  {
    args: ['invoke', '-f', 'hello', '--path', 'events/hello.json'],
    reaches: {
      service: 'lambda',
      operation: 'POST /2015-03-31/functions/lambda-notes-awscheck-hello/invocations',
    },
  },
  { args: ['logs', '-f', 'hello'], reaches: { service: 'logs', operation: 'DescribeLogStreams' } },
  { args: ['metrics'], reaches: { service: 'monitoring', operation: 'GetMetricStatistics' } },
  { args: ['remove'], reaches: { service: 'cloudformation', operation: 'DescribeStacks' } },
];

describe('sls commands that talk to AWS (deploy, invoke, logs, metrics, remove)', function () {
  this.timeout(120_000);
  const workFolder = `.esbuild-awscheck-${randomBytes(6).toString('hex')}`;
  let server: Server;
  let endpoint: string;
  const calls: RecordedCall[] = [];
  const stateFolder = join(PROJECT_DIR, '.serverless');
  let hadStateFolder = true;

  before(async () => {
    hadStateFolder = await access(stateFolder).then(
      () => true,
      () => false,
    );
    server = await startRecorder(calls);
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    server?.close();
    await rm(join(PROJECT_DIR, workFolder), { recursive: true, force: true });
    // What deploy wrote there for this fake stage; a folder of the user's own is left alone.
    if (!hadStateFolder) await rm(stateFolder, { recursive: true, force: true });
  });

  for (const { args, reaches } of COMMANDS) {
    it(`sls ${args[0]} calls ${reaches.service} ${reaches.operation}, signed for ap-northeast-1, and reports the refusal`, async () => {
      calls.length = 0;
      const { code, output } = await sls([...args, '--stage', 'awscheck'], endpoint, workFolder);
      expect(calls, output).to.deep.include({ ...reaches, region: 'ap-northeast-1' });
      expect(code, output).to.not.equal(0);
      expect(output).to.not.match(/^\s+at /m);
    });
  }
});
