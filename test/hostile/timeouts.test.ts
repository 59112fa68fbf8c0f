import { execa } from 'execa';
import { readlink } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGitHubApi } from '../../src/action/github-api.js';
import { HttpTimeoutError, httpTimeoutsFromEnv, timedFetch } from '../../src/core/io/timed-fetch.js';
import { ROOT, runKiln } from '../helpers/kiln-cli.js';
import { buildReleases } from '../helpers/release-from-store.js';
import { startStalledServer, type StalledServer } from '../helpers/stalled-server.js';

const SHORT = { KILN_HTTP_READ_TIMEOUT_MS: '400', KILN_HTTP_DEADLINE_MS: '20000' };

describe('a registry that stalls (real CLIs, loopback servers that never finish)', () => {
  let dir: string;
  const servers: StalledServer[] = [];

  beforeAll(async () => {
    dir = (await buildReleases('det', { '1': 'fast' })).dir;
  }, 120_000);

  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
  });

  it('kiln publish --oci to a registry that accepts and never answers fails in one line naming it', async () => {
    const silent = await startStalledServer('silent');
    servers.push(silent);
    const started = Date.now();
    const run = await runKiln(
      [
        'publish',
        '--config',
        'kiln-1.yaml',
        '--results',
        'build-1.json',
        '--version',
        '1',
        '--oci',
        `${silent.host}/kiln`,
      ],
      dir,
      SHORT,
    );
    expect(run.exitCode, run.stderr).toBe(2);
    const last = run.stderr.trim().split('\n').at(-1);
    expect(last).toMatch(
      new RegExp(
        `^kiln: registry ${silent.host} did not answer within 0\\.4 s \\(read timeout, KILN_HTTP_READ_TIMEOUT_MS\\) during \\S+`,
      ),
    );
    expect(run.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(silent.requests.length).toBe(1); // a stall is not retried
    expect(Date.now() - started).toBeLessThan(15_000);
  }, 60_000);

  it('kiln-agent deploy --oci from a registry that stops mid-body fails in one line, serving nothing', async () => {
    const stalled = await startStalledServer('mid-body');
    servers.push(stalled);
    const run = await execa(
      'node',
      [
        path.join(ROOT, 'bin', 'kiln-agent.js'),
        'deploy',
        'det@1',
        '--oci',
        `${stalled.host}/kiln`,
        '--root',
        path.join(dir, 'serving'),
      ],
      { reject: false, env: SHORT, timeout: 30_000 },
    );
    expect(run.timedOut).toBe(false);
    expect(run.exitCode, run.stderr).toBe(2);
    expect(run.stderr.trim()).toMatch(
      new RegExp(
        `^kiln-agent: deploy det@1 refused: pull: registry ${stalled.host} did not answer within 0\\.4 s \\(read timeout`,
      ),
    );
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    await expect(readlink(path.join(dir, 'serving', 'det', 'current'))).rejects.toThrow(/ENOENT/);
  }, 60_000);

  it('a body that trickles forever is stopped by the total deadline', async () => {
    const trickle = await startStalledServer('trickle');
    servers.push(trickle);
    const response = await timedFetch(
      new URL(`http://${trickle.host}/v2/x/manifests/1`),
      { method: 'GET' },
      { timeouts: { readMs: 1000, deadlineMs: 700 }, peer: 'registry', during: 'GET manifest 1' },
    );
    const error = await response.text().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(HttpTimeoutError);
    expect((error as Error).message).toBe(
      `registry ${trickle.host} did not finish within 0.7 s (deadline, KILN_HTTP_DEADLINE_MS) during GET manifest 1`,
    );
  });

  it('the GitHub API client gives up on a stalled API in one line naming it', async () => {
    const silent = await startStalledServer('silent');
    servers.push(silent);
    const api = createGitHubApi('ghs_fake-token-for-test', {
      baseUrl: `http://${silent.host}`,
      retry: { maxAttempts: 1, baseDelayMs: 1, maxWaitMs: 1 },
      timeouts: { readMs: 300, deadlineMs: 5000 },
    });
    await expect(api.getPullRequest('acme', 'models', 7)).rejects.toThrow(
      `GitHub API: GET /repos/acme/models/pulls/7 failed: network error: GitHub API ${silent.host} did not answer within 0.3 s (read timeout, KILN_HTTP_READ_TIMEOUT_MS) after 1 attempt`,
    );
  });
});

describe('timeout settings', () => {
  it('reads overrides from the environment and refuses a malformed one by name', () => {
    expect(httpTimeoutsFromEnv({ KILN_HTTP_READ_TIMEOUT_MS: '1500' })).toEqual({
      readMs: 1500,
      deadlineMs: 1_800_000,
    });
    expect(() => httpTimeoutsFromEnv({ KILN_HTTP_DEADLINE_MS: '10s' })).toThrow(
      "KILN_HTTP_DEADLINE_MS: found '10s', expected a positive whole number of milliseconds",
    );
  });
});
