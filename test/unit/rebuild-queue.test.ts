/**
 * The offline rebuild queue (offline/adapters/serverless-esbuild-rebuilds.ts): a save during a build is built after
 * it (esbuild alone would answer it with the build under way), saves close together are one build, and the stack
 * hears of each build once, unless a newer one is already asked for.
 */
import { expect } from 'chai';
import { RebuildQueue } from '../../offline/adapters/serverless-esbuild-rebuilds';
import { waitFor } from '../../support/wait';

/** A build the test ends by hand; `log` lists what each build saw of the "sources". */
class Builds {
  readonly log: string[] = [];
  source = 'v0';
  /** The most builds under way at once. */
  peak = 0;
  #finish: ((error?: Error) => void)[] = [];

  readonly build = (): Promise<void> => {
    this.log.push(this.source);
    return new Promise((resolve, reject) => {
      this.#finish.push((error) => (error ? reject(error) : resolve()));
      this.peak = Math.max(this.peak, this.#finish.length);
    });
  };

  get running(): number {
    return this.#finish.length;
  }

  end(error?: Error): void {
    const finish = this.#finish.shift();
    if (!finish) throw new Error('no build under way');
    finish(error);
  }
}

describe('RebuildQueue (offline rebuilds)', () => {
  it('builds a save made during a build once that build has ended, with the latest sources', async () => {
    const builds = new Builds();
    const queue = new RebuildQueue(builds.build, 5);
    builds.source = 'v1';
    const first = queue.request();
    await waitFor('the first build', () => builds.running === 1);
    builds.source = 'v2';
    const second = queue.request();
    builds.source = 'v3';
    const third = queue.request();
    builds.end();
    await first;
    await waitFor('the second build', () => builds.running === 1);
    builds.end();
    await Promise.all([second, third]);
    expect(builds.log).to.deep.equal(['v1', 'v3']);
    expect(builds.peak, 'never two builds at once').to.equal(1);
  });

  it('makes one build of requests that come within the quiet time of each other', async () => {
    const builds = new Builds();
    const queue = new RebuildQueue(builds.build, 30);
    const requests = [queue.request(), queue.request(), queue.request()];
    await waitFor('a build', () => builds.running === 1);
    builds.end();
    await Promise.all(requests);
    expect(builds.log).to.have.length(1);
  });

  it('tells the stack of each build once, and not of one a newer request supersedes', async () => {
    const builds = new Builds();
    const queue = new RebuildQueue(builds.build, 1);
    const first = queue.request();
    await waitFor('the first build', () => builds.running === 1);
    const second = queue.request();
    builds.end();
    await first;
    expect(queue.shouldNotify(), 'superseded').to.equal(false);
    await waitFor('the second build', () => builds.running === 1);
    builds.end();
    await second;
    expect(queue.shouldNotify()).to.equal(true);
    expect(queue.shouldNotify(), 'already told').to.equal(false);
  });

  it('rejects the requests a failed build answers, and builds again on the next request', async () => {
    const builds = new Builds();
    const queue = new RebuildQueue(builds.build, 1);
    const failed = queue.request();
    await waitFor('a build', () => builds.running === 1);
    builds.end(new Error('Unexpected ";"'));
    let error: unknown;
    await failed.catch((caught: unknown) => {
      error = caught;
    });
    expect(error).to.be.instanceOf(Error);
    const next = queue.request();
    await waitFor('the next build', () => builds.running === 1);
    builds.end();
    await next;
    expect(builds.log).to.have.length(2);
  });
});
