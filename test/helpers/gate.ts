/**
 * A signal a test gives a handler in another process: the handler GETs `url`, and the answer comes only when the
 * test calls `open()`. Started on a free loopback port; `close()` stops it (answering whoever still waits).
 */
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Gate {
  readonly url: string;
  open(): void;
  close(): Promise<void>;
}

export async function startGate(): Promise<Gate> {
  const waiting: ServerResponse[] = [];
  let opened = false;
  const server = createServer((_request, response) => {
    if (opened) response.end('open');
    else waiting.push(response);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const open = (): void => {
    opened = true;
    for (const response of waiting.splice(0)) response.end('open');
  };
  return {
    url: `http://127.0.0.1:${port}/gate`,
    open,
    close: () => {
      open();
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
