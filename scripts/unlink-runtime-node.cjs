'use strict';
/**
 * npm links the `node` command of each `lambda-runtime-node*` optional dependency (the functions' Node binaries,
 * offline/environments/runtime-node.ts) into node_modules/.bin, where npm scripts and npx would find it before the
 * host's `node`: the framework, the tests and the tools would then run on a function's Node. Run after every
 * install (package.json `postinstall`), this removes that link, and only that link.
 */
const { readlinkSync, unlinkSync } = require('node:fs');
const { join } = require('node:path');

const link = join(__dirname, '..', 'node_modules', '.bin', 'node');
try {
  if (/lambda-runtime-node\d+-/.test(readlinkSync(link))) unlinkSync(link);
} catch (error) {
  if (error.code !== 'ENOENT' && error.code !== 'EINVAL') throw error;
}
