import { createHash } from 'node:crypto';
import { GetObjectCommand, NoSuchKey, type S3Client } from '@aws-sdk/client-s3';
import { EmptyObjectError, isSystemError, ObjectNotFoundError, S3UnreachableError } from './errors';

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
  readonly s3: Pick<S3Client, 'send'>;
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
  const response = await s3
    .send(new GetObjectCommand({ Bucket: bucket, Key: key }))
    .catch((error: unknown) => {
      if (error instanceof NoSuchKey || (error instanceof Error && error.name === 'NoSuchKey')) {
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

  const body = response.Body as AsyncIterable<Uint8Array> | undefined;
  let size = 0;
  let lines = 0;
  const hash = createHash('sha256');
  for await (const chunk of body ?? []) {
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
    contentType: response.ContentType ?? 'binary/octet-stream',
    lines,
    sha256: hash.digest('hex'),
  };
}
