/**
 * The peer: the stock offline stack a Serverless user gets without this project's emulation — serverless-offline
 * 13 (handlers in its worker threads), serverless-s3-local with its own S3 trigger, serverless-esbuild — running
 * the same two handlers. Its serverless config is generated here from this project's settings (the same
 * functions, handlers, bucket, trigger rule, esbuild options and local S3 credentials) without the offline-async
 * plugin, written to the project folder (serverless wants it there) while the stack starts.
 */
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BUCKET, PROJECT_DIR } from '../support/offline-stack';
import type { Cleanup } from './processes';
import { type BenchStack, startBenchStack } from './stack';

/** serverless-offline's line once its HTTP server listens: the stock stack is up (the local S3 started before it). */
const PEER_READY = /Server ready: /;

/** The stock stack's serverless config: serverless.yml's functions and local settings, no emulation of ours. */
export function peerConfig(): Record<string, unknown> {
  return {
    service: 'lambda-notes',
    frameworkVersion: '4',
    // The stock order: esbuild bundles before the local S3 looks for handlers (FIELD-NOTES: plugin order).
    plugins: ['serverless-esbuild', 'serverless-s3-local', 'serverless-offline'],
    provider: {
      name: 'aws',
      runtime: 'nodejs24.x',
      architecture: 'arm64',
      memorySize: 128,
      timeout: 30,
      stage: 'dev',
      region: 'ap-northeast-1',
      environment: {
        POWERTOOLS_SERVICE_NAME: 'lambda-notes',
        // What offline-async gives every function (offline/plugin/settings.ts localEnvironment): the local S3.
        S3_ENDPOINT: 'http://localhost:${env:OFFLINE_S3_PORT}',
        AWS_ACCESS_KEY_ID: 'S3RVER',
        AWS_SECRET_ACCESS_KEY: 'S3RVER',
      },
    },
    functions: {
      hello: { handler: 'handlers/hello.handler', timeout: 10, events: [{ httpApi: 'GET /hello' }] },
      s3Upload: {
        handler: 'handlers/s3-upload.handler',
        events: [{ s3: { bucket: BUCKET, event: 's3:ObjectCreated:*', rules: [{ prefix: 'targets/' }] } }],
      },
    },
    package: { individually: true },
    custom: {
      esbuild: {
        bundle: true,
        minify: true,
        keepNames: true,
        sourcemap: true,
        sourcesContent: false,
        target: 'node20',
        platform: 'node',
        exclude: [],
        outputWorkFolder: "${env:ESBUILD_WORK_FOLDER, '.esbuild'}",
        watch: { pattern: ['handlers/**/*.ts', 'lib/**/*.ts'], ignore: ['.esbuild*', 'node_modules'] },
      },
      s3: {
        host: 'localhost',
        silent: true,
        port: '${env:OFFLINE_S3_PORT}',
        directory: '${env:OFFLINE_STATE_DIR}/s3',
        buckets: [BUCKET],
      },
      'serverless-offline': {
        httpPort: '${env:OFFLINE_HTTP_PORT}',
        lambdaPort: '${env:OFFLINE_LAMBDA_PORT}',
        noPrependStageInUrl: true,
      },
    },
  };
}

/** Writes the peer's config, starts the stock stack on free ports, and registers both for clean-up. */
export async function startPeerStack(cleanup: Cleanup): Promise<BenchStack> {
  const name = `serverless.bench-peer-${process.pid}.json`;
  const file = join(PROJECT_DIR, name);
  await writeFile(file, `${JSON.stringify(peerConfig(), null, 2)}\n`);
  const removeConfig = cleanup.add('peer serverless config', () => rm(file, { force: true }));
  try {
    return await startBenchStack(cleanup, { config: name, ready: PEER_READY });
  } finally {
    // Read once, at start: the running stack no longer needs it.
    await removeConfig.run();
  }
}
