import { expect } from 'chai';
import { destinationRecord } from '../../offline/core/destination-record';
import type { FunctionErrorPayload } from '../../offline/model/outcomes';

const FUNCTION_ARN = 'arn:aws:lambda:ap-northeast-1:000000000000:function:lambda-notes-dev-s3Upload:$LATEST';
const REQUEST_ID = 'e4b46cbf-b738-4a6e-8880-a18cdf61200e';
const TIMESTAMP = new Date('2026-11-25T13:37:12.345Z');
const PAYLOAD = { Records: [{ s3: { object: { key: 'targets/a.txt' } } }] };
const FAILURE: FunctionErrorPayload = {
  errorType: 'EmptyObjectError',
  errorMessage: 'targets/a.txt is empty',
  trace: ['EmptyObjectError: targets/a.txt is empty', '    at handler (/var/task/index.js:1:1)'],
};

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

    // The message body AWS sent in LocalStack's test_maxeventage (test/parity/recorded/lambda-async.json), whose
    // recording keeps the order of its fields.
    it('is sent as the JSON text AWS sends: every field, nested ones too, in the recorded order', () => {
      const record = destinationRecord({
        requestId: REQUEST_ID,
        functionArn: FUNCTION_ARN,
        condition: 'RetriesExhausted',
        approximateInvokeCount: 3,
        requestPayload: PAYLOAD,
        timestamp: TIMESTAMP,
        lastOutcome: { ok: false, error: FAILURE },
      });
      expect(JSON.stringify(record)).to.equal(
        JSON.stringify({
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
          responsePayload: FAILURE,
        }),
      );
    });
  });
});
