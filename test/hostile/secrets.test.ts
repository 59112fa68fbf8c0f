import { execa } from 'execa';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASK, Redactor, redactText } from '../../src/core/redact.js';
import { parseOciTarget } from '../../src/store/oci/reference.js';
import { pushRelease } from '../../src/store/oci/release.js';
import { ROOT, runKiln } from '../helpers/kiln-cli.js';
import { startRegistryProxy, type RegistryProxy } from '../helpers/oci-proxy.js';
import { startRegistry, type TestRegistry } from '../helpers/oci-registry.js';
import { buildReleases } from '../helpers/release-from-store.js';

// A password holding what naive parsers split on: '@', ':' and '/'.
const USER = 'kiln-bot';
const PASSWORD = 'Pa@ss:w/rd@2024';
const BASIC = Buffer.from(`${USER}:${PASSWORD}`).toString('base64');
const TOKEN = 'ghp_0123456789abcdefghijklmnopqrstuvwxyzAB';
const ENV = { KILN_REGISTRY_USER: USER, KILN_REGISTRY_PASSWORD: PASSWORD, GITHUB_TOKEN: TOKEN };

/** Every form a credential could leak in; none may appear in what kiln printed. */
function expectNoSecret(printed: string): void {
  for (const secret of [PASSWORD, BASIC, TOKEN, encodeURIComponent(PASSWORD), 'w/rd@2024', 'ss:w/rd']) {
    expect(printed).not.toContain(secret);
  }
}

describe('credentials echoed back by a registry (real registry behind a header-echoing proxy)', () => {
  let registry: TestRegistry;
  let proxy: RegistryProxy;
  let dir: string;

  beforeAll(async () => {
    registry = await startRegistry();
    proxy = await startRegistryProxy(registry.host, { scheme: 'basic', username: USER, password: PASSWORD });
    const built = await buildReleases('det', { '1': 'fast' });
    dir = built.dir;
    await pushRelease({
      target: `${proxy.host}/kiln`,
      releaseDir: path.join(built.releases, 'det', '1'),
      auth: { username: USER, password: PASSWORD },
    });
  }, 120_000);

  afterAll(async () => {
    await proxy?.close();
    await registry?.stop();
  });

  it('kiln publish --verbose prints the failure and its causes without the password, Basic value or token', async () => {
    proxy.fail({
      method: 'PUT',
      path: /\/manifests\//,
      count: Infinity,
      status: 503,
      echoAuthorization: true,
    });
    const run = await runKiln(
      [
        'publish',
        '--config',
        'kiln-1.yaml',
        '--results',
        'build-1.json',
        '--version',
        '2',
        '--oci',
        `${proxy.host}/kiln`,
        '--verbose',
      ],
      dir,
      ENV,
    );
    const printed = run.stdout + run.stderr;
    expect(run.exitCode, printed).toBe(2);
    // The proxy did echo the header (so this test can fail), and kiln reported the failure by registry.
    expect(
      proxy.requests.some((r) => r.method === 'PUT' && r.status === 503 && r.authorization === 'Basic'),
    ).toBe(true);
    expect(run.stderr).toContain(`kiln: ${proxy.host}/kiln/det: PUT manifest`);
    expect(run.stderr).toContain('caused by');
    expect(run.stderr).toContain(`authorization=Basic ${MASK}`);
    expectNoSecret(printed);
  }, 120_000);

  it('kiln-agent deploy --oci prints a refused pull without the credentials', async () => {
    proxy.fail({
      method: 'GET',
      path: /\/manifests\//,
      count: Infinity,
      status: 401,
      echoAuthorization: true,
    });
    const run = await execa(
      'node',
      [
        path.join(ROOT, 'bin', 'kiln-agent.js'),
        'deploy',
        'det@1',
        '--oci',
        `${proxy.host}/kiln`,
        '--root',
        path.join(dir, 'serving'),
      ],
      { reject: false, env: ENV },
    );
    const printed = run.stdout + run.stderr;
    expect(run.exitCode, printed).toBe(2);
    expect(run.stderr).toMatch(/^kiln-agent: deploy det@1 refused: pull: .*401 Unauthorized/);
    expect(run.stderr).toContain(`authorization=Basic ${MASK}`);
    expectNoSecret(printed);
  }, 60_000);

  it('kiln publish --oci user:password@host refuses the target without printing any of the password', async () => {
    const run = await runKiln(
      [
        'publish',
        '--config',
        'kiln-1.yaml',
        '--version',
        '3',
        '--oci',
        `${USER}:${PASSWORD}@${proxy.host}/kiln`,
      ],
      dir,
    );
    expect(run.exitCode).toBe(2);
    expect(run.stderr.trim()).toBe(
      `kiln: OCI target '${USER}:${MASK}@${proxy.host}/kiln': credentials do not belong in the target, pass them as auth`,
    );
    expectNoSecret(run.stdout + run.stderr);
  }, 60_000);
});

describe('redactText', () => {
  const secretChars = fc.string({
    unit: fc.constantFrom(...'abcXYZ019@:/+=%-_.!'.split('')),
    minLength: 4,
    maxLength: 24,
  });
  const text = fc.string({ maxLength: 40 });

  it('never lets a registered secret, or its Basic form, through', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[a-z][a-z0-9-]{0,11}$/),
        secretChars,
        text,
        text,
        (user, password, before, after) => {
          const basic = Buffer.from(`${user}:${password}`).toString('base64');
          const line = `${before}authorization=Basic ${basic} ${password}${after}`;
          const out = redactText(line, [password, basic]);
          expect(out).not.toContain(password);
          expect(out).not.toContain(basic);
        },
      ),
    );
  });

  it('masks the whole password of a URL, whatever it holds, and keeps the host', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z]{1,8}$/), secretChars, (user, password) => {
        const out = redactText(`push to https://${user}:${password}@ghcr.io/acme failed`);
        expect(out).toBe(`push to https://${user}:${MASK}@ghcr.io/acme failed`);
      }),
    );
  });

  it('leaves text without credentials as it was', () => {
    for (const line of [
      'registry 127.0.0.1:5000/kiln/det@sha256:0123abcd answered 404 Not Found',
      'www-authenticate: Bearer realm="http://127.0.0.1:5000/token",service="kiln-test"',
      'Basic authentication required',
    ]) {
      expect(redactText(line, ['hunter22'])).toBe(line);
    }
  });

  it('masks what the environment holds: the GitHub token and the registry login in all its forms', () => {
    const redactor = new Redactor();
    redactor.addFromEnv({ ...ENV, HOME: '/home/runner' });
    const line = `token ${TOKEN}, login ${BASIC}, url-encoded ${encodeURIComponent(PASSWORD)}, plain ${PASSWORD}, home /home/runner`;
    expect(redactor.redact(line)).toBe(
      `token ${MASK}, login ${MASK}, url-encoded ${MASK}, plain ${MASK}, home /home/runner`,
    );
  });

  it('a target with credentials is masked up to its last @', () => {
    expect(() => parseOciTarget(`${USER}:${PASSWORD}@ghcr.io/acme`)).toThrow(
      `OCI target '${USER}:${MASK}@ghcr.io/acme': credentials do not belong in the target`,
    );
  });
});
