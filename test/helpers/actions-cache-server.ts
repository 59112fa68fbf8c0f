import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One committed cache entry, as GitHub's cache service holds it: scoped by key and version. */
export interface CacheEntry {
  key: string;
  version: string;
  archive: Buffer;
}

export interface ActionsCacheServer {
  /** The value for ACTIONS_CACHE_URL (ends with `/`, as the runner sets it). */
  url: string;
  entries: CacheEntry[];
  /** `GET cache?keys=` lookups answered, and how many found an entry. */
  lookups: { total: number; hits: number };
  close(): Promise<void>;
}

/**
 * A loopback stand-in for the Actions cache service v1 (`_apis/artifactcache`) that the real
 * @actions/cache client talks to: reserve, chunked PATCH upload, commit, lookup by key + version,
 * archive download. Like the real service, an entry is found only under the version it was saved
 * with, which is what makes absolute paths in that version a cross-runner miss.
 */
export async function startActionsCacheServer(): Promise<ActionsCacheServer> {
  const entries: CacheEntry[] = [];
  const pending = new Map<number, { key: string; version: string; chunks: Array<[number, Buffer]> }>();
  const lookups = { total: 0, hits: 0 };
  let nextId = 1;
  const server: Server = createServer((req, res) => {
    void (async () => {
      const body = await readBody(req);
      const url = new URL(req.url ?? '/', 'http://loopback');
      const json = (status: number, value?: unknown) => {
        res.writeHead(status, value === undefined ? {} : { 'content-type': 'application/json' });
        res.end(value === undefined ? undefined : JSON.stringify(value));
      };
      const api = url.pathname.replace(/^\/_apis\/artifactcache\//, '');
      const blob = /^\/blobs\/(\d+)$/.exec(url.pathname);
      const cacheId = /^caches\/(\d+)$/.exec(api);
      if (req.method === 'GET' && blob) {
        const entry = entries[Number(blob[1])];
        if (!entry) return json(404);
        res.writeHead(200, { 'content-length': entry.archive.length });
        return res.end(entry.archive);
      }
      if (req.method === 'GET' && api === 'cache') {
        lookups.total++;
        const keys = (url.searchParams.get('keys') ?? '').split(',');
        const version = url.searchParams.get('version');
        const index = entries.findIndex((e) => keys.includes(e.key) && e.version === version);
        if (index < 0) return json(204);
        lookups.hits++;
        const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
        return json(200, { cacheKey: entries[index]!.key, archiveLocation: `${base}/blobs/${index}` });
      }
      if (req.method === 'POST' && api === 'caches') {
        const { key, version } = JSON.parse(body.toString('utf8')) as { key: string; version: string };
        if (entries.some((e) => e.key === key && e.version === version)) return json(409, {});
        const id = nextId++;
        pending.set(id, { key, version, chunks: [] });
        return json(201, { cacheId: id });
      }
      if (req.method === 'PATCH' && cacheId) {
        const upload = pending.get(Number(cacheId[1]));
        const start = Number(/^bytes (\d+)-/.exec(req.headers['content-range'] ?? '')?.[1]);
        if (!upload || Number.isNaN(start)) return json(400, {});
        upload.chunks.push([start, body]);
        return json(204);
      }
      if (req.method === 'POST' && cacheId) {
        const upload = pending.get(Number(cacheId[1]));
        if (!upload) return json(404, {});
        pending.delete(Number(cacheId[1]));
        const archive = Buffer.concat(upload.chunks.sort((a, b) => a[0] - b[0]).map(([, c]) => c));
        const { size } = JSON.parse(body.toString('utf8')) as { size: number };
        if (archive.length !== size) return json(400, {});
        entries.push({ key: upload.key, version: upload.version, archive });
        return json(204);
      }
      return json(404, {});
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    entries,
    lookups,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
