/**
 * A line-by-line port of ONNX Runtime's entropy calibration, the reference kiln's is tested against:
 * onnxruntime/python/tools/quantization/calibrate.py, `HistogramCollector.collect_value`,
 * `merge_histogram` and `get_entropy_threshold`, and quant_utils.py `smooth_distribution`, with
 * scipy.stats.entropy for the divergence. numpy semantics are kept where they change results: Q is an
 * int64 array (shares truncated), smoothing runs in float32, np.argmin keeps the first minimum.
 */

/** ORT's histogram state: (hist, hist_edges, min, max, threshold). */
export interface OrtHistogram {
  hist: number[];
  edges: number[];
  min: number;
  max: number;
  threshold: number;
}

/** np.histogram(data, bins, range=(-t, t)): equal bins, the last one closed. */
function npHistogram(data: ArrayLike<number>, bins: number, t: number): { hist: number[]; edges: number[] } {
  const hist = new Array<number>(bins).fill(0);
  const edges = Array.from({ length: bins + 1 }, (_, i) => -t + (2 * t * i) / bins);
  for (let k = 0; k < data.length; k++) {
    const v = data[k] as number;
    if (v < -t || v > t) continue;
    let i = t === 0 ? 0 : Math.floor(((v + t) / (2 * t)) * bins);
    if (i >= bins) i = bins - 1;
    hist[i] = (hist[i] as number) + 1;
  }
  return { hist, edges };
}

/** `collect_value` for one batch, merged into `old` as `merge_histogram` does. */
export function ortCollect(
  old: OrtHistogram | undefined,
  data: ArrayLike<number>,
  numBins: number,
): OrtHistogram {
  let min = Infinity;
  let max = -Infinity;
  for (let k = 0; k < data.length; k++) {
    min = Math.min(min, data[k] as number);
    max = Math.max(max, data[k] as number);
  }
  const threshold = Math.max(Math.abs(min), Math.abs(max));
  if (!old) return { ...npHistogram(data, numBins, threshold), min, max, threshold };
  if (threshold <= old.threshold) {
    const { hist } = npHistogram(data, old.hist.length, old.threshold);
    return {
      hist: hist.map((c, i) => c + (old.hist[i] as number)),
      edges: old.edges,
      min: Math.min(old.min, min),
      max: Math.max(old.max, max),
      threshold: old.threshold,
    };
  }
  const oldBins = old.hist.length;
  const stride = (2 * old.threshold) / oldBins;
  const halfIncreased = Math.floor((threshold - old.threshold) / stride + 1);
  const newBins = oldBins + 2 * halfIncreased;
  const newThreshold = halfIncreased * stride + old.threshold;
  const { hist, edges } = npHistogram(data, newBins, newThreshold);
  for (let i = 0; i < oldBins; i++)
    hist[halfIncreased + i] = (hist[halfIncreased + i] as number) + (old.hist[i] as number);
  return { hist, edges, min: Math.min(old.min, min), max: Math.max(old.max, max), threshold: newThreshold };
}

const f32 = Math.fround;

function smoothDistribution(p: number[], eps = 0.0001): number[] | undefined {
  const nZeros = p.filter((v) => v === 0).length;
  const nNonzeros = p.length - nZeros;
  if (!nNonzeros) return undefined;
  const eps1 = (eps * nZeros) / nNonzeros;
  return p.map((v) => f32(f32(v) + (v === 0 ? f32(eps) : f32(-eps1))));
}

function scipyEntropy(p: number[], q: number[]): number {
  const sp = p.reduce((a, b) => a + b, 0);
  const sq = q.reduce((a, b) => a + b, 0);
  let sum = 0;
  for (let i = 0; i < p.length; i++) {
    const pi = (p[i] as number) / sp;
    const qi = (q[i] as number) / sq;
    if (pi > 0) sum += pi * Math.log(pi / qi);
  }
  return sum;
}

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

/** `get_entropy_threshold`: the (low, high) thresholds, clipped to the seen min and max. */
export function ortEntropyThreshold(histogram: OrtHistogram, numQuantizedBins = 128): [number, number] {
  const { hist, edges } = histogram;
  const numBins = hist.length;
  const zeroBinIndex = Math.floor(numBins / 2);
  const numHalfQuantizedBin = Math.floor(numQuantizedBins / 2);
  const kl: number[] = [];
  const thresholds: [number, number][] = [];
  for (let i = numHalfQuantizedBin; i < zeroBinIndex + 1; i++) {
    const startIndex = zeroBinIndex - i;
    const endIndex = Math.min(zeroBinIndex + i + 1, numBins);
    thresholds.push([edges[startIndex] as number, edges[endIndex] as number]);
    const sliced = hist.slice(startIndex, endIndex);
    const p = [...sliced];
    p[0] = (p[0] as number) + sum(hist.slice(0, startIndex));
    p[p.length - 1] = (p[p.length - 1] as number) + sum(hist.slice(endIndex));
    const nonzeros = p.map((v) => (v !== 0 ? 1 : 0));
    const quantizedBins = new Array<number>(numQuantizedBins).fill(0);
    const numMergedBins = Math.floor(sliced.length / numQuantizedBins);
    for (let index = 0; index < numQuantizedBins; index++) {
      const start = index * numMergedBins;
      quantizedBins[index] = sum(sliced.slice(start, start + numMergedBins));
    }
    quantizedBins[numQuantizedBins - 1] =
      (quantizedBins[numQuantizedBins - 1] as number) + sum(sliced.slice(numQuantizedBins * numMergedBins));
    const q = new Array<number>(p.length).fill(0);
    for (let index = 0; index < numQuantizedBins; index++) {
      const start = index * numMergedBins;
      const end = start + numMergedBins;
      const norm = sum(nonzeros.slice(start, end));
      if (norm !== 0)
        for (let j = start; j < end; j++) q[j] = Math.trunc((quantizedBins[index] as number) / norm);
    }
    const ps = smoothDistribution(p);
    const qs = smoothDistribution(q);
    kl.push(ps && qs ? scipyEntropy(ps, qs) : Infinity);
  }
  let best = 0;
  for (let i = 1; i < kl.length; i++) if ((kl[i] as number) < (kl[best] as number)) best = i;
  let [lo, hi] = thresholds[best] as [number, number];
  if (lo < histogram.min) lo = histogram.min;
  if (hi > histogram.max) hi = histogram.max;
  return [lo, hi];
}
