import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';

/** One named health check, e.g. `nvidia-smi` answering or the results spool being readable. */
export interface HealthCheck {
  name: string;
  ok: boolean;
  /** One line for a human reading `/healthz` (what failed and, ideally, the fix). */
  detail?: string;
}

/** What `/healthz` reports: `ok` decides the status code (200 or 503), `checks` are the details. */
export interface HealthReport {
  ok: boolean;
  checks: HealthCheck[];
}

export interface ServerOptions {
  /** 0 picks a free port; {@link AgentServer.port} says which. */
  port: number;
  /** Loopback by default: metrics name models and devices, so exposing them is an explicit choice. */
  host?: string;
  registry: Registry;
  health: () => Promise<HealthReport>;
  /** A health probe that hangs (e.g. nvidia-smi on a wedged driver) answers 503 after this long. */
  healthTimeoutMs?: number;
  /** How long {@link AgentServer.close} lets in-flight requests finish before cutting connections. */
  closeGraceMs?: number;
}

export interface AgentServer {
  /** The bound address, with the real port when 0 was asked for. */
  readonly host: string;
  readonly port: number;
  /** `http://host:port`, for logs and tests. */
  readonly url: string;
  /** Stops accepting, lets in-flight requests finish (up to the grace period), then resolves. */
  close(): Promise<void>;
}

/**
 * Serves `GET /healthz` (JSON; 200 when healthy, 503 otherwise) and `GET /metrics` (the registry in
 * Prometheus text format) on `host:port`; any other path is 404 and any other method on those two is
 * 405. Resolves once listening; rejects with the address in the message when it cannot bind.
 */
export async function startServer(options: ServerOptions): Promise<AgentServer> {
  const host = options.host ?? '127.0.0.1';
  const healthTimeoutMs = options.healthTimeoutMs ?? 5_000;
  const closeGraceMs = options.closeGraceMs ?? 5_000;

  const server = createServer((req, res) => {
    handle(req, res, options.registry, options.health, healthTimeoutMs).catch((error: unknown) => {
      // Only reached if writing the error response itself failed; the socket is gone either way.
      res.destroy(error instanceof Error ? error : undefined);
    });
  });
  // A scrape is one small response; a client that trickles its request is not a scraper.
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;

  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      reject(
        new Error(
          `kiln-agent serve: cannot listen on ${host}:${options.port} (${error.code ?? error.message})`,
          { cause: error },
        ),
      );
    };
    server.once('error', onError);
    server.listen(options.port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });

  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  let closing: Promise<void> | undefined;

  return {
    host,
    port,
    url: `http://${urlHost}:${port}`,
    close() {
      closing ??= new Promise<void>((resolve) => {
        // Keep-alive connections (Prometheus keeps one open between scrapes) would hold close() open
        // forever: idle ones go now, busy ones after the grace period.
        const force = setTimeout(() => server.closeAllConnections(), closeGraceMs);
        force.unref();
        server.close(() => {
          clearTimeout(force);
          resolve();
        });
        server.closeIdleConnections();
      });
      return closing;
    },
  };
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  registry: Registry,
  health: () => Promise<HealthReport>,
  healthTimeoutMs: number,
): Promise<void> {
  // Only the path decides the route; Prometheus may append query parameters (`params:` in a job).
  const pathname = new URL(req.url ?? '/', 'http://agent').pathname;
  if (pathname !== '/healthz' && pathname !== '/metrics') {
    return send(res, 404, 'text/plain; charset=utf-8', `not found: ${pathname} (try /healthz or /metrics)\n`);
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD');
    return send(res, 405, 'text/plain; charset=utf-8', `method ${req.method} not allowed\n`);
  }
  if (pathname === '/metrics') {
    try {
      const body = await registry.metrics();
      return send(res, 200, registry.contentType, body);
    } catch (error) {
      return send(
        res,
        500,
        'text/plain; charset=utf-8',
        `cannot collect metrics: ${(error as Error).message}\n`,
      );
    }
  }
  const report = await runHealth(health, healthTimeoutMs);
  return send(res, report.ok ? 200 : 503, 'application/json; charset=utf-8', `${JSON.stringify(report)}\n`);
}

/** Runs the health probe; a throw or a hang becomes an unhealthy report instead of a 500 or a stuck request. */
async function runHealth(health: () => Promise<HealthReport>, timeoutMs: number): Promise<HealthReport> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<HealthReport>((resolve) => {
    timer = setTimeout(
      () =>
        resolve({
          ok: false,
          checks: [
            { name: 'health', ok: false, detail: `health checks did not answer within ${timeoutMs} ms` },
          ],
        }),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([health(), timeout]);
  } catch (error) {
    return {
      ok: false,
      checks: [{ name: 'health', ok: false, detail: `health checks failed: ${(error as Error).message}` }],
    };
  } finally {
    clearTimeout(timer);
  }
}

function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, {
    'Content-Type': contentType,
    'Content-Length': Buffer.byteLength(body),
    // Health and metrics are live readings; a proxy must never answer from a cache.
    'Cache-Control': 'no-store',
  });
  res.end(body);
}
