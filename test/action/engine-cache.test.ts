import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as cache from '@actions/cache';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { actionsEngineCache, cacheLocation } from '../../src/action/engine-cache.js';
import { startActionsCacheServer, type ActionsCacheServer } from '../helpers/actions-cache-server.js';

// Two self-hosted runners whose work folders differ (and sit at different depths), laid out as the
// runner does: the workspace at _work/<repo>/<repo>, the Action's store under _work/_temp.
interface Runner {
  workspace: string;
  store: string;
}

let tmp: string;
let server: ActionsCacheServer;
let savedEnv: NodeJS.ProcessEnv;
let savedCwd: string;
let stdout: string[];

const engines = ['det', 'rec', 'cls'].map((model) => ({ model, key: randomBytes(32).toString('hex') }));

async function runner(root: string): Promise<Runner> {
  const work = path.join(tmp, root, '_work');
  const workspace = path.join(work, 'models', 'models');
  await mkdir(workspace, { recursive: true });
  return { workspace, store: path.join(work, '_temp', 'kiln-store') };
}

/** Runs `fn` as the Action would on `r`: cwd and GITHUB_WORKSPACE at its workspace. */
async function on<T>(r: Runner, fn: () => Promise<T>): Promise<T> {
  process.chdir(r.workspace);
  process.env.GITHUB_WORKSPACE = r.workspace;
  try {
    return await fn();
  } finally {
    process.chdir(savedCwd);
  }
}

const warnings = () =>
  stdout
    .join('')
    .split('\n')
    .filter((l) => l.startsWith('::warning::'));

beforeAll(async () => {
  tmp = await mkdtemp(path.join(tmpdir(), 'kiln-engine-cache-'));
  server = await startActionsCacheServer();
  savedCwd = process.cwd();
});

afterAll(async () => {
  await server.close();
  await rm(tmp, { recursive: true, force: true });
});

beforeEach(() => {
  savedEnv = { ...process.env };
  stdout = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout.push(String(chunk));
    return true;
  });
  process.env.ACTIONS_CACHE_URL = server.url;
  process.env.ACTIONS_RUNTIME_TOKEN = 'loopback-token';
  delete process.env.ACTIONS_CACHE_SERVICE_V2;
  delete process.env.ACTIONS_RESULTS_URL;
});

afterEach(() => {
  vi.restoreAllMocks();
  process.env = savedEnv;
});

describe('the engine cache across runners with different work folders (real @actions/cache client)', () => {
  it('runner B restores every engine runner A saved (3/3), byte for byte', async () => {
    const a = await runner('a/actions-runner');
    const b = await runner('b/srv/deep/gha');

    await on(a, async () => {
      const engineCache = actionsEngineCache();
      for (const { model, key } of engines) {
        const dir = path.join(a.store, model, key);
        await mkdir(dir, { recursive: true });
        await writeFile(path.join(dir, 'engine.ort'), randomBytes(4096));
        await writeFile(path.join(dir, 'artifact.json'), JSON.stringify({ model, key }));
        await engineCache.save(dir, key);
      }
      // Each call ran inside the store and put the runner's cwd and workspace back.
      expect([process.cwd(), process.env.GITHUB_WORKSPACE]).toEqual([a.workspace, a.workspace]);
    });
    expect(server.entries, stdout.join('')).toHaveLength(engines.length);

    const hits = await on(b, async () => {
      const engineCache = actionsEngineCache();
      let restored = 0;
      for (const { model, key } of engines)
        if (await engineCache.restore(path.join(b.store, model, key), key)) restored++;
      return restored;
    });
    expect(`${hits}/${engines.length}`).toBe('3/3');
    for (const { model, key } of engines) {
      for (const file of ['engine.ort', 'artifact.json']) {
        const [saved, restored] = await Promise.all([
          readFile(path.join(a.store, model, key, file)),
          readFile(path.join(b.store, model, key, file)),
        ]);
        expect(restored.equals(saved)).toBe(true);
      }
    }
    expect(warnings()).toEqual([]);
  });

  it('absolute paths (what kiln passed before) make the same entry a miss on the other runner', async () => {
    const a = await runner('c/actions-runner');
    const b = await runner('d/other');
    const key = `kiln-engine-v1-${randomBytes(32).toString('hex')}`;
    const dirA = path.join(a.store, 'det', 'abs');
    await mkdir(dirA, { recursive: true });
    await writeFile(path.join(dirA, 'engine.ort'), randomBytes(64));
    await on(a, () => cache.saveCache([dirA], key));
    const found = await on(b, () => cache.restoreCache([path.join(b.store, 'det', 'abs')], key));
    expect(found).toBeUndefined();
  });

  it("names an artifact folder by <model>/<key> under its store, whatever the store's absolute path", () => {
    expect(cacheLocation('/w/_temp/kiln-store/det/k')).toEqual({
      root: '/w/_temp/kiln-store',
      path: 'det/k',
    });
    expect(cacheLocation('/opt/x/store/det/k/').path).toBe('det/k');
  });
});

describe('the engine cache without a cache service', () => {
  it('asks isFeatureAvailable once, warns once, and never calls the service', async () => {
    delete process.env.ACTIONS_CACHE_URL;
    const before = server.lookups.total;
    const engineCache = actionsEngineCache();
    const dir = path.join(tmp, 'no-service');
    await expect(engineCache.restore(dir, 'a'.repeat(64))).resolves.toBe(false);
    await expect(engineCache.restore(dir, 'b'.repeat(64))).resolves.toBe(false);
    await expect(engineCache.save(dir, 'c'.repeat(64))).resolves.toBeUndefined();
    expect(warnings()).toEqual([
      '::warning::engine cache: no GitHub cache service on this runner (ACTIONS_CACHE_URL/ACTIONS_RESULTS_URL unset); engines are neither restored nor saved',
    ]);
    expect(server.lookups.total).toBe(before);
  });
});
