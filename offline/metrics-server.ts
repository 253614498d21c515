import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import type { MetricsRecorder } from './metrics';

/**
 * Serves the offline metrics: `/metrics.json` (what `npm run metrics` prints), `/series.json` (per-second
 * series) and `/` (a page charting them, like the console's Metrics tab).
 */
export function startMetricsServer(
  recorder: MetricsRecorder,
  port: number,
  host = 'localhost',
): Promise<Server> {
  const page = readFileSync(join(__dirname, 'metrics-page.html'));
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://local').pathname;
    const json = (body: unknown): void => {
      response.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      response.end(JSON.stringify(body));
    };
    if (request.method !== 'GET') {
      response.writeHead(405, { allow: 'GET' }).end();
    } else if (path === '/metrics.json') {
      json({ since: new Date(recorder.startedAt).toISOString(), functions: recorder.summary() });
    } else if (path === '/series.json') {
      json(recorder.series(1000));
    } else if (path === '/recent.json') {
      json(recorder.recent());
    } else if (path === '/') {
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      response.end(page);
    } else {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}
