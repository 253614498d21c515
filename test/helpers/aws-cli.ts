/**
 * The AWS CLI is the user's tool, not a dependency of the project. The cases that drive it run where `aws` is
 * installed; elsewhere the test report lists them as skipped, saying so in their title and naming the SDK case
 * that proves the same behaviour, which runs everywhere.
 */
import { execFile } from 'node:child_process';

/**
 * Whether `aws --version` runs here. Asked once per test process, as soon as a test file needs it: it takes
 * seconds on a busy machine, and runs meanwhile.
 */
const awsCliAvailable: Promise<boolean> = new Promise((resolve) => {
  execFile('aws', ['--version'], { timeout: 60_000 }, (error) => resolve(error === null));
});

/** A case that needs the AWS CLI: run where it is installed, else skipped with the reason in its title. */
export function itWithAwsCli(title: string, sdkCase: string, test: Mocha.AsyncFunc): Mocha.Test {
  return it(title, async function () {
    if (!(await awsCliAvailable)) {
      if (this.test)
        this.test.title += ` [skipped: the AWS CLI \`aws\` is not on PATH; "${sdkCase}" proves the same]`;
      this.skip();
    }
    await test.call(this);
  });
}
