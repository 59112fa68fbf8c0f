import { execa } from 'execa';
import { mkdir, mkdtemp, readlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ociReleaseSource, registryAuthFromEnv } from '../../../runner-agent/src/deploy/oci-source.js';
import { pushRelease } from '../../../src/store/oci/release.js';
import { ROOT } from '../../helpers/kiln-cli.js';
import { startRegistry, type TestRegistry } from '../../helpers/oci-registry.js';
import { buildReleases } from '../../helpers/release-from-store.js';

const agent = path.join(ROOT, 'bin', 'kiln-agent.js');

describe('the OCI release source', () => {
  it('pulls into the staging folder and hands back <staging>/<model>/<version>', async () => {
    const calls: unknown[] = [];
    const source = ociReleaseSource(
      async (options) => {
        calls.push(options);
        const dir = path.join(options.destRoot, options.model, options.ref);
        await mkdir(dir, { recursive: true });
        return { dir, digest: 'sha256:x' };
      },
      { target: 'ghcr.io/acme/models', auth: { username: 'u', password: 'p' } },
    );
    const staging = await mkdtemp(path.join(os.tmpdir(), 'kiln-stage-'));
    expect(await source.fetch('det', '2', staging)).toBe(path.join(staging, 'det', '2'));
    expect(calls).toEqual([
      {
        target: 'ghcr.io/acme/models',
        model: 'det',
        ref: '2',
        destRoot: staging,
        auth: { username: 'u', password: 'p' },
      },
    ]);
    expect(source.describe('det', '2')).toBe('ghcr.io/acme/models/det:2');
  });

  it('refuses a pull that landed somewhere else', async () => {
    const source = ociReleaseSource(async () => ({ dir: '/elsewhere', digest: 'sha256:x' }), {
      target: 't/n',
    });
    await expect(source.fetch('det', '2', '/stage')).rejects.toThrow(
      't/n: det:2 was pulled into /elsewhere, expected /stage/det/2',
    );
  });

  it('takes registry credentials from the environment only, both or neither', () => {
    expect(registryAuthFromEnv({})).toBeUndefined();
    expect(registryAuthFromEnv({ KILN_REGISTRY_USER: 'u', KILN_REGISTRY_PASSWORD: 'p' })).toEqual({
      username: 'u',
      password: 'p',
    });
    expect(() => registryAuthFromEnv({ KILN_REGISTRY_USER: 'u' })).toThrow(/set both or neither/);
  });
});

describe('kiln-agent deploy --oci against a real registry', () => {
  let registry: TestRegistry;
  let workdir: string;

  beforeAll(async () => {
    registry = await startRegistry();
    const built = await buildReleases('det', { '1': 'fast' });
    workdir = built.dir;
    await pushRelease({ target: `${registry.host}/kiln`, releaseDir: path.join(built.releases, 'det', '1') });
  });

  afterAll(async () => {
    await registry?.stop();
  });

  it('pulls the pushed version, verifies it and switches to it', async () => {
    const root = path.join(workdir, 'serving');
    const run = await execa(
      'node',
      [agent, 'deploy', 'det@1', '--oci', `${registry.host}/kiln`, '--root', root],
      {
        reject: false,
      },
    );
    expect(run.stderr).toBe('');
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toContain(`deploy det@1: pull: ${registry.host}/kiln/det:1 → versions/1`);
    expect(await readlink(path.join(root, 'det', 'current'))).toBe('versions/1');
  });

  it('refuses a version the registry does not have, serving nothing', async () => {
    const root = path.join(workdir, 'serving-missing');
    const run = await execa(
      'node',
      [agent, 'deploy', 'det@7', '--oci', `${registry.host}/kiln`, '--root', root],
      {
        reject: false,
      },
    );
    expect(run.exitCode).toBe(2);
    expect(run.stderr.trim()).toMatch(
      /^kiln-agent: deploy det@7 refused: pull: .*no such version.*; nothing is serving$/,
    );
    await expect(readlink(path.join(root, 'det', 'current'))).rejects.toThrow(/ENOENT/);
  });
});
