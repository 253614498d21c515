/** BuildStatus: which functions answer with their last build's error, and until when. */
import { expect } from 'chai';
import { BuildStatus, buildFailurePayload } from '../../offline/environments/build-status';

const FUNCTIONS = [
  { key: 'hello', handler: 'handlers/hello.handler' },
  { key: 's3Upload', handler: 'handlers/s3-upload.handler' },
];
const SYNTAX = { text: 'Unexpected ";"', file: 'handlers/hello.ts', line: 31, column: 9 };

describe('BuildStatus', () => {
  it('fails the functions of a bundle whose build failed, with esbuild’s first error, and only those', () => {
    const builds = new BuildStatus(FUNCTIONS);
    builds.record(['./handlers/hello.ts'], [SYNTAX, { text: 'second' }], 1);
    expect(builds.list()).to.deep.equal([
      { functionKey: 'hello', error: 'handlers/hello.ts:31:9: Unexpected ";"', errorCount: 2, at: 1 },
    ]);
    expect(builds.failure('s3Upload')).to.equal(undefined);
  });

  it('keeps a fixed failure until the new code is in place (codeReloaded), so no run answers with older code', () => {
    const builds = new BuildStatus(FUNCTIONS);
    builds.record(['handlers/hello.ts'], [SYNTAX], 1);
    builds.record(['handlers/hello.ts'], [], 2);
    expect(builds.failure('hello')?.error).to.equal('handlers/hello.ts:31:9: Unexpected ";"');
    builds.codeReloaded();
    expect(builds.failure('hello')).to.equal(undefined);
  });

  it('keeps a failure that a later build brought back before the reload', () => {
    const builds = new BuildStatus(FUNCTIONS);
    builds.record(['handlers/hello.ts'], [SYNTAX], 1);
    builds.record(['handlers/hello.ts'], [], 2);
    builds.record(['handlers/hello.ts'], [{ ...SYNTAX, line: 40 }], 3);
    builds.codeReloaded();
    expect(builds.failure('hello')?.error).to.equal('handlers/hello.ts:40:9: Unexpected ";"');
  });

  it('names a module esbuild cannot resolve Runtime.ImportModuleError, a syntax error Runtime.UserCodeSyntaxError', () => {
    const failure = (text: string) => ({
      functionKey: 'hello',
      error: `handlers/hello.ts:1:0: ${text}`,
      errorCount: 1,
      at: 0,
    });
    expect(buildFailurePayload(failure('Could not resolve "left-pad"')).errorType).to.equal(
      'Runtime.ImportModuleError',
    );
    expect(buildFailurePayload(failure('Unexpected ";"')).errorType).to.equal('Runtime.UserCodeSyntaxError');
  });
});
