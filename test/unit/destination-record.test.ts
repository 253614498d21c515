import { expect } from 'chai';
import {
  destinationRecord,
  errorTypeFromStackLine,
  type FunctionErrorPayload,
  functionErrorPayload,
} from '../../offline/destination-record';

const FUNCTION_ARN = 'arn:aws:lambda:ap-northeast-1:000000000000:function:lambda-notes-dev-s3Upload:$LATEST';
const REQUEST_ID = 'e4b46cbf-b738-4a6e-8880-a18cdf61200e';
const TIMESTAMP = new Date('2026-11-25T13:37:12.345Z');
const PAYLOAD = { Records: [{ s3: { object: { key: 'targets/a.txt' } } }] };
const FAILURE: FunctionErrorPayload = {
  errorType: 'EmptyObjectError',
  errorMessage: 'targets/a.txt is empty',
  trace: ['EmptyObjectError: targets/a.txt is empty', '    at handler (/var/task/index.js:1:1)'],
};

class EmptyObjectError extends Error {
  override name = 'EmptyObjectError';
}

describe('destination-record', () => {
  describe('destinationRecord', () => {
    it('builds a failure record with exactly the fields Lambda sends', () => {
      const record = destinationRecord({
        requestId: REQUEST_ID,
        functionArn: FUNCTION_ARN,
        condition: 'RetriesExhausted',
        approximateInvokeCount: 3,
        requestPayload: PAYLOAD,
        timestamp: TIMESTAMP,
        lastOutcome: { ok: false, error: FAILURE },
      });
      expect(record).to.deep.equal({
        version: '1.0',
        timestamp: '2026-11-25T13:37:12.345Z',
        requestContext: {
          requestId: REQUEST_ID,
          functionArn: FUNCTION_ARN,
          condition: 'RetriesExhausted',
          approximateInvokeCount: 3,
        },
        requestPayload: PAYLOAD,
        responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
        responsePayload: {
          errorType: 'EmptyObjectError',
          errorMessage: 'targets/a.txt is empty',
          trace: FAILURE.trace,
        },
      });
    });

    it('lists the top-level fields in AWS order', () => {
      const record = destinationRecord({
        requestId: REQUEST_ID,
        functionArn: FUNCTION_ARN,
        condition: 'EventAgeExceeded',
        approximateInvokeCount: 1,
        requestPayload: PAYLOAD,
        timestamp: TIMESTAMP,
        lastOutcome: { ok: false, error: FAILURE },
      });
      expect(Object.keys(record)).to.deep.equal([
        'version',
        'timestamp',
        'requestContext',
        'requestPayload',
        'responseContext',
        'responsePayload',
      ]);
    });

    it('builds a Success record whose responseContext has no functionError and whose payload is the result', () => {
      const record = destinationRecord({
        requestId: REQUEST_ID,
        functionArn: FUNCTION_ARN,
        condition: 'Success',
        approximateInvokeCount: 1,
        requestPayload: PAYLOAD,
        timestamp: TIMESTAMP,
        lastOutcome: { ok: true, result: { processed: 1 } },
      });
      expect(record.requestContext.condition).to.equal('Success');
      expect(record.responseContext).to.deep.equal({ statusCode: 200, executedVersion: '$LATEST' });
      expect(record.responsePayload).to.deep.equal({ processed: 1 });
    });

    it('has no responseContext nor responsePayload when the event never ran', () => {
      const record = destinationRecord({
        requestId: REQUEST_ID,
        functionArn: FUNCTION_ARN,
        condition: 'EventAgeExceeded',
        approximateInvokeCount: 0,
        requestPayload: PAYLOAD,
        timestamp: TIMESTAMP,
        lastOutcome: undefined,
      });
      expect(record).to.not.have.any.keys('responseContext', 'responsePayload');
      expect(record.requestContext.approximateInvokeCount).to.equal(0);
    });

    it('survives a JSON round trip unchanged (it is sent as a message body)', () => {
      const record = destinationRecord({
        requestId: REQUEST_ID,
        functionArn: FUNCTION_ARN,
        condition: 'RetriesExhausted',
        approximateInvokeCount: 3,
        requestPayload: PAYLOAD,
        timestamp: TIMESTAMP,
        lastOutcome: { ok: false, error: FAILURE },
      });
      expect(JSON.parse(JSON.stringify(record))).to.deep.equal(record);
    });
  });

  describe('functionErrorPayload', () => {
    it('keeps the name of a custom error class', () => {
      const payload = functionErrorPayload(new EmptyObjectError('targets/a.txt is empty'));
      expect(payload.errorType).to.equal('EmptyObjectError');
      expect(payload.errorMessage).to.equal('targets/a.txt is empty');
    });

    it('gives the stack split into lines as trace, header line first', () => {
      const error = new EmptyObjectError('targets/a.txt is empty');
      const payload = functionErrorPayload(error);
      expect(payload.trace).to.deep.equal((error.stack ?? '').split('\n'));
      expect(payload.trace[0]).to.equal('EmptyObjectError: targets/a.txt is empty');
    });

    it('keeps a built-in error name such as TypeError', () => {
      expect(functionErrorPayload(new TypeError('x is not a function')).errorType).to.equal('TypeError');
    });

    it('reports a plain Error as "Error"', () => {
      expect(functionErrorPayload(new Error('boom')).errorType).to.equal('Error');
    });

    it('loses the custom name in a structured clone, only the stack keeps it (precondition)', () => {
      const cloned = structuredClone(
        new (class X extends Error {
          override name = 'X';
        })('m'),
      );
      expect(cloned).to.be.instanceOf(Error);
      expect(cloned.name).to.equal('Error');
      expect((cloned.stack ?? '').split('\n')[0]).to.equal('X: m');
    });

    it('takes errorType from the first stack line when the name was lost in a structured clone', () => {
      const cloned = structuredClone(
        new (class X extends Error {
          override name = 'X';
        })('m'),
      );
      expect(functionErrorPayload(cloned)).to.include({ errorType: 'X', errorMessage: 'm' });
    });

    it('takes errorType from the stack of a cloned subclass of a built-in error too', () => {
      class Y extends TypeError {
        override name = 'Y';
      }
      expect(functionErrorPayload(structuredClone(new Y('m'))).errorType).to.equal('Y');
    });

    it('falls back to "Error" when neither the name nor the stack says more', () => {
      const error = new Error('m');
      error.stack = undefined;
      expect(functionErrorPayload(error)).to.include({ errorType: 'Error', errorMessage: 'm' });
    });

    // Lambda's Node.js runtime (aws-lambda-nodejs-runtime-interface-client, formatError / toRapidResponse)
    // reports a thrown non-Error as { errorType: typeof value, errorMessage: String(value), trace: [] }.
    it('reports a thrown string as Lambda does: errorType "string"', () => {
      expect(functionErrorPayload('boom')).to.deep.equal({
        errorType: 'string',
        errorMessage: 'boom',
        trace: [],
      });
    });

    it('reports a thrown number as Lambda does: errorType "number"', () => {
      expect(functionErrorPayload(42)).to.deep.equal({ errorType: 'number', errorMessage: '42', trace: [] });
    });

    it('reports a thrown plain object as Lambda does: errorType "object"', () => {
      expect(functionErrorPayload({ reason: 'x' })).to.deep.equal({
        errorType: 'object',
        errorMessage: '[object Object]',
        trace: [],
      });
    });
  });

  describe('errorTypeFromStackLine', () => {
    const cases: Array<[string | undefined, string | undefined]> = [
      ['EmptyObjectError: targets/a.txt is empty', 'EmptyObjectError'],
      ['Error: a: b: c', 'Error'],
      ['EmptyObjectError', 'EmptyObjectError'],
      ['Runtime.ImportModuleError: Cannot find module', 'Runtime.ImportModuleError'],
      ['$Weird_Name1: m', '$Weird_Name1'],
      ['TypeError [ERR_INVALID_ARG_TYPE]: The "path" argument must be of type string', undefined],
      ['    at handler (/var/task/index.js:1:1)', undefined],
      ['1Error: m', undefined],
      ['Uncaught Error: m', undefined],
      ['', undefined],
      [undefined, undefined],
    ];
    for (const [line, expected] of cases) {
      it(`${JSON.stringify(line)} → ${JSON.stringify(expected)}`, () => {
        expect(errorTypeFromStackLine(line)).to.equal(expected);
      });
    }
  });
});
