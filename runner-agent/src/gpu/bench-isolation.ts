import type { InterferenceEvent, InterferenceMonitor, InterferenceReport } from './interference-monitor.js';

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
