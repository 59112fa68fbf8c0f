import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Registry } from 'prom-client';
import { readResultsFile, type ResultsSet } from '../../src/core/results-files.js';
import type { BuildResults, InterferenceRecord } from '../../src/core/results.js';

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

/** Where a results file came from, for {@link watchResults}'s callback. */
export interface ResultsFileInfo {
  file: string;
  /**
   * The file was already in the folder when watching started, so an earlier agent process may have
   * counted it: pass it on to `recordBuild(..., { replay: true })` to refresh gauges only.
   */
  replay: boolean;
}

export interface WatchResultsOptions {
  /** Interference records dropped by `kiln-agent run`. */
  onInterference?: (record: InterferenceRecord, info: ResultsFileInfo) => void | Promise<void>;
  /** Poll period (default 2 s). */
  intervalMs?: number;
  /** Files already present at start: `replay` (default) passes them with `replay: true`; `skip` ignores them. */
  existing?: 'replay' | 'skip';
  /** A file that is not a results file, or a callback that threw; the watcher keeps going. */
  onError?: (error: Error, file: string) => void;
}

export interface ResultsWatcher {
  /** One scan now (also what each poll runs); resolves once new files have been handed over. */
  scan(): Promise<void>;
  /** Stops polling and waits for a scan in progress. */
  close(): Promise<void>;
}

/** Identity of one version of a file: a rename over it (how `kiln build --json` writes) changes the inode. */
interface FileVersion {
  signature: string;
  mtimeMs: number;
}

/**
 * Watches `dir` for `*.json` files written by `kiln build --json` (one result set or an array) and
 * hands each `BuildResults` to `onResults`, oldest file first so the latest measurement wins in the
 * gauges. It polls rather than using fs.watch, which misses events on NFS and other network
 * filesystems where a spool shared by runners often lives.
 *
 * Each version of a file is processed once: the same name is processed again only if it was replaced
 * (new inode, size or mtime). A file that does not parse is retried on the next poll in case it was
 * still being copied, and reported through `onError` once it stops changing. Files whose names no
 * longer appear are forgotten, so memory stays bounded by the folder's contents. A missing folder is
 * reported once and polled until it appears.
 */
export function watchResults(
  dir: string,
  onResults: (results: BuildResults, info: ResultsFileInfo) => void | Promise<void>,
  options: WatchResultsOptions = {},
): ResultsWatcher {
  const intervalMs = options.intervalMs ?? 2_000;
  const onError = options.onError ?? ((error: Error) => console.error(`kiln-agent: ${error.message}`));
  /** name -> signature of the version already handed over (or given up on). */
  const done = new Map<string, string>();
  /** name -> signature of a version that failed to parse once; one more identical failure is final. */
  const failedOnce = new Map<string, string>();
  let first = true;
  let lastDirError: string | undefined;
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;

  async function scanOnce(): Promise<void> {
    // Only files seen on the very first look are "already there"; if the folder did not exist yet,
    // whatever appears in it later is new.
    const replay = first && options.existing !== 'skip';
    const skip = first && options.existing === 'skip';
    first = false;
    let names: string[];
    try {
      names = (await readdir(dir)).filter((name) => name.endsWith('.json'));
      lastDirError = undefined;
    } catch (error) {
      const message = `results folder ${dir}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`;
      if (message !== lastDirError) onError(new Error(message, { cause: error }), dir);
      lastDirError = message;
      return;
    }
    const present = new Set(names);
    for (const name of [...done.keys()]) if (!present.has(name)) done.delete(name);
    for (const name of [...failedOnce.keys()]) if (!present.has(name)) failedOnce.delete(name);

    const fresh: { name: string; version: FileVersion }[] = [];
    for (const name of names) {
      let version: FileVersion;
      try {
        const s = await stat(path.join(dir, name));
        if (!s.isFile()) continue;
        version = { signature: `${s.ino}:${s.size}:${s.mtimeMs}`, mtimeMs: s.mtimeMs };
      } catch {
        continue; // removed between readdir and stat
      }
      if (done.get(name) === version.signature) continue;
      if (skip) {
        done.set(name, version.signature);
        continue;
      }
      fresh.push({ name, version });
    }
    fresh.sort((a, b) => a.version.mtimeMs - b.version.mtimeMs || a.name.localeCompare(b.name));

    for (const { name, version } of fresh) {
      if (closed) return;
      const file = path.join(dir, name);
      let set: ResultsSet;
      try {
        set = await readResultsFile(file);
      } catch (error) {
        if (failedOnce.get(name) === version.signature) {
          failedOnce.delete(name);
          done.set(name, version.signature);
          onError(error as Error, file);
        } else {
          failedOnce.set(name, version.signature);
        }
        continue;
      }
      failedOnce.delete(name);
      // Marked before the callback so a callback that throws does not make the build count twice.
      done.set(name, version.signature);
      const handlers = [
        ...set.builds.map((results) => () => onResults(results, { file, replay })),
        ...set.interference.map((record) => () => options.onInterference?.(record, { file, replay })),
      ];
      for (const handle of handlers) {
        try {
          await handle();
        } catch (error) {
          onError(new Error(`${file}: ${(error as Error).message}`, { cause: error }), file);
        }
      }
    }
  }

  function scan(): Promise<void> {
    // Scans never overlap: a slow filesystem must not make two scans hand over the same file.
    running ??= scanOnce().finally(() => {
      running = undefined;
    });
    return running;
  }

  function schedule(): void {
    if (closed) return;
    timer = setTimeout(() => {
      void scan().finally(schedule);
    }, intervalMs);
    // The HTTP server keeps the agent alive; the watcher alone should not.
    timer.unref();
  }

  void scan().finally(schedule);

  return {
    scan,
    async close() {
      closed = true;
      clearTimeout(timer);
      await running;
    },
  };
}
