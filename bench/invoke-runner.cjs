'use strict';
/**
 * One invocation of a packaged handler in a fresh process, as Lambda's runtime does on a cold start: require the
 * bundle, call the handler once with the event, and stop (Lambda freezes the sandbox once the handler returns).
 *
 *   node bench/invoke-runner.cjs <unzipped>/handlers/s3-upload.js <event.json>
 *
 * Writes one JSON object to file descriptor 3 (stdout when fd 3 is not open): bootMs (process start to this
 * script), requireMs, invokeMs, rssAfterRequireKb, maxRssKb (process.resourceUsage().maxRSS), cpuMs (user + system
 * CPU of the whole process, all threads, up to the report), and the handler's result or the error.
 */
const { readFileSync, writeSync } = require('node:fs');
const { resolve } = require('node:path');

const bootMs = performance.now();
const [bundle, eventFile] = process.argv.slice(2);

function report(value) {
  const text = `${JSON.stringify(value)}\n`;
  try {
    writeSync(3, text);
  } catch {
    writeSync(1, text);
  }
}

const context = {
  callbackWaitsForEmptyEventLoop: true,
  functionName: 'lambda-notes-bench',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:ap-northeast-1:000000000000:function:lambda-notes-bench',
  memoryLimitInMB: '128',
  awsRequestId: '00000000-0000-4000-8000-000000000000',
  logGroupName: '/aws/lambda/lambda-notes-bench',
  logStreamName: 'bench',
  getRemainingTimeInMillis: () => 30_000,
  done: () => undefined,
  fail: () => undefined,
  succeed: () => undefined,
};

async function main() {
  if (!bundle || !eventFile) throw new Error('usage: invoke-runner.cjs <bundle.js> <event.json>');
  const event = JSON.parse(readFileSync(eventFile, 'utf8'));
  const beforeRequire = performance.now();
  const { handler } = require(resolve(bundle));
  const afterRequire = performance.now();
  const rssAfterRequireKb = process.resourceUsage().maxRSS;
  const result = await handler(event, context);
  const afterInvoke = performance.now();
  const usage = process.resourceUsage();
  return {
    ok: true,
    bootMs,
    requireMs: afterRequire - beforeRequire,
    invokeMs: afterInvoke - afterRequire,
    rssAfterRequireKb,
    maxRssKb: usage.maxRSS,
    cpuMs: (usage.userCPUTime + usage.systemCPUTime) / 1000,
    result,
  };
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
