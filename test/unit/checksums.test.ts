import { expect } from 'chai';
import { type ChecksumAlgorithm, createChecksum, readChecksumHeader } from '../../lib/checksums';

// Check values of "123456789" from the catalogue of parametrised CRC algorithms
// (https://reveng.sourceforge.io/crc-catalogue/all.htm: CRC-32/ISO-HDLC, CRC-32/ISCSI, CRC-64/NVME), and the
// SHA digests of the same string; S3 sends each as base64 of the big-endian value.
const CHECK_VALUES: Record<ChecksumAlgorithm, string> = {
  crc32: 'cbf43926',
  crc32c: 'e3069283',
  crc64nvme: 'ae8b14860a799888',
  sha1: 'f7c3bc1d808e04732adf679965ccc34ca7ae3441',
  sha256: '15e2b0d3c33891ebb0f1ef609ec419420c20e320ce94c65fbc8c3312448eb225',
};

function digestHex(algorithm: ChecksumAlgorithm, chunks: readonly string[]): string {
  const checksum = createChecksum(algorithm);
  for (const chunk of chunks) checksum.update(Buffer.from(chunk));
  return Buffer.from(checksum.digest(), 'base64').toString('hex');
}

describe('checksums S3 can store with an object', () => {
  for (const [algorithm, expected] of Object.entries(CHECK_VALUES) as Array<[ChecksumAlgorithm, string]>) {
    it(`${algorithm} of "123456789" is the catalogue's check value`, () => {
      expect(digestHex(algorithm, ['123456789'])).to.equal(expected);
    });

    it(`${algorithm} is the same whatever the chunks (1 + 8, 4 + 5, 9 × 1 bytes)`, () => {
      for (const chunks of [['1', '23456789'], ['1234', '56789'], [...'123456789']]) {
        expect(digestHex(algorithm, chunks), chunks.join('|')).to.equal(expected);
      }
    });
  }

  it('crc64nvme over more than 8 bytes at a time (the sliced loop) agrees with byte-at-a-time', () => {
    const data = Buffer.from(Array.from({ length: 1000 }, (_, index) => (index * 31) % 256));
    const whole = createChecksum('crc64nvme');
    whole.update(data);
    const bytes = createChecksum('crc64nvme');
    for (const byte of data) bytes.update(Buffer.from([byte]));
    expect(whole.digest()).to.equal(bytes.digest());
  });

  describe('readChecksumHeader', () => {
    it("takes the SDK's first choice when several are sent: SHA-256, SHA-1, CRC32, CRC32C, CRC64NVME", () => {
      expect(
        readChecksumHeader({
          'x-amz-checksum-crc64nvme': 'AAAAAAAAAAA=',
          'x-amz-checksum-crc32': 'AAAAAA==',
        }),
      ).to.deep.equal({ algorithm: 'crc32', expected: 'AAAAAA==' });
    });

    it("ignores a multipart upload's checksum of parts", () => {
      expect(readChecksumHeader({ 'x-amz-checksum-crc32': 'AAAAAA==-12' })).to.equal(undefined);
    });

    it('gives nothing when S3 sends no checksum', () => {
      expect(readChecksumHeader({ 'content-type': 'text/plain' })).to.equal(undefined);
    });
  });
});
