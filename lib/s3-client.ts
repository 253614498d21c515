import type { Agent, ClientRequest, IncomingHttpHeaders, IncomingMessage, RequestOptions } from 'node:http';
import { type ChecksumHeader, checksummedBody, readChecksumHeader } from './checksums';
import { type Credentials, encodeS3Path, signRequest } from './sigv4';

/**
 * A GetObject client of S3 and nothing more: SigV4 over node:http(s), a keep-alive agent, the body as a stream,
 * and the AWS SDK v3's standard retry policy. It replaces @aws-sdk/client-s3 in the bundle, which cost s3Upload
 * about 75 ms to load and 45 ms more on its first call (bench/README.md).
 */

/** What a successful GetObject gives: the body, read once as a stream, and the headers the handler uses. */
export interface GetObjectResult {
  readonly body: AsyncIterable<Uint8Array>;
  readonly contentType: string | undefined;
  readonly contentLength: number | undefined;
}

/** What the handler needs of an S3 client (a fake in tests). */
export interface ObjectReader {
  getObject(bucket: string, key: string): Promise<GetObjectResult>;
}

/** An error answer of S3: `name` is S3's error code (NoSuchKey, AccessDenied, SlowDown, …), as the SDK names it. */
export class S3ServiceError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly statusCode: number,
    readonly requestId: string | undefined,
  ) {
    super(message);
    this.name = code;
  }
  /** Set when S3's clock differs from ours by 5 minutes or more; the next attempt signs with S3's time. */
  clockSkewCorrected = false;
  /** Retry-After / x-amz-retry-after of the answer, as a time. */
  retryAfter: Date | undefined;
}

export interface S3ClientOptions {
  readonly region: string;
  /** Offline: the local S3 (buckets by path). Unset on AWS: the regional endpoint, buckets as host names. */
  readonly endpoint?: string | undefined;
  /** Called on the first request, so that a function that never reads S3 never needs them. */
  readonly credentials: () => Credentials;
  /** Attempts in all, first included: the SDK's default is 3 (AWS_MAX_ATTEMPTS sets it there too). */
  readonly maxAttempts?: number;
  /** Validate the object's stored checksum while streaming, as the SDK does by default on AWS. */
  readonly validateChecksums?: boolean;
  /** For tests: the backoff's randomness and its wait. */
  readonly random?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

// The SDK's standard retry strategy (@smithy/core, util-retry and service-error-classification, as pinned in
// package-lock.json): backoff = random × min(base × 2^retry, 20 s), base 50 ms, 1 s for throttling; a retry
// quota of 500 tokens per client, a retry costing 14 (throttling 5), a success giving back its retry's cost or 1.
const MAX_DELAY_MS = 20_000;
const BASE_DELAY_MS = 50;
const THROTTLING_BASE_DELAY_MS = 1_000;
const INITIAL_RETRY_TOKENS = 500;
const RETRY_COST = 14;
const THROTTLING_RETRY_COST = 5;
const NO_RETRY_INCREMENT = 1;
const THROTTLING_CODES = new Set([
  'BandwidthLimitExceeded',
  'EC2ThrottledException',
  'LimitExceededException',
  'PriorRequestNotComplete',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'SlowDown',
  'ThrottledException',
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException',
  'TransactionInProgressException',
]);
const TRANSIENT_CODES = new Set(['TimeoutError', 'RequestTimeout', 'RequestTimeoutException']);
const TRANSIENT_STATUS = new Set([500, 502, 503, 504]);
const TRANSIENT_SYSTEM_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);
/** The SDK corrects its clock when S3's Date differs by this much. */
const CLOCK_SKEW_MS = 5 * 60_000;
/** An error answer is a small XML document; more than this is not read. */
const MAX_ERROR_BODY = 64 * 1024;

type RetryKind = 'throttling' | 'transient';

/** How the SDK classifies an error for retry; undefined means it is not retried. */
export function retryKind(error: unknown, depth = 0): RetryKind | undefined {
  if (!(error instanceof Error)) return undefined;
  if (error instanceof S3ServiceError) {
    if (error.statusCode === 429 || THROTTLING_CODES.has(error.code)) return 'throttling';
    if (
      error.clockSkewCorrected ||
      TRANSIENT_CODES.has(error.code) ||
      TRANSIENT_STATUS.has(error.statusCode)
    ) {
      return 'transient';
    }
    return undefined;
  }
  if (error.name === 'AbortError') return undefined;
  const code = (error as NodeJS.ErrnoException).code;
  if (TRANSIENT_CODES.has(error.name) || (code !== undefined && TRANSIENT_SYSTEM_CODES.has(code))) {
    return 'transient';
  }
  return depth < 10 && error.cause !== undefined ? retryKind(error.cause, depth + 1) : undefined;
}

function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function xmlText(xml: string, element: string): string | undefined {
  const match = new RegExp(`<${element}>([^<]*)</${element}>`).exec(xml);
  return match?.[1]
    ?.replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&');
}

/** Retry-After in seconds or as a date, or x-amz-retry-after in milliseconds (as the SDK reads them). */
function retryAfterOf(headers: IncomingHttpHeaders, now: number): Date | undefined {
  const amz = headerValue(headers, 'x-amz-retry-after');
  if (amz !== undefined && !Number.isNaN(Number(amz))) return new Date(now + Number(amz));
  const value = headerValue(headers, 'retry-after');
  if (value === undefined) return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return new Date(now + Number(value) * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : new Date(date);
}

async function errorFromResponse(response: IncomingMessage): Promise<S3ServiceError> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of response as AsyncIterable<Buffer>) {
    if (length < MAX_ERROR_BODY) chunks.push(chunk);
    length += chunk.length;
  }
  const xml = Buffer.concat(chunks).toString('utf8');
  const status = response.statusCode ?? 0;
  // A HEAD-like answer without a body still has to be told apart: 404 is what the SDK calls NotFound.
  const code = xmlText(xml, 'Code') ?? (status === 404 ? 'NotFound' : `Http${status}`);
  const message = xmlText(xml, 'Message') ?? `S3 answered ${status} ${response.statusMessage ?? ''}`.trim();
  const requestId = xmlText(xml, 'RequestId') ?? headerValue(response.headers, 'x-amz-request-id');
  return new S3ServiceError(code, message, status, requestId);
}

/** Buckets that cannot be host names (dots break the TLS certificate, capitals are not DNS names) go by path. */
function isVirtualHostable(bucket: string): boolean {
  return /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/.test(bucket);
}

export interface RequestTarget {
  readonly protocol: string;
  /** To connect to (an IPv6 literal without its brackets). */
  readonly hostname: string;
  readonly port: number;
  /** The Host header, port included when the endpoint has one. */
  readonly host: string;
  /** Encoded path, bucket first when the bucket is not in the host name. */
  readonly path: string;
}

/**
 * Where a GetObject goes: offline, the local S3 with the bucket in the path; on AWS, the regional endpoint with the
 * bucket as host name (virtual-hosted style), or in the path when the bucket cannot be a host name.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/VirtualHosting.html
 */
export function requestTarget(
  region: string,
  endpoint: URL | undefined,
  bucket: string,
  key: string,
): RequestTarget {
  if (endpoint !== undefined) {
    const { protocol, host, hostname, port } = endpoint;
    return {
      protocol,
      hostname: hostname.replace(/^\[|\]$/g, ''),
      port: port ? Number(port) : protocol === 'https:' ? 443 : 80,
      host,
      path: encodeS3Path(bucket, key),
    };
  }
  const domain = region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com';
  const regional = `s3.${region}.${domain}`;
  return isVirtualHostable(bucket)
    ? {
        protocol: 'https:',
        hostname: `${bucket}.${regional}`,
        port: 443,
        host: `${bucket}.${regional}`,
        path: encodeS3Path(undefined, key),
      }
    : { protocol: 'https:', hostname: regional, port: 443, host: regional, path: encodeS3Path(bucket, key) };
}

export class S3Client implements ObjectReader {
  readonly #region: string;
  readonly #endpoint: URL | undefined;
  readonly #credentials: () => Credentials;
  readonly #maxAttempts: number;
  readonly #validateChecksums: boolean;
  readonly #random: () => number;
  readonly #sleep: (ms: number) => Promise<void>;
  #resolvedCredentials: Credentials | undefined;
  #transport: { request: typeof import('node:http').request; agent: Agent } | undefined;
  #retryTokens = INITIAL_RETRY_TOKENS;
  /** S3's time minus ours, once an answer showed a skew (the SDK's systemClockOffset). */
  #clockOffsetMs = 0;

  constructor(options: S3ClientOptions) {
    this.#region = options.region;
    this.#endpoint = options.endpoint === undefined ? undefined : new URL(options.endpoint);
    this.#credentials = options.credentials;
    this.#maxAttempts = options.maxAttempts ?? 3;
    this.#validateChecksums = options.validateChecksums ?? false;
    this.#random = options.random ?? Math.random;
    this.#sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  async getObject(bucket: string, key: string): Promise<GetObjectResult> {
    let retries = 0;
    let lastRetryCost: number | undefined;
    for (;;) {
      try {
        const result = await this.#getOnce(bucket, key);
        this.#retryTokens = Math.min(
          INITIAL_RETRY_TOKENS,
          this.#retryTokens + (lastRetryCost ?? NO_RETRY_INCREMENT),
        );
        return result;
      } catch (error) {
        const kind = retryKind(error);
        const cost = kind === 'throttling' ? THROTTLING_RETRY_COST : RETRY_COST;
        if (kind === undefined || retries + 1 >= this.#maxAttempts || this.#retryTokens < cost) throw error;
        this.#retryTokens -= cost;
        lastRetryCost = cost;
        const base = kind === 'throttling' ? THROTTLING_BASE_DELAY_MS : BASE_DELAY_MS;
        let delay = Math.floor(this.#random() * Math.min(base * 2 ** retries, MAX_DELAY_MS));
        const hint = error instanceof S3ServiceError ? error.retryAfter : undefined;
        if (hint !== undefined) delay = Math.max(delay, Math.min(hint.getTime() - Date.now(), delay + 5_000));
        retries += 1;
        await this.#sleep(delay);
      }
    }
  }

  #transportFor(protocol: string): { request: typeof import('node:http').request; agent: Agent } {
    if (this.#transport === undefined) {
      // Loaded on first use: node:https (TLS) costs a few milliseconds that offline, over http, never needs.
      const module =
        protocol === 'https:'
          ? process.getBuiltinModule('node:https')
          : process.getBuiltinModule('node:http');
      // Keep-alive and 50 sockets, as the SDK's handler: connections are reused across invocations.
      this.#transport = {
        request: module.request,
        agent: new module.Agent({ keepAlive: true, maxSockets: 50 }),
      };
    }
    return this.#transport;
  }

  #getOnce(bucket: string, key: string): Promise<GetObjectResult> {
    this.#resolvedCredentials ??= this.#credentials();
    const target = requestTarget(this.#region, this.#endpoint, bucket, key);
    const { request, agent } = this.#transportFor(target.protocol);
    const headers = signRequest(
      {
        method: 'GET',
        host: target.host,
        path: target.path,
        headers: this.#validateChecksums ? { 'x-amz-checksum-mode': 'ENABLED' } : {},
      },
      this.#resolvedCredentials,
      this.#region,
      new Date(Date.now() + this.#clockOffsetMs),
    );
    const options: RequestOptions = {
      method: 'GET',
      hostname: target.hostname,
      port: target.port,
      path: target.path,
      headers,
      agent,
    };
    return new Promise<GetObjectResult>((resolve, reject) => {
      const req: ClientRequest = request(options, (response) => {
        const status = response.statusCode ?? 0;
        if (status < 200 || status > 299) {
          errorFromResponse(response).then((error) => {
            error.retryAfter = retryAfterOf(response.headers, Date.now());
            this.#correctClock(response.headers, error);
            reject(error);
          }, reject);
          return;
        }
        const length = headerValue(response.headers, 'content-length');
        const checksum: ChecksumHeader | undefined = this.#validateChecksums
          ? readChecksumHeader(response.headers)
          : undefined;
        resolve({
          body: checksum === undefined ? response : checksummedBody(response, checksum),
          contentType: headerValue(response.headers, 'content-type'),
          contentLength: length === undefined ? undefined : Number(length),
        });
      });
      req.on('error', reject);
      req.end();
    });
  }

  #correctClock(headers: IncomingHttpHeaders, error: S3ServiceError): void {
    const date = headerValue(headers, 'date');
    const serverTime = date === undefined ? Number.NaN : Date.parse(date);
    if (Number.isNaN(serverTime)) return;
    if (Math.abs(Date.now() + this.#clockOffsetMs - serverTime) >= CLOCK_SKEW_MS) {
      this.#clockOffsetMs = serverTime - Date.now();
      error.clockSkewCorrected = true;
    }
  }
}
