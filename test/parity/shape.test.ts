import { expect } from 'chai';
import { compareShape } from './shape';

const ID_A = '0b8a6cdb-0f6c-4f6e-9d4c-1f4e5e0c2a11';
const ID_B = '9f1d2c3b-4a5e-4f60-8a7b-6c5d4e3f2a1b';

describe('parity comparator', () => {
  it('accepts equal literals and placeholders in their format', () => {
    expect(
      compareShape(
        { a: 1, b: 'x', id: '<uuid:1>', t: 'date' },
        { a: 1, b: 'x', id: ID_A, t: '2026-11-26T18:00:00.000Z' },
      ),
    ).to.deep.equal([]);
  });

  it('reports a different literal, a missing field and a field AWS does not send', () => {
    const differences = compareShape({ a: 1, b: 2 }, { a: 2, c: 3 });
    expect(differences.map((d) => d.path)).to.deep.equal(['$.a', '$.b', '$.c']);
  });

  it("reports a value out of its placeholder's format", () => {
    expect(compareShape({ id: '<uuid:1>' }, { id: 'not-a-uuid' })).to.have.length(1);
    expect(compareShape('date', '26/11/2026')).to.have.length(1);
  });

  it('requires one numbered placeholder to stand for one value, and two for two values', () => {
    expect(compareShape(['<uuid:1>', 'START <uuid:1>'], [ID_A, `START ${ID_B}`])).to.have.length(1);
    expect(compareShape(['<uuid:1>', '<uuid:2>'], [ID_A, ID_A])).to.have.length(1);
    expect(compareShape(['<uuid:1>', '<uuid:2>'], [ID_A, ID_B])).to.deep.equal([]);
  });

  it('lets the recorded account 111111111111 stand for the offline 000000000000 only', () => {
    expect(
      compareShape('arn:aws:lambda:x:111111111111:function:f', 'arn:aws:lambda:x:000000000000:function:f'),
    ).to.deep.equal([]);
    expect(
      compareShape('arn:aws:lambda:x:111111111111:function:f', 'arn:aws:lambda:x:123456789012:function:f'),
    ).to.have.length(1);
  });

  it('checks arrays item by item and their length', () => {
    expect(compareShape([1, 2], [1])).to.have.length(1);
    expect(compareShape([1, 2], [1, 3])).to.have.length(1);
  });
});
