import { createHash, createHmac } from 'node:crypto';

/**
 * AWS Signature Version 4 for a request without a body, in the Authorization header, as S3 expects it:
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html
 * (S3 does not normalise paths and wants the path encoded once, unlike the other services.)
 */

export interface Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** Temporary credentials (Lambda's role) come with one; it is sent and signed as x-amz-security-token. */
  readonly sessionToken?: string | undefined;
}

export interface RequestToSign {
  readonly method: string;
  readonly host: string;
  /** Already URI-encoded, as sent on the wire (see encodeS3Path); no query string. */
  readonly path: string;
  /** Extra headers to send and sign, names in lower case. */
  readonly headers?: Readonly<Record<string, string>>;
}

/** SHA-256 of the empty payload: a GET sends no body. */
export const EMPTY_PAYLOAD_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/** RFC 3986 encoding as SigV4 defines it: everything but A–Z a–z 0–9 - . _ ~ is percent-encoded. */
function uriEncode(text: string): string {
  return encodeURIComponent(text).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/** An S3 object's path: each segment encoded, the slashes between them kept. */
export function encodeS3Path(bucket: string | undefined, key: string): string {
  const encodedKey = key.split('/').map(uriEncode).join('/');
  return bucket === undefined ? `/${encodedKey}` : `/${uriEncode(bucket)}/${encodedKey}`;
}

/** 20130524T000000Z */
export function amzDate(date: Date): string {
  return date
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
}

const hmac = (key: string | Buffer, data: string): Buffer => createHmac('sha256', key).update(data).digest();

/** The signing key changes once a day; a warm container signs with the same one all day. */
let cachedKey: { id: string; key: Buffer } | undefined;

function signingKey(secret: string, day: string, region: string, service: string): Buffer {
  const id = `${secret}/${day}/${region}/${service}`;
  if (cachedKey?.id !== id) {
    const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, day), region), service), 'aws4_request');
    cachedKey = { id, key };
  }
  return cachedKey.key;
}

/** The headers to send: those given, host, x-amz-date, x-amz-content-sha256, the session token, Authorization. */
export function signRequest(
  request: RequestToSign,
  credentials: Credentials,
  region: string,
  date: Date,
  service = 's3',
): Record<string, string> {
  const time = amzDate(date);
  const day = time.slice(0, 8);
  const headers: Record<string, string> = {
    ...request.headers,
    host: request.host,
    'x-amz-content-sha256': EMPTY_PAYLOAD_SHA256,
    'x-amz-date': time,
  };
  if (credentials.sessionToken) headers['x-amz-security-token'] = credentials.sessionToken;
  const names = Object.keys(headers).sort();
  const canonicalHeaders = names
    .map((name) => `${name}:${(headers[name] ?? '').trim().replace(/\s+/g, ' ')}\n`)
    .join('');
  const signedHeaders = names.join(';');
  const canonicalRequest = [
    request.method,
    request.path,
    // No query string: GetObject needs none.
    '',
    canonicalHeaders,
    signedHeaders,
    EMPTY_PAYLOAD_SHA256,
  ].join('\n');
  const scope = `${day}/${region}/${service}/aws4_request`;
  const stringToSign = [
    'AWS4-HMAC-SHA256',
    time,
    scope,
    createHash('sha256').update(canonicalRequest).digest('hex'),
  ].join('\n');
  const signature = createHmac('sha256', signingKey(credentials.secretAccessKey, day, region, service))
    .update(stringToSign)
    .digest('hex');
  headers.authorization = `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
  return headers;
}
