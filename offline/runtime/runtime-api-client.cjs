// @ts-check
'use strict';
/**
 * The runtime's side of Lambda's Runtime API (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html):
 * one keep-alive connection to AWS_LAMBDA_RUNTIME_API, as AWS's runtime client holds one.
 */
const http = require('node:http');

/** @typedef {{ errorType: string, errorMessage: string, trace: string[] }} ErrorPayload */
/** @typedef {{ status: number, headers: import('node:http').IncomingHttpHeaders, body: string }} ApiAnswer */

const RUNTIME = '/2018-06-01/runtime';
const address = String(process.env.AWS_LAMBDA_RUNTIME_API);
const [apiHost, apiPort] = address.split(':');
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

/**
 * @param {'GET' | 'POST'} method
 * @param {string} path
 * @param {string} [body]
 * @param {Record<string, string>} [headers]
 * @returns {Promise<ApiAnswer>}
 */
function call(method, path, body, headers = {}) {
  return new Promise((done, fail) => {
    const request = http.request(
      { host: apiHost, port: Number(apiPort), method, path: `${RUNTIME}${path}`, agent, headers },
      (response) => {
        const chunks = /** @type {Buffer[]} */ ([]);
        response.on('data', (chunk) => chunks.push(chunk));
        response.on('end', () =>
          done({
            status: response.statusCode ?? 0,
            headers: response.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        response.on('error', fail);
      },
    );
    request.on('error', fail);
    request.end(body);
  });
}

/**
 * The Runtime API is part of the stack that started this process: without it there is nothing left to do.
 * @param {unknown} error
 * @returns {never}
 */
function apiGone(error) {
  process.stderr.write(`offline runtime: the Runtime API at ${address} is gone (${String(error)})\n`);
  process.exit(1);
}

/**
 * Resolves once everything written to stdout and stderr has reached the pipes: a pipe that is full makes Node
 * queue writes, and the answer must not overtake the run's last lines (the environment closes the run's log
 * when the answer comes).
 * @returns {Promise<unknown>}
 */
function flushed() {
  return Promise.all(
    [process.stdout, process.stderr].map(
      (stream) => new Promise((done) => stream.write('', () => done(undefined))),
    ),
  );
}

/**
 * @param {string} path
 * @param {ErrorPayload} payload
 */
async function postError(path, payload) {
  await flushed();
  return call('POST', path, JSON.stringify(payload), {
    'content-type': 'application/json',
    'lambda-runtime-function-error-type': payload.errorType,
  });
}

/** @returns {Promise<ApiAnswer>} the next event, when the Runtime API hands one over */
const nextInvocation = () => call('GET', '/invocation/next').catch(apiGone);

/**
 * @param {string} requestId
 * @param {string} body
 */
async function postResponse(requestId, body) {
  await flushed();
  return call('POST', `/invocation/${requestId}/response`, body, {
    'content-type': 'application/json',
  }).catch(apiGone);
}

/**
 * @param {string} requestId
 * @param {ErrorPayload} payload
 */
const postInvocationError = (requestId, payload) =>
  postError(`/invocation/${requestId}/error`, payload).catch(apiGone);

/** @param {ErrorPayload} payload */
const postInitError = (payload) => postError('/init/error', payload).catch(apiGone);

module.exports = { call, flushed, nextInvocation, postResponse, postInvocationError, postInitError, RUNTIME };
