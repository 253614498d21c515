/**
 * The HTTP API's stage throttle, as serverless.yml configures it (the stage's DefaultRouteSettings and
 * RouteSettings, ThrottlingRateLimit and ThrottlingBurstLimit) and as API Gateway applies it: a token bucket per
 * route, holding up to the burst limit, refilled at the rate limit per second, one token per request; a request
 * that finds the bucket empty is answered 429 without reaching the function
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-throttling.html). Pure: the clock is passed in.
 */
import type { ServiceDefinition } from '../model/service';

export interface ThrottleSettings {
  /** Requests per second the bucket is refilled with (ThrottlingRateLimit). */
  readonly rateLimit: number;
  /** Requests the bucket holds at most (ThrottlingBurstLimit). */
  readonly burstLimit: number;
}

/** API Gateway's bucket: starts full, refills continuously, never above the burst limit. */
export class TokenBucket {
  #tokens: number;
  #at: number;

  constructor(
    private readonly settings: ThrottleSettings,
    now: number,
  ) {
    this.#tokens = settings.burstLimit;
    this.#at = now;
  }

  /** Takes a token for one request: false when there is none (the request is throttled). */
  take(now: number): boolean {
    const elapsedS = Math.max(0, now - this.#at) / 1000;
    this.#tokens = Math.min(this.settings.burstLimit, this.#tokens + elapsedS * this.settings.rateLimit);
    this.#at = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}

export interface StageThrottle {
  /** DefaultRouteSettings: every route's own bucket, unless RouteSettings names the route. */
  readonly defaults: ThrottleSettings | undefined;
  /** RouteSettings by route key (`GET /hello`). */
  readonly routes: ReadonlyMap<string, ThrottleSettings>;
}

/** API Gateway's account-level throttle per region (its quotas page): what a route without its own settings gets. */
const ACCOUNT_RATE_LIMIT = 10_000;
const ACCOUNT_BURST_LIMIT = 5_000;

/** A log line about throttled requests at most this often (a load test would print one per request). */
const LOG_EVERY_MS = 5_000;

export class HttpThrottle {
  readonly #buckets = new Map<string, TokenBucket>();
  #throttledSinceLog = 0;
  #lastLogAt = -Infinity;

  constructor(
    private readonly stage: StageThrottle,
    private readonly now: () => number,
    private readonly log: (message: string) => void = () => undefined,
  ) {}

  /** Whether a request of the route may go on to its function (a token taken), or is answered 429. */
  admit(routeKey: string): boolean {
    const settings = this.stage.routes.get(routeKey) ?? this.stage.defaults;
    if (settings === undefined) return true;
    const now = this.now();
    let bucket = this.#buckets.get(routeKey);
    if (!bucket) {
      bucket = new TokenBucket(settings, now);
      this.#buckets.set(routeKey, bucket);
    }
    if (bucket.take(now)) return true;
    this.#throttledSinceLog += 1;
    if (now - this.#lastLogAt >= LOG_EVERY_MS) {
      this.log(
        `${routeKey}: ${this.#throttledSinceLog} request(s) answered 429 Too Many Requests by the stage throttle ` +
          `(${settings.rateLimit} requests/s, burst ${settings.burstLimit}: serverless.yml HttpApiStage route settings)`,
      );
      this.#throttledSinceLog = 0;
      this.#lastLogAt = now;
    }
    return false;
  }
}

function settingsOf(where: string, value: unknown): ThrottleSettings | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { ThrottlingRateLimit: rate, ThrottlingBurstLimit: burst } = value as Record<string, unknown>;
  if (rate === undefined && burst === undefined) return undefined;
  const number = (name: string, raw: unknown, accountDefault: number): number => {
    if (raw === undefined || raw === null) return accountDefault;
    const parsed = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
    if (typeof parsed !== 'number' || !Number.isFinite(parsed) || parsed < 0) {
      throw new Error(`${where}.${name} must be a number of at least 0, got ${JSON.stringify(raw)}.`);
    }
    return parsed;
  };
  // One left out is the account's own limit in the region (API Gateway quotas: 10,000 requests/s, burst 5,000).
  return {
    rateLimit: number('ThrottlingRateLimit', rate, ACCOUNT_RATE_LIMIT),
    burstLimit: number('ThrottlingBurstLimit', burst, ACCOUNT_BURST_LIMIT),
  };
}

/**
 * The HTTP API stage's throttle from serverless.yml: the framework names the stage HttpApiStage, and
 * `resources.extensions` (or `resources.Resources`) sets its DefaultRouteSettings and RouteSettings. None: no
 * throttle. Throws with the setting's path when a value is not a number.
 */
export function stageThrottle(service: ServiceDefinition): StageThrottle {
  const resources = service.resources ?? {};
  const properties =
    resources.extensions?.HttpApiStage?.Properties ?? resources.Resources?.HttpApiStage?.Properties ?? {};
  const where = 'HttpApiStage.Properties';
  const routes = new Map<string, ThrottleSettings>();
  const routeSettings = properties.RouteSettings;
  if (typeof routeSettings === 'object' && routeSettings !== null) {
    for (const [routeKey, value] of Object.entries(routeSettings)) {
      const settings = settingsOf(`${where}.RouteSettings["${routeKey}"]`, value);
      if (settings) routes.set(routeKey, settings);
    }
  }
  return { defaults: settingsOf(`${where}.DefaultRouteSettings`, properties.DefaultRouteSettings), routes };
}
