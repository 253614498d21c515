/**
 * The offline terminal, written in one piece per turn of the event loop: Lambda's lines (START, END, REPORT) and
 * the environments' output arrive a few at a time per run, and on a pipe each write is a system call on the main
 * thread. Within a stream the order is kept; what is held is written before the process exits.
 */
export type TerminalStream = 'stdout' | 'stderr';

export class TerminalOutput {
  readonly #held: Record<TerminalStream, string[]> = { stdout: [], stderr: [] };
  #scheduled = false;

  constructor(
    private readonly sinks: Record<TerminalStream, { write(text: string): unknown }> = {
      stdout: process.stdout,
      stderr: process.stderr,
    },
  ) {}

  write(stream: TerminalStream, text: string): void {
    if (text === '') return;
    this.#held[stream].push(text);
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => this.flush());
  }

  flush(): void {
    this.#scheduled = false;
    for (const stream of ['stdout', 'stderr'] as const) {
      const held = this.#held[stream];
      if (held.length === 0) continue;
      this.#held[stream] = [];
      this.sinks[stream].write(held.join(''));
    }
  }
}
