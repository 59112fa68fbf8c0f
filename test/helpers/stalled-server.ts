/**
 * A loopback HTTP server that stalls on purpose, for timeout tests: `silent` accepts connections and
 * never answers; `mid-body` answers 200 with a Content-Length, sends a few bytes of the body and then
 * goes quiet, with the connection left open.
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
export async function startStalledServer(mode: 'silent' | 'mid-body'): Promise<StalledServer> {
  const requests: string[] = [];
  const open: ServerResponse[] = [];
  const server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    req.resume();
    open.push(res);
    if (mode === 'mid-body') {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '4096' });
      res.write('{"schemaVersion": 2, ');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    host: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
