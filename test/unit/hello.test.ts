import { expect } from 'chai';
import { InvalidEventError } from '../../lib/errors';
import { blueprintLines, classifyHelloEvent, helloEventFromQuery } from '../../lib/hello';
import { httpEvent, loadEvent } from '../../support/fixtures';

function classifyError(event: unknown): InvalidEventError {
  let caught: unknown;
  try {
    classifyHelloEvent(event);
  } catch (error) {
    caught = error;
  }
  expect(caught, 'classifyHelloEvent should throw').to.be.instanceOf(InvalidEventError);
  return caught as InvalidEventError;
}

describe('hello', () => {
  describe('classifyHelloEvent', () => {
    it('classifies events/hello.json as the test event, unchanged', () => {
      const event = loadEvent('hello');
      expect(classifyHelloEvent(event)).to.deep.equal({ kind: 'test-event', event });
    });

    it('classifies events/schedule.json as a schedule', () => {
      const event = loadEvent('schedule');
      expect(classifyHelloEvent(event)).to.deep.equal({ kind: 'schedule', event });
    });

    it('classifies an HTTP API v2 request as http', () => {
      const event = httpEvent({ key1: 'a' });
      expect(classifyHelloEvent(event)).to.deep.equal({ kind: 'http', event });
    });

    it('classifies an HTTP request that also has a top-level key1 as http', () => {
      expect(classifyHelloEvent({ ...httpEvent({ key1: 'a' }), key1: 'a' }).kind).to.equal('http');
    });

    it('accepts a test event with only key1', () => {
      expect(classifyHelloEvent({ key1: 'only' }).kind).to.equal('test-event');
    });

    const invalid: readonly { readonly label: string; readonly event: unknown; readonly got: string }[] = [
      { label: 'an array', event: [loadEvent('hello')], got: 'got [{"key1"' },
      { label: 'a string', event: 'value1', got: 'got "value1"' },
      { label: 'null', event: null, got: 'got null' },
      { label: '{}', event: {}, got: 'got an object with keys []' },
      { label: 'an object without key1', event: { key2: 'value2' }, got: 'got an object with keys [key2]' },
    ];
    for (const { label, event, got } of invalid) {
      it(`refuses ${label} with InvalidEventError mentioning key1 and events/hello.json`, () => {
        const { name, message } = classifyError(event);
        expect(name).to.equal('InvalidEventError');
        expect(message).to.contain('"key1"').and.to.contain('events/hello.json').and.to.contain(got);
      });
    }
  });

  describe('blueprintLines', () => {
    it('gives exactly the three blueprint lines for events/hello.json', () => {
      expect(blueprintLines(loadEvent('hello'))).to.deep.equal([
        'value1 = value1',
        'value2 = value2',
        'value3 = value3',
      ]);
    });

    it('prints missing values as null when they came from a query string', () => {
      expect(blueprintLines({ key1: 'a', key2: null, key3: null })).to.deep.equal([
        'value1 = a',
        'value2 = null',
        'value3 = null',
      ]);
    });
  });

  describe('helloEventFromQuery', () => {
    it('maps key1, key2 and key3 from the query string', () => {
      expect(helloEventFromQuery(httpEvent({ key1: 'a', key2: 'b', key3: 'c' }))).to.deep.equal({
        key1: 'a',
        key2: 'b',
        key3: 'c',
      });
    });

    it('nulls the keys the query string lacks and ignores the others', () => {
      expect(helloEventFromQuery(httpEvent({ key2: 'b', other: 'x' }))).to.deep.equal({
        key1: null,
        key2: 'b',
        key3: null,
      });
    });

    it('nulls every key when there is no query string', () => {
      expect(helloEventFromQuery(httpEvent(undefined))).to.deep.equal({ key1: null, key2: null, key3: null });
    });
  });
});
