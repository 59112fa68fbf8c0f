/**
 * A loopback HTTP server that stalls on purpose, for timeout tests: `silent` accepts connections and
 * never answers; `mid-body` answers 200 with a Content-Length, sends a few bytes of the body and then
 * goes quiet, with the connection left open; `trickle` answers the same way but then sends one more
 * byte every 100 ms, never finishing (each read succeeds, so only a total deadline stops it).
 */
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StalledServer {
  /** `127.0.0.1:<port>`. */
  host: string;
  /** Requests received, `METHOD path`. */
  requests: string[];
  close(): Promise<void>;
}

/** Starts a stalling server on a free loopback port. */
export async function startStalledServer(mode: 'silent' | 'mid-body' | 'trickle'): Promise<StalledServer> {
  const requests: string[] = [];
  const open: ServerResponse[] = [];
  const timers: NodeJS.Timeout[] = [];
  const server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    req.resume();
    open.push(res);
    if (mode !== 'silent') {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1048576' });
      res.write('{"schemaVersion": 2, ');
    }
    if (mode === 'trickle') timers.push(setInterval(() => res.write(' '), 100));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    host: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const timer of timers) clearInterval(timer);
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
