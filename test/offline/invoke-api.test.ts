/**
 * The Lambda endpoint with real clients: the AWS CLI (`aws lambda invoke --endpoint-url`, as the README shows it)
 * and the SDK; multipart uploads (`aws s3 cp` of 9 MB, and the SDK's three calls) reaching s3Upload; and a throttled
 * first call that used to crash the whole stack once serverless-offline's idle-runner cleaner came round.
 * Where `aws` is not installed the CLI cases are reported as skipped, and their SDK twins prove the same.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { InvokeCommand, InvokeWithResponseStreamCommand, LogType } from '@aws-sdk/client-lambda';
import { expect } from 'chai';
import { BUCKET, OfflineStack, PROJECT_DIR } from '../../support/offline-stack';
import { waitFor } from '../../support/wait';
import { itWithAwsCli } from '../helpers/aws-cli';

const run = promisify(execFile);
const HELLO = 'lambda-notes-dev-hello';
const HELLO_ARN = `arn:aws:lambda:ap-northeast-1:000000000000:function:${HELLO}`;
const CLI_ENV = {
  ...process.env,
  AWS_ACCESS_KEY_ID: 'x',
  AWS_SECRET_ACCESS_KEY: 'x',
  AWS_DEFAULT_REGION: 'ap-northeast-1',
  AWS_PAGER: '',
};

/** The SDK cases that prove what a CLI case proves, also where the CLI is not installed. */
const SDK_DRY_RUN = 'SDK: InvocationType DryRun answers StatusCode 204 and runs nothing';
const SDK_EVENT =
  'SDK: an Event invoke runs under the request id of its 202 (context.awsRequestId, START … REPORT)';
const SDK_TAIL_BY_ARN = 'SDK: LogType Tail by full ARN with :$LATEST gives LogResult and ExecutedVersion';
const SDK_NOT_JSON =
  'SDK: a payload that is not JSON is refused at once with InvalidRequestContentException (one attempt)';
const SDK_STREAM =
  'SDK: InvokeWithResponseStream of hello (a function that does not stream): its JSON as one PayloadChunk, then InvokeComplete with LogResult';
const SDK_MULTIPART =
  'SDK: CreateMultipartUpload, UploadPart ×2, CompleteMultipartUpload: the multipart ETag, and s3Upload runs';

function decodedLog(logResult: string | undefined): string[] {
  return Buffer.from(logResult ?? '', 'base64')
    .toString('utf8')
    .split('\n');
}

describe('offline Lambda endpoint with real clients', function () {
  this.timeout(120_000);
  let stack: OfflineStack;
  let scratch: string;

  before(async () => {
    [stack, scratch] = await Promise.all([
      OfflineStack.start(),
      mkdtemp(join(tmpdir(), 'lambda-notes-invoke-')),
    ]);
  });

  after(async () => {
    await stack?.stop();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  async function lambdaCli(args: string[]): Promise<Record<string, unknown>> {
    const { stdout } = await run(
      'aws',
      [
        'lambda',
        'invoke',
        '--endpoint-url',
        `http://localhost:${stack.ports.lambda}`,
        ...args,
        '--output',
        'json',
      ],
      { env: CLI_ENV },
    );
    return JSON.parse(stdout) as Record<string, unknown>;
  }

  const processed = (key: string) =>
    stack.logLines().filter((line) => line.message === 'object processed' && line.key === key);

  const startLines = (): number => stack.stdout.split('START RequestId: ').length - 1;

  /**
   * Runs hello synchronously and waits for its REPORT in the offline output: a run the call before it had started
   * would have written its START by then.
   */
  async function syncRunReported(): Promise<void> {
    const answer = await stack
      .lambdaClient()
      .send(new InvokeCommand({ FunctionName: HELLO, Payload: Buffer.from('{"key1":"after"}') }));
    const requestId = answer.$metadata.requestId ?? '';
    await waitFor('the REPORT of a later run', () =>
      stack.stdout.includes(`REPORT RequestId: ${requestId}\t`),
    );
  }

  it("SDK: Invoke with LogType Tail gives LogResult, START to REPORT under the answer's request id", async () => {
    const answer = await stack.lambdaClient().send(
      new InvokeCommand({
        FunctionName: HELLO,
        LogType: LogType.Tail,
        Payload: await readFile(join(PROJECT_DIR, 'events', 'hello.json')),
      }),
    );
    expect(answer.StatusCode).to.equal(200);
    expect(answer.ExecutedVersion).to.equal('$LATEST');
    const requestId = answer.$metadata.requestId;
    const lines = decodedLog(answer.LogResult);
    expect(lines[0]).to.equal(`START RequestId: ${requestId} Version: $LATEST`);
    expect(lines).to.include(`END RequestId: ${requestId}`);
    expect(lines.find((line) => line.startsWith('REPORT'))).to.match(
      new RegExp(
        `^REPORT RequestId: ${requestId}\\tDuration: [\\d.]+ ms\\tBilled Duration: \\d+ ms\\tMemory Size: 128 MB\\t`,
      ),
    );
    expect(lines.some((line) => line.includes('"message":"value1 = value1"'))).to.equal(true);
    // The same lines reach the offline output, in order.
    await waitFor('the REPORT line in the offline output', () =>
      stack.stdout.includes(`REPORT RequestId: ${requestId}`),
    );
    const start = stack.stdout.indexOf(`START RequestId: ${requestId}`);
    const end = stack.stdout.indexOf(`END RequestId: ${requestId}`);
    expect(start, `START in the offline output:\n${stack.tail()}`).to.be.at.least(0);
    expect(end, `END in the offline output:\n${stack.tail()}`).to.be.at.least(0);
    expect(start).to.be.lessThan(end);
  });

  it(SDK_STREAM, async () => {
    const answer = await stack.lambdaClient().send(
      new InvokeWithResponseStreamCommand({
        FunctionName: HELLO,
        LogType: LogType.Tail,
        Payload: await readFile(join(PROJECT_DIR, 'events', 'hello.json')),
      }),
    );
    expect(answer.StatusCode).to.equal(200);
    expect(answer.ExecutedVersion).to.equal('$LATEST');
    const chunks: string[] = [];
    let logResult: string | undefined;
    for await (const event of answer.EventStream ?? []) {
      if (event.PayloadChunk?.Payload) chunks.push(Buffer.from(event.PayloadChunk.Payload).toString('utf8'));
      if (event.InvokeComplete) {
        expect(event.InvokeComplete.ErrorCode).to.equal(undefined);
        logResult = event.InvokeComplete.LogResult;
      }
    }
    expect(chunks).to.deep.equal(['"value1"']);
    expect(decodedLog(logResult)[0]).to.equal(
      `START RequestId: ${answer.$metadata.requestId} Version: $LATEST`,
    );
  });

  itWithAwsCli(
    'CLI: `aws lambda invoke-with-response-stream` where the CLI has it (AWS CLI v2 ≥ 2.11; v1 has no event-stream commands)',
    SDK_STREAM,
    async function () {
      const help = await run('aws', ['lambda', 'invoke-with-response-stream', 'help'], { env: CLI_ENV }).then(
        () => true,
        () => false,
      );
      if (!help) {
        if (this.test)
          this.test.title += ` [skipped: this \`aws\` has no invoke-with-response-stream command; "${SDK_STREAM}" proves the same]`;
        this.skip();
      }
      const out = join(scratch, 'stream.json');
      await run(
        'aws',
        [
          'lambda',
          'invoke-with-response-stream',
          '--endpoint-url',
          `http://localhost:${stack.ports.lambda}`,
          '--function-name',
          HELLO,
          '--cli-binary-format',
          'raw-in-base64-out',
          '--payload',
          '{"key1":"value1"}',
          out,
        ],
        { env: CLI_ENV },
      );
      expect(await readFile(out, 'utf8')).to.equal('"value1"');
    },
  );

  it("botocore (the AWS CLI's library): invoke_with_response_stream reads the PayloadChunk and InvokeComplete events", async function () {
    const script = [
      'import json, sys, botocore.session',
      "c = botocore.session.get_session().create_client('lambda', region_name='ap-northeast-1', endpoint_url=sys.argv[1], aws_access_key_id='x', aws_secret_access_key='x')",
      "r = c.invoke_with_response_stream(FunctionName=sys.argv[2], Payload=open(sys.argv[3], 'rb').read())",
      "events = [{k: (v['Payload'].decode() if k == 'PayloadChunk' else v) for k, v in e.items()} for e in r['EventStream']]",
      "print(json.dumps({'StatusCode': r['StatusCode'], 'ExecutedVersion': r['ExecutedVersion'], 'events': events}))",
    ].join('\n');
    const answer = await run('python3', [
      '-c',
      script,
      `http://localhost:${stack.ports.lambda}`,
      HELLO,
      join(PROJECT_DIR, 'events', 'hello.json'),
    ]).catch((error: unknown) => error);
    if (answer instanceof Error) {
      if (/No module named|ENOENT/.test(String(answer))) {
        if (this.test)
          this.test.title += ` [skipped: no python3 with botocore here; "${SDK_STREAM}" proves the same]`;
        this.skip();
      }
      throw answer;
    }
    expect(JSON.parse((answer as { stdout: string }).stdout)).to.deep.equal({
      StatusCode: 200,
      ExecutedVersion: '$LATEST',
      events: [{ PayloadChunk: '"value1"' }, { InvokeComplete: {} }],
    });
  });

  it(SDK_EVENT, async () => {
    const answer = await stack.invokeAsync(HELLO, { key1: 'async-id', key2: 'b', key3: 'c' });
    expect(answer.StatusCode).to.equal(202);
    const requestId = answer.$metadata.requestId ?? '';
    expect(requestId).to.match(/^[0-9a-f-]{36}$/);
    const [line] = await waitFor("the async run's log line", () => {
      const found = stack.logLines().filter((logged) => logged.message === 'value1 = async-id');
      return found.length > 0 && found;
    });
    expect(line?.function_request_id).to.equal(requestId);
    await waitFor('its REPORT line', () => stack.stdout.includes(`REPORT RequestId: ${requestId}\t`));
    expect(stack.stdout).to.contain(`START RequestId: ${requestId} Version: $LATEST`);
  });

  it('SDK: concurrent invocations each get their own log in LogResult, nothing of the others', async () => {
    const client = stack.lambdaClient();
    const keys = ['alpha', 'bravo', 'charlie', 'delta'];
    const answers = await Promise.all(
      keys.map((key) =>
        client.send(
          new InvokeCommand({
            FunctionName: HELLO,
            LogType: LogType.Tail,
            Payload: Buffer.from(JSON.stringify({ key1: key, key2: key, key3: key })),
          }),
        ),
      ),
    );
    for (const [index, answer] of answers.entries()) {
      const lines = decodedLog(answer.LogResult);
      const own = keys[index] ?? '';
      expect(lines.filter((line) => line.includes('"message":"value1 = '))).to.deep.equal(
        lines.filter((line) => line.includes(`"message":"value1 = ${own}"`)),
      );
      expect(
        lines.some((line) => line.includes(`"message":"value1 = ${own}"`)),
        `the log of the run for ${own}:\n${lines.join('\n')}\n${stack.tail(60)}`,
      ).to.equal(true);
      expect(lines.filter((line) => line.startsWith('START RequestId: '))).to.have.length(1);
    }
  });

  it(SDK_DRY_RUN, async () => {
    const before = startLines();
    const answer = await stack
      .lambdaClient()
      .send(new InvokeCommand({ FunctionName: HELLO, InvocationType: 'DryRun', Payload: Buffer.from('{}') }));
    expect(answer.StatusCode).to.equal(204);
    await syncRunReported();
    expect(startLines(), 'runs started: only the later one').to.equal(before + 1);
  });

  itWithAwsCli(
    'CLI: --invocation-type DryRun answers StatusCode 204 and runs nothing',
    SDK_DRY_RUN,
    async () => {
      const before = startLines();
      const answer = await lambdaCli([
        '--function-name',
        HELLO,
        '--invocation-type',
        'DryRun',
        join(scratch, 'dry.json'),
      ]);
      expect(answer.StatusCode).to.equal(204);
      await syncRunReported();
      expect(startLines(), 'runs started: only the later one').to.equal(before + 1);
    },
  );

  itWithAwsCli('CLI: --invocation-type Event answers 202 and the event runs', SDK_EVENT, async () => {
    // A payload no other case sends: its log line can only come from this event's run.
    const key1 = `cli-event-${randomUUID()}`;
    const payload = join(scratch, 'cli-event.json');
    await writeFile(payload, JSON.stringify({ key1, key2: 'b', key3: 'c' }));
    const answer = await lambdaCli([
      '--function-name',
      HELLO,
      '--invocation-type',
      'Event',
      '--payload',
      `fileb://${payload}`,
      join(scratch, 'event.json'),
    ]);
    expect(answer.StatusCode).to.equal(202);
    const [line] = await waitFor("the CLI event's run", () => {
      const found = stack.logLines().filter((logged) => logged.message === `value1 = ${key1}`);
      return found.length > 0 && found;
    });
    const requestId = String(line?.function_request_id);
    await waitFor('its REPORT line', () => stack.stdout.includes(`REPORT RequestId: ${requestId}\t`));
    expect(stack.output).to.contain(`λ hello ${requestId}: attempt 1 succeeded`);
  });

  it(SDK_TAIL_BY_ARN, async () => {
    const answer = await stack.lambdaClient().send(
      new InvokeCommand({
        FunctionName: `${HELLO_ARN}:$LATEST`,
        LogType: LogType.Tail,
        Payload: await readFile(join(PROJECT_DIR, 'events', 'hello.json')),
      }),
    );
    expect(answer.StatusCode).to.equal(200);
    expect(answer.ExecutedVersion).to.equal('$LATEST');
    const lines = decodedLog(answer.LogResult);
    expect(lines[0]).to.equal(`START RequestId: ${answer.$metadata.requestId} Version: $LATEST`);
    expect(
      lines.some((line) => line.startsWith(`REPORT RequestId: ${answer.$metadata.requestId}\t`)),
    ).to.equal(true);
    expect(Buffer.from(answer.Payload ?? []).toString()).to.equal('"value1"');
  });

  itWithAwsCli(
    'CLI: --log-type Tail by full ARN gives LogResult and ExecutedVersion',
    SDK_TAIL_BY_ARN,
    async () => {
      const out = join(scratch, 'tail.json');
      const answer = await lambdaCli([
        '--function-name',
        `${HELLO_ARN}:$LATEST`,
        '--log-type',
        'Tail',
        '--payload',
        `fileb://${join(PROJECT_DIR, 'events', 'hello.json')}`,
        out,
      ]);
      expect(answer.StatusCode).to.equal(200);
      expect(answer.ExecutedVersion).to.equal('$LATEST');
      const lines = decodedLog(String(answer.LogResult));
      expect(lines[0]).to.match(/^START RequestId: [0-9a-f-]{36} Version: \$LATEST$/);
      expect(lines.some((line) => line.startsWith('REPORT RequestId: '))).to.equal(true);
      expect(await readFile(out, 'utf8')).to.equal('"value1"');
    },
  );

  it(SDK_NOT_JSON, async () => {
    // Three attempts allowed: the SDK would retry a 5xx or a throttle, not a refusal of the request itself.
    const failure = await stack
      .lambdaClient(3)
      .send(new InvokeCommand({ FunctionName: HELLO, Payload: Buffer.from('not json') }))
      .then(
        () => expect.fail('the SDK should report an error'),
        (error: { name?: string; $metadata?: { httpStatusCode?: number; attempts?: number } }) => error,
      );
    expect(failure.name).to.equal('InvalidRequestContentException');
    expect(failure.$metadata?.httpStatusCode).to.equal(400);
    expect(failure.$metadata?.attempts).to.equal(1);
  });

  itWithAwsCli(
    'CLI: a payload that is not JSON is refused at once with InvalidRequestContentException (no retries)',
    SDK_NOT_JSON,
    async () => {
      const bad = join(scratch, 'bad.txt');
      await writeFile(bad, 'not json');
      const failure = await lambdaCli([
        '--function-name',
        HELLO,
        '--payload',
        `fileb://${bad}`,
        join(scratch, 'x.json'),
      ]).then(
        () => expect.fail('the CLI should report an error'),
        (error: { stderr?: string }) => error.stderr ?? '',
      );
      expect(failure).to.contain('InvalidRequestContentException');
      expect(failure).not.to.contain('max retries');
    },
  );

  itWithAwsCli('CLI: `aws s3 cp` of 9 MB (a multipart upload) triggers s3Upload', SDK_MULTIPART, async () => {
    const file = join(scratch, 'nine-mb.txt');
    await writeFile(file, Buffer.alloc(9 * 1024 * 1024, 'a line of the notes\n'));
    await run(
      'aws',
      [
        's3',
        'cp',
        file,
        `s3://${BUCKET}/targets/nine-mb.txt`,
        '--endpoint-url',
        `http://localhost:${stack.ports.s3}`,
      ],
      { env: { ...CLI_ENV, AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' } },
    );
    const [line] = await waitFor(
      's3Upload for the 9 MB object',
      () => {
        const found = processed('targets/nine-mb.txt');
        return found.length > 0 && found;
      },
      { timeoutMs: 30_000 },
    );
    expect(line?.size).to.equal(9 * 1024 * 1024);
  });

  it(SDK_MULTIPART, async () => {
    const s3 = stack.s3Client();
    const key = 'targets/multipart.txt';
    const parts = [Buffer.alloc(5 * 1024 * 1024, 'a'), Buffer.alloc(4 * 1024 * 1024, 'b')];
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key }));
    const etags: string[] = [];
    for (const [index, body] of parts.entries()) {
      const part = await s3.send(
        new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId, PartNumber: index + 1, Body: body }),
      );
      etags.push(part.ETag ?? '');
    }
    const completed = await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: BUCKET,
        Key: key,
        UploadId,
        MultipartUpload: { Parts: etags.map((ETag, index) => ({ ETag, PartNumber: index + 1 })) },
      }),
    );
    expect(completed.ETag).to.match(/^"[0-9a-f]{32}-2"$/);
    const [line] = await waitFor(
      's3Upload for the multipart object',
      () => {
        const found = processed(key);
        return found.length > 0 && found;
      },
      { timeoutMs: 30_000 },
    );
    expect(line?.size).to.equal(9 * 1024 * 1024);
  });
});

describe("offline with reservedConcurrency 0 (the README's helloReservedConcurrency=0)", function () {
  this.timeout(60_000);
  let stack: OfflineStack;
  const IDLE_SECONDS = 1;

  before(async () => {
    stack = await OfflineStack.start({
      params: { helloReservedConcurrency: '0' },
      // serverless-offline's idle-runner cleaner every second instead of every minute.
      args: ['--terminateIdleLambdaTime', String(IDLE_SECONDS)],
    });
  });

  after(async () => {
    await stack?.stop();
  });

  it('keeps running after throttled calls, through several idle-runner sweeps', async () => {
    const http = await fetch(`http://localhost:${stack.ports.http}/hello?key1=value1`);
    await http.text();
    const invoke = await stack
      .lambdaClient()
      .send(new InvokeCommand({ FunctionName: HELLO }))
      .then(
        () => expect.fail('a throttled Invoke should be refused'),
        (error: { name?: string; $metadata?: { httpStatusCode?: number } }) => error,
      );
    expect(invoke.name).to.equal('TooManyRequestsException');
    expect(invoke.$metadata?.httpStatusCode).to.equal(429);
    // The crash came with the first sweep of a runner that never ran: wait out three sweeps, watching the process.
    const until = Date.now() + 3 * IDLE_SECONDS * 1000 + 500;
    await waitFor(
      'three idle-runner sweeps with the stack alive',
      () => {
        if (stack.child.exitCode !== null) throw new Error(`offline exited:\n${stack.tail()}`);
        return Date.now() > until;
      },
      { timeoutMs: 10_000, intervalMs: 100 },
    ).catch((error: unknown) => {
      throw new Error(`${String(error)}\n${stack.tail()}`);
    });
    expect(stack.output).not.to.contain('Cannot read properties of null');
    const again = await stack
      .lambdaClient()
      .send(new InvokeCommand({ FunctionName: HELLO, InvocationType: 'DryRun' }));
    expect(again.StatusCode).to.equal(204);
  });
});
