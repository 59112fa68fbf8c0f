/**
 * The cluster (block) bootstrap of a percentile ratio. When latency comes in blocks, one tool
 * process each (trtexec: CUDA context, engine load, then N inferences), the samples inside a block
 * share that process's luck: its clocks, its memory placement, its neighbour. Resampling single
 * samples treats 1,000 inferences from 10 processes as 1,000 independent draws and hides the
 * between-process spread; resampling whole blocks (with replacement, per side) keeps it, so an
 * interval from few, disagreeing blocks is honestly wide (Davison & Hinkley 1997, §3.8, "two-stage
 * sampling": resampling only the first stage is the conservative choice).
 */
import { percentile } from './statistics.js';
import type { SeededRandom } from './seeded-random.js';

/** Latency blocks of one side: one inner list per process, each non-empty. */
export type LatencyBlocks = readonly (readonly number[])[];

/** Every sample of every block, sorted ascending. */
export function pooledSorted(blocks: LatencyBlocks): Float64Array {
  let n = 0;
  for (const b of blocks) n += b.length;
  const out = new Float64Array(n);
  let i = 0;
  for (const b of blocks) for (const x of b) out[i++] = x;
  return out.sort();
}

/** The `p`-th percentile of the pooled samples of `blocks` drawn with replacement, block by block. */
export function resampledBlockPercentile(blocks: LatencyBlocks, p: number, rng: SeededRandom): number {
  const k = blocks.length;
  const picks = new Array<readonly number[]>(k);
  for (let i = 0; i < k; i++) picks[i] = blocks[Math.floor((rng.nextUint32() * k) / 4294967296)]!;
  return percentile(pooledSorted(picks), p);
}

/**
 * The percentile-bootstrap interval of `percentile(head, p) / percentile(base, p)` at `confidence`,
 * resampling whole blocks on each side independently. Widened to hold the point ratio itself, as the
 * per-sample bootstrap is (a bootstrap of a discrete statistic can, rarely, exclude its estimate).
 */
export function blockBootstrapRatio(
  base: LatencyBlocks,
  head: LatencyBlocks,
  p: number,
  confidence: number,
  resamples: number,
  rng: SeededRandom,
): { ratio: number; ci: [number, number] } {
  const ratio = percentile(pooledSorted(head), p) / percentile(pooledSorted(base), p);
  const ratios = new Float64Array(resamples);
  for (let r = 0; r < resamples; r++) {
    ratios[r] = resampledBlockPercentile(head, p, rng) / resampledBlockPercentile(base, p, rng);
  }
  ratios.sort();
  const alpha = ((1 - confidence) / 2) * 100;
  return {
    ratio,
    ci: [Math.min(ratio, percentile(ratios, alpha)), Math.max(ratio, percentile(ratios, 100 - alpha))],
  };
}
