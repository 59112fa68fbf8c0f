/**
 * A loopback GitHub REST server for tests: a real node:http server on 127.0.0.1 (random port) that
 * speaks the few endpoints the Action uses, keeps its state in memory, and validates every request
 * against GitHub's published OpenAPI description (@octokit/openapi, api.github.com.json):
 *
 * - method + path must match an operation (path templates; the most literal template wins);
 * - path and query parameters must be declared by the operation and match their schemas (after the
 *   usual string → integer/number/boolean coercion); required ones must be present;
 * - a JSON body must validate against the operation's requestBody schema (ajv + ajv-formats,
 *   strict: false, `$ref`s resolved against the document's components);
 * - a few rules GitHub enforces but the schema does not state (check run `status: completed` needs a
 *   `conclusion`) are checked too.
 *
 * A request that fails gets 404/422 and is recorded in `violations`, so tests can assert
 * `expect(server.violations).toEqual([])`. Every request is recorded in `requests`. Faults can be
 * injected with `failNext`.
 */
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';

import { Ajv } from 'ajv';
import type { ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';

// ---------------------------------------------------------------------------------------------------
// The OpenAPI description, loaded once per test process.

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required?: boolean;
  schema?: JsonObject;
}

interface Operation {
  operationId: string;
  method: string;
  template: string;
  regex: RegExp;
  pathParamNames: string[];
  literalSegments: number;
  parameters: Parameter[];
  bodySchema?: JsonObject;
  bodyRequired: boolean;
}

interface Spec {
  operations: Operation[];
  ajv: Ajv;
  validators: Map<string, ValidateFunction>;
}

const SPEC_ID = 'https://kiln.invalid/api.github.com.json';
const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

let cachedSpec: Spec | undefined;

function specPath(): string {
  const require = createRequire(import.meta.url);
  // Resolve the package's folder without loading its index (which pulls in ~385 MB of JSON).
  const pkg = require.resolve('@octokit/openapi/package.json');
  return pkg.replace(/package\.json$/, 'generated/api.github.com.json');
}

/** Rewrites document-relative `$ref`s ("#/components/…") so they resolve inside SPEC_ID. */
function absolutizeRefs(node: Json): Json {
  if (Array.isArray(node)) return node.map(absolutizeRefs);
  if (node === null || typeof node !== 'object') return node;
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(node)) {
    out[k] = k === '$ref' && typeof v === 'string' && v.startsWith('#') ? SPEC_ID + v : absolutizeRefs(v);
  }
  return out;
}

function loadSpec(): Spec {
  if (cachedSpec) return cachedSpec;
  const doc = JSON.parse(readFileSync(specPath(), 'utf8')) as {
    paths: Record<string, Record<string, unknown>>;
    components: JsonObject & { parameters: Record<string, Parameter> };
  };
  const deref = <T>(x: T | { $ref: string }): T => {
    const ref = (x as { $ref?: string }).$ref;
    if (!ref) return x as T;
    let node: unknown = doc;
    for (const part of ref.replace(/^#\//, '').split('/')) {
      node = (node as Record<string, unknown>)[part.replace(/~1/g, '/').replace(/~0/g, '~')];
    }
    return deref(node as T);
  };

  const operations: Operation[] = [];
  for (const [template, item] of Object.entries(doc.paths)) {
    const shared = ((item.parameters as unknown as Parameter[] | undefined) ?? []).map(deref);
    const segments = template.split('/').filter(Boolean);
    const pathParamNames: string[] = [];
    const pattern = segments
      .map((seg) => {
        const m = /^\{([^}]+)\}$/.exec(seg);
        if (m) {
          pathParamNames.push(m[1]);
          return '/([^/]+)';
        }
        return '/' + seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      })
      .join('');
    for (const method of HTTP_METHODS) {
      const op = item[method] as unknown as
        { operationId: string; parameters?: Parameter[]; requestBody?: JsonObject } | undefined;
      if (!op) continue;
      const own = (op.parameters ?? []).map(deref);
      const parameters = [
        ...shared.filter((p) => !own.some((o) => o.name === p.name && o.in === p.in)),
        ...own,
      ];
      const body = op.requestBody ? deref(op.requestBody) : undefined;
      const content = body?.content as Record<string, { schema?: JsonObject }> | undefined;
      operations.push({
        operationId: op.operationId,
        method: method.toUpperCase(),
        template,
        regex: new RegExp(`^${pattern || '/'}$`),
        pathParamNames,
        literalSegments: segments.length - pathParamNames.length,
        parameters,
        bodySchema: content?.['application/json']?.schema,
        bodyRequired: body?.required === true,
      });
    }
  }
  // Most literal template first, so /repos/{o}/{r}/issues/comments/{id} beats looser matches.
  operations.sort((a, b) => b.literalSegments - a.literalSegments);

  const ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false, logger: false });
  const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ??
    addFormatsModule) as unknown as (a: Ajv) => Ajv;
  addFormats(ajv);
  // GitHub-specific formats ajv-formats does not know: accept any string (the schema's type still holds).
  for (const f of ['repo.nwo', 'timestamp', 'uri-template']) ajv.addFormat(f, true);
  ajv.addSchema({ $id: SPEC_ID, components: absolutizeRefs(doc.components as Json) } as JsonObject);

  cachedSpec = { operations, ajv, validators: new Map() };
  return cachedSpec;
}

function validatorFor(spec: Spec, key: string, schema: JsonObject): ValidateFunction {
  let v = spec.validators.get(key);
  if (!v) {
    v = spec.ajv.compile(absolutizeRefs(schema) as JsonObject);
    spec.validators.set(key, v);
  }
  return v;
}

function errorsText(v: ValidateFunction): string {
  return (v.errors ?? [])
    .map(
      (e) =>
        `${e.instancePath || '(root)'} ${e.message ?? 'is invalid'}${e.params && 'allowedValues' in e.params ? ` ${JSON.stringify(e.params.allowedValues)}` : ''}`,
    )
    .join('; ');
}

function coerce(raw: string, schema: JsonObject | undefined): Json {
  const type = schema?.type;
  if ((type === 'integer' || type === 'number') && /^-?\d+(\.\d+)?$/.test(raw)) return Number(raw);
  if (type === 'boolean' && (raw === 'true' || raw === 'false')) return raw === 'true';
  return raw;
}

export interface MatchedRequest {
  operation: Operation;
  pathParams: Record<string, Json>;
  query: Record<string, Json>;
}

/**
 * Validates one request against the OpenAPI description. Returns the matched operation, or the
 * reasons the request is invalid (and the status GitHub would answer with).
 */
export function validateRequest(
  method: string,
  pathname: string,
  query: URLSearchParams,
  body: unknown,
): { ok: true; match: MatchedRequest } | { ok: false; status: 404 | 422; problems: string[] } {
  const spec = loadSpec();
  const candidates = spec.operations.filter((op) => op.regex.test(pathname));
  const operation = candidates.find((op) => op.method === method);
  if (!operation) {
    return {
      ok: false,
      status: 404,
      problems: [
        candidates.length === 0
          ? `no operation in GitHub's OpenAPI description matches ${method} ${pathname}`
          : `${pathname} (${candidates[0].template}) has no ${method} operation`,
      ],
    };
  }
  const problems: string[] = [];
  const values = operation.regex.exec(pathname)!.slice(1);
  const pathParams: Record<string, Json> = {};
  operation.pathParamNames.forEach((name, i) => {
    const def = operation.parameters.find((p) => p.in === 'path' && p.name === name);
    const value = coerce(decodeURIComponent(values[i]), def?.schema);
    pathParams[name] = value;
    if (def?.schema) {
      const v = validatorFor(spec, `${operation.operationId} path ${name}`, def.schema);
      if (!v(value)) problems.push(`path parameter ${name}=${JSON.stringify(value)}: ${errorsText(v)}`);
    }
  });

  const queryValues: Record<string, Json> = {};
  for (const [name, raw] of query) {
    const def = operation.parameters.find((p) => p.in === 'query' && p.name === name);
    if (!def) {
      problems.push(`query parameter ${name} is not declared by ${operation.operationId}`);
      continue;
    }
    const value = coerce(raw, def.schema);
    queryValues[name] = value;
    if (def.schema) {
      const v = validatorFor(spec, `${operation.operationId} query ${name}`, def.schema);
      if (!v(value)) problems.push(`query parameter ${name}=${JSON.stringify(value)}: ${errorsText(v)}`);
    }
  }
  for (const p of operation.parameters) {
    if (p.in === 'query' && p.required && !query.has(p.name))
      problems.push(`query parameter ${p.name} is required`);
  }

  if (operation.bodySchema) {
    if (body === undefined) {
      if (operation.bodyRequired) problems.push(`${operation.operationId} requires a JSON body`);
    } else {
      const v = validatorFor(spec, `${operation.operationId} body`, operation.bodySchema);
      if (!v(body)) problems.push(`body: ${errorsText(v)}`);
    }
  }

  return problems.length > 0
    ? { ok: false, status: 422, problems }
    : { ok: true, match: { operation, pathParams, query: queryValues } };
}

// ---------------------------------------------------------------------------------------------------
// The server.

export interface RecordedRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  query: Record<string, string>;
  body: unknown;
  /** The Authorization header as sent (tests assert on it; it is never logged). */
  authorization: string | undefined;
  operationId?: string;
  /** Status the server answered with. */
  status: number;
}

export interface Violation {
  method: string;
  path: string;
  problems: string[];
}

export interface StoredComment {
  id: number;
  owner: string;
  repo: string;
  issueNumber: number;
  body: string;
  user: { login: string; type: 'Bot' | 'User' };
  created_at: string;
  updated_at: string;
}

export interface StoredCheckRun {
  id: number;
  owner: string;
  repo: string;
  body: Record<string, unknown>;
}

export interface StoredPull {
  owner: string;
  repo: string;
  number: number;
  headSha: string;
  baseSha: string;
  /** null: the head repository was deleted. */
  headRepoFullName: string | null;
}

export interface Fault {
  status: number;
  headers: Record<string, string>;
  body: unknown;
  /** Only requests with this method consume the fault. */
  method?: string;
  /** Apply the request first, then answer with the fault (a write that "failed" but happened). */
  applied: boolean;
}

export interface FailNextOptions {
  method?: string;
  applied?: boolean;
  body?: unknown;
}

export const BOT_LOGIN = 'github-actions[bot]';
export const DEFAULT_TOKEN = 'ghs_kilnTestToken0123456789abcdefSECRET';

export interface GitHubTestServer {
  /** Base URL to give the client, e.g. http://127.0.0.1:40123 */
  readonly url: string;
  readonly requests: RecordedRequest[];
  readonly violations: Violation[];
  readonly comments: StoredComment[];
  readonly checkRuns: StoredCheckRun[];
  readonly pulls: StoredPull[];
  /** token → login; DEFAULT_TOKEN is github-actions[bot]. */
  readonly tokens: Map<string, string>;
  /** Adds a comment as if written earlier by `login` (a login ending in [bot] is a bot). */
  seedComment(owner: string, repo: string, issueNumber: number, body: string, login: string): StoredComment;
  addPull(pull: StoredPull): void;
  /** The next `n` requests (of `options.method`, if given) are answered with `status`. */
  failNext(n: number, status: number, headers?: Record<string, string>, options?: FailNextOptions): void;
  close(): Promise<void>;
}

function statusBody(status: number): JsonObject {
  const messages: Record<number, string> = {
    401: 'Bad credentials',
    403: 'Forbidden',
    404: 'Not Found',
    422: 'Validation Failed',
    429: 'Too Many Requests',
    500: 'Internal Server Error',
    502: 'Bad Gateway',
    503: 'Service Unavailable',
  };
  return { message: messages[status] ?? `HTTP ${status}`, documentation_url: 'https://docs.github.com/rest' };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export async function startGitHubServer(): Promise<GitHubTestServer> {
  loadSpec();
  const requests: RecordedRequest[] = [];
  const violations: Violation[] = [];
  const comments: StoredComment[] = [];
  const checkRuns: StoredCheckRun[] = [];
  const pulls: StoredPull[] = [];
  const faults: Fault[] = [];
  const tokens = new Map<string, string>([[DEFAULT_TOKEN, BOT_LOGIN]]);
  let nextId = 1000;
  let clock = Date.parse('2025-01-01T00:00:00Z');
  const timestamp = () => new Date((clock += 1000)).toISOString().replace(/\.\d{3}Z$/, 'Z');
  let base = '';

  const userJson = (login: string, type: 'Bot' | 'User') => ({
    login,
    id: 41898282,
    node_id: 'MDM6Qm90NDE4OTgyODI=',
    avatar_url: 'https://avatars.githubusercontent.com/in/15368?v=4',
    url: `https://api.github.com/users/${encodeURIComponent(login)}`,
    html_url: `https://github.com/${login.replace(/\[bot\]$/, '')}`,
    type,
    site_admin: false,
  });

  const commentJson = (c: StoredComment) => ({
    id: c.id,
    node_id: `IC_${c.id}`,
    url: `${base}/repos/${c.owner}/${c.repo}/issues/comments/${c.id}`,
    html_url: `https://github.com/${c.owner}/${c.repo}/pull/${c.issueNumber}#issuecomment-${c.id}`,
    issue_url: `${base}/repos/${c.owner}/${c.repo}/issues/${c.issueNumber}`,
    body: c.body,
    user: userJson(c.user.login, c.user.type),
    created_at: c.created_at,
    updated_at: c.updated_at,
    author_association: c.user.type === 'Bot' ? 'NONE' : 'MEMBER',
  });

  const seedComment = (owner: string, repo: string, issueNumber: number, body: string, login: string) => {
    const at = timestamp();
    const c: StoredComment = {
      id: nextId++,
      owner,
      repo,
      issueNumber,
      body,
      user: { login, type: login.endsWith('[bot]') ? 'Bot' : 'User' },
      created_at: at,
      updated_at: at,
    };
    comments.push(c);
    return c;
  };

  function handle(
    url: URL,
    match: MatchedRequest,
    body: Record<string, unknown> | undefined,
    login: string,
  ): Reply {
    const p = match.pathParams as Record<string, string | number>;
    const owner = String(p.owner);
    const repo = String(p.repo);
    switch (match.operation.operationId) {
      case 'issues/list-comments': {
        const all = comments
          .filter((c) => c.owner === owner && c.repo === repo && c.issueNumber === p.issue_number)
          .sort((a, b) => a.id - b.id);
        const perPage = Math.min(100, Math.max(1, Number(match.query.per_page ?? 30)));
        const page = Math.max(1, Number(match.query.page ?? 1));
        const last = Math.max(1, Math.ceil(all.length / perPage));
        const link = (n: number, rel: string) => {
          const q = new URLSearchParams(url.searchParams);
          q.set('per_page', String(perPage));
          q.set('page', String(n));
          return `<${base}${url.pathname}?${q.toString()}>; rel="${rel}"`;
        };
        const links: string[] = [];
        if (page > 1) links.push(link(page - 1, 'prev'));
        if (page < last) links.push(link(page + 1, 'next'), link(last, 'last'));
        if (page > 1) links.push(link(1, 'first'));
        return {
          status: 200,
          body: all.slice((page - 1) * perPage, page * perPage).map(commentJson),
          headers: links.length > 0 ? { link: links.join(', ') } : {},
        };
      }
      case 'issues/create-comment': {
        const c = seedComment(owner, repo, Number(p.issue_number), String(body?.body), login);
        return { status: 201, body: commentJson(c) };
      }
      case 'issues/update-comment': {
        const c = comments.find((x) => x.id === p.comment_id && x.owner === owner && x.repo === repo);
        if (!c) return { status: 404, body: statusBody(404) };
        // An integration token may not edit someone else's comment.
        if (c.user.login !== login) {
          return {
            status: 403,
            body: { ...statusBody(403), message: 'Resource not accessible by integration' },
          };
        }
        c.body = String(body?.body);
        c.updated_at = timestamp();
        return { status: 200, body: commentJson(c) };
      }
      case 'checks/create': {
        const run: StoredCheckRun = { id: nextId++, owner, repo, body: body ?? {} };
        checkRuns.push(run);
        const b = run.body;
        return {
          status: 201,
          body: {
            id: run.id,
            head_sha: b.head_sha,
            node_id: `CR_${run.id}`,
            external_id: '',
            url: `${base}/repos/${owner}/${repo}/check-runs/${run.id}`,
            html_url: `https://github.com/${owner}/${repo}/runs/${run.id}`,
            details_url: null,
            status: b.conclusion !== undefined ? 'completed' : (b.status ?? 'queued'),
            conclusion: b.conclusion ?? null,
            started_at: timestamp(),
            completed_at: b.completed_at ?? null,
            output: {
              title: (b.output as { title?: string } | undefined)?.title ?? null,
              summary: (b.output as { summary?: string } | undefined)?.summary ?? null,
              text: (b.output as { text?: string } | undefined)?.text ?? null,
              annotations_count: 0,
              annotations_url: `${base}/repos/${owner}/${repo}/check-runs/${run.id}/annotations`,
            },
            name: b.name,
            check_suite: { id: 1 },
            app: null,
            pull_requests: [],
          },
        };
      }
      case 'pulls/get': {
        const pr = pulls.find((x) => x.owner === owner && x.repo === repo && x.number === p.pull_number);
        if (!pr) return { status: 404, body: statusBody(404) };
        const repoJson = (fullName: string) => ({
          id: 1,
          name: fullName.split('/')[1],
          full_name: fullName,
          owner: userJson(fullName.split('/')[0], 'User'),
          private: false,
          fork: fullName !== `${owner}/${repo}`,
        });
        return {
          status: 200,
          body: {
            id: pr.number + 5000,
            number: pr.number,
            state: 'open',
            url: `${base}/repos/${owner}/${repo}/pulls/${pr.number}`,
            html_url: `https://github.com/${owner}/${repo}/pull/${pr.number}`,
            head: {
              sha: pr.headSha,
              ref: 'feature',
              label: 'feature',
              repo: pr.headRepoFullName === null ? null : repoJson(pr.headRepoFullName),
            },
            base: { sha: pr.baseSha, ref: 'main', label: 'main', repo: repoJson(`${owner}/${repo}`) },
          },
        };
      }
      default:
        return { status: 501, body: { message: `${match.operation.operationId} is not implemented here` } };
    }
  }

  /** Rules GitHub enforces beyond the schema. */
  function semanticProblems(operationId: string, body: Record<string, unknown> | undefined): string[] {
    if (operationId === 'checks/create' && body) {
      if ((body.status === 'completed' || body.completed_at !== undefined) && body.conclusion === undefined) {
        return ['body: conclusion is required when status is completed or completed_at is given'];
      }
      if (body.conclusion === 'stale') return ['body: conclusion stale can only be set by GitHub'];
    }
    return [];
  }

  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    void (async () => {
      const method = (req.method ?? 'GET').toUpperCase();
      const url = new URL(req.url ?? '/', base);
      const raw = await readBody(req);
      const record: RecordedRequest = {
        method,
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        body: undefined,
        authorization: req.headers.authorization,
        status: 0,
      };
      requests.push(record);
      const send = ({ status, body, headers }: Reply) => {
        record.status = status;
        const text = body === undefined ? '' : JSON.stringify(body);
        res.writeHead(status, {
          'content-type': 'application/json; charset=utf-8',
          'x-github-request-id': `KILN:${requests.length}`,
          ...headers,
        });
        res.end(text);
      };
      const violate = (status: 404 | 422 | 400 | 415 | 501, problems: string[]) => {
        violations.push({ method, path: url.pathname, problems });
        send({ status, body: { ...statusBody(status), errors: problems } });
      };

      let body: unknown;
      if (raw !== '') {
        const type = String(req.headers['content-type'] ?? '');
        if (!type.startsWith('application/json'))
          return violate(415, [`body sent as ${type || 'no content type'}`]);
        try {
          body = JSON.parse(raw);
        } catch {
          return violate(400, ['body is not valid JSON']);
        }
      }
      record.body = body;

      const checked = validateRequest(method, url.pathname, url.searchParams, body);
      if (!checked.ok) return violate(checked.status, checked.problems);
      record.operationId = checked.match.operation.operationId;
      const objectBody = body as Record<string, unknown> | undefined;
      const semantic = semanticProblems(checked.match.operation.operationId, objectBody);
      if (semantic.length > 0) return violate(422, semantic);

      const auth = req.headers.authorization ?? '';
      const token = /^(?:token|bearer)\s+(\S+)$/i.exec(auth)?.[1];
      const login = token === undefined ? undefined : tokens.get(token);
      if (login === undefined) return send({ status: 401, body: statusBody(401) });

      const faultIndex = faults.findIndex((f) => f.method === undefined || f.method === method);
      if (faultIndex !== -1) {
        const [fault] = faults.splice(faultIndex, 1);
        if (fault.applied) handle(url, checked.match, objectBody, login);
        return send({ status: fault.status, body: fault.body, headers: fault.headers });
      }
      const reply = handle(url, checked.match, objectBody, login);
      if (reply.status === 501) return violate(501, [String((reply.body as { message: string }).message)]);
      send(reply);
    })().catch((err: unknown) => {
      violations.push({
        method: req.method ?? '?',
        path: req.url ?? '?',
        problems: [`server error: ${String(err)}`],
      });
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });

  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url: base,
    requests,
    violations,
    comments,
    checkRuns,
    pulls,
    tokens,
    seedComment,
    addPull: (pull) => void pulls.push(pull),
    failNext(n, status, headers = {}, options = {}) {
      for (let i = 0; i < n; i++) {
        faults.push({
          status,
          headers,
          body: options.body ?? statusBody(status),
          method: options.method?.toUpperCase(),
          applied: options.applied ?? false,
        });
      }
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
