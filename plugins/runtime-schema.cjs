'use strict';
/**
 * Serverless Framework 3.40 validates provider/function `runtime` against a list frozen before nodejs22.x
 * and nodejs24.x existed, and warns on every command. AWS accepts both; serverless 3 deploys any runtime
 * string unchanged. This plugin adds them to the schema before validation runs, so the runtime is still
 * validated (a typo still warns) and no warning is printed for the real ones.
 */
const NEWER_NODE_RUNTIMES = ['nodejs22.x', 'nodejs24.x'];

class RuntimeSchema {
  constructor(serverless) {
    const runtimes = serverless.configSchemaHandler.schema.definitions.awsLambdaRuntime;
    if (!runtimes || !Array.isArray(runtimes.enum)) {
      throw new Error(
        'plugins/runtime-schema.cjs: the framework schema has no definitions.awsLambdaRuntime.enum; ' +
          'it was written for serverless 3.40 — check the pinned version.',
      );
    }
    for (const runtime of NEWER_NODE_RUNTIMES) {
      if (!runtimes.enum.includes(runtime)) runtimes.enum.push(runtime);
    }
  }
}

module.exports = RuntimeSchema;
