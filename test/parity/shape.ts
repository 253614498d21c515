/**
 * Compares what offline produced with a shape recorded against AWS, field by field. Recorded values are literals
 * (must be equal) or placeholders as LocalStack's snapshots write them (`<uuid:1>`, `date`, `sequencer`, …): a
 * placeholder is checked by format, and the same numbered placeholder must stand for the same value everywhere.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface RecordedCase {
  readonly test?: string;
  readonly doc?: string;
  readonly recorded: unknown;
}

export interface RecordedFile {
  readonly source: string;
  readonly cases: Record<string, RecordedCase>;
}

export function loadRecorded(file: string): RecordedFile {
  return JSON.parse(readFileSync(join(__dirname, 'recorded', file), 'utf8')) as RecordedFile;
}

export function recordedCase(file: RecordedFile, name: string): RecordedCase {
  const found = file.cases[name];
  if (!found) throw new Error(`No recorded case "${name}" in test/parity/recorded (source: ${file.source})`);
  return found;
}

const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';

/** Formats of the placeholders the recordings use. */
const FORMATS: Record<string, string> = {
  uuid: UUID,
  'request-id': UUID,
  region: '[a-z]{2}(?:-gov)?-[a-z]+-\\d',
  partition: 'aws',
  'ip-address': '[0-9a-fA-F:.]+',
  'principal-id': '(?:AWS:)?[0-9A-Z]+',
  resource: '[a-z0-9][a-z0-9.-]*',
  'config-id': '\\S+',
  'function-name': '[a-zA-Z0-9-_]+',
  'object-key': '\\S+',
  duration: '\\d+(?:\\.\\d+)?',
  date: '\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(?:\\.\\d+)?Z',
  memory: '\\d+',
  bytes: '\\d+',
  'error-type': '[A-Za-z][\\w.]*',
  'error-message': '[^]*',
  'parser-message': '[^]*',
  any: '[^]*',
};

/** Bare words LocalStack puts in place of values. */
const WORDS: Record<string, RegExp> = {
  date: /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z$/,
  sequencer: /^[0-9A-F]{16,}$/,
  'amz-id': /^\S+$/,
  'amz-request-id': /^[0-9A-F]{16}$/,
  'log-result': /^[A-Za-z0-9+/]+={0,2}$/,
};

/** The one value offline may not match: the account id (000000000000 offline, listed in the README). */
const RECORDED_ACCOUNT = '111111111111';
const OFFLINE_ACCOUNT = '000000000000';

export interface Difference {
  readonly path: string;
  readonly recorded: unknown;
  readonly offline: unknown;
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A recorded string with placeholders → a regex; numbered placeholders become named groups to bind. */
function patternOf(recorded: string): { regex: RegExp; names: string[] } | undefined {
  const placeholder = /<([a-z-]+)(?::(\d+))?>/g;
  if (!placeholder.test(recorded)) return undefined;
  placeholder.lastIndex = 0;
  const names: string[] = [];
  let source = '';
  let last = 0;
  for (const match of recorded.matchAll(placeholder)) {
    const [whole, name = '', index] = match;
    source += escape(recorded.slice(last, match.index)).replaceAll(RECORDED_ACCOUNT, OFFLINE_ACCOUNT);
    const format = FORMATS[name];
    if (format === undefined) throw new Error(`Unknown placeholder ${whole} in a recorded value`);
    names.push(index === undefined ? '' : `${name}:${index}`);
    source += `(${format})`;
    last = (match.index ?? 0) + whole.length;
  }
  source += escape(recorded.slice(last)).replaceAll(RECORDED_ACCOUNT, OFFLINE_ACCOUNT);
  return { regex: new RegExp(`^${source}$`), names };
}

export function compareShape(
  recorded: unknown,
  offline: unknown,
  path = '$',
  bindings: Map<string, unknown> = new Map(),
): Difference[] {
  if (typeof recorded === 'string') {
    if (recorded === '<trace>') return Array.isArray(offline) ? [] : [{ path, recorded, offline }];
    if (recorded === '<any>') return offline === undefined ? [{ path, recorded, offline }] : [];
    const word = WORDS[recorded];
    if (word) return typeof offline === 'string' && word.test(offline) ? [] : [{ path, recorded, offline }];
    const pattern = patternOf(recorded);
    if (pattern) {
      const match = typeof offline === 'string' ? pattern.regex.exec(offline) : null;
      if (!match) return [{ path, recorded, offline }];
      const differences: Difference[] = [];
      pattern.names.forEach((name, position) => {
        if (name === '') return;
        const value = match[position + 1];
        const bound = bindings.get(name);
        if (bound === undefined) {
          for (const [other, otherValue] of bindings) {
            if (other.split(':')[0] === name.split(':')[0] && otherValue === value) {
              differences.push({ path, recorded: `${name} (differs from ${other})`, offline: value });
            }
          }
          bindings.set(name, value);
        } else if (bound !== value) {
          differences.push({ path, recorded: `${name} = ${String(bound)}`, offline: value });
        }
      });
      return differences;
    }
    return recorded.replaceAll(RECORDED_ACCOUNT, OFFLINE_ACCOUNT) === offline
      ? []
      : [{ path, recorded, offline }];
  }
  if (Array.isArray(recorded)) {
    if (!Array.isArray(offline) || offline.length !== recorded.length) return [{ path, recorded, offline }];
    return recorded.flatMap((item, index) =>
      compareShape(item, offline[index], `${path}[${index}]`, bindings),
    );
  }
  if (typeof recorded === 'object' && recorded !== null) {
    if (typeof offline !== 'object' || offline === null || Array.isArray(offline)) {
      return [{ path, recorded, offline }];
    }
    const want = recorded as Record<string, unknown>;
    const got = offline as Record<string, unknown>;
    const differences: Difference[] = [];
    for (const key of new Set([...Object.keys(want), ...Object.keys(got)])) {
      if (!(key in got))
        differences.push({ path: `${path}.${key}`, recorded: want[key], offline: '(missing)' });
      else if (!(key in want))
        differences.push({ path: `${path}.${key}`, recorded: '(absent on AWS)', offline: got[key] });
      else differences.push(...compareShape(want[key], got[key], `${path}.${key}`, bindings));
    }
    return differences;
  }
  return recorded === offline ? [] : [{ path, recorded, offline }];
}

/** Readable list of differences for an assertion message. */
export function describeDifferences(differences: readonly Difference[]): string {
  return differences
    .map((d) => `  ${d.path}: AWS ${JSON.stringify(d.recorded)}, offline ${JSON.stringify(d.offline)}`)
    .join('\n');
}

export interface Answer {
  status: number;
  headers: Headers;
  text: string;
}

/** The answer as botocore returns it from Invoke: what the recordings hold. */
export function botocoreView(answer: Answer): Record<string, unknown> {
  const metadata = { HTTPStatusCode: answer.status };
  if (answer.status >= 400) {
    const body = JSON.parse(answer.text) as Record<string, unknown>;
    return {
      Error: { Code: answer.headers.get('x-amzn-ErrorType'), Message: body.message ?? body.Message },
      ...body,
      ResponseMetadata: metadata,
    };
  }
  const view: Record<string, unknown> = {};
  const version = answer.headers.get('X-Amz-Executed-Version');
  if (version !== null) view.ExecutedVersion = version;
  const functionError = answer.headers.get('X-Amz-Function-Error');
  if (functionError !== null) view.FunctionError = functionError;
  const logResult = answer.headers.get('X-Amz-Log-Result');
  if (logResult !== null) view.LogResult = logResult;
  view.Payload = answer.text === '' ? '' : (JSON.parse(answer.text) as unknown);
  view.StatusCode = answer.status;
  view.ResponseMetadata = metadata;
  return view;
}

/** Fails with every difference listed, naming the recording it differs from. */
export function expectParity(
  source: RecordedCase,
  offline: unknown,
  recorded: unknown = source.recorded,
): void {
  const differences = compareShape(recorded, offline);
  expect(
    differences,
    `differs from ${source.test ?? source.doc}:\n${describeDifferences(differences)}`,
  ).to.deep.equal([]);
}
