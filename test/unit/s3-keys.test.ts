import { expect } from 'chai';
import { InvalidEventError } from '../../lib/errors';
import { decodeS3Key, encodeS3Key, isFolderMarker } from '../../lib/s3-keys';

/** Raw object keys and the literal S3 writes into a notification for each (form-URL encoding). */
const KEYS: readonly { readonly raw: string; readonly encoded: string }[] = [
  { raw: 'targets/test.txt', encoded: 'targets/test.txt' },
  { raw: 'targets/a b+c.txt', encoded: 'targets/a+b%2Bc.txt' },
  { raw: 'targets/two  spaces.txt', encoded: 'targets/two++spaces.txt' },
  { raw: 'targets/100%.txt', encoded: 'targets/100%25.txt' },
  { raw: 'targets/%2B.txt', encoded: 'targets/%252B.txt' },
  { raw: 'targets/a&b=c.txt', encoded: 'targets/a%26b%3Dc.txt' },
  { raw: 'targets/日本.txt', encoded: 'targets/%E6%97%A5%E6%9C%AC.txt' },
  { raw: 'targets/😀.txt', encoded: 'targets/%F0%9F%98%80.txt' },
  { raw: 'targets/report (1).txt', encoded: 'targets/report+%281%29.txt' },
  { raw: 'targets/2026/11/25/data-v1_final.csv', encoded: 'targets/2026/11/25/data-v1_final.csv' },
  { raw: 'targets/folder/', encoded: 'targets/folder/' },
];

function decodeError(encodedKey: string): unknown {
  try {
    decodeS3Key(encodedKey);
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('s3-keys', () => {
  describe('decodeS3Key', () => {
    for (const { raw, encoded } of KEYS) {
      it(`decodes "${encoded}" to "${raw}"`, () => {
        expect(decodeS3Key(encoded)).to.equal(raw);
      });
    }

    it('accepts lower-case hex escapes', () => {
      expect(decodeS3Key('targets/%e6%97%a5.txt')).to.equal('targets/日.txt');
    });

    for (const malformed of ['%E0%A4%A', '%', 'targets/%ZZ.txt', 'targets/%FF.txt']) {
      it(`refuses the malformed encoding "${malformed}" with InvalidEventError naming the key`, () => {
        const error = decodeError(malformed);
        expect(error).to.be.instanceOf(InvalidEventError);
        expect((error as InvalidEventError).name).to.equal('InvalidEventError');
        expect((error as InvalidEventError).message).to.contain(`"${malformed}"`);
      });
    }
  });

  describe('encodeS3Key', () => {
    for (const { raw, encoded } of KEYS) {
      it(`encodes "${raw}" as S3 does: "${encoded}"`, () => {
        expect(encodeS3Key(raw)).to.equal(encoded);
      });
    }
  });

  describe('decodeS3Key(encodeS3Key(key))', () => {
    for (const { raw } of KEYS) {
      it(`gives back "${raw}"`, () => {
        expect(decodeS3Key(encodeS3Key(raw))).to.equal(raw);
      });
    }
  });

  describe('isFolderMarker', () => {
    for (const key of ['targets/folder/', 'targets/', 'targets/a b/']) {
      it(`treats "${key}" as a folder marker`, () => {
        expect(isFolderMarker(key)).to.equal(true);
      });
    }

    for (const key of ['targets/folder', 'targets/test.txt', 'targets/folder/.keep']) {
      it(`treats "${key}" as an object`, () => {
        expect(isFolderMarker(key)).to.equal(false);
      });
    }
  });
});
