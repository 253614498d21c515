/**
 * Every path under the offline state dir (OFFLINE_STATE_DIR, `.offline` by default), in one place. What is written
 * there is written by state/json-directory.ts (temporary file, fsync, rename, with a schema version) but for the
 * lock (state/lock.ts), the local S3's objects (s3rver) and the environments' TMPDIRs.
 *
 *   <state dir>/
 *     offline.lock.d, offline.lock.holder.json   the stack that holds the state dir (state/lock.ts)
 *     s3/<bucket>/…                                the local S3's objects (serverless.yml custom.s3.directory)
 *     async/pending/<request id>.json              events the async queue accepted and has not finished
 *     async/undeliverable/<request id>.json        records their destination could not take
 *     queues/<queue name>/<message id>.json        the local SQS queues (on-failure destinations, the DLQ)
 *     console/events/<name>.json                   events saved in the console's Test tab
 *     quarantine/…                                 files that could not be read, with a .reason.txt each
 *     environments/<environment id>/               each execution environment's TMPDIR (removed when it ends)
 */
import { join, resolve } from 'node:path';

/** The state dir: OFFLINE_STATE_DIR, relative to the service's folder, `.offline` when unset. */
export function stateDirOf(env: NodeJS.ProcessEnv, servicePath: string): string {
  return resolve(servicePath, env.OFFLINE_STATE_DIR || '.offline');
}

export interface StateLayout {
  readonly root: string;
  readonly lock: string;
  readonly lockHolder: string;
  readonly s3: string;
  readonly pending: string;
  readonly undeliverable: string;
  readonly queues: string;
  readonly savedEvents: string;
  readonly quarantine: string;
  readonly environments: string;
  queue(name: string): string;
}

export function stateLayout(stateDir: string): StateLayout {
  return {
    root: stateDir,
    lock: join(stateDir, 'offline.lock'),
    lockHolder: join(stateDir, 'offline.lock.holder.json'),
    s3: join(stateDir, 's3'),
    pending: join(stateDir, 'async', 'pending'),
    undeliverable: join(stateDir, 'async', 'undeliverable'),
    queues: join(stateDir, 'queues'),
    savedEvents: join(stateDir, 'console', 'events'),
    quarantine: join(stateDir, 'quarantine'),
    environments: join(stateDir, 'environments'),
    queue: (name) => join(stateDir, 'queues', name),
  };
}
