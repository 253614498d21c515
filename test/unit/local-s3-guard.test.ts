import { expect } from 'chai';
import { keyProblem, localS3Of, MAX_LOCAL_SEGMENT_BYTES } from '../../offline/adapters/local-s3';

const put = (key: string) =>
  keyProblem('PUT', `/lambda-s3-test-dev/${encodeURIComponent(key).replace(/%2F/g, '/')}`);

describe('local S3 key guard', () => {
  it('lets a 1,024-byte key with short segments through', () => {
    const key = `targets/${Array.from({ length: 5 }, (_, i) => `${'k'.repeat(199)}${i}`).join('/')}/${'z'.repeat(11)}`;
    expect(Buffer.byteLength(key)).to.equal(1024);
    expect(put(key)).to.equal(undefined);
  });

  it('refuses a 1,025-byte key as S3 does', () => {
    expect(put(`targets/${'k/'.repeat(508)}x`)).to.deep.include({ code: 'KeyTooLongError' });
  });

  it('counts bytes, not characters (日 is 3 bytes in UTF-8)', () => {
    expect(put('日/'.repeat(256))).to.equal(undefined);
    expect(put('日/'.repeat(257))?.message).to.contain('1028 bytes');
  });

  it('refuses a segment the local S3 cannot store, saying it is an offline limit', () => {
    expect(put(`targets/${'s'.repeat(MAX_LOCAL_SEGMENT_BYTES + 1)}`)?.message).to.contain('Offline limit');
    expect(put(`targets/${'s'.repeat(MAX_LOCAL_SEGMENT_BYTES)}`)).to.equal(undefined);
  });

  it('does not judge reads, or requests whose path is not valid percent-encoding', () => {
    expect(keyProblem('GET', `/b/${'s'.repeat(300)}`)).to.equal(undefined);
    expect(keyProblem('PUT', '/b/%E0%A4%A')).to.equal(undefined);
  });
});

describe('localS3Of: the s3rver that serverless-s3-local runs', () => {
  /** A plugin as the framework lists it: only its class name tells what it is. */
  class ServerlessS3Local {
    constructor(readonly client: unknown) {}
  }
  class ServerlessOffline {
    readonly hooks = {};
  }

  it('is the client of serverless-s3-local among the plugins', () => {
    const client = { on: () => undefined };
    expect(localS3Of([new ServerlessOffline(), new ServerlessS3Local(client)])).to.equal(client);
  });

  it('refuses a plugin list without serverless-s3-local, saying where to list it', () => {
    expect(() => localS3Of([new ServerlessOffline()])).to.throw(
      'serverless-s3-local is not loaded, and the offline stack needs its local S3: list serverless-s3-local under plugins in serverless.yml.',
    );
  });

  it('refuses serverless-s3-local before it has started its S3 server', () => {
    expect(() => localS3Of([new ServerlessS3Local(null)])).to.throw(
      'serverless-s3-local 0.8.5 has no running S3 server (its client is null)',
    );
  });
});
