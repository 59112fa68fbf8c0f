import { execa } from 'execa';
import { mkdtemp, readdir, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/kiln-cli.js';
import { smiStub } from './smi-stub.js';

const agent = path.join(ROOT, 'bin', 'kiln-agent.js');

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

// GPU 2's UUID on the recorded 4x A100 host (test/fixtures/nvidia-smi/a100-sxm4-80gb-x4.q.txt).
const LEASED = 'GPU-62989189-9e1e-ac75-4676-114f14998542';

/** nvidia-smi answering with a recorded idle GPU, and a results spool of the test's own. */
async function watchableHost(): Promise<NodeJS.ProcessEnv> {
  const results = await mkdtemp(path.join(os.tmpdir(), 'kiln-results-'));
  return { PATH: `${await smiStub()}:${process.env.PATH}`, KILN_AGENT_RESULTS: results };
}

describe('kiln-agent run', () => {
  it('pins the child to the leased GPU: CUDA sees only that UUID, in PCI order, and KILN_GPU names it for the key', async () => {
    const leases = await mkdtemp(path.join(os.tmpdir(), 'kiln-leases-'));
    const print =
      'const e = process.env; console.log(JSON.stringify([e.CUDA_VISIBLE_DEVICES, e.CUDA_DEVICE_ORDER, e.KILN_GPU]))';
    const result = await execa(
      'node',
      [agent, 'run', '--gpu', LEASED, '--lease-dir', leases, '--', 'node', '-e', print],
      {
        reject: false,
        env: { ...(await watchableHost()), CUDA_VISIBLE_DEVICES: '0', CUDA_DEVICE_ORDER: 'FASTEST_FIRST' },
      },
    );
    expect(result.exitCode).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual([LEASED, 'PCI_BUS_ID', LEASED]);
  });

  it('refuses a --gpu that is not a device UUID before taking any lease', async () => {
    const leases = await mkdtemp(path.join(os.tmpdir(), 'kiln-leases-'));
    const result = await execa('node', [agent, 'run', '--gpu', '0', '--lease-dir', leases, '--', 'true'], {
      reject: false,
    });
    expect(result.exitCode).toBe(2);
    expect(result.stderr.trim()).toMatch(
      /^.*--gpu "0": expected a GPU-… or MIG-… UUID as 'nvidia-smi -L' prints it$/,
    );
    expect(await readdir(leases)).toEqual([]);
  });

  it('runs the command under the GPU lease, passes its exit code through and releases the lease', async () => {
    const leases = await mkdtemp(path.join(os.tmpdir(), 'kiln-leases-'));
    const result = await execa(
      'node',
      [agent, 'run', '--gpu', LEASED, '--lease-dir', leases, '--', 'node', '-e', 'process.exit(3)'],
      { reject: false, env: await watchableHost() },
    );
    expect(result.exitCode).toBe(3);
    expect(await readdir(leases)).toEqual([]);
  });

  it('refuses a GPU lease on a host without nvidia-smi: one line naming the tool and the UUID, exit 2, before the lease and the child', async () => {
    const leases = await mkdtemp(path.join(os.tmpdir(), 'kiln-leases-'));
    const results = await mkdtemp(path.join(os.tmpdir(), 'kiln-results-'));
    // An empty PATH: no nvidia-smi even on a GPU host. Node and the child are named by absolute path.
    const emptyPath = await mkdtemp(path.join(os.tmpdir(), 'kiln-path-'));
    const marker = path.join(results, 'child-ran');
    const child = `require('fs').writeFileSync(${JSON.stringify(marker)}, '')`;
    const result = await execa(
      process.execPath,
      [agent, 'run', '--gpu', LEASED, '--lease-dir', leases, '--', process.execPath, '-e', child],
      { reject: false, env: { PATH: emptyPath, KILN_AGENT_RESULTS: results } },
    );
    expect(result.exitCode).toBe(2);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(
      new RegExp(`--gpu ${LEASED}: nvidia-smi is not installed \\(not found on PATH\\)`),
    );
    expect(await readdir(leases)).toEqual([]);
    expect(await readdir(results)).toEqual([]);
  });

  it('refuses a missing command or GPU with one line and exit 2', async () => {
    const noCommand = await execa('node', [agent, 'run', '--gpu', 'GPU-1'], { reject: false });
    expect(noCommand.exitCode).toBe(2);
    expect(noCommand.stderr.trim().split('\n')).toHaveLength(1);
    const noGpu = await execa('node', [agent, 'run', '--', 'true'], { reject: false });
    expect(noGpu.exitCode).toBe(2);
    expect(noGpu.stderr).toMatch(/--gpu UUID is required/);
  });
});

describe('kiln-agent serve', () => {
  it('serves /healthz and /metrics fed by results dropped into the spool, and stops on SIGTERM', async () => {
    const spool = await mkdtemp(path.join(os.tmpdir(), 'kiln-spool-'));
    const port = await freePort();
    const results = {
      schema: 'kiln.build-results/v1',
      kilnVersion: '0.1.0',
      target: 'cpu',
      backend: 'onnxruntime-cpu',
      hardware: { kind: 'cpu' },
      startedAt: '2026-01-01T00:00:00Z',
      finishedAt: '2026-01-01T00:00:01Z',
      gates: { golden: 'pass' },
      engines: [
        {
          model: 'ocr-det',
          profile: 's384',
          precision: 'fp32',
          target: 'cpu',
          backend: 'onnxruntime-cpu',
          key: 'k',
          cache: 'miss',
          enginePath: '/x/engine.ort',
          golden: { pass: true, source: 'synthetic', samples: 1, outputs: [] },
          latency: {
            engine: {
              n: 30,
              p50: 30.5,
              p90: 31,
              p99: 36.25,
              mean: 30.6,
              stddev: 1,
              min: 29,
              max: 37,
              stable: true,
              stabilityPct: 5,
              warmup: 1,
              threads: 1,
              coldStart: { createMs: 1, firstRunMs: 1 },
            },
          },
          phases: { compileMs: 1, goldenMs: 1, benchMs: 1 },
        },
      ],
    };
    await writeFile(path.join(spool, 'run-1.json'), JSON.stringify(results));
    const server = execa(
      'node',
      [agent, 'serve', '--port', String(port), '--results', spool, '--device', 'epyc'],
      {
        reject: false,
      },
    );
    try {
      let metrics = '';
      for (let i = 0; i < 50 && !metrics.includes('kiln_engine_latency_ms{'); i++) {
        await new Promise((resolve) => setTimeout(resolve, 200));
        metrics = await fetch(`http://127.0.0.1:${port}/metrics`).then(
          (r) => r.text(),
          () => '',
        );
      }
      expect(metrics).toMatch(
        /kiln_engine_latency_ms\{[^}]*model="ocr-det"[^}]*quantile="0\.99"[^}]*\} 36\.25/,
      );
      expect(metrics).toMatch(/device="epyc"/);
      const health = await fetch(`http://127.0.0.1:${port}/healthz`);
      expect(health.status).toBe(200);
    } finally {
      server.kill('SIGTERM');
    }
    expect((await server).exitCode).toBe(0);
  });
});
