import { execa } from 'execa';
import { mkdtemp, readdir, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readResultsFile } from '../../src/core/io/results-files.js';
import { ROOT } from '../helpers/kiln-cli.js';
import { RECORDED_H100, smiStub } from './smi-stub.js';

const agent = path.join(ROOT, 'bin', 'kiln-agent.js');

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function scrape(port: number): Promise<string> {
  return fetch(`http://127.0.0.1:${port}/metrics`).then(
    (r) => (r.ok ? r.text() : ''),
    () => '',
  );
}

/** `kiln-agent run` on the recorded H100 with a stubbed nvidia-smi, the rest of argv after --. */
async function agentRun(options: { smi: string; results: string[]; retries: string; command: string[] }) {
  const leases = await mkdtemp(path.join(os.tmpdir(), 'kiln-leases-'));
  const argv = ['run', '--gpu', RECORDED_H100, '--lease-dir', leases, '--retries', options.retries];
  return execa('node', [agent, ...argv, ...options.results, '--', ...options.command], {
    reject: false,
    env: { PATH: `${options.smi}:${process.env.PATH}`, KILN_AGENT_RESULTS: '' },
  });
}

describe('kiln-agent run feeds kiln-agent serve', () => {
  // A real process that is neither the agent nor below it: nvidia-smi (stubbed) lists it on the GPU.
  const neighbour = execa('sleep', ['120'], { reject: false });
  afterAll(async () => {
    neighbour.kill('SIGTERM');
    await neighbour;
  });

  it('a foreign process on the leased GPU moves kiln_interference_events_total{device} on /metrics', async () => {
    const spool = await mkdtemp(path.join(os.tmpdir(), 'kiln-spool-'));
    const port = await freePort();
    const serve = execa('node', [agent, 'serve', '--port', String(port), '--results', spool], {
      reject: false,
    });
    try {
      let metrics = '';
      for (let i = 0; i < 100 && !metrics; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        metrics = await scrape(port);
      }
      expect(metrics).toContain('kiln_interference_events_total');
      expect(metrics).not.toContain(`kiln_interference_events_total{device="${RECORDED_H100}"}`);

      const run = await agentRun({
        smi: await smiStub({ foreignPid: neighbour.pid! }),
        results: ['--results', spool],
        retries: '1',
        command: ['node', '-e', 'setTimeout(() => {}, 300)'],
      });
      expect(run.exitCode).toBe(0);
      expect(run.stderr).toContain(
        `every attempt was interfered on ${RECORDED_H100} by ./gpu_burn (pid ${neighbour.pid}, 15690 MiB)`,
      );

      const names = await readdir(spool);
      expect(names).toHaveLength(1);
      expect(names[0]).toMatch(/^interference-\d{8}T\d{9}Z-\d+-[0-9a-f]{6}\.json$/);
      const [record] = (await readResultsFile(path.join(spool, names[0]!))).interference;
      expect(record).toMatchObject({ device: RECORDED_H100, gpuUuid: RECORDED_H100, attempts: 2 });
      expect(record!.interfered).toBe(true);
      expect(record!.events.map((e) => e.pid)).toEqual([neighbour.pid, neighbour.pid]);

      const counted = `kiln_interference_events_total{device="${RECORDED_H100}"} 2`;
      for (let i = 0; i < 100 && !metrics.includes(counted); i++) {
        await new Promise((resolve) => setTimeout(resolve, 200));
        metrics = await scrape(port);
      }
      expect(metrics).toContain(counted);
    } finally {
      serve.kill('SIGTERM');
    }
    expect((await serve).exitCode).toBe(0);
  });

  it('a spool it cannot write is one warning line; the command’s exit code stands', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-spool-'));
    await writeFile(path.join(dir, 'a-file'), '');
    const spool = path.join(dir, 'a-file', 'results'); // ENOTDIR even for root
    const run = await agentRun({
      smi: await smiStub(),
      results: ['--results', spool],
      retries: '0',
      command: ['node', '-e', 'process.exit(3)'],
    });
    expect(run.exitCode).toBe(3);
    expect(run.stderr.trim()).toBe(
      `kiln-agent: warning: ${spool}: cannot write the interference record (ENOTDIR): /metrics will not count this run`,
    );
  });
});
