/**
 * The console's test events: the project's fixtures in events/ (read-only, listed by file name) and the
 * events saved from the page under a name, kept in the state dir (`<stateDir>/console/events/<name>.json`).
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { JsonDirectory } from '../state/json-directory';
import { stateLayout } from '../state/layout';

/** The console's rule for a saved event's name. */
export const EVENT_NAME = /^[A-Za-z0-9_-]{1,25}$/;

export class TestEventError extends Error {
  override name = 'TestEventError';
}

export interface TestEventEntry {
  /** `hello.json` for a fixture, the saved name for a saved one. */
  name: string;
  kind: 'fixture' | 'saved';
}

/** Parses an event as the console's editor does: any JSON value, with the parser's message when it is not. */
export function parseEventJson(text: string): unknown {
  if (text.trim() === '') throw new TestEventError('The event is empty: write a JSON value, e.g. {}.');
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new TestEventError(`The event is not valid JSON: ${(error as Error).message}.`);
  }
}

export function checkEventName(name: unknown): string {
  if (typeof name !== 'string' || name === '') throw new TestEventError('Enter a name for the event.');
  if (!EVENT_NAME.test(name)) {
    throw new TestEventError(
      'An event name has at most 25 characters: letters, digits, hyphens (-) and underscores (_).',
    );
  }
  return name;
}

export class TestEvents {
  readonly #saved: JsonDirectory<unknown>;

  constructor(
    private readonly fixturesDir: string,
    stateDir: string,
  ) {
    this.#saved = new JsonDirectory(stateLayout(stateDir).savedEvents);
  }

  async list(): Promise<TestEventEntry[]> {
    const fixtures = (await readdir(this.fixturesDir).catch(() => [] as string[]))
      .filter((file) => file.endsWith('.json'))
      .sort();
    return [
      ...fixtures.map((name) => ({ name, kind: 'fixture' as const })),
      ...(await this.#saved.names())
        .filter((name) => EVENT_NAME.test(name))
        .map((name) => ({ name, kind: 'saved' as const })),
    ];
  }

  /** The event's text as stored (fixtures keep their formatting). */
  async read(kind: 'fixture' | 'saved', name: string): Promise<string> {
    const entry = (await this.list()).find((e) => e.kind === kind && e.name === name);
    if (!entry)
      throw new TestEventError(`No ${kind === 'fixture' ? 'event file' : 'saved event'} "${name}".`);
    if (kind === 'fixture') return readFile(join(this.fixturesDir, name), 'utf8');
    return `${JSON.stringify(await this.#saved.read(name), null, 2)}\n`;
  }

  /** Saves (or replaces) a named event; its text must be JSON. */
  async save(name: unknown, text: unknown): Promise<string> {
    const checked = checkEventName(name);
    if (typeof text !== 'string') throw new TestEventError('The event must be sent as text.');
    await this.#saved.put(checked, parseEventJson(text));
    return checked;
  }
}
