import { createHash } from 'node:crypto';
import { EmptyObjectError, isSystemError, ObjectNotFoundError, S3UnreachableError } from './errors';
import type { ObjectReader } from './s3-client';

/** What s3Upload found in one object. */
export interface ObjectSummary {
  readonly bucket: string;
  readonly key: string;
  readonly size: number;
  readonly contentType: string;
  readonly lines: number;
  readonly sha256: string;
}

export interface SummaryDeps {
  readonly s3: ObjectReader;
  /** Named in the error when S3 cannot be reached, so the message says where it looked. */
  readonly s3Endpoint?: string | undefined;
}

const NEWLINE = 0x0a;

/**
 * Reads the object as a stream and summarises it: bytes, lines, SHA-256. Memory stays at one chunk whatever
 * the object's size. An empty object is refused (EmptyObjectError); a missing one is ObjectNotFoundError.
 */
export async function summariseObject(
  target: { bucket: string; key: string },
  { s3, s3Endpoint }: SummaryDeps,
): Promise<ObjectSummary> {
  const { bucket, key } = target;
  const response = await s3.getObject(bucket, key).catch((error: unknown) => {
    if (error instanceof Error && error.name === 'NoSuchKey') {
      throw new ObjectNotFoundError(`s3://${bucket}/${key} does not exist (deleted before it was read?).`);
    }
    // The function may read targets/ but not list the bucket: S3 then answers a missing key with 403.
    if (error instanceof Error && error.name === 'AccessDenied') {
      throw new ObjectNotFoundError(
        `s3://${bucket}/${key} does not exist (deleted before it was read?) or this function may not read it (S3 answered AccessDenied).`,
      );
    }
    if (isSystemError(error) && ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN'].includes(error.code)) {
      const where = s3Endpoint ?? 'the S3 endpoint';
      throw new S3UnreachableError(
        `Cannot reach S3 at ${where} (${error.code}) to read s3://${bucket}/${key}. Offline, start it with \`npm start\`.`,
      );
    }
    throw error;
  });

  let size = 0;
  let lines = 0;
  const hash = createHash('sha256');
  for await (const chunk of response.body) {
    size += chunk.length;
    hash.update(chunk);
    for (let at = chunk.indexOf(NEWLINE); at !== -1; at = chunk.indexOf(NEWLINE, at + 1)) lines += 1;
  }
  if (size === 0) {
    throw new EmptyObjectError(`s3://${bucket}/${key} is empty (0 bytes): there is nothing to process.`);
  }
  return {
    bucket,
    key,
    size,
    contentType: response.contentType ?? 'binary/octet-stream',
    lines,
    sha256: hash.digest('hex'),
  };
}
