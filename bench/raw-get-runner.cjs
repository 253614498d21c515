'use strict';
/**
 * The floor of the large-object run: a fresh process doing a plain SDK GetObject of the object and draining the
 * body, nothing else (no hashing, no line counting, no logger, not bundled).
 *
 *   node bench/raw-get-runner.cjs <s3-endpoint> <bucket> <key>
 *
 * Credentials and region come from the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION).
 * Writes one JSON object to file descriptor 3 (stdout when fd 3 is not open): bytes, elapsedMs, maxRssKb.
 */
const { writeSync } = require('node:fs');
const { GetObjectCommand, S3Client } = require('@aws-sdk/client-s3');

const [endpoint, bucket, key] = process.argv.slice(2);

function report(value) {
  const text = `${JSON.stringify(value)}\n`;
  try {
    writeSync(3, text);
  } catch {
    writeSync(1, text);
  }
}

async function main() {
  if (!endpoint || !bucket || !key) throw new Error('usage: raw-get-runner.cjs <s3-endpoint> <bucket> <key>');
  // The same client options as lib/clients.ts uses offline.
  const s3 = new S3Client({
    region: process.env.AWS_REGION,
    endpoint,
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  const started = performance.now();
  const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  let bytes = 0;
  for await (const chunk of response.Body) bytes += chunk.length;
  const elapsedMs = performance.now() - started;
  return { ok: true, bytes, elapsedMs, maxRssKb: process.resourceUsage().maxRSS };
}

main().then(
  (outcome) => {
    report(outcome);
    process.exit(0);
  },
  (error) => {
    report({ ok: false, error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) });
    process.exit(1);
  },
);
