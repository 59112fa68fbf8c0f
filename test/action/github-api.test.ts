import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { createGitHubApi } from '../../src/action/github-api.js';
import type { GitHubApi } from '../../src/action/github-api.js';
import { DEFAULT_RETRY_POLICY } from '../../src/action/retry.js';
import { BOT_LOGIN, DEFAULT_TOKEN, startGitHubServer, validateRequest } from '../helpers/github-server.js';
import type { GitHubTestServer } from '../helpers/github-server.js';

const TOKEN = DEFAULT_TOKEN;

let server: GitHubTestServer;
let waits: number[];
let api: GitHubApi;

function errorOf(p: Promise<unknown>): Promise<Error> {
  return p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e as Error,
  );
}

function expectNoToken(err: Error): void {
  const seen = new Set<unknown>();
  const dump = (e: unknown): string => {
    if (e === null || typeof e !== 'object' || seen.has(e)) return String(e);
    seen.add(e);
    const o = e as { message?: unknown; cause?: unknown; request?: unknown; stack?: unknown };
    return [String(o.message), String(o.stack), JSON.stringify(o.request ?? null), dump(o.cause)].join('\n');
  };
  expect(dump(err)).not.toContain(TOKEN);
}

beforeAll(() => {
  // Load and index the OpenAPI description once, outside any single test's time.
  validateRequest('GET', '/', new URLSearchParams(), undefined);
});

beforeEach(async () => {
  server = await startGitHubServer();
  waits = [];
  api = createGitHubApi(TOKEN, { baseUrl: server.url, sleep: async (ms) => void waits.push(ms) });
});

afterEach(async () => {
  await server.close();
});

describe('createGitHubApi against the loopback GitHub', () => {
  it('lists every page of issue comments, oldest first', async () => {
    for (let i = 0; i < 250; i++)
      server.seedComment('o', 'r', 5, `comment ${i}`, i % 2 ? 'alice' : BOT_LOGIN);
    server.seedComment('o', 'r', 6, 'another PR', 'alice');
    const comments = await api.listIssueComments('o', 'r', 5);
    expect(comments).toHaveLength(250);
    expect(comments.map((c) => c.body)).toEqual(Array.from({ length: 250 }, (_, i) => `comment ${i}`));
    expect(comments[1]).toMatchObject({ user: 'alice', html_url: expect.stringContaining('#issuecomment-') });
    const gets = server.requests.filter((r) => r.method === 'GET');
    expect(gets).toHaveLength(3);
    expect(gets.map((r) => r.query)).toEqual([
      { per_page: '100' },
      { per_page: '100', page: '2' },
      { per_page: '100', page: '3' },
    ]);
    expect(server.violations).toEqual([]);
  });

  it('creates and updates a comment with the token in the Authorization header', async () => {
    const created = await api.createIssueComment('o', 'r', 5, 'hello');
    expect(created.html_url).toBe(`https://github.com/o/r/pull/5#issuecomment-${created.id}`);
    const updated = await api.updateIssueComment('o', 'r', created.id, 'hello again');
    expect(updated.id).toBe(created.id);
    expect(server.comments).toHaveLength(1);
    expect(server.comments[0]).toMatchObject({ body: 'hello again', user: { login: BOT_LOGIN } });
    expect(server.requests.map((r) => [r.method, r.path, r.body, r.authorization])).toEqual([
      ['POST', '/repos/o/r/issues/5/comments', { body: 'hello' }, `token ${TOKEN}`],
      ['PATCH', `/repos/o/r/issues/comments/${created.id}`, { body: 'hello again' }, `token ${TOKEN}`],
    ]);
    expect(server.violations).toEqual([]);
  });

  it('creates a completed check run that validates against the schema', async () => {
    const run = await api.createCheckRun('o', 'r', {
      name: 'kiln',
      head_sha: 'a'.repeat(40),
      conclusion: 'failure',
      title: '1 model failed verification',
      summary: 'x'.repeat(70_000),
      text: 'details',
    });
    expect(run.html_url).toBe(`https://github.com/o/r/runs/${run.id}`);
    expect(server.violations).toEqual([]);
    const body = server.checkRuns[0].body as { output: { summary: string; text: string } };
    expect(body).toMatchObject({
      name: 'kiln',
      head_sha: 'a'.repeat(40),
      status: 'completed',
      conclusion: 'failure',
      completed_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      output: { title: '1 model failed verification', text: 'details' },
    });
    expect(body.output.summary.length).toBe(65_535);
    expect(body.output.summary.endsWith('(truncated)')).toBe(true);
  });

  it('omits output.text when not given', async () => {
    await api.createCheckRun('o', 'r', {
      name: 'kiln',
      head_sha: 'b'.repeat(40),
      conclusion: 'success',
      title: 't',
      summary: 's',
    });
    expect(server.checkRuns[0].body.output).toEqual({ title: 't', summary: 's' });
    expect(server.violations).toEqual([]);
  });

  it('reads a pull request, including a fork and a deleted head repository', async () => {
    server.addPull({
      owner: 'o',
      repo: 'r',
      number: 7,
      headSha: 'h'.repeat(40),
      baseSha: 'b'.repeat(40),
      headRepoFullName: 'fork/r',
    });
    server.addPull({
      owner: 'o',
      repo: 'r',
      number: 8,
      headSha: 'h'.repeat(40),
      baseSha: 'b'.repeat(40),
      headRepoFullName: null,
    });
    expect(await api.getPullRequest('o', 'r', 7)).toEqual({
      owner: 'o',
      repo: 'r',
      number: 7,
      headSha: 'h'.repeat(40),
      baseSha: 'b'.repeat(40),
      headRepoFullName: 'fork/r',
      baseRepoFullName: 'o/r',
    });
    expect((await api.getPullRequest('o', 'r', 8)).headRepoFullName).toBe('');
    const err = await errorOf(api.getPullRequest('o', 'r', 9));
    expect(err.message).toBe('GitHub API: GET /repos/o/r/pulls/9 failed: 404 Not Found after 1 attempt');
    expect(server.violations).toEqual([]);
  });
});

describe('the validator catches wrong requests', () => {
  const raw = (method: string, path: string, body?: unknown) =>
    fetch(server.url + path, {
      method,
      headers: { authorization: `token ${TOKEN}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  it('rejects a check run conclusion outside the enum', async () => {
    const res = await raw('POST', '/repos/o/r/check-runs', {
      name: 'kiln',
      head_sha: 'abc',
      status: 'completed',
      conclusion: 'failed',
    });
    expect(res.status).toBe(422);
    expect(server.checkRuns).toEqual([]);
    expect(server.violations).toHaveLength(1);
    expect(server.violations[0].problems.join()).toMatch(
      /\/conclusion must be equal to one of the allowed values/,
    );
  });

  it('rejects status completed without a conclusion, and a missing required field', async () => {
    expect(
      (await raw('POST', '/repos/o/r/check-runs', { name: 'kiln', head_sha: 'abc', status: 'completed' }))
        .status,
    ).toBe(422);
    expect((await raw('POST', '/repos/o/r/check-runs', { name: 'kiln' })).status).toBe(422);
    expect(server.violations.map((v) => v.problems.join())).toEqual([
      expect.stringContaining('conclusion is required'),
      expect.stringContaining("must have required property 'head_sha'"),
    ]);
  });

  it('rejects an unknown path, a wrong method, a bad path parameter and an undeclared query parameter', async () => {
    expect((await raw('GET', '/repos/o/r/no-such-thing')).status).toBe(404);
    expect((await raw('PUT', '/repos/o/r/issues/comments/1', { body: 'x' })).status).toBe(404);
    expect((await raw('GET', '/repos/o/r/issues/five/comments')).status).toBe(422);
    expect((await raw('GET', '/repos/o/r/issues/5/comments?perpage=100')).status).toBe(422);
    expect((await raw('POST', '/repos/o/r/issues/5/comments', { text: 'x' })).status).toBe(422);
    expect(server.violations).toHaveLength(5);
    expect(server.violations.map((v) => v.problems.join())).toEqual([
      expect.stringContaining('no operation'),
      expect.stringContaining('has no PUT operation'),
      expect.stringContaining('issue_number'),
      expect.stringContaining('perpage is not declared'),
      expect.stringContaining("required property 'body'"),
    ]);
  });
});

describe('validateRequest', () => {
  it("resolves $refs into the document's components", () => {
    const path = '/app/installations/1/access_tokens';
    const bad = validateRequest('POST', path, new URLSearchParams(), { permissions: { contents: 'bogus' } });
    expect(bad).toMatchObject({ ok: false, status: 422 });
    expect(bad.ok ? '' : bad.problems.join()).toContain(
      '/permissions/contents must be equal to one of the allowed values',
    );
    expect(
      validateRequest('POST', path, new URLSearchParams(), { permissions: { contents: 'read' } }),
    ).toMatchObject({
      ok: true,
      match: {
        operation: { operationId: 'apps/create-installation-access-token' },
        pathParams: { installation_id: 1 },
      },
    });
  });

  it('prefers the most literal path template', () => {
    const r = validateRequest('PATCH', '/repos/o/r/issues/comments/12', new URLSearchParams(), { body: 'x' });
    expect(r).toMatchObject({ ok: true, match: { operation: { operationId: 'issues/update-comment' } } });
  });
});

describe('retries', () => {
  it('retries a 503 on GET, then succeeds', async () => {
    server.seedComment('o', 'r', 5, 'hi', 'alice');
    server.failNext(2, 503);
    expect(await api.listIssueComments('o', 'r', 5)).toHaveLength(1);
    expect(server.requests.map((r) => r.status)).toEqual([503, 503, 200]);
    expect(waits).toHaveLength(2);
    expect(waits[0]).toBeGreaterThanOrEqual(500);
    expect(waits[0]).toBeLessThanOrEqual(1000);
    expect(waits[1]).toBeGreaterThanOrEqual(1000);
    expect(waits[1]).toBeLessThanOrEqual(2000);
  });

  it('retries a failed page of a paginated list on its own', async () => {
    for (let i = 0; i < 150; i++) server.seedComment('o', 'r', 5, `c${i}`, 'alice');
    await api.listIssueComments('o', 'r', 5); // warm
    server.requests.length = 0;
    server.failNext(1, 502);
    const all = await api.listIssueComments('o', 'r', 5);
    expect(all).toHaveLength(150);
    expect(server.requests.map((r) => [r.query.page ?? '1', r.status])).toEqual([
      ['1', 502],
      ['1', 200],
      ['2', 200],
    ]);
  });

  it('gives up on GET after maxAttempts with one clear line', async () => {
    server.addPull({ owner: 'o', repo: 'r', number: 7, headSha: 'h', baseSha: 'b', headRepoFullName: 'o/r' });
    server.failNext(3, 503);
    const err = await errorOf(api.getPullRequest('o', 'r', 7));
    expect(err.message).toBe(
      'GitHub API: GET /repos/o/r/pulls/7 failed: 503 Service Unavailable after 3 attempts',
    );
    expect(err.cause).toBeDefined();
    expect((err as Error & { status?: number }).status).toBe(503);
    expect(server.requests).toHaveLength(3);
    expectNoToken(err);
  });

  it('retries a 5xx on PATCH (an idempotent update)', async () => {
    const c = server.seedComment('o', 'r', 5, 'old', BOT_LOGIN);
    server.failNext(1, 500);
    await api.updateIssueComment('o', 'r', c.id, 'new');
    expect(server.requests.map((r) => [r.method, r.status])).toEqual([
      ['PATCH', 500],
      ['PATCH', 200],
    ]);
    expect(c.body).toBe('new');
  });

  it('does not retry a POST after a 503, and says so', async () => {
    server.failNext(1, 503);
    const err = await errorOf(api.createIssueComment('o', 'r', 5, 'report'));
    expect(err.message).toBe(
      'GitHub API: POST /repos/o/r/issues/5/comments failed: 503 Service Unavailable ' +
        'after 1 attempt; POST is not retried after a server or network error',
    );
    expect(server.requests).toHaveLength(1);
    expect(server.comments).toEqual([]);
    expect(waits).toEqual([]);
    expectNoToken(err);
  });

  it('does not retry a POST check run after a 502 either', async () => {
    server.failNext(1, 502, {}, { applied: true });
    const err = await errorOf(
      api.createCheckRun('o', 'r', {
        name: 'kiln',
        head_sha: 'a',
        conclusion: 'failure',
        title: 't',
        summary: 's',
      }),
    );
    expect(err.message).toMatch(/^GitHub API: POST \/repos\/o\/r\/check-runs failed: 502 Bad Gateway/);
    expect(server.checkRuns).toHaveLength(1); // it was applied: a retry would have made two
  });

  it('waits out a primary rate limit (403, x-ratelimit-reset) and then succeeds, even on POST', async () => {
    const reset = Math.floor(Date.now() / 1000) + 5;
    server.failNext(
      1,
      403,
      { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(reset) },
      {
        body: { message: 'API rate limit exceeded for installation ID 1.' },
      },
    );
    const created = await api.createIssueComment('o', 'r', 5, 'report');
    expect(server.comments.map((c) => c.id)).toEqual([created.id]);
    expect(waits).toHaveLength(1);
    expect(waits[0]).toBeGreaterThan(3000);
    expect(waits[0]).toBeLessThanOrEqual(7000);
  });

  it('waits for retry-after on a secondary rate limit (429)', async () => {
    server.failNext(1, 429, { 'retry-after': '2' });
    await api.listIssueComments('o', 'r', 5);
    expect(waits).toEqual([2000]);
  });

  it('fails clearly when the rate limit resets too far in the future', async () => {
    const reset = Math.floor(Date.now() / 1000) + 3600;
    server.failNext(
      1,
      403,
      { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(reset) },
      {
        body: { message: 'API rate limit exceeded for installation ID 1.' },
      },
    );
    const err = await errorOf(api.listIssueComments('o', 'r', 5));
    expect(err.message).toMatch(
      /^GitHub API: GET \/repos\/o\/r\/issues\/5\/comments failed: 403 Forbidden \(API rate limit exceeded for installation ID 1\.\) after 1 attempt; rate limit resets in 360\d s, longer than the 60 s we wait$/,
    );
    expect(waits).toEqual([]);
  });

  it('does not retry a 403 that is not a rate limit', async () => {
    server.failNext(1, 403, {}, { body: { message: 'Resource not accessible by integration' } });
    const err = await errorOf(
      api.createCheckRun('o', 'r', {
        name: 'k',
        head_sha: 'a',
        conclusion: 'success',
        title: 't',
        summary: 's',
      }),
    );
    expect(err.message).toBe(
      'GitHub API: POST /repos/o/r/check-runs failed: 403 Forbidden (Resource not accessible by integration) after 1 attempt',
    );
  });

  it('never puts the token in an error, even when the server echoes it', async () => {
    server.failNext(1, 401, {}, { body: { message: `Bad credentials: ${TOKEN}` } });
    const err = await errorOf(api.listIssueComments('o', 'r', 5));
    expect(err.message).toBe(
      'GitHub API: GET /repos/o/r/issues/5/comments failed: 401 Unauthorized (Bad credentials: [REDACTED]) after 1 attempt',
    );
    expectNoToken(err);
  });

  it('retries a network error on GET but not on POST', async () => {
    const url = server.url;
    await server.close();
    const offline = createGitHubApi(TOKEN, {
      baseUrl: url,
      retry: { ...DEFAULT_RETRY_POLICY, maxAttempts: 2 },
      sleep: async (ms) => void waits.push(ms),
    });
    const getErr = await errorOf(offline.listIssueComments('o', 'r', 5));
    expect(getErr.message).toMatch(
      /^GitHub API: GET \/repos\/o\/r\/issues\/5\/comments failed: network error: .* after 2 attempts$/,
    );
    expect(waits).toHaveLength(1);
    const postErr = await errorOf(offline.createIssueComment('o', 'r', 5, 'x'));
    expect(postErr.message).toMatch(/failed: network error: .* after 1 attempt; POST is not retried/);
    expect(waits).toHaveLength(1);
    expectNoToken(getErr);
    expectNoToken(postErr);
    server = await startGitHubServer(); // for afterEach
  });
});
