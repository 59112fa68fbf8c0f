import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { acquireGpuLease, gpuLeasePath } from '../../../runner-agent/src/gpu/gpu-lease.js';
import { InputError } from '../../../src/core/errors.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
/** The compiled lease (test/global-setup.ts builds it): children run the shipped JS, not vitest's transform. */
const COMPILED = pathToFileURL(path.join(root, 'build', 'runner-agent', 'src', 'gpu', 'gpu-lease.js')).href;
const GPU = 'GPU-00000000-0000-0000-0000-000000000000';

/** A job: takes the lease `rounds` times, logging start/end around `holdMs` of "benchmark". */
const JOB = `
import { appendFileSync } from 'node:fs';
const [modUrl, leaseDir, uuid, log, id, rounds, holdMs] = process.argv.slice(2);
const { acquireGpuLease } = await import(modUrl);
const now = () => (performance.timeOrigin + performance.now()).toFixed(3);
for (let i = 0; i < Number(rounds); i++) {
  const lease = await acquireGpuLease(leaseDir, uuid, 'job ' + id, { timeoutMs: 20000, pollMs: 5 });
  if (Number(holdMs) < 0) { console.log('held'); setInterval(() => {}, 1000); break; }
  appendFileSync(log, 'S ' + id + ' ' + now() + '\\n');
  await new Promise((r) => setTimeout(r, Number(holdMs)));
  appendFileSync(log, 'E ' + id + ' ' + now() + '\\n');
  await lease.release();
}
`;

let tmp: string;
let children: ChildProcess[] = [];

beforeEach(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'kiln-gpu-lease-'));
  await writeFile(path.join(tmp, 'job.mjs'), JOB);
});
afterEach(async () => {
  for (const child of children)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  children = [];
  await rm(tmp, { recursive: true, force: true });
});

function job(id: string, rounds: number, holdMs: number): ChildProcess {
  const leaseDir = path.join(tmp, 'leases');
  const args = [
    path.join(tmp, 'job.mjs'),
    COMPILED,
    leaseDir,
    GPU,
    path.join(tmp, 'log'),
    id,
    String(rounds),
    String(holdMs),
  ];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  return child;
}

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

describe('gpuLeasePath', () => {
  it('keeps a GPU uuid as is and flattens MIG-style paths into one file name', () => {
    expect(gpuLeasePath('/l', GPU)).toBe(`/l/${GPU}.lock`);
    expect(gpuLeasePath('/l', 'MIG-GPU-5f3b/1/0')).toBe('/l/MIG-GPU-5f3b_1_0.lock');
    expect(() => gpuLeasePath('/l', '..')).toThrow(InputError);
  });
});

describe('acquireGpuLease across processes', () => {
  it('two jobs contending for one GPU never hold it at the same time', async () => {
    const jobs = [job('a', 4, 25), job('b', 4, 25)];
    expect(await Promise.all(jobs.map(exited))).toEqual([0, 0]);
    const lines = (await readFile(path.join(tmp, 'log'), 'utf8')).trim().split('\n');
    expect(lines).toHaveLength(16);
    let last = 0;
    for (let i = 0; i < lines.length; i += 2) {
      const [start, id, t0] = lines[i]!.split(' ');
      const [end, sameId, t1] = lines[i + 1]!.split(' ');
      // Each start is followed by the same job's end: no other job started in between.
      expect([start, end, sameId]).toEqual(['S', 'E', id]);
      expect(Number(t0)).toBeGreaterThanOrEqual(last);
      expect(Number(t1)).toBeGreaterThanOrEqual(Number(t0));
      last = Number(t1);
    }
    expect(new Set(lines.map((l) => l.split(' ')[1]))).toEqual(new Set(['a', 'b']));
  });

  it('a SIGKILLed holder: refused while alive, reclaimed once it is gone', async () => {
    const holder = job('killed', 1, -1);
    await new Promise<void>((resolve) => holder.stdout!.once('data', () => resolve()));
    const leaseDir = path.join(tmp, 'leases');

    const refused = acquireGpuLease(leaseDir, GPU, 'kiln build', { timeoutMs: 150, pollMs: 10 });
    await expect(refused).rejects.toThrow(
      `GPU ${GPU} is leased by pid ${holder.pid} on ${os.hostname()} (job killed`,
    );

    holder.kill('SIGKILL');
    await exited(holder);
    const lease = await acquireGpuLease(leaseDir, GPU, 'kiln build', { timeoutMs: 5_000 });
    const owner = JSON.parse(await readFile(lease.lockPath, 'utf8')) as { pid: number; command: string };
    expect(owner).toMatchObject({ pid: process.pid, command: 'kiln build' });
    await lease.release();
  });

  it('a lease folder that cannot be created is one line naming it', async () => {
    await writeFile(path.join(tmp, 'file'), 'x');
    await expect(
      acquireGpuLease(path.join(tmp, 'file', 'leases'), GPU, 'job', { timeoutMs: 10 }),
    ).rejects.toThrow(/file\/leases: cannot create the GPU lease folder \((ENOTDIR|EEXIST)\)$/);
  });
});
