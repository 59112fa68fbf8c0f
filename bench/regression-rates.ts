/**
 * The latency gate's error rates on simulated runner noise (log-normal jitter, shared drift and 2%
 * noisy-neighbour spikes): how often it cries wolf on A/A runs and how often it catches a true
 * regression of the configured size. Pure computation, seeded, so the figures repeat on any host.
 */
import { detectorRates } from '../src/core/latency-regression.js';
import type { DetectorRateOptions } from '../src/core/latency-regression.js';

const TRIALS = 500;
const N = 200;
const GATE_PCT = 10;

function rateLine(name: string, rate: number, goal: string, ok: boolean, detail: string): string {
  const pct = `${(rate * 100).toFixed(1)}%`;
  return `${name.padEnd(60)} ${pct.padStart(6)}   goal ${goal.padEnd(6)} ${ok ? 'met ' : 'MISS'}  ${detail}`;
}

/** Printable lines: A/A false alarm rates at p99 and p50, and detection of a true 10% regression. */
export async function regressionRates(): Promise<string[]> {
  const common = {
    trials: TRIALS,
    n: N,
    noise: 'spiky',
    maxRegressionPct: GATE_PCT,
    confidence: 0.95,
  } satisfies Partial<DetectorRateOptions>;
  const detail = `${TRIALS} trials, n=${N}/side, spiky runner noise`;
  const lines: string[] = [];
  for (const metric of ['p99', 'p50'] as const) {
    const { alarmRate } = detectorRates({ ...common, metric, shiftPct: 0, seed: 1 });
    lines.push(
      rateLine(
        `latency detector, A/A false alarm rate (${metric}, ${GATE_PCT}% gate)`,
        alarmRate,
        '<= 1%',
        alarmRate <= 0.01,
        metric === 'p99' ? `${detail}; p99 compared as p90 below 1000 samples` : detail,
      ),
    );
    // Let other work (progress output, timers) run between the multi-second simulations.
    await new Promise((resolve) => setImmediate(resolve));
  }
  const { alarmRate } = detectorRates({ ...common, metric: 'p99', shiftPct: GATE_PCT, seed: 2 });
  lines.push(
    rateLine(
      `latency detector, detection of a true ${GATE_PCT}% regression (p99)`,
      alarmRate,
      '>= 95%',
      alarmRate >= 0.95,
      detail,
    ),
  );
  return lines;
}
