import { firstLine, InputError } from '../../src/core/errors.js';
import { isMissing, type CommandRunner } from '../../src/backends/host/command-runner.js';

/**
 * One row of `nvidia-smi --query-compute-apps`; `usedMiB` is undefined where the driver hides it
 * (WDDM). Stricter than nvidia-smi.ts's probe parser on purpose: here a garbled row must fail the
 * sample, because silently dropping it would read as "no foreign process".
 */
export interface GpuProcess {
  pid: number;
  processName: string;
  usedMiB: number | undefined;
  gpuUuid: string;
}

/** A foreign process seen on the leased GPU: first sighting, largest memory seen. */
export interface InterferenceEvent {
  at: string;
  pid: number;
  processName: string;
  usedMiB: number | undefined;
}

/** What the monitor saw between `start()` and `stop()`. */
export interface InterferenceReport {
  interfered: boolean;
  events: InterferenceEvent[];
  /** Highest utilization.gpu (%) sampled on the leased GPU; undefined if never readable. */
  maxUtilization: number | undefined;
  samples: number;
  /** Samples whose process query failed: a failed query must never read as an idle GPU. */
  failedSamples: number;
  lastError?: string;
}

/** Where samples come from: nvidia-smi in production, fixtures in tests. */
export interface GpuSampler {
  computeApps(): Promise<GpuProcess[]>;
  utilization(): Promise<Map<string, number>>;
}

/** Injected time, so tests can step the sampling loop without waiting. */
export interface MonitorClock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

/**
 * The header is kept (no `noheader`) so columns are matched by name: a driver that renames
 * `used_memory` to `used_gpu_memory` or reorders fields cannot shift values into the wrong column.
 */
export const COMPUTE_APPS_ARGS = [
  '--query-compute-apps=pid,process_name,used_memory,gpu_uuid',
  '--format=csv,nounits',
];
export const UTILIZATION_ARGS = ['--query-gpu=uuid,utilization.gpu', '--format=csv,nounits'];

const NOT_AVAILABLE = /^\[.*\]$|^N\/A$|^$/;

/**
 * Parses `--query-compute-apps` CSV, matching columns by the header when there is one (any field
 * order, `used_gpu_memory` or `used_memory`, units such as `370 MiB` stripped) and assuming
 * COMPUTE_APPS_ARGS's order when there is none. Process names are workload-controlled and may hold
 * commas, so the name column takes whatever the other columns leave. A row that does not parse
 * throws: garbage must fail the sample, not read as "no processes".
 */
export function parseGpuProcesses(text: string): GpuProcess[] {
  const lines = text.split(/\r?\n/).filter((line) => line.trim() !== '');
  let columns = ['pid', 'process_name', 'used_memory', 'gpu_uuid'];
  if (lines[0]?.includes('process_name')) {
    columns = lines
      .shift()!
      .split(',')
      .map((h) =>
        h
          .replace(/\[.*\]/, '')
          .trim()
          .replace('used_gpu_memory', 'used_memory'),
      );
  }
  const [pidAt, nameAt, memAt, uuidAt] = ['pid', 'process_name', 'used_memory', 'gpu_uuid'].map((name) =>
    columns.indexOf(name),
  ) as [number, number, number, number];
  if (pidAt < 0 || nameAt < 0)
    throw new InputError(`compute-apps header lacks pid or process_name: ${columns}`);
  const apps: GpuProcess[] = [];
  for (const line of lines) {
    if (/^No running processes found/i.test(line.trim())) continue;
    const raw = line.split(',');
    const extra = raw.length - columns.length;
    if (extra < 0)
      throw new InputError(`compute-apps row has ${raw.length} of ${columns.length} fields: ${line}`);
    const fields = [
      ...raw.slice(0, nameAt),
      raw.slice(nameAt, nameAt + extra + 1).join(','),
      ...raw.slice(nameAt + extra + 1),
    ].map((f) => f.trim());
    const pid = Number(fields[pidAt]);
    const mem = memAt < 0 ? '[N/A]' : fields[memAt]!.replace(/\s*MiB$/, '');
    const usedMiB = NOT_AVAILABLE.test(mem) ? undefined : Number(mem);
    if (!Number.isInteger(pid) || pid <= 0 || (usedMiB !== undefined && !Number.isFinite(usedMiB))) {
      throw new InputError(`compute-apps row does not parse: ${line}`);
    }
    apps.push({ pid, processName: fields[nameAt]!, usedMiB, gpuUuid: uuidAt < 0 ? '' : fields[uuidAt]! });
  }
  return apps;
}

/** Parses `uuid, utilization.gpu` rows into uuid → percent; `[N/A]` GPUs are left out. */
export function parseUtilization(text: string): Map<string, number> {
  const result = new Map<string, number>();
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() === '' || line.includes('utilization.gpu')) continue;
    const [uuid, value] = line.split(',').map((f) => f.trim().replace(/\s*%$/, ''));
    if (!uuid || value === undefined || (!NOT_AVAILABLE.test(value) && !/^\d+(\.\d+)?$/.test(value))) {
      throw new InputError(`utilization row does not parse: ${line}`);
    }
    if (!NOT_AVAILABLE.test(value)) result.set(uuid, Number(value));
  }
  return result;
}

/** Samples through `nvidia-smi`; a missing tool or a non-zero exit is a failed sample (thrown). */
export function nvidiaSmiSampler(runner: CommandRunner, file = 'nvidia-smi'): GpuSampler {
  const query = async (args: string[]): Promise<string> => {
    const result = await runner.run(file, args);
    if (isMissing(result)) throw new InputError(`${file} is not installed`);
    if (result.exitCode !== 0) {
      throw new InputError(
        `${file} ${args[0]} exited ${result.exitCode}: ${firstLine(result.stderr || result.stdout)}`,
      );
    }
    return result.stdout;
  };
  return {
    computeApps: async () => parseGpuProcesses(await query(COMPUTE_APPS_ARGS)),
    utilization: async () => parseUtilization(await query(UTILIZATION_ARGS)),
  };
}

export interface InterferenceMonitorOptions {
  gpuUuid: string;
  sampler: GpuSampler;
  intervalMs?: number;
  /** Our own processes (the benchmark's children); this process is always ignored. */
  ownPids?: Iterable<number>;
  clock?: MonitorClock;
}

const realClock: MonitorClock = {
  now: () => Date.now(),
  // Unref'd: a pending sample tick must not keep the agent alive after the benchmark ends.
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms).unref()),
};

/**
 * Watches the leased GPU during a benchmark for compute processes that are not ours. It samples
 * once at `start()`, every `intervalMs` while running, and once more at `stop()`, so even a
 * benchmark shorter than the interval is covered at both ends.
 */
export class InterferenceMonitor {
  private readonly ownPids: Set<number>;
  private readonly clock: MonitorClock;
  private running = false;
  /** Bumped by each start(), so a loop left sleeping by an earlier run ends instead of doubling up. */
  private generation = 0;
  private inflight: Promise<void> = Promise.resolve();
  private report = emptyReport();
  private byPid = new Map<number, InterferenceEvent>();

  constructor(private readonly options: InterferenceMonitorOptions) {
    this.ownPids = new Set([process.pid, ...(options.ownPids ?? [])]);
    this.clock = options.clock ?? realClock;
  }

  /** Marks a pid as ours (e.g. a benchmark child spawned after `start()`). */
  ignorePid(pid: number): void {
    this.ownPids.add(pid);
  }

  /** Resets what was seen, takes a first sample and keeps sampling until `stop()`. */
  async start(): Promise<void> {
    if (this.running) throw new Error('interference monitor is already running');
    this.report = emptyReport();
    this.byPid = new Map();
    this.running = true;
    const generation = ++this.generation;
    await this.sampleOnce();
    void this.loop(generation);
  }

  /** Stops sampling after one last sample and says what was seen. */
  async stop(): Promise<InterferenceReport> {
    if (this.running) {
      this.running = false;
      await this.sampleOnce();
    }
    return { ...this.report, events: [...this.byPid.values()], interfered: this.byPid.size > 0 };
  }

  private async loop(generation: number): Promise<void> {
    const live = (): boolean => this.running && this.generation === generation;
    while (live()) {
      await this.clock.sleep(this.options.intervalMs ?? 250);
      if (live()) await this.sampleOnce();
    }
  }

  /** Samples never overlap: the final one in `stop()` waits for a tick already in flight. */
  private sampleOnce(): Promise<void> {
    this.inflight = this.inflight.then(() => this.sample());
    return this.inflight;
  }

  private async sample(): Promise<void> {
    const [apps, utilization] = await Promise.allSettled([
      this.options.sampler.computeApps(),
      this.options.sampler.utilization(),
    ]);
    const at = new Date(this.clock.now()).toISOString();
    const gpu = this.options.gpuUuid.toLowerCase();
    if (utilization.status === 'fulfilled') {
      const value = [...utilization.value].find(([uuid]) => uuid.toLowerCase() === gpu)?.[1];
      if (value !== undefined) this.report.maxUtilization = Math.max(this.report.maxUtilization ?? 0, value);
    } else {
      this.report.lastError = firstLine(utilization.reason);
    }
    if (apps.status === 'rejected') {
      this.report.failedSamples++;
      this.report.lastError = firstLine(apps.reason);
      return;
    }
    this.report.samples++;
    for (const app of apps.value) {
      if (app.gpuUuid.toLowerCase() !== gpu || this.ownPids.has(app.pid)) continue;
      const seen = this.byPid.get(app.pid);
      if (!seen)
        this.byPid.set(app.pid, { at, pid: app.pid, processName: app.processName, usedMiB: app.usedMiB });
      else if ((app.usedMiB ?? 0) > (seen.usedMiB ?? 0)) seen.usedMiB = app.usedMiB;
    }
  }
}

function emptyReport(): InterferenceReport {
  return { interfered: false, events: [], maxUtilization: undefined, samples: 0, failedSamples: 0 };
}

/** A benchmark result with what the interference monitor saw while it ran. */
export interface IsolatedBench<T> {
  result: T;
  /** True only when every attempt had a foreign process on the GPU: blame the neighbour, not the model. */
  interfered: boolean;
  attempts: number;
  /** The foreign processes of the interfered attempts (empty when the returned attempt was clean). */
  events: InterferenceEvent[];
  /** Of the returned attempt. */
  maxUtilization: number | undefined;
  /** One per attempt, in order. */
  reports: InterferenceReport[];
}

export interface IsolationOptions {
  /** Extra attempts after an interfered one. */
  retries: number;
  /** Pause before a retry, giving a short-lived neighbour time to finish. */
  backoffMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

/**
 * Runs `runBench` under the monitor; an interfered run is retried up to `retries` times, and the
 * first clean run wins. If every attempt was interfered, the last result comes back marked
 * `interfered: true` with the events, so the report names the neighbour instead of failing the model
 * on a latency regression it did not cause. A benchmark that throws stops the monitor and rethrows.
 */
export async function benchWithIsolation<T>(
  runBench: (attempt: number) => Promise<T>,
  monitor: Pick<InterferenceMonitor, 'start' | 'stop'>,
  options: IsolationOptions,
): Promise<IsolatedBench<T>> {
  const reports: InterferenceReport[] = [];
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  for (let attempt = 1; ; attempt++) {
    await monitor.start();
    let result: T;
    try {
      result = await runBench(attempt);
    } catch (error) {
      await monitor.stop().catch(() => undefined);
      throw error;
    }
    const report = await monitor.stop();
    reports.push(report);
    if (!report.interfered || attempt > options.retries) {
      const events = report.interfered ? reports.flatMap((r) => r.events) : [];
      const { interfered, maxUtilization } = report;
      return { result, interfered, attempts: attempt, events, maxUtilization, reports };
    }
    if (options.backoffMs) await sleep(options.backoffMs);
  }
}
