/**
 * The local S3 without the rest of the stack: s3rver, as serverless-s3-local runs it, connected by
 * connectLocalS3 as the offline stack connects it, on a free port with one bucket. Every delivery the stack would
 * queue is kept, in order, instead. Started by the test, closed in its after().
 */
import { S3Client } from '@aws-sdk/client-s3';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectLocalS3, type LocalS3Server } from '../../offline/adapters/local-s3';
import { type S3Delivery, sequencerFactory } from '../../offline/core/s3-records';
import type { S3Subscription } from '../../offline/model/service';
import { freePort } from '../../support/offline-stack';

interface S3rverInstance extends LocalS3Server {
  run(): Promise<unknown>;
  close(): Promise<void>;
}
type S3rverClass = new (options: {
  port: number;
  address: string;
  silent: boolean;
  directory: string;
  configureBuckets: Array<{ name: string; configs: string[] }>;
}) => S3rverInstance;

const S3rver = createRequire(__filename)('s3rver') as S3rverClass;

export interface LocalS3 {
  readonly endpoint: string;
  readonly s3: S3Client;
  /** What the stack would have queued, in order. */
  readonly deliveries: S3Delivery[];
  close(): Promise<void>;
}

export async function startLocalS3(options: {
  bucket: string;
  subscriptions: readonly S3Subscription[];
  region: string;
}): Promise<LocalS3> {
  const directory = await mkdtemp(join(tmpdir(), 'lambda-notes-local-s3-'));
  const port = await freePort();
  const server = new S3rver({
    port,
    address: '127.0.0.1',
    silent: true,
    directory,
    configureBuckets: [{ name: options.bucket, configs: [] }],
  });
  try {
    await server.run();
  } catch (error) {
    await rm(directory, { recursive: true, force: true });
    throw error;
  }
  const deliveries: S3Delivery[] = [];
  connectLocalS3(
    server,
    {
      subscriptions: options.subscriptions,
      region: options.region,
      functionName: (functionKey) => `lambda-notes-dev-${functionKey}`,
      sequencer: sequencerFactory(),
    },
    async (delivery) => {
      deliveries.push(delivery);
    },
  );
  const endpoint = `http://127.0.0.1:${port}`;
  const s3 = new S3Client({
    region: options.region,
    endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    requestChecksumCalculation: 'WHEN_REQUIRED',
  });
  return {
    endpoint,
    s3,
    deliveries,
    close: async () => {
      s3.destroy();
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
