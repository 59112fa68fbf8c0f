import { execa } from 'execa';
import { chmod, mkdtemp, readdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readResultsFile } from '../../src/core/io/results-files.js';
import { ROOT } from '../helpers/kiln-cli.js';

const agent = path.join(ROOT, 'bin', 'kiln-agent.js');
const MIG_L = path.join(ROOT, 'test', 'fixtures', 'nvidia-smi', 'mig-a100-80gb-x2.L.txt');

/** A folder with an `nvidia-smi` script first on PATH: `-L` prints the recorded MIG host, queries fail. */
async function brokenSmi(): Promise<NodeJS.ProcessEnv> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-smi-'));
  const script = `#!/bin/sh\nif [ "$1" = -L ]; then cat '${MIG_L}'; exit 0; fi\necho 'NVIDIA-SMI has failed because it could not communicate with the NVIDIA driver.'\nexit 9\n`;
  await writeFile(path.join(dir, 'nvidia-smi'), script);
  await chmod(path.join(dir, 'nvidia-smi'), 0o755);
  return { PATH: `${dir}:${process.env.PATH}` };
}

async function run(gpu: string, env: NodeJS.ProcessEnv) {
  const leases = await mkdtemp(path.join(os.tmpdir(), 'kiln-leases-'));
  const results = await mkdtemp(path.join(os.tmpdir(), 'kiln-results-'));
  const result = await execa(
    'node',
    [agent, 'run', '--gpu', gpu, '--lease-dir', leases, '--retries', '0', '--', 'true'],
    { reject: false, env: { ...env, KILN_AGENT_RESULTS: results } },
  );
  const records = await Promise.all(
    (await readdir(results)).map(
      async (name) => (await readResultsFile(path.join(results, name))).interference,
    ),
  );
  return { ...result, leases: await readdir(leases), records: records.flat() };
}

describe('kiln-agent run: what the monitor could watch', () => {
  it('says so when nvidia-smi failed, instead of reading the GPU as quiet', async () => {
    const result = await run('GPU-9c73eb7b-8d6d-6c0e-dc13-97873e2ede40', await brokenSmi());
    expect(result.exitCode).toBe(0);
    expect(result.stderr).toMatch(
      /^kiln-agent: could not watch GPU-9c73eb7b-8d6d-6c0e-dc13-97873e2ede40 for neighbours: \d+ of \d+ samples failed \(nvidia-smi --query-compute-apps=.* exited 9: NVIDIA-SMI has failed/m,
    );
    // The record says the run was blind, so no reader takes its empty event list for a quiet GPU.
    expect(result.records).toHaveLength(1);
    expect(result.records[0]).toMatchObject({ events: [], samples: 0, interfered: false });
    expect(result.records[0]!.failedSamples).toBeGreaterThan(0);
  });

  it('a MIG lease watches its parent GPU and says what that means', async () => {
    const result = await run('MIG-d5a46a2e-1d77-575d-99e3-1f96c8555a2e', await brokenSmi());
    expect(result.stderr).toContain(
      'kiln-agent: MIG-d5a46a2e-1d77-575d-99e3-1f96c8555a2e is a MIG device: nvidia-smi reports processes per parent GPU (GPU-c92e2d5d-4a69-f1cd-4df0-305f8606705a), so a process on any other instance of it counts as a neighbour',
    );
  });

  it('refuses a MIG device nvidia-smi -L does not list, in one line, exit 2, before any lease', async () => {
    const result = await run('MIG-00000000-1d77-575d-99e3-1f96c8555a2e', await brokenSmi());
    expect(result.exitCode).toBe(2);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(
      /--gpu MIG-00000000-1d77-575d-99e3-1f96c8555a2e: no such MIG device in 'nvidia-smi -L'/,
    );
    expect(result.leases).toEqual([]);
  });
});
