/** The offline terminal's writer (observability/terminal-output.ts): one write per stream per turn, in order. */
import { expect } from 'chai';
import { TerminalOutput } from '../../offline/observability/terminal-output';

describe('TerminalOutput', () => {
  function sinks() {
    const written = { stdout: [] as string[], stderr: [] as string[] };
    const output = new TerminalOutput({
      stdout: { write: (text: string) => written.stdout.push(text) },
      stderr: { write: (text: string) => written.stderr.push(text) },
    });
    return { output, written };
  }

  it('writes what one turn of the event loop gave, in order, as one write per stream', async () => {
    const { output, written } = sinks();
    output.write('stdout', 'START\n');
    output.write('stderr', 'an error line\n');
    output.write('stdout', 'a line\n');
    output.write('stdout', 'END\nREPORT\n');
    expect(written.stdout).to.deep.equal([]);
    await new Promise((turn) => setImmediate(turn));
    expect(written.stdout).to.deep.equal(['START\na line\nEND\nREPORT\n']);
    expect(written.stderr).to.deep.equal(['an error line\n']);
  });

  it('writes what is held at once when flushed (the process exits)', () => {
    const { output, written } = sinks();
    output.write('stdout', 'last words\n');
    output.flush();
    expect(written.stdout).to.deep.equal(['last words\n']);
  });
});
