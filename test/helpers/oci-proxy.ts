/**
 * A loopback proxy in front of a test registry that can misbehave on purpose: answer chosen requests
 * with a 5xx (once, or from the Nth on), and demand credentials the real registry does not (Basic, or
 * the Bearer token flow ghcr.io uses, with its own `/token` endpoint). Every request is recorded.
 */
import { randomBytes } from 'node:crypto';
import { createServer, request as httpRequest } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FaultRule {
  method?: string;
  /** Matched against the path and query. */
  path: RegExp;
  /** The first matching request (1-based) that fails; default 1. */
  nth?: number;
  /** How many in a row fail from there; default 1, Infinity for all. */
  count?: number;
  status?: number;
  /** Let the registry act on the request, then answer with the fault anyway (a lost answer). */
  forward?: boolean;
  /**
   * Echo the request's Authorization header in the error body, as some registries and proxies do
   * (`… authorization=Basic dXNlcjpwYXNz`), to check that kiln never prints it.
   */
  echoAuthorization?: boolean;
}

export interface ProxyAuth {
  scheme: 'basic' | 'bearer';
  /** Credentials the proxy accepts; for bearer without them, tokens are granted anonymously. */
  username?: string;
  password?: string;
  /** Error text to answer a refused login with (to check that clients scrub what servers echo). */
  refusalMessage?: string;
}

export interface RecordedRequest {
  method: string;
  path: string;
  status: number;
  authorization?: string;
}

export interface RegistryProxy {
  host: string;
  url: string;
  requests: RecordedRequest[];
  /** Scopes asked for at `/token`, in order. */
  tokenScopes: string[];
  fail(rule: FaultRule): void;
  close(): Promise<void>;
}

interface ActiveRule extends Required<Omit<FaultRule, 'method' | 'forward' | 'echoAuthorization'>> {
  method?: string;
  forward?: boolean;
  echoAuthorization?: boolean;
  seen: number;
}

/** Starts the proxy on a free loopback port, forwarding to `upstream` (`host:port`). */
export async function startRegistryProxy(upstream: string, auth?: ProxyAuth): Promise<RegistryProxy> {
  const rules: ActiveRule[] = [];
  const requests: RecordedRequest[] = [];
  const tokenScopes: string[] = [];
  const tokens = new Map<string, string>();
  let host = '';

  const answer = (req: IncomingMessage, res: ServerResponse, status: number, body: unknown, headers = {}) => {
    requests.push({ method: req.method ?? '', path: req.url ?? '', status, ...authOf(req) });
    req.resume();
    // Answer once the upload has been read, so the client sees the status rather than a reset.
    const send = () => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(body));
    };
    if (req.readableEnded) send();
    else req.on('end', send);
  };

  const server = createServer((req, res) => {
    const url = req.url ?? '/';
    if (auth?.scheme === 'bearer' && url.startsWith('/token')) {
      const query = new URL(url, 'http://proxy').searchParams;
      tokenScopes.push(...query.getAll('scope'));
      if (
        auth.username !== undefined &&
        req.headers.authorization !== basic(auth.username, auth.password ?? '')
      ) {
        answer(req, res, 401, {
          errors: [{ code: 'UNAUTHORIZED', message: auth.refusalMessage ?? 'bad login' }],
        });
        return;
      }
      const token = `tok-${randomBytes(8).toString('hex')}`;
      tokens.set(token, query.getAll('scope').join(' '));
      answer(req, res, 200, { token, expires_in: 300 });
      return;
    }
    const denied = auth && url.startsWith('/v2/') ? challenge(auth, req, tokens, host) : undefined;
    if (denied) {
      answer(
        req,
        res,
        401,
        { errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] },
        denied,
      );
      return;
    }
    const rule = rules.find((r) => (!r.method || r.method === req.method) && r.path.test(url));
    if (rule) {
      rule.seen += 1;
      if (rule.seen >= rule.nth && rule.seen < rule.nth + rule.count) {
        if (rule.forward) forward(upstream, req, res, requests, rule.status);
        else {
          const echo = rule.echoAuthorization
            ? ` (request had authorization=${req.headers.authorization})`
            : '';
          const message = `injected fault${echo}`;
          answer(req, res, rule.status, { errors: [{ code: 'UNAVAILABLE', message }] });
        }
        return;
      }
    }
    forward(upstream, req, res, requests);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    host,
    url: `http://${host}`,
    requests,
    tokenScopes,
    fail: (rule) => rules.push({ nth: 1, count: 1, status: 503, ...rule, seen: 0 }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function forward(
  upstream: string,
  req: IncomingMessage,
  res: ServerResponse,
  requests: RecordedRequest[],
  overrideStatus?: number,
): void {
  const [hostname, port] = upstream.split(':');
  const headers = { ...req.headers };
  delete headers.authorization; // the real registry runs without auth
  const out = httpRequest(
    { hostname, port: Number(port), method: req.method, path: req.url, headers },
    (up) => {
      const status = overrideStatus ?? up.statusCode ?? 502;
      requests.push({ method: req.method ?? '', path: req.url ?? '', status, ...authOf(req) });
      if (overrideStatus === undefined) {
        res.writeHead(status, up.headers);
        up.pipe(res);
        return;
      }
      up.resume();
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({ errors: [{ code: 'UNAVAILABLE', message: 'injected fault after forwarding' }] }),
      );
    },
  );
  out.on('error', () => {
    res.writeHead(502);
    res.end();
  });
  req.pipe(out);
}

/** The WWW-Authenticate header to answer with when `req` lacks what `auth` demands, else undefined. */
function challenge(
  auth: ProxyAuth,
  req: IncomingMessage,
  tokens: Map<string, string>,
  host: string,
): Record<string, string> | undefined {
  const given = req.headers.authorization ?? '';
  if (auth.scheme === 'basic') {
    return given === basic(auth.username ?? '', auth.password ?? '')
      ? undefined
      : { 'www-authenticate': 'Basic realm="kiln-test"' };
  }
  const repository = /^\/v2\/(.+?)\/(?:blobs|manifests|tags)\//.exec(req.url ?? '')?.[1];
  const actions = req.method === 'GET' || req.method === 'HEAD' ? 'pull' : 'pull,push';
  const needed = repository ? `repository:${repository}:${actions}` : '';
  const granted = given.startsWith('Bearer ') ? tokens.get(given.slice(7)) : undefined;
  if (granted !== undefined && (needed === '' || covers(granted, needed))) {
    return undefined;
  }
  const scope = needed ? `,scope="${needed}"` : '';
  return { 'www-authenticate': `Bearer realm="http://${host}/token",service="kiln-test"${scope}` };
}

/** A `pull,push` grant covers a `pull` need for the same repository. */
function covers(granted: string, needed: string): boolean {
  const [, repo, actions] = /^repository:(.+):([a-z,]+)$/.exec(needed) ?? [];
  return granted
    .split(' ')
    .some(
      (g) =>
        g.startsWith(`repository:${repo}:`) &&
        actions?.split(',').every((a) => g.split(':').pop()?.split(',').includes(a)),
    );
}

function basic(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
}

function authOf(req: IncomingMessage): { authorization?: string } {
  const value = req.headers.authorization;
  return value ? { authorization: value.split(' ')[0] ?? '' } : {};
}
