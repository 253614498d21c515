import { expect } from 'chai';
import { amzDate, EMPTY_PAYLOAD_SHA256, encodeS3Path, signRequest } from '../../lib/sigv4';

// AWS's documented example: "Example: GET Object", Authenticating Requests: Using the Authorization Header
// (AWS Signature Version 4), https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html
const EXAMPLE_CREDENTIALS = {
  accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
};
const EXAMPLE_DATE = new Date('2013-05-24T00:00:00Z');

function signature(authorization: string | undefined): string | undefined {
  return /Signature=([0-9a-f]{64})$/.exec(authorization ?? '')?.[1];
}

describe('SigV4 signing', () => {
  it("signs AWS's documented GetObject example to its documented signature", () => {
    const headers = signRequest(
      {
        method: 'GET',
        host: 'examplebucket.s3.amazonaws.com',
        path: '/test.txt',
        headers: { range: 'bytes=0-9' },
      },
      EXAMPLE_CREDENTIALS,
      'us-east-1',
      EXAMPLE_DATE,
    );
    expect(headers.authorization).to.equal(
      'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, ' +
        'SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, ' +
        'Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41',
    );
  });

  it('sends the date and the empty payload hash it signed', () => {
    const headers = signRequest(
      { method: 'GET', host: 'examplebucket.s3.amazonaws.com', path: '/test.txt' },
      EXAMPLE_CREDENTIALS,
      'us-east-1',
      EXAMPLE_DATE,
    );
    expect(headers).to.include({
      host: 'examplebucket.s3.amazonaws.com',
      'x-amz-date': '20130524T000000Z',
      'x-amz-content-sha256': EMPTY_PAYLOAD_SHA256,
    });
  });

  it('sends and signs the session token of temporary credentials', () => {
    const request = { method: 'GET', host: 'examplebucket.s3.amazonaws.com', path: '/test.txt' };
    const withToken = signRequest(
      request,
      { ...EXAMPLE_CREDENTIALS, sessionToken: 'IQoJb3JpZ2luX2VjEXAMPLE' },
      'us-east-1',
      EXAMPLE_DATE,
    );
    const without = signRequest(request, EXAMPLE_CREDENTIALS, 'us-east-1', EXAMPLE_DATE);
    expect(withToken['x-amz-security-token']).to.equal('IQoJb3JpZ2luX2VjEXAMPLE');
    expect(withToken.authorization).to.contain(
      'SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token,',
    );
    expect(signature(withToken.authorization)).to.not.equal(signature(without.authorization));
    expect(without).to.not.have.property('x-amz-security-token');
  });

  it('changes the signature with the region, the key and the secret', () => {
    const request = { method: 'GET', host: 'h', path: '/k' };
    const base = signature(
      signRequest(request, EXAMPLE_CREDENTIALS, 'us-east-1', EXAMPLE_DATE).authorization,
    );
    const others = [
      signRequest(request, EXAMPLE_CREDENTIALS, 'ap-northeast-1', EXAMPLE_DATE),
      signRequest({ ...request, path: '/other' }, EXAMPLE_CREDENTIALS, 'us-east-1', EXAMPLE_DATE),
      signRequest(request, { ...EXAMPLE_CREDENTIALS, secretAccessKey: 'other' }, 'us-east-1', EXAMPLE_DATE),
    ].map((headers) => signature(headers.authorization));
    expect(base).to.match(/^[0-9a-f]{64}$/);
    for (const other of others) expect(other).to.not.equal(base);
  });

  it('formats x-amz-date as yyyyMMddTHHmmssZ', () => {
    expect(amzDate(new Date('2026-11-26T18:05:09.123Z'))).to.equal('20261126T180509Z');
  });

  describe('encodeS3Path', () => {
    it('keeps slashes between key segments and encodes everything but unreserved characters', () => {
      expect(encodeS3Path('lambda-s3-test-dev', "targets/a b+c/日本(1)!*'~.txt")).to.equal(
        '/lambda-s3-test-dev/targets/a%20b%2Bc/%E6%97%A5%E6%9C%AC%281%29%21%2A%27~.txt',
      );
    });

    it('leaves the bucket out for a virtual-hosted request', () => {
      expect(encodeS3Path(undefined, 'targets/test.txt')).to.equal('/targets/test.txt');
    });
  });
});
