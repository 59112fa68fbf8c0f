import { execa } from 'execa';
import type { ResultPromise } from 'execa';
import { access, constants, mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AgentMetrics, OTHER_LABEL } from '../../runner-agent/src/metrics.js';
import { startServer } from '../../runner-agent/src/serve.js';
import { watchResults } from '../../runner-agent/src/results-watcher.js';
import type { AgentServer, HealthReport } from '../../runner-agent/src/serve.js';
import type { ResultsFileInfo } from '../../runner-agent/src/results-watcher.js';
import type { BuildResults, EngineResult, LatencyStats } from '../../src/core/results.js';

const DEVICE = 'GPU-5f2a8c1e-0d3b-4c7e-9a41-2b6f0e8d7c33';

function stats(p50: number, p99: number): LatencyStats {
  return {
    n: 120,
    p50,
    p90: (p50 + p99) / 2,
    p99,
    mean: p50 * 1.02,
    stddev: p50 * 0.03,
    min: p50 * 0.94,
    max: p99 * 1.1,
    stable: true,
    stabilityPct: 5,
    warmup: 3,
    threads: 1,
    coldStart: { createMs: 212.4, firstRunMs: 48.9 },
  };
}

function engine(
  model: string,
  profile: string,
  cache: 'hit' | 'miss',
  p50: number,
  p99: number,
): EngineResult {
  return {
    model,
    profile,
    precision: 'fp32',
    target: 'cpu',
    backend: 'onnxruntime-cpu',
    key: `sha256-${model}-${profile}`.padEnd(71, '0'),
    cache,
    enginePath: `.kiln/store/${model}/${profile}/engine.ort`,
    golden: {
      pass: true,
      source: 'synthetic',
      samples: 2,
      outputs: [
        {
          output: 'sigmoid_0.tmp_0',
          dtype: 'float32',
          shape: [1, 1, 384, 384],
          total: 147456,
          maxAbsDiff: 2.3e-6,
          maxRelDiff: 1.1e-5,
          mismatches: 0,
          cosine: 0.99999994,
          worstIndex: [0, 0, 17, 203],
          worstRef: 0.4172,
          worstGot: 0.417202,
          nanRef: 0,
          nanGot: 0,
          infRef: 0,
          infGot: 0,
          atol: 1e-4,
          rtol: 1e-3,
          pass: true,
        },
      ],
    },
    latency: { engine: stats(p50, p99), reference: stats(p50 * 1.4, p99 * 1.3) },
    speedup: 1.4,
    phases: { compileMs: cache === 'hit' ? 0 : 1830, goldenMs: 96, benchMs: 1504 },
  };
}

/** Shaped like `kiln build --json` output for examples/ocr (three engines, one cached). */
function ocrResults(overrides: Partial<BuildResults> = {}): BuildResults {
  return {
    schema: 'kiln.build-results/v1',
    kilnVersion: '0.1.0',
    target: 'cpu',
    backend: 'onnxruntime-cpu',
    hardware: { kind: 'cpu', arch: 'x64', isa: ['avx2', 'avx512f', 'fma'] },
    startedAt: '2025-01-14T09:12:03.118Z',
    finishedAt: '2025-01-14T09:12:41.502Z',
    engines: [
      engine('ocr-det', 's384', 'miss', 18.25, 23.5),
      engine('ocr-det', 's640', 'hit', 51.125, 60.75),
      engine('ocr-rec', 'w320', 'miss', 6.5, 9.0625),
    ],
    gates: { golden: 'pass' },
    ...overrides,
  };
}

const healthy = async (): Promise<HealthReport> => ({ ok: true, checks: [{ name: 'nvidia-smi', ok: true }] });

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (typeof address !== 'object' || !address) throw new Error('no port');
  return address.port;
}

async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}`,
  );
}

describe('kiln-agent serve', () => {
  const servers: AgentServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });

  async function serve(metrics: AgentMetrics, health = healthy): Promise<AgentServer> {
    const server = await startServer({ port: 0, registry: metrics.registry, health });
    servers.push(server);
    return server;
  }

  it('answers /healthz with 200 and the checks when healthy', async () => {
    const server = await serve(new AgentMetrics());
    const res = await fetch(`${server.url}/healthz`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await res.json()).toEqual({ ok: true, checks: [{ name: 'nvidia-smi', ok: true }] });
  });

  it('answers /healthz with 503 when a check fails, throws or hangs', async () => {
    const failing = await serve(new AgentMetrics(), async () => ({
      ok: false,
      checks: [{ name: 'nvidia-smi', ok: false, detail: 'nvidia-smi not found: install the NVIDIA driver' }],
    }));
    const res = await fetch(`${failing.url}/healthz`);
    expect(res.status).toBe(503);
    expect(((await res.json()) as HealthReport).checks[0]?.detail).toContain('nvidia-smi not found');

    const throwing = await serve(new AgentMetrics(), async () => {
      throw new Error('spool unreadable');
    });
    const thrown = await fetch(`${throwing.url}/healthz`);
    expect(thrown.status).toBe(503);
    expect(JSON.stringify(await thrown.json())).toContain('spool unreadable');

    const hanging = await startServer({
      port: 0,
      registry: new AgentMetrics().registry,
      health: () => new Promise<HealthReport>(() => {}),
      healthTimeoutMs: 100,
    });
    servers.push(hanging);
    const hung = await fetch(`${hanging.url}/healthz`);
    expect(hung.status).toBe(503);
    expect(JSON.stringify(await hung.json())).toContain('did not answer within 100 ms');
  });

  it('serves the metrics in Prometheus text format after recordBuild', async () => {
    const metrics = new AgentMetrics({ version: '0.1.0' });
    metrics.recordBuild(ocrResults(), DEVICE);
    metrics.recordBuild(ocrResults({ gates: { golden: 'fail' } }), DEVICE);
    metrics.recordBuildError('cpu');
    metrics.recordInterference(DEVICE, 2);
    metrics.observeLeaseWait(3.2);
    const server = await serve(metrics);

    const res = await fetch(`${server.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const text = await res.text();
    expect(text).toContain('kiln_builds_total{target="cpu",result="ok"} 1');
    expect(text).toContain('kiln_builds_total{target="cpu",result="gate_failed"} 1');
    expect(text).toContain('kiln_builds_total{target="cpu",result="error"} 1');
    expect(text).toContain('kiln_engine_cache_total{target="cpu",result="hit"} 2');
    expect(text).toContain('kiln_engine_cache_total{target="cpu",result="miss"} 4');
    expect(text).toContain(
      `kiln_engine_latency_ms{model="ocr-det",profile="s384",precision="fp32",device="${DEVICE}",quantile="0.5"} 18.25`,
    );
    expect(text).toContain(
      `kiln_engine_latency_ms{model="ocr-det",profile="s384",precision="fp32",device="${DEVICE}",quantile="0.99"} 23.5`,
    );
    expect(text).toContain(
      `kiln_engine_latency_ms{model="ocr-rec",profile="w320",precision="fp32",device="${DEVICE}",quantile="0.99"} 9.0625`,
    );
    expect(text).toContain(`kiln_interference_events_total{device="${DEVICE}"} 2`);
    expect(text).toContain('kiln_gpu_lease_wait_seconds_bucket{le="5"} 1');
    expect(text).toContain('kiln_gpu_lease_wait_seconds_count 1');
    expect(text).toContain('kiln_agent_info{version="0.1.0"} 1');
    // Its own registry: nothing from prom-client's global one or default collectors unless asked.
    expect(text).not.toContain('process_cpu');
  });

  it('answers 404 for other paths and 405 for other methods', async () => {
    const server = await serve(new AgentMetrics());
    const missing = await fetch(`${server.url}/metricz`);
    expect(missing.status).toBe(404);
    expect(await missing.text()).toContain('/metricz');
    const post = await fetch(`${server.url}/metrics`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    // Query parameters do not change the route.
    expect((await fetch(`${server.url}/metrics?format=prometheus`)).status).toBe(200);
  });

  it('closes while a keep-alive client is connected and frees the port', async () => {
    const server = await startServer({ port: 0, registry: new AgentMetrics().registry, health: healthy });
    await (await fetch(`${server.url}/metrics`, { keepalive: true })).text();
    await server.close();
    await expect(fetch(`${server.url}/healthz`)).rejects.toThrow();
    const again = await startServer({
      port: server.port,
      registry: new AgentMetrics().registry,
      health: healthy,
    });
    servers.push(again);
    expect(again.port).toBe(server.port);
  });

  it('refuses to start on a port in use, naming it', async () => {
    const first = await serve(new AgentMetrics());
    await expect(
      startServer({ port: first.port, registry: new AgentMetrics().registry, health: healthy }),
    ).rejects.toThrow(`cannot listen on 127.0.0.1:${first.port} (EADDRINUSE)`);
  });
});

describe('AgentMetrics label bounds', () => {
  it('evicts the least recently updated latency series beyond the cap', async () => {
    const metrics = new AgentMetrics({ maxLatencySeries: 4 });
    metrics.recordBuild(ocrResults(), DEVICE); // 3 engines x 2 quantiles = 6 series, cap 4
    const text = await metrics.registry.metrics();
    expect(text).not.toContain('profile="s384"');
    expect(text).toContain('profile="s640"');
    expect(text).toContain('profile="w320"');
  });

  it('folds target and device values beyond the budget into "other"', async () => {
    const metrics = new AgentMetrics({ maxLabelValues: 1 });
    metrics.recordInterference('GPU-a', 1);
    metrics.recordInterference('GPU-b', 1);
    metrics.recordBuildError('cpu');
    metrics.recordBuildError('job-4711');
    const text = await metrics.registry.metrics();
    expect(text).toContain('kiln_interference_events_total{device="GPU-a"} 1');
    expect(text).toContain(`kiln_interference_events_total{device="${OTHER_LABEL}"} 1`);
    expect(text).toContain(`kiln_builds_total{target="${OTHER_LABEL}",result="error"} 1`);
    expect(() => metrics.recordInterference('GPU-a', -1)).toThrow(RangeError);
  });

  it('updates only the gauges for replayed results', async () => {
    const metrics = new AgentMetrics();
    metrics.recordBuild(ocrResults(), DEVICE, { replay: true });
    const text = await metrics.registry.metrics();
    expect(text).not.toContain('kiln_builds_total{');
    expect(text).toContain('quantile="0.99"} 23.5');
  });
});

describe('watchResults', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'kiln-spool-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('hands each results file over once, replays what was there, retries then reports bad files', async () => {
    await writeFile(path.join(dir, 'old.json'), JSON.stringify(ocrResults()));
    const seen: { target: string; info: ResultsFileInfo }[] = [];
    const errors: string[] = [];
    const watcher = watchResults(dir, (r, info) => void seen.push({ target: r.target, info }), {
      intervalMs: 60_000,
      onError: (error) => errors.push(error.message),
    });
    try {
      await watcher.scan();
      expect(seen).toEqual([{ target: 'cpu', info: { file: path.join(dir, 'old.json'), replay: true } }]);

      // An array of results (several targets) plus a file still being copied and an ignored temp file.
      await writeFile(
        path.join(dir, 'new.json'),
        JSON.stringify([ocrResults({ target: 'gpu-a10' }), ocrResults({ target: 'gpu-l4' })]),
      );
      await writeFile(path.join(dir, 'partial.json'), '{"schema":"kiln.build-res');
      await writeFile(path.join(dir, 'x.json.123.tmp'), '{');
      await watcher.scan();
      expect(seen.slice(1).map((s) => [s.target, s.info.replay])).toEqual([
        ['gpu-a10', false],
        ['gpu-l4', false],
      ]);
      expect(errors).toEqual([]);

      await watcher.scan(); // the partial file did not change: now it is reported, once
      await watcher.scan();
      expect(seen).toHaveLength(3);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toContain('partial.json: not valid JSON');

      // Replacing a file (as `kiln build --json` does, by rename) is a new build.
      await writeFile(path.join(dir, 'old.json.tmp'), JSON.stringify(ocrResults({ target: 'cpu-2' })));
      await rename(path.join(dir, 'old.json.tmp'), path.join(dir, 'old.json'));
      await watcher.scan();
      expect(seen.at(-1)?.target).toBe('cpu-2');
      expect(seen).toHaveLength(4);
    } finally {
      await watcher.close();
    }
  });

  it('can skip what was already there', async () => {
    const spool = await mkdtemp(path.join(dir, 'skip-'));
    await writeFile(path.join(spool, 'before.json'), JSON.stringify(ocrResults()));
    const seen: string[] = [];
    const watcher = watchResults(spool, (_r, info) => void seen.push(path.basename(info.file)), {
      intervalMs: 60_000,
      existing: 'skip',
    });
    try {
      await watcher.scan();
      await writeFile(path.join(spool, 'after.json'), JSON.stringify(ocrResults()));
      await watcher.scan();
      expect(seen).toEqual(['after.json']);
    } finally {
      await watcher.close();
    }
  });

  it('reports a missing folder once and picks files up once it exists', async () => {
    const spool = path.join(dir, 'later');
    const errors: string[] = [];
    const seen: boolean[] = [];
    const watcher = watchResults(spool, (_r, info) => void seen.push(info.replay), {
      intervalMs: 60_000,
      onError: (error) => errors.push(error.message),
    });
    try {
      await watcher.scan();
      await watcher.scan();
      expect(errors).toEqual([`results folder ${spool}: ENOENT`]);
      await mkdir(spool);
      await writeFile(path.join(spool, 'a.json'), JSON.stringify(ocrResults()));
      await watcher.scan();
      expect(seen).toEqual([false]);
    } finally {
      await watcher.close();
    }
  });
});

/**
 * The real thing: Debian's Prometheus scrapes the agent over loopback and its query API returns what
 * recordBuild set. CI installs the package (.ci/run); a machine without it fails here, on purpose.
 */
describe('Prometheus scrapes kiln-agent serve', () => {
  const PROMETHEUS = process.env.KILN_TEST_PROMETHEUS ?? '/usr/bin/prometheus';
  let work: string;
  let agent: AgentServer | undefined;
  let prometheus: ResultPromise<{ reject: false; all: true }> | undefined;

  beforeAll(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'kiln-prom-'));
  });

  afterAll(async () => {
    if (prometheus) {
      prometheus.kill('SIGTERM');
      await prometheus;
    }
    await agent?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('reads p99 per model per device and up == 1 through the query API', { timeout: 30_000 }, async () => {
    // Checked inside the test, not in a hook, so a missing binary is this test failing, by name.
    try {
      await access(PROMETHEUS, constants.X_OK);
    } catch {
      throw new Error(
        `${PROMETHEUS} not found: install Debian's prometheus package ` +
          '(apt-get install -y --no-install-recommends prometheus; CI does this in .ci/run) ' +
          'or point KILN_TEST_PROMETHEUS at a prometheus 2.x binary',
      );
    }
    const metrics = new AgentMetrics();
    metrics.recordBuild(ocrResults(), DEVICE);
    agent = await startServer({ port: 0, registry: metrics.registry, health: healthy });

    const promPort = await freePort();
    const promUrl = `http://127.0.0.1:${promPort}`;
    const config = path.join(work, 'prometheus.yml');
    await writeFile(
      config,
      [
        'global:',
        '  scrape_interval: 1s',
        '  evaluation_interval: 1s',
        'scrape_configs:',
        '  - job_name: kiln-agent',
        '    scrape_interval: 1s',
        '    scrape_timeout: 1s',
        '    static_configs:',
        `      - targets: ['127.0.0.1:${agent.port}']`,
        '',
      ].join('\n'),
    );
    prometheus = execa(
      PROMETHEUS,
      [
        `--config.file=${config}`,
        `--storage.tsdb.path=${path.join(work, 'data')}`,
        `--web.listen-address=127.0.0.1:${promPort}`,
        '--log.level=warn',
      ],
      { reject: false, all: true },
    );
    let exited: { exitCode?: number; all: string } | undefined;
    void prometheus.then((r) => (exited = r));
    // Its log only matters when something failed: then it usually says why (port taken, bad config).
    const logTail = async () => {
      await new Promise((resolve) => setTimeout(resolve, 100));
      return exited ? `\nprometheus exited ${exited.exitCode}:\n${exited.all.slice(-2000)}` : '';
    };
    try {
      await waitFor('Prometheus /-/ready', 15_000, async () => {
        const res = await fetch(`${promUrl}/-/ready`);
        return res.ok ? true : undefined;
      });

      const query = async (promql: string) => {
        const res = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(promql)}`);
        const body = (await res.json()) as {
          status: string;
          data: { result: { metric: Record<string, string>; value: [number, string] }[] };
        };
        expect(body.status).toBe('success');
        return body.data.result;
      };

      const up = await waitFor('a scrape of kiln-agent', 15_000, async () => {
        const result = await query('up{job="kiln-agent"}');
        return result.length > 0 ? result : undefined;
      });
      expect(up).toHaveLength(1);
      expect(up[0]!.value[1]).toBe('1');

      const p99 = await query('kiln_engine_latency_ms{model="ocr-det",quantile="0.99"}');
      const byProfile = Object.fromEntries(p99.map((r) => [r.metric.profile, Number(r.value[1])]));
      expect(byProfile).toEqual({ s384: 23.5, s640: 60.75 });
      expect(p99[0]!.metric).toMatchObject({ device: DEVICE, precision: 'fp32', job: 'kiln-agent' });

      const builds = await query('kiln_builds_total{result="ok"}');
      expect(builds.map((r) => [r.metric.target, r.value[1]])).toEqual([['cpu', '1']]);
    } catch (error) {
      throw new Error(`${(error as Error).message}${await logTail()}`, { cause: error });
    }
  });
});
