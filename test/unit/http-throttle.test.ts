/**
 * The HTTP API's stage throttle (core/http-throttle.ts): API Gateway's token bucket — burst requests at once, then
 * the rate per second — per route, read from serverless.yml's HttpApiStage route settings.
 */
import { expect } from 'chai';
import { HttpThrottle, stageThrottle, TokenBucket } from '../../offline/core/http-throttle';
import type { ServiceDefinition } from '../../offline/model/service';
import { routeKeyOf, TOO_MANY_REQUESTS } from '../../offline/adapters/serverless-offline-http';

function service(properties: Record<string, unknown>, where: 'extensions' | 'Resources' = 'extensions') {
  return {
    service: 'lambda-notes',
    provider: { region: 'ap-northeast-1', stage: 'dev' },
    functions: {},
    resources: { [where]: { HttpApiStage: { Properties: properties } } },
  } as ServiceDefinition;
}

describe('TokenBucket (API Gateway throttle)', () => {
  it('lets the burst through at once, then one more per 1/rate seconds', () => {
    const bucket = new TokenBucket({ rateLimit: 10, burstLimit: 20 }, 0);
    const first = Array.from({ length: 25 }, () => bucket.take(0));
    expect(first.filter(Boolean)).to.have.length(20);
    expect(bucket.take(99)).to.equal(false);
    expect(bucket.take(100)).to.equal(true);
    expect(bucket.take(100)).to.equal(false);
    expect([bucket.take(350), bucket.take(350), bucket.take(350)]).to.deep.equal([true, true, false]);
  });

  it('refills no further than the burst limit', () => {
    const bucket = new TokenBucket({ rateLimit: 10, burstLimit: 3 }, 0);
    expect(Array.from({ length: 5 }, () => bucket.take(60_000)).filter(Boolean)).to.have.length(3);
  });

  it('refuses everything at burst 0, as a stage set to 0 does', () => {
    const bucket = new TokenBucket({ rateLimit: 100, burstLimit: 0 }, 0);
    expect([bucket.take(0), bucket.take(10_000)]).to.deep.equal([false, false]);
  });
});

describe('HttpThrottle', () => {
  it('keeps a bucket per route with the default settings, and RouteSettings for a named route', () => {
    let now = 0;
    const lines: string[] = [];
    const throttle = new HttpThrottle(
      {
        defaults: { rateLimit: 1, burstLimit: 1 },
        routes: new Map([['POST /items', { rateLimit: 1, burstLimit: 2 }]]),
      },
      () => now,
      (line) => lines.push(line),
    );
    expect([throttle.admit('GET /hello'), throttle.admit('GET /hello')]).to.deep.equal([true, false]);
    expect(throttle.admit('GET /other')).to.equal(true);
    expect([0, 1, 2].map(() => throttle.admit('POST /items'))).to.deep.equal([true, true, false]);
    now = 1000;
    expect(throttle.admit('GET /hello')).to.equal(true);
    expect(lines).to.deep.equal([
      'GET /hello: 1 request(s) answered 429 Too Many Requests by the stage throttle (1 requests/s, burst 1: serverless.yml HttpApiStage route settings)',
    ]);
  });

  it('admits everything when the stage has no throttle', () => {
    const throttle = new HttpThrottle({ defaults: undefined, routes: new Map() }, () => 0);
    expect(Array.from({ length: 100 }, () => throttle.admit('GET /hello')).every(Boolean)).to.equal(true);
  });
});

describe("stageThrottle (serverless.yml's HttpApiStage)", () => {
  it('reads DefaultRouteSettings from resources.extensions, numbers given as strings too', () => {
    expect(
      stageThrottle(
        service({ DefaultRouteSettings: { ThrottlingBurstLimit: '20', ThrottlingRateLimit: 10 } }),
      ),
    ).to.deep.equal({ defaults: { rateLimit: 10, burstLimit: 20 }, routes: new Map() });
  });

  it('reads RouteSettings by route key, from resources.Resources too', () => {
    const stage = stageThrottle(
      service(
        { RouteSettings: { 'GET /hello': { ThrottlingRateLimit: 5, ThrottlingBurstLimit: 1 } } },
        'Resources',
      ),
    );
    expect(stage.defaults).to.equal(undefined);
    expect(stage.routes.get('GET /hello')).to.deep.equal({ rateLimit: 5, burstLimit: 1 });
  });

  it("takes the account's own limit for a setting left out", () => {
    expect(
      stageThrottle(service({ DefaultRouteSettings: { ThrottlingRateLimit: 3 } })).defaults,
    ).to.deep.equal({
      rateLimit: 3,
      burstLimit: 5000,
    });
  });

  it('has no throttle without route settings', () => {
    expect(stageThrottle(service({})).defaults).to.equal(undefined);
  });

  it('refuses a value that is not a number, naming the setting', () => {
    expect(() =>
      stageThrottle(
        service({ DefaultRouteSettings: { ThrottlingRateLimit: 'fast', ThrottlingBurstLimit: 1 } }),
      ),
    ).to.throw(
      'HttpApiStage.Properties.DefaultRouteSettings.ThrottlingRateLimit must be a number of at least 0, got "fast".',
    );
  });
});

describe('the HTTP edge of the throttle', () => {
  it("answers API Gateway's 429 body", () => {
    expect(TOO_MANY_REQUESTS.statusCode).to.equal(429);
    expect(JSON.parse(TOO_MANY_REQUESTS.body)).to.deep.equal({ message: 'Too Many Requests' });
  });

  it('keys a request by its route: routeKey (payload 2.0), method and resource (1.0), else the function', () => {
    expect(routeKeyOf({ routeKey: 'GET /hello' }, 'hello')).to.equal('GET /hello');
    expect(routeKeyOf({ httpMethod: 'GET', resource: '/hello' }, 'hello')).to.equal('GET /hello');
    expect(routeKeyOf(undefined, 'hello')).to.equal('hello');
  });
});
