import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { fixtureRunner } from '../../../src/backends/host/command-runner.js';
import { benchWithIsolation } from '../../../runner-agent/src/gpu/bench-isolation.js';
import {
  COMPUTE_APPS_ARGS,
  parseGpuProcesses,
  parseUtilization,
  UTILIZATION_ARGS,
  type GpuProcess,
} from '../../../runner-agent/src/gpu/gpu-process-parse.js';
import {
  InterferenceMonitor,
  nvidiaSmiSampler,
  type GpuSampler,
  type InterferenceReport,
  type MonitorClock,
} from '../../../runner-agent/src/gpu/interference-monitor.js';
import { InputError } from '../../../src/core/errors.js';

const FIXTURES = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  'fixtures',
  'nvidia-smi',
);
const fixture = (name: string) => readFileSync(path.join(FIXTURES, name), 'utf8');
const MASKED = 'GPU-00000000-0000-0000-0000-000000000000';
const LEASED = 'GPU-4e9e74b7-4977-f04d-3af3-ccfe5f570e90';
const OTHER = 'GPU-28780eb0-24d5-1f13-59b8-ae5c23617a72';

describe('parseGpuProcesses', () => {
  it('reads a real H100 capture under load (header, units, extra columns)', () => {
    expect(parseGpuProcesses(fixture('compute-apps-h100-load.csv'))).toEqual([
      { pid: 11327, processName: '/root/tools/memhog', usedMiB: 2566, gpuUuid: MASKED },
      { pid: 11328, processName: '/root/tools/memhog', usedMiB: 1542, gpuUuid: MASKED },
      { pid: 11345, processName: './gpu_burn', usedMiB: 15690, gpuUuid: MASKED },
    ]);
  });

  it('an idle GPU prints only the header: no processes', () => {
    expect(parseGpuProcesses(fixture('compute-apps-h100-idle.csv'))).toEqual([]);
  });

  it('WDDM hides per-process memory: [N/A] reads as unknown, Windows paths stay whole', () => {
    const apps = parseGpuProcesses(fixture('compute-apps-rtx2080s-windows-load.csv'));
    expect(apps).toHaveLength(21);
    expect(apps.every((a) => a.usedMiB === undefined && a.gpuUuid === MASKED)).toBe(true);
    expect(apps[0]).toMatchObject({ pid: 2140, processName: 'C:\\Windows\\System32\\dwm.exe' });
    expect(apps.filter((a) => a.processName.endsWith('ffmpeg.exe'))).toHaveLength(2);
  });

  it('reads its own header-less, unit-less query and process names holding commas', () => {
    const text = `4242, python3, 1024, ${LEASED}\n4243, /opt/my, odd, name, 12, ${OTHER}\n`;
    expect(parseGpuProcesses(text)).toEqual([
      { pid: 4242, processName: 'python3', usedMiB: 1024, gpuUuid: LEASED },
      { pid: 4243, processName: '/opt/my, odd, name', usedMiB: 12, gpuUuid: OTHER },
    ]);
    expect(parseGpuProcesses('No running processes found\n')).toEqual([]);
    expect(parseGpuProcesses('')).toEqual([]);
  });

  it('garbage fails instead of reading as an idle GPU', () => {
    expect(() => parseGpuProcesses('NVIDIA-SMI has failed because it could not communicate')).toThrow(
      InputError,
    );
    expect(() => parseGpuProcesses(`abc, python, 1, ${LEASED}`)).toThrow(/does not parse/);
    expect(() => parseGpuProcesses(`12, python, lots, ${LEASED}`)).toThrow(/does not parse/);
  });
});

describe('parseUtilization', () => {
  it('reads header and header-less forms, leaving out [N/A] GPUs', () => {
    const text = `uuid, utilization.gpu [%]\n${LEASED}, 100 %\n${OTHER}, 0 %\nGPU-x, [N/A]\n`;
    expect([...parseUtilization(text)]).toEqual([
      [LEASED, 100],
      [OTHER, 0],
    ]);
    expect([...parseUtilization(`${LEASED}, 37\n`)]).toEqual([[LEASED, 37]]);
  });

  it('garbage throws', () => {
    expect(() => parseUtilization('Unable to determine the device handle')).toThrow(InputError);
  });
});

describe('nvidiaSmiSampler', () => {
  const appsLine = ['nvidia-smi', ...COMPUTE_APPS_ARGS].join(' ');
  const utilLine = ['nvidia-smi', ...UTILIZATION_ARGS].join(' ');

  it('runs the two queries and parses them', async () => {
    const runner = fixtureRunner({
      [appsLine]: fixture('compute-apps-h100-load.csv'),
      [utilLine]: `uuid, utilization.gpu [%]\n${MASKED}, 100 %\n`,
    });
    const sampler = nvidiaSmiSampler(runner);
    expect((await sampler.computeApps()).map((a) => a.pid)).toEqual([11327, 11328, 11345]);
    expect((await sampler.utilization()).get(MASKED)).toBe(100);
  });

  it('a missing tool, a failing exit or a hang is a failed sample, not an empty GPU', async () => {
    await expect(nvidiaSmiSampler(fixtureRunner({})).computeApps()).rejects.toThrow(
      'nvidia-smi is not installed',
    );
    const failing = fixtureRunner({
      [appsLine]: {
        exitCode: 9,
        stdout: 'NVIDIA-SMI has failed because it could not communicate with the NVIDIA driver.',
      },
      [utilLine]: { exitCode: 124, stderr: 'nvidia-smi timed out after 15000 ms' },
    });
    await expect(nvidiaSmiSampler(failing).computeApps()).rejects.toThrow(/exited 9: NVIDIA-SMI has failed/);
    await expect(nvidiaSmiSampler(failing).utilization()).rejects.toThrow(/exited 124: nvidia-smi timed out/);
  });
});

/** A clock whose sleeps end only when the test ticks it. */
function manualClock(start = Date.parse('2026-01-01T00:00:00Z')) {
  let now = start;
  let wake: (() => void) | undefined;
  const clock: MonitorClock = {
    now: () => now,
    sleep: () => new Promise<void>((resolve) => (wake = resolve)),
  };
  return {
    clock,
    async tick(ms: number, sampler: { calls: number }) {
      now += ms;
      const before = sampler.calls;
      wake?.();
      while (sampler.calls === before) await new Promise((resolve) => setImmediate(resolve));
      await new Promise((resolve) => setImmediate(resolve));
    },
  };
}

/** Answers each sample with the next scripted process list (the last one repeats). */
function scripted(script: Array<GpuProcess[] | Error>, utilization: number[] = []) {
  const sampler: GpuSampler & { calls: number } = {
    calls: 0,
    async computeApps() {
      const answer = script[Math.min(sampler.calls++, script.length - 1)]!;
      if (answer instanceof Error) throw answer;
      return answer;
    },
    async utilization() {
      const value = utilization[Math.min(sampler.calls - 1, utilization.length - 1)];
      return new Map(value === undefined ? [] : [[LEASED, value]]);
    },
  };
  return sampler;
}

const app = (pid: number, processName: string, usedMiB?: number, gpuUuid = LEASED): GpuProcess => ({
  pid,
  processName,
  usedMiB,
  gpuUuid,
});

describe('InterferenceMonitor', () => {
  it('reports a foreign process on the leased GPU, ignoring ours and other GPUs', async () => {
    const { clock, tick } = manualClock();
    const mine = app(process.pid, 'node', 300);
    const child = app(777, 'trtexec', 900);
    const sampler = scripted(
      [
        [mine, child, app(5, 'python3', 100, OTHER)],
        [mine, child, app(1425258, 'python3', 4000)],
        [mine, app(1425258, 'python3', 6000)],
      ],
      [20, 95, 60],
    );
    const monitor = new InterferenceMonitor({
      gpuUuid: LEASED.toUpperCase(),
      sampler,
      clock,
      intervalMs: 100,
    });
    monitor.ignorePid(777);
    await monitor.start();
    await tick(100, sampler);
    const report = await monitor.stop();
    expect(report).toEqual({
      interfered: true,
      events: [{ at: '2026-01-01T00:00:00.100Z', pid: 1425258, processName: 'python3', usedMiB: 6000 }],
      maxUtilization: 95,
      samples: 3,
      failedSamples: 0,
    });
  });

  it('a clean run is not interfered, and start() resets what an earlier run saw', async () => {
    const { clock } = manualClock();
    const sampler = scripted([[app(9, 'neighbour')], [app(9, 'neighbour')], []]);
    const monitor = new InterferenceMonitor({ gpuUuid: LEASED, sampler, clock });
    await monitor.start();
    expect((await monitor.stop()).interfered).toBe(true);
    await monitor.start();
    const report = await monitor.stop();
    expect(report).toMatchObject({ interfered: false, events: [], samples: 2 });
  });

  it('failed samples are counted and named, never read as a quiet GPU', async () => {
    const { clock } = manualClock();
    const sampler = scripted([new InputError('nvidia-smi exited 9: NVIDIA-SMI has failed')]);
    const monitor = new InterferenceMonitor({ gpuUuid: LEASED, sampler, clock });
    await monitor.start();
    const report = await monitor.stop();
    expect(report).toMatchObject({ interfered: false, samples: 0, failedSamples: 2 });
    expect(report.lastError).toBe('nvidia-smi exited 9: NVIDIA-SMI has failed');
  });

  it('samples on the real clock until stopped', async () => {
    const sampler = scripted([[], [], [app(31337, 'burn')]]);
    const monitor = new InterferenceMonitor({ gpuUuid: LEASED, sampler, intervalMs: 5 });
    await monitor.start();
    while (sampler.calls < 4) await new Promise((resolve) => setTimeout(resolve, 5));
    const report = await monitor.stop();
    expect(report.interfered).toBe(true);
    expect(report.samples).toBeGreaterThanOrEqual(4);
  });
});

function fakeMonitor(reports: InterferenceReport[]) {
  const calls: string[] = [];
  let n = 0;
  return {
    calls,
    async start() {
      calls.push('start');
    },
    async stop() {
      calls.push('stop');
      return reports[Math.min(n++, reports.length - 1)]!;
    },
  };
}

const clean: InterferenceReport = {
  interfered: false,
  events: [],
  maxUtilization: 40,
  samples: 3,
  failedSamples: 0,
};
const noisy = (pid: number): InterferenceReport => ({
  interfered: true,
  events: [{ at: '2026-01-01T00:00:00.000Z', pid, processName: 'python3', usedMiB: 4000 }],
  maxUtilization: 100,
  samples: 3,
  failedSamples: 0,
});

describe('benchWithIsolation', () => {
  it('retries an interfered run and returns the first clean one', async () => {
    const monitor = fakeMonitor([noisy(1), clean]);
    const waits: number[] = [];
    const result = await benchWithIsolation(async (attempt) => `p50 of attempt ${attempt}`, monitor, {
      retries: 3,
      backoffMs: 500,
      sleep: async (ms) => void waits.push(ms),
    });
    expect(result).toMatchObject({ result: 'p50 of attempt 2', interfered: false, attempts: 2, events: [] });
    expect(result.maxUtilization).toBe(40);
    expect(waits).toEqual([500]);
    expect(monitor.calls).toEqual(['start', 'stop', 'start', 'stop']);
  });

  it('when every attempt is interfered, the result is marked so and names the neighbours', async () => {
    const monitor = fakeMonitor([noisy(1), noisy(2), noisy(3)]);
    const result = await benchWithIsolation(async (attempt) => attempt, monitor, { retries: 2 });
    expect(result.interfered).toBe(true);
    expect(result.result).toBe(3);
    expect(result.attempts).toBe(3);
    expect(result.events.map((e) => e.pid)).toEqual([1, 2, 3]);
    expect(result.reports).toHaveLength(3);
  });

  it('retries: 0 runs once', async () => {
    const result = await benchWithIsolation(async () => 'once', fakeMonitor([noisy(1)]), { retries: 0 });
    expect(result).toMatchObject({ interfered: true, attempts: 1 });
  });

  it('a failing benchmark stops the monitor and rethrows', async () => {
    const monitor = fakeMonitor([clean]);
    const boom = new Error('trtexec crashed');
    await expect(benchWithIsolation(async () => Promise.reject(boom), monitor, { retries: 2 })).rejects.toBe(
      boom,
    );
    expect(monitor.calls).toEqual(['start', 'stop']);
  });

  it('works with the real monitor: a neighbour during attempt 1 only', async () => {
    const { clock } = manualClock();
    const sampler = scripted([[app(66, 'neighbour', 512)], [app(66, 'neighbour', 512)], [], []]);
    const monitor = new InterferenceMonitor({ gpuUuid: LEASED, sampler, clock });
    const result = await benchWithIsolation(async (attempt) => attempt, monitor, { retries: 1 });
    expect(result).toMatchObject({ result: 2, interfered: false, attempts: 2 });
    expect(result.reports[0]!.events).toEqual([
      { at: '2026-01-01T00:00:00.000Z', pid: 66, processName: 'neighbour', usedMiB: 512 },
    ]);
  });
});
