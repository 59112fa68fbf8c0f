import { describe, expect, it } from 'vitest';
import { fixtureRunner } from '../../src/backends/host/command-runner.js';
import { InputError } from '../../src/core/errors.js';
import { COMPUTE_APPS_ARGS, type GpuProcess } from '../../runner-agent/src/gpu/gpu-process-parse.js';
import {
  InterferenceMonitor,
  nvidiaSmiSampler,
  type GpuSampler,
  type MonitorClock,
} from '../../runner-agent/src/gpu/interference-monitor.js';
import { parseMigDevices, watchedGpu } from '../../runner-agent/src/gpu/mig-parent.js';
import type { ParentMap, ProcessSource } from '../../runner-agent/src/gpu/process-tree.js';
import { smi } from './fixtures.js';

const GPU = 'GPU-9c73eb7b-8d6d-6c0e-dc13-97873e2ede40';
const clock: MonitorClock = {
  now: () => Date.parse('2026-01-01T00:00:00Z'),
  sleep: () => new Promise(() => {}),
};
const app = (pid: number, processName: string, gpuUuid = GPU): GpuProcess => ({
  pid,
  processName,
  usedMiB: 100,
  gpuUuid,
});

/** Answers each sample (and each process-table read) with the next scripted state. */
function scriptedHost(apps: GpuProcess[][], tables: ParentMap[]) {
  let a = 0;
  let t = 0;
  const sampler: GpuSampler = {
    computeApps: async () => apps[Math.min(a++, apps.length - 1)]!,
    utilization: async () => new Map(),
  };
  const processes: ProcessSource = { snapshot: async () => tables[Math.min(t++, tables.length - 1)]! };
  return { sampler, processes };
}

describe('InterferenceMonitor with the process tree', () => {
  it("ignores kiln's own grandchildren (trtexec under kiln build) and reports everything else", async () => {
    const agent = 500;
    // agent 500 → kiln build 501 → trtexec 502; python3 900 is a neighbour; 901 is in no table.
    const table = new Map([
      [agent, 1],
      [501, agent],
      [502, 501],
      [900, 1],
    ]);
    const { sampler, processes } = scriptedHost(
      [[app(502, 'trtexec'), app(900, 'python3'), app(901, 'x')]],
      [table],
    );
    const monitor = new InterferenceMonitor({ gpuUuid: GPU, sampler, processes, clock, ownPids: [agent] });
    await monitor.start();
    const report = await monitor.stop();
    expect(report.events.map((e) => [e.pid, e.processName])).toEqual([
      [900, 'python3'],
      [901, 'x'],
    ]);
  });

  it('a grandchild seen once stays ours after it exits (nvidia-smi may still list it)', async () => {
    const alive = new Map([
      [501, 500],
      [502, 501],
    ]);
    const gone = new Map([[501, 500]]);
    const { sampler, processes } = scriptedHost([[], [app(502, 'trtexec')]], [alive, gone]);
    const monitor = new InterferenceMonitor({ gpuUuid: GPU, sampler, processes, clock, ownPids: [500] });
    await monitor.start();
    expect((await monitor.stop()).interfered).toBe(false);
  });

  it('without a process source only the listed pids are ours: the grandchild reads as foreign', async () => {
    const { sampler } = scriptedHost([[app(502, 'trtexec')]], []);
    const monitor = new InterferenceMonitor({ gpuUuid: GPU, sampler, clock, ownPids: [500, 501] });
    await monitor.start();
    expect((await monitor.stop()).events.map((e) => e.pid)).toEqual([502]);
  });

  it('a process-table read that fails makes every process foreign, never ours', async () => {
    const { sampler } = scriptedHost([[app(502, 'trtexec')]], []);
    const processes: ProcessSource = { snapshot: () => Promise.reject(new Error('EACCES')) };
    const monitor = new InterferenceMonitor({ gpuUuid: GPU, sampler, processes, clock, ownPids: [500] });
    await monitor.start();
    expect((await monitor.stop()).interfered).toBe(true);
  });
});

describe('MIG: watching the parent GPU', () => {
  const twoGpus = smi('mig-a100-80gb-x2.L.txt');

  it('parses nvidia-smi -L of a two-GPU MIG host into instances with their parents', () => {
    const devices = parseMigDevices(twoGpus);
    expect(devices).toHaveLength(4);
    expect(devices[2]).toEqual({
      uuid: 'MIG-d5a46a2e-1d77-575d-99e3-1f96c8555a2e',
      profile: '1g.10gb',
      parentUuid: 'GPU-c92e2d5d-4a69-f1cd-4df0-305f8606705a',
    });
    const seven = parseMigDevices(smi('mig-a100-40gb-7x1g.L.txt'));
    expect(seven.map((d) => d.profile)).toEqual(Array(7).fill('1g.5gb'));
    expect(new Set(seven.map((d) => d.parentUuid))).toEqual(
      new Set(['GPU-838f60d9-651f-9166-ea42-f9da674a6947']),
    );
  });

  it('a MIG lease watches its parent GPU; a whole GPU watches itself without running anything', async () => {
    const runner = fixtureRunner({ 'nvidia-smi -L': twoGpus });
    expect(await watchedGpu('MIG-b8479d6e-d08f-5a92-9a24-0946db72b2a0', runner)).toEqual({
      gpuUuid: 'GPU-c92e2d5d-4a69-f1cd-4df0-305f8606705a',
      scope: 'parent-gpu',
      profile: '1g.10gb',
    });
    expect(await watchedGpu(`MIG-${GPU}/7/0`, fixtureRunner({}))).toEqual({
      gpuUuid: GPU,
      scope: 'parent-gpu',
    });
    const none = fixtureRunner({});
    expect(await watchedGpu(GPU, none)).toEqual({ gpuUuid: GPU, scope: 'device' });
    expect(none.calls).toEqual([]);
  });

  it('a MIG device that cannot be mapped is refused, not watched as nothing', async () => {
    await expect(
      watchedGpu('MIG-00000000-1d77-575d-99e3-1f96c8555a2e', fixtureRunner({ 'nvidia-smi -L': twoGpus })),
    ).rejects.toThrow(/no such MIG device in 'nvidia-smi -L'/);
    await expect(watchedGpu('MIG-d5a46a2e-1d77-575d-99e3-1f96c8555a2e', fixtureRunner({}))).rejects.toThrow(
      InputError,
    );
  });

  it("a neighbour on another instance of the same GPU is seen: compute-apps names the parent's UUID", async () => {
    const parent = 'GPU-c92e2d5d-4a69-f1cd-4df0-305f8606705a';
    const runner = fixtureRunner({
      'nvidia-smi -L': twoGpus,
      [['nvidia-smi', ...COMPUTE_APPS_ARGS].join(' ')]:
        `pid, process_name, used_memory, gpu_uuid\n4242, python3, 812, ${parent}\n4243, python3, 640, ${GPU}\n`,
    });
    const watched = await watchedGpu('MIG-d5a46a2e-1d77-575d-99e3-1f96c8555a2e', runner);
    const monitor = new InterferenceMonitor({
      gpuUuid: watched.gpuUuid,
      sampler: nvidiaSmiSampler(runner),
      clock,
    });
    await monitor.start();
    expect((await monitor.stop()).events.map((e) => e.pid)).toEqual([4242]);
  });
});
