import { firstLine, InputError } from '../../../src/core/errors.js';
import { isMissing, type CommandRunner } from '../../../src/backends/host/command-runner.js';
import {
  COMPUTE_APPS_ARGS,
  parseGpuProcesses,
  parseUtilization,
  UTILIZATION_ARGS,
  type GpuProcess,
} from './gpu-process-parse.js';
import { descendantsOf, type ProcessSource } from './process-tree.js';

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
  /**
   * Our own processes (the benchmark's children); this process is always ignored. With `processes`,
   * everything they start (trtexec under `kiln build`) is ours too.
   */
  ownPids?: Iterable<number>;
  /**
   * Process-table snapshots to recognise our roots' descendants. Without it only the listed pids
   * are ours. A pid absent from the table (exited, or a host pid seen from inside a container's
   * pid namespace) is foreign: a neighbour is reported rather than missed.
   */
  processes?: ProcessSource;
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
  /** Our roots' descendants seen so far: sticky, so a child that exits right after nvidia-smi saw it stays ours. */
  private readonly ownTree = new Set<number>();
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

  /** Marks a pid, and with `processes` its descendants, as ours (e.g. a benchmark child spawned after `start()`). */
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
    // The table is read alongside the query (a short-lived grandchild is alive then) and once more
    // after it when a process is still unaccounted for (one started during the query).
    const [apps, utilization] = await Promise.allSettled([
      this.options.sampler.computeApps(),
      this.options.sampler.utilization(),
      this.refreshOwnTree(),
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
    const onGpu = apps.value.filter((app) => app.gpuUuid.toLowerCase() === gpu);
    if (onGpu.some((app) => !this.isOwn(app.pid))) await this.refreshOwnTree();
    for (const app of onGpu) {
      if (this.isOwn(app.pid)) continue;
      const seen = this.byPid.get(app.pid);
      if (!seen)
        this.byPid.set(app.pid, { at, pid: app.pid, processName: app.processName, usedMiB: app.usedMiB });
      else if ((app.usedMiB ?? 0) > (seen.usedMiB ?? 0)) seen.usedMiB = app.usedMiB;
    }
  }

  private isOwn(pid: number): boolean {
    return this.ownPids.has(pid) || this.ownTree.has(pid);
  }

  private async refreshOwnTree(): Promise<void> {
    if (!this.options.processes) return;
    const parents = await this.options.processes.snapshot().catch(() => new Map<number, number>());
    for (const pid of descendantsOf(this.ownPids, parents)) this.ownTree.add(pid);
  }
}

function emptyReport(): InterferenceReport {
  return { interfered: false, events: [], maxUtilization: undefined, samples: 0, failedSamples: 0 };
}
