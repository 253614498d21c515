import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JsonDirectory } from '../../offline/state/json-directory';
import { stateLayout } from '../../offline/state/layout';
import { LocalQueue } from '../../offline/state/local-queue';

const T0 = Date.parse('2026-11-25T13:37:00.000Z');

/** A clock that moves 1 ms per call, so every message has its own SentTimestamp. */
function tickingClock(start = T0): () => number {
  let now = start;
  return () => now++;
}

describe('local-queue', () => {
  let root: string;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'local-queue-'));
  });

  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  describe('LocalQueue', () => {
    it('returns the message it stored, with SentTimestamp from the clock', async () => {
      const queue = new LocalQueue(root, 'dlq', () => T0);
      const message = await queue.send('{"a":1}');
      expect(message).to.include({ Body: '{"a":1}' });
      expect(message.Attributes).to.deep.equal({ SentTimestamp: String(T0) });
      expect(message.MessageId).to.match(/^[0-9a-f-]{36}$/);
    });

    it('gives MD5OfBody as SQS does: hex MD5 of the UTF-8 body', async () => {
      const queue = new LocalQueue(root, 'dlq', () => T0);
      const message = await queue.send('日本 body');
      expect(message.MD5OfBody).to.equal(
        createHash('md5').update(Buffer.from('日本 body', 'utf8')).digest('hex'),
      );
    });

    it('gives the well-known MD5 of an empty body', async () => {
      const queue = new LocalQueue(root, 'dlq', () => T0);
      expect((await queue.send('')).MD5OfBody).to.equal('d41d8cd98f00b204e9800998ecf8427e');
    });

    it('lists messages in the order they were sent', async () => {
      const queue = new LocalQueue(root, 'dlq', tickingClock());
      for (const body of ['first', 'second', 'third']) await queue.send(body);
      expect((await queue.list()).map((message) => message.Body)).to.deep.equal(['first', 'second', 'third']);
    });

    it('orders by time, not by text (a shorter timestamp is not listed last)', async () => {
      const times = [999, 1_000];
      const queue = new LocalQueue(root, 'dlq', () => times.shift() ?? 0);
      await queue.send('at 999');
      await queue.send('at 1000');
      expect((await queue.list()).map((message) => message.Body)).to.deep.equal(['at 999', 'at 1000']);
    });

    it('lists what send returned', async () => {
      const queue = new LocalQueue(root, 'dlq', tickingClock());
      const sent = await queue.send('x');
      expect(await queue.list()).to.deep.equal([sent]);
    });

    it('lists nothing for a queue that never received a message', async () => {
      expect(await new LocalQueue(root, 'empty').list()).to.deep.equal([]);
    });

    it('deletes one message by id and keeps the others', async () => {
      const queue = new LocalQueue(root, 'dlq', tickingClock());
      const [first, second] = [await queue.send('first'), await queue.send('second')];
      expect(await queue.delete(first.MessageId)).to.equal(true);
      expect(await queue.list()).to.deep.equal([second]);
    });

    it('answers false when deleting an unknown id', async () => {
      const queue = new LocalQueue(root, 'dlq', tickingClock());
      await queue.send('x');
      expect(await queue.delete('00000000-0000-0000-0000-000000000000')).to.equal(false);
    });

    it('answers false when deleting the same id twice', async () => {
      const queue = new LocalQueue(root, 'dlq', tickingClock());
      const { MessageId } = await queue.send('x');
      await queue.delete(MessageId);
      expect(await queue.delete(MessageId)).to.equal(false);
    });

    it('purges every message and says how many there were', async () => {
      const queue = new LocalQueue(root, 'dlq', tickingClock());
      for (const body of ['a', 'b', 'c']) await queue.send(body);
      expect(await queue.purge()).to.equal(3);
      expect(await queue.list()).to.deep.equal([]);
    });

    it('purges an empty queue as 0', async () => {
      expect(await new LocalQueue(root, 'dlq').purge()).to.equal(0);
    });

    it('keeps messages across instances over the same directory (a restart)', async () => {
      const before = new LocalQueue(root, 'dlq', tickingClock());
      const sent = [await before.send('one'), await before.send('two')];
      expect(await new LocalQueue(root, 'dlq').list()).to.deep.equal(sent);
    });

    it('lets a second instance delete what the first one sent', async () => {
      const writer = new LocalQueue(root, 'dlq', tickingClock());
      const { MessageId } = await writer.send('one');
      expect(await new LocalQueue(root, 'dlq').delete(MessageId)).to.equal(true);
      expect(await writer.list()).to.deep.equal([]);
    });

    it('keeps queues apart', async () => {
      await new LocalQueue(root, 'dlq', tickingClock()).send('for dlq');
      expect(await new LocalQueue(root, 'other').list()).to.deep.equal([]);
    });

    it('stores a queue under <stateDir>/queues/<name>', async () => {
      await new LocalQueue(root, 'dlq', tickingClock()).send('x');
      expect(stateLayout(root).queue('dlq')).to.equal(join(root, 'queues', 'dlq'));
      expect(await readdir(join(root, 'queues', 'dlq'))).to.have.length(1);
    });
  });

  describe('JsonDirectory', () => {
    it('reads back what it stored', async () => {
      const directory = new JsonDirectory<{ n: number }>(join(root, 'entries'));
      await directory.put('a', { n: 1 });
      expect(await directory.read('a')).to.deep.equal({ n: 1 });
    });

    it('replaces an entry put under the same name', async () => {
      const directory = new JsonDirectory<{ n: number }>(join(root, 'entries'));
      await directory.put('a', { n: 1 });
      await directory.put('a', { n: 2 });
      expect(await directory.entries()).to.deep.equal([{ name: 'a', value: { n: 2 } }]);
    });

    it('lists names sorted', async () => {
      const directory = new JsonDirectory<number>(join(root, 'entries'));
      for (const name of ['b', 'c', 'a']) await directory.put(name, 0);
      expect(await directory.names()).to.deep.equal(['a', 'b', 'c']);
    });

    it('leaves no temporary file behind after a put', async () => {
      const directory = new JsonDirectory<number>(join(root, 'entries'));
      await directory.put('a', 1);
      expect(await readdir(join(root, 'entries'))).to.deep.equal(['a.json']);
    });

    it('never lists a temporary file left by an interrupted put', async () => {
      const path = join(root, 'entries');
      const directory = new JsonDirectory<number>(path);
      await directory.put('a', 1);
      await writeFile(join(path, `.b.${process.pid}.tmp`), '{"half');
      expect(await directory.names()).to.deep.equal(['a']);
    });

    it('never reads a temporary file left by an interrupted put', async () => {
      const path = join(root, 'entries');
      const directory = new JsonDirectory<number>(path);
      await directory.put('a', 1);
      await writeFile(join(path, `.b.${process.pid}.tmp`), '{"half');
      expect(await directory.entries()).to.deep.equal([{ name: 'a', value: 1 }]);
    });

    it('ignores hidden and non-JSON files', async () => {
      const path = join(root, 'entries');
      await mkdir(path, { recursive: true });
      await writeFile(join(path, '.hidden.json'), '1');
      await writeFile(join(path, 'notes.txt'), 'x');
      expect(await new JsonDirectory<number>(path).names()).to.deep.equal([]);
    });

    it('gives [] as the names of a directory that does not exist', async () => {
      expect(await new JsonDirectory(join(root, 'missing')).names()).to.deep.equal([]);
    });

    it('gives [] as the entries of a directory that does not exist', async () => {
      expect(await new JsonDirectory(join(root, 'missing')).entries()).to.deep.equal([]);
    });

    it('reads a missing entry as undefined', async () => {
      expect(await new JsonDirectory(join(root, 'missing')).read('nope')).to.equal(undefined);
    });

    it('answers false when removing a missing entry', async () => {
      expect(await new JsonDirectory(join(root, 'missing')).remove('nope')).to.equal(false);
    });

    it('answers true when removing an entry, which is then gone', async () => {
      const directory = new JsonDirectory<number>(join(root, 'entries'));
      await directory.put('a', 1);
      expect(await directory.remove('a')).to.equal(true);
      expect(await directory.read('a')).to.equal(undefined);
    });

    it('creates nested directories on the first put', async () => {
      const directory = new JsonDirectory<number>(join(root, 'a', 'b', 'c'));
      await directory.put('x', 1);
      expect(await readdir(join(root, 'a', 'b', 'c'))).to.deep.equal(['x.json']);
    });
  });
});
