/**
 * A Chrome DevTools Protocol client for a Node inspector (what VS Code and chrome://inspect speak), for tests that
 * drive a debugged environment: connect to the inspector's port, send commands, wait for events. The inspector
 * knows only the bundle; `BundleMap` maps TypeScript lines to the bundle and back with the bundle's source map
 * (Node's own `module.SourceMap`), as a debugger does.
 */
import { readFile } from 'node:fs/promises';
import { SourceMap, type SourceMapPayload } from 'node:module';
import WebSocket from 'ws';
import { waitFor } from './wait';

interface Message {
  id?: number;
  method?: string;
  params?: unknown;
  result?: unknown;
  error?: { message: string };
}

export interface CallFrame {
  readonly callFrameId: string;
  readonly url: string;
  readonly location: {
    readonly scriptId: string;
    readonly lineNumber: number;
    readonly columnNumber: number;
  };
  readonly scopeChain: readonly { readonly type: string; readonly object: { readonly objectId?: string } }[];
}

export interface PausedEvent {
  readonly reason: string;
  readonly callFrames: readonly CallFrame[];
}

export class InspectorClient {
  readonly #pending = new Map<
    number,
    { resolve: (value: unknown) => void; reject: (error: Error) => void }
  >();
  /** Every event received, in order: tests wait on this list with a deadline. */
  readonly events: { method: string; params: unknown }[] = [];
  #nextId = 1;

  private constructor(private readonly socket: WebSocket) {
    socket.on('message', (data: Buffer) => {
      const message = JSON.parse(data.toString()) as Message;
      if (message.id !== undefined) {
        const waiter = this.#pending.get(message.id);
        this.#pending.delete(message.id);
        if (message.error) waiter?.reject(new Error(message.error.message));
        else waiter?.resolve(message.result);
      } else if (message.method !== undefined) {
        this.events.push({ method: message.method, params: message.params });
      }
    });
    socket.on('close', () => {
      for (const waiter of this.#pending.values()) waiter.reject(new Error('the inspector closed'));
      this.#pending.clear();
    });
  }

  /** Connects to the inspector on 127.0.0.1:`port` (its first target), waiting until it listens. */
  static async connect(port: number, timeoutMs = 15_000): Promise<InspectorClient> {
    const url = await waitFor(
      `an inspector on 127.0.0.1:${port}`,
      async () => {
        const response = await fetch(`http://127.0.0.1:${port}/json/list`);
        const targets = (await response.json()) as { webSocketDebuggerUrl?: string }[];
        return targets[0]?.webSocketDebuggerUrl;
      },
      { timeoutMs },
    );
    const socket = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    return new InspectorClient(socket);
  }

  send<T = unknown>(method: string, params: object = {}): Promise<T> {
    const id = this.#nextId;
    this.#nextId += 1;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: (value) => resolve(value as T), reject });
      this.socket.send(JSON.stringify({ id, method, params }));
    });
  }

  /** The `count`-th Debugger.paused event (1 = the first), once it has arrived. */
  paused(count = 1, timeoutMs = 30_000): Promise<PausedEvent> {
    return waitFor(
      `Debugger.paused #${count}`,
      () =>
        this.events.filter((event) => event.method === 'Debugger.paused')[count - 1]?.params as PausedEvent,
      { timeoutMs },
    );
  }

  pausedCount(): number {
    return this.events.filter((event) => event.method === 'Debugger.paused').length;
  }

  close(): void {
    this.socket.close();
  }
}

/** A position, zero-based as the inspector counts. */
export interface Position {
  readonly line: number;
  readonly column: number;
}

/** A bundle and its source map, read from disk. */
export class BundleMap {
  private constructor(
    private readonly map: SourceMap,
    private readonly lines: readonly string[],
  ) {}

  static async read(bundlePath: string): Promise<BundleMap> {
    const payload = JSON.parse(await readFile(`${bundlePath}.map`, 'utf8')) as SourceMapPayload;
    const code = await readFile(bundlePath, 'utf8');
    return new BundleMap(new SourceMap(payload), code.split('\n'));
  }

  /** The first generated position of a line of a source (its path ends with `source`; `line` one-based). */
  generatedOf(source: string, line: number): Position {
    for (let generatedLine = 0; generatedLine < this.lines.length; generatedLine += 1) {
      const length = this.lines[generatedLine]?.length ?? 0;
      for (let column = 0; column < length; column += 1) {
        const entry = this.map.findEntry(generatedLine, column);
        if (
          'originalSource' in entry &&
          entry.generatedLine === generatedLine &&
          entry.generatedColumn === column &&
          entry.originalSource.endsWith(source) &&
          entry.originalLine === line - 1
        ) {
          return { line: generatedLine, column };
        }
      }
    }
    throw new Error(`no generated position for ${source}:${line} in the bundle's source map`);
  }

  /** The source and one-based line a generated position comes from. */
  originalOf(position: Position): { source: string; line: number } | undefined {
    const entry = this.map.findEntry(position.line, position.column);
    return 'originalSource' in entry
      ? { source: entry.originalSource, line: entry.originalLine + 1 }
      : undefined;
  }
}
