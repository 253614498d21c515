/**
 * The AWS CLI is the user's tool, not a dependency of the project. The cases that drive it run where `aws` is
 * installed; elsewhere the test report lists them as skipped, saying so in their title and naming the SDK case
 * that proves the same behaviour, which runs everywhere.
 */
import { spawnSync } from 'node:child_process';

/** Whether `aws --version` runs here: asked once per test process, when the test files are loaded. */
export const AWS_CLI_AVAILABLE =
  spawnSync('aws', ['--version'], { stdio: 'ignore', timeout: 30_000 }).status === 0;

/** A case that needs the AWS CLI: run where it is installed, else skipped with the reason in its title. */
export function itWithAwsCli(title: string, sdkCase: string, test: Mocha.AsyncFunc): Mocha.Test {
  if (AWS_CLI_AVAILABLE) return it(title, test);
  return it.skip(
    `${title} [skipped: the AWS CLI \`aws\` is not on PATH; "${sdkCase}" proves the same]`,
    test,
  );
}
