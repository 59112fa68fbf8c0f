import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { createGitHubApi } from '../../src/action/github-api.js';
import type { GitHubApi } from '../../src/action/github-api.js';
import { DEFAULT_MARKER, hasMarker, upsertStickyComment } from '../../src/action/sticky-comment.js';
import { BOT_LOGIN, DEFAULT_TOKEN, startGitHubServer, validateRequest } from '../helpers/github-server.js';
import type { GitHubTestServer } from '../helpers/github-server.js';

const PR = { owner: 'acme', repo: 'models', number: 42 };
const M = DEFAULT_MARKER;

let server: GitHubTestServer;
let api: GitHubApi;

const marked = () => server.comments.filter((c) => c.issueNumber === PR.number && hasMarker(c.body, M));
const posts = () => server.requests.filter((r) => r.method === 'POST');

function seedNoise(n: number): void {
  for (let i = 0; i < n; i++)
    server.seedComment(PR.owner, PR.repo, PR.number, `LGTM ${i}`, i % 3 ? 'alice' : 'ci[bot]');
}

beforeAll(() => {
  validateRequest('GET', '/', new URLSearchParams(), undefined); // load the OpenAPI description once
});

beforeEach(async () => {
  server = await startGitHubServer();
  api = createGitHubApi(DEFAULT_TOKEN, { baseUrl: server.url, sleep: async () => {} });
});

afterEach(async () => {
  expect(server.violations).toEqual([]);
  await server.close();
});

describe('upsertStickyComment', () => {
  it('creates the comment once, then updates it in place across pages (no duplicate)', async () => {
    seedNoise(150);
    const first = await upsertStickyComment(api, PR, M, 'report v1');
    expect(first).toMatchObject({ action: 'created', warnings: [] });
    expect(marked()).toHaveLength(1);
    expect(marked()[0]).toMatchObject({ id: first.id, body: `${M}\nreport v1`, user: { login: BOT_LOGIN } });

    seedNoise(120); // the report is now on page 2 of 3
    const second = await upsertStickyComment(api, PR, M, 'report v2');
    expect(second).toMatchObject({ id: first.id, html_url: first.html_url, action: 'updated' });
    expect(marked()).toHaveLength(1);
    expect(marked()[0].body).toBe(`${M}\nreport v2`);
    expect(posts()).toHaveLength(1);
    const listPages = server.requests.filter((r) => r.method === 'GET').map((r) => r.query.page ?? '1');
    expect(listPages).toEqual(['1', '2', '1', '2', '3']);
  });

  it('keeps a body that already starts with the marker as is', async () => {
    await upsertStickyComment(api, PR, M, `${M}\n## kiln report`);
    expect(marked()[0].body).toBe(`${M}\n## kiln report`);
  });

  it("never touches a human's comment that carries the marker", async () => {
    const human = server.seedComment(PR.owner, PR.repo, PR.number, `${M}\nI am the report now`, 'mallory');
    const quoted = server.seedComment(PR.owner, PR.repo, PR.number, `> ${M}\n> old report`, 'alice');
    const result = await upsertStickyComment(api, PR, M, 'report');
    expect(result.action).toBe('created');
    expect(human.body).toBe(`${M}\nI am the report now`);
    expect(quoted.body).toBe(`> ${M}\n> old report`);
    expect(server.requests.filter((r) => r.method === 'PATCH')).toEqual([]);
    // And the next run updates the bot's comment, still not the human's.
    const again = await upsertStickyComment(api, PR, M, 'report 2');
    expect(again).toMatchObject({ id: result.id, action: 'updated' });
    expect(human.body).toBe(`${M}\nI am the report now`);
  });

  it('ignores a bot comment that mentions the marker below its first line', async () => {
    const other = server.seedComment(PR.owner, PR.repo, PR.number, `hello\n${M}`, BOT_LOGIN);
    const result = await upsertStickyComment(api, PR, M, 'report');
    expect(result.action).toBe('created');
    expect(other.body).toBe(`hello\n${M}`);
  });

  it('does not confuse two different markers', async () => {
    await upsertStickyComment(api, PR, '<!-- kiln:report -->', 'a');
    const b = await upsertStickyComment(api, PR, '<!-- kiln:bench -->', 'b');
    expect(b.action).toBe('created');
    expect(server.comments).toHaveLength(2);
  });

  it('with several marked bot comments, updates the newest and supersedes the older ones', async () => {
    const old1 = server.seedComment(PR.owner, PR.repo, PR.number, `${M}\nold 1`, BOT_LOGIN);
    seedNoise(3);
    const old2 = server.seedComment(PR.owner, PR.repo, PR.number, `${M}\nold 2`, BOT_LOGIN);
    const result = await upsertStickyComment(api, PR, M, 'fresh');
    expect(result).toMatchObject({ id: old2.id, action: 'updated', warnings: [] });
    expect(old2.body).toBe(`${M}\nfresh`);
    expect(old1.body).toBe(`_This report was superseded by a [newer one](${result.html_url})._`);
    expect(marked()).toHaveLength(1);
    await upsertStickyComment(api, PR, M, 'fresher');
    expect(server.requests.filter((r) => r.method === 'PATCH')).toHaveLength(3);
  });

  it('reports, without failing, an old comment it could not supersede', async () => {
    const old1 = server.seedComment(PR.owner, PR.repo, PR.number, `${M}\nold 1`, BOT_LOGIN);
    const old2 = server.seedComment(PR.owner, PR.repo, PR.number, `${M}\nold 2`, BOT_LOGIN);
    const flaky: GitHubApi = {
      ...api,
      updateIssueComment: (o, r, id, body) => {
        if (id === old1.id) server.failNext(1, 404, {}, { method: 'PATCH' }); // e.g. deleted meanwhile
        return api.updateIssueComment(o, r, id, body);
      },
    };
    const result = await upsertStickyComment(flaky, PR, M, 'fresh');
    expect(result).toMatchObject({ id: old2.id, action: 'updated' });
    expect(old2.body).toBe(`${M}\nfresh`);
    expect(result.warnings).toEqual([
      `could not mark old report comment ${old1.id} as superseded: ` +
        `GitHub API: PATCH /repos/acme/models/issues/comments/${old1.id} failed: 404 Not Found after 1 attempt`,
    ]);
  });

  it('does not re-POST after a 503 on create: a clear error, no comment', async () => {
    seedNoise(2);
    server.failNext(1, 503, {}, { method: 'POST' });
    await expect(upsertStickyComment(api, PR, M, 'report')).rejects.toThrow(
      'GitHub API: POST /repos/acme/models/issues/42/comments failed: 503 Service Unavailable after 1 attempt',
    );
    expect(posts()).toHaveLength(1);
    expect(marked()).toEqual([]);
  });

  it('recognizes a create that failed with 502 but was applied, without a second POST', async () => {
    server.failNext(1, 502, {}, { method: 'POST', applied: true });
    const result = await upsertStickyComment(api, PR, M, 'report');
    expect(result.action).toBe('created');
    expect(result.id).toBe(marked()[0].id);
    expect(result.warnings).toEqual([expect.stringContaining('502 Bad Gateway')]);
    expect(posts()).toHaveLength(1);
    expect(marked()).toHaveLength(1);
  });

  it('rejects a marker that is not a one-line HTML comment', async () => {
    for (const bad of ['kiln:report', '<!-- a -- b -->', '<!-- x -->\n', '']) {
      await expect(upsertStickyComment(api, PR, bad, 'x')).rejects.toThrow(
        /marker must be a one-line HTML comment/,
      );
    }
    expect(server.requests).toEqual([]);
  });
});
