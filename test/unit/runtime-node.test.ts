/**
 * Each function runs on its runtime's Node major (nodejs24.x → Node 24, nodejs22.x → Node 22), from the
 * `lambda-runtime-node*` optional dependencies that `npm ci` installs for this platform; the host's Node otherwise,
 * said in one line.
 */
import { expect } from 'chai';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runtimeNode, runtimeNodePackage } from '../../offline/environments/runtime-node';
import { fixtureSpec } from '../helpers/runtime-fixtures';
import { TestEnvironments } from '../helpers/environment-runs';

/** The platforms package.json has a binary for. */
const PACKAGED = ['linux-x64', 'linux-arm64'].includes(`${process.platform}-${process.arch}`);
const HOST_MAJOR = Number(process.versions.node.split('.')[0]);

describe('execution environments: the Node of the function’s runtime', function () {
  this.timeout(20_000);
  let tmpRoot = '';
  const environments = new TestEnvironments(() => tmpRoot);

  before(async () => {
    tmpRoot = await mkdtemp(join(tmpdir(), 'lambda-notes-node-'));
  });
  afterEach(() => environments.endAll());
  after(() => rm(tmpRoot, { recursive: true, force: true }));

  for (const major of [24, 22]) {
    it(`runs a nodejs${major}.x function on Node ${major}`, async () => {
      const node = runtimeNode(`nodejs${major}.x`);
      if (PACKAGED) expect(node.fallback, 'npm ci installs it here').to.equal(undefined);
      const environment = await environments.start(
        fixtureSpec('node-version.handler', { runtime: `nodejs${major}.x` }),
      );
      const version = (await environments.run(environment)).payload as string;
      const expected = node.fallback === undefined ? major : HOST_MAJOR;
      expect(version).to.match(new RegExp(`^v${expected}\\.`));
    });
  }

  it('names the package it looks for, and says in one line when the host’s Node runs a function instead', () => {
    expect(runtimeNodePackage(24, 'linux', 'x64')).to.equal('lambda-runtime-node24-linux-x64');
    const old = runtimeNode('nodejs16.x');
    expect(old.path).to.equal(process.execPath);
    expect(old.fallback).to.match(/^nodejs16\.x: no Node 16 for .+; functions run on the host's Node /);
    expect(old.fallback).not.to.include('\n');
    expect(runtimeNode(`nodejs${HOST_MAJOR}.x`)).to.deep.equal({ path: process.execPath });
  });
});
