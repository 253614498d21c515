'use strict';
/**
 * Local plugin serverless.yml loads: every deploy of a stage, however started, stops before it reaches
 * CloudFormation if it would change a kept setting nobody named, and warns when the alarms reach nobody
 * (scripts/kept-settings.ts). Compiled on the fly by tsx, and only when a deploy runs.
 */
class KeptSettingsPlugin {
  constructor(serverless, cliOptions, { log }) {
    this.hooks = {
      // After the framework's own before:deploy:deploy hooks: the template is compiled, or read from --package.
      'before:deploy:deploy': () => {
        const { require: requireTs } = require('tsx/cjs/api');
        const { guardDeploy } = requireTs('./kept-settings.ts', __filename);
        return guardDeploy(serverless, cliOptions, log);
      },
    };
  }
}

module.exports = KeptSettingsPlugin;
