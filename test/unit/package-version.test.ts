import { expect } from 'chai';
import {
  AdapterVersionError,
  installedVersion,
  requireVersion,
} from '../../offline/adapters/package-version';

describe('requireVersion: an adapter runs only on the version it was written for', () => {
  it('refuses another installed version, naming both and the way back to the pinned one', () => {
    expect(() => requireVersion('s3rver', '3.7.1', 'The local S3 adapter', '3.8.0'))
      .to.throw(AdapterVersionError)
      .with.property(
        'message',
        'The local S3 adapter was written for s3rver 3.7.1, but 3.8.0 is installed: run npm ci (package-lock.json pins 3.7.1), or check the adapter against 3.8.0 and update it.',
      );
  });

  it('reads the installed version from the package.json above the resolved entry point', () => {
    expect(installedVersion('serverless-s3-local')).to.equal('0.8.5');
  });
});
