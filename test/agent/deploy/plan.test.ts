import { describe, expect, it } from 'vitest';
import { compareLatency } from '../../../src/core/latency-regression.js';
import type { ReleaseEngine, ReleaseRecord } from '../../../src/store/release/release-record.js';
import type { ArtifactRecord } from '../../../src/store/artifact.js';
import {
  comparedMetric,
  judgeWarmupOutput,
  latencyBlocks,
  latencyLine,
  recordedTolerance,
  refusalLine,
  selectEngines,
  warmupFailure,
  type HostHardware,
} from '../../../runner-agent/src/deploy/plan.js';

const AVX2 = { kind: 'cpu', arch: 'x64', isa: ['avx', 'avx2', 'fma', 'sse3'] };
const AVX512 = { kind: 'cpu', arch: 'x64', isa: ['avx', 'avx2', 'avx512f', 'fma', 'sse3'] };
const A10G = { kind: 'gpu', computeCapability: '8.6', driverMajor: 550, cuda: '12.4', tensorrt: '10.3.0' };
const H100 = { kind: 'gpu', computeCapability: '9.0', driverMajor: 550, cuda: '12.4', tensorrt: '10.3.0' };

function engine(
  key: string,
  profile: string,
  backend: string,
  hardware: Record<string, unknown>,
): ReleaseEngine {
  return {
    key: key.padEnd(64, '0'),
    profile,
    precision: 'fp16',
    backend,
    backendVersion: '1',
    hardware,
    engine: { file: 'engine.plan', sha256: 'x', bytes: 1 },
    dir: `engines/${key}`,
    files: [],
  };
}

function release(engines: ReleaseEngine[]): ReleaseRecord {
  return { schema: 'kiln.release/v1', model: 'ocr-det', version: '2', createdAt: '', engines };
}

const hosts = (entries: Record<string, HostHardware>) => new Map(Object.entries(entries));

describe('selectEngines', () => {
  const rel = release([
    engine('aaa', 's384', 'tensorrt', A10G),
    engine('bbb', 's384', 'tensorrt', H100),
    engine('ccc', 's640', 'tensorrt', H100),
    engine('ddd', 's384', 'onnxruntime-cpu', AVX512),
  ]);

  it('picks, per slot, the engine built for exactly this hardware', () => {
    const chosen = selectEngines(
      rel,
      hosts({ tensorrt: { fingerprint: H100 }, 'onnxruntime-cpu': { unavailable: '-' } }),
    );
    expect(chosen.map((e) => e.key.slice(0, 3))).toEqual(['bbb', 'ccc']);
  });

  it('refuses a slot without a matching engine, naming the engine, what it was built for and this host', () => {
    const only = release([engine('aaa', 's384', 'tensorrt', A10G)]);
    expect(() => selectEngines(only, hosts({ tensorrt: { fingerprint: H100 } }))).toThrowError(
      'ocr-det@2 s384/fp16: built for GPU compute capability 8.6, driver 550, CUDA 12.4, TensorRT 10.3.0 (tensorrt engine aaa000000000); this host: GPU compute capability 9.0, driver 550, CUDA 12.4, TensorRT 10.3.0: compute capability 8.6 (engine) vs 9.0 (this host)',
    );
  });

  it('the driver is a minimum: a newer driver deploys, an older one is refused naming both', () => {
    const only = release([engine('aaa', 's384', 'tensorrt', H100)]);
    const newer = { ...H100, driverMajor: 560, cuda: '12.6' };
    expect(
      selectEngines(only, hosts({ tensorrt: { fingerprint: newer } })).map((e) => e.key.slice(0, 3)),
    ).toEqual(['aaa']);
    const older = { ...H100, driverMajor: 535, cuda: '12.2' };
    expect(() => selectEngines(only, hosts({ tensorrt: { fingerprint: older } }))).toThrowError(
      "ocr-det@2 s384/fp16: built for GPU compute capability 9.0, driver 550, CUDA 12.4, TensorRT 10.3.0 (tensorrt engine aaa000000000); this host: GPU compute capability 9.0, driver 535, CUDA 12.2, TensorRT 10.3.0: CUDA 12.2 on this host is older than 12.4, the engine's build host: the engine needs at least 12.4 (update the driver, or rebuild on this host); driver major 535 on this host is older than 550, the engine's build host: the engine needs at least 550 (update the driver, or rebuild on this host)",
    );
  });

  it('names the ISA features a CPU engine needs and this host lacks', () => {
    const cpu = release([engine('ddd', 's384', 'onnxruntime-cpu', AVX512)]);
    let message = '';
    try {
      selectEngines(cpu, hosts({ 'onnxruntime-cpu': { fingerprint: AVX2 } }));
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('CPU ISA: engine needs avx512f which this host lacks');
    expect(message).toContain('this host: CPU x64 with 4 ISA flags');
  });

  it('says when the backend cannot run here at all', () => {
    const gpuOnly = release([engine('aaa', 's384', 'tensorrt', A10G)]);
    expect(() =>
      selectEngines(gpuOnly, hosts({ tensorrt: { unavailable: 'trtexec not on PATH' } })),
    ).toThrowError(/this host: backend tensorrt cannot run \(trtexec not on PATH\)/);
  });

  it('refuses the whole deploy when one slot of several has no engine here', () => {
    expect(() => selectEngines(rel, hosts({ tensorrt: { fingerprint: A10G } }))).toThrowError(
      /^ocr-det@2 s640\/fp16:/,
    );
  });

  it('applies --profile / --precision and names what the release has when nothing matches', () => {
    const h = hosts({ tensorrt: { fingerprint: H100 } });
    expect(selectEngines(rel, h, { profile: 's640' }).map((e) => e.profile)).toEqual(['s640']);
    expect(() => selectEngines(rel, h, { precision: 'int8' })).toThrowError(
      'ocr-det@2: no engine for --precision int8 (release has s384/fp16, s640/fp16)',
    );
  });
});

describe('warmup judgement', () => {
  const t = (values: number[]) => ({
    dtype: 'float32' as const,
    shape: [1, values.length],
    data: Float32Array.from(values),
  });
  const record = {
    precision: 'fp32',
    golden: { outputs: [{ output: 'y', atol: 0.01, rtol: 0, minCosine: undefined }] },
  } as unknown as ArtifactRecord;

  it('uses the tolerance the build recorded for the output, else the precision default', () => {
    expect(recordedTolerance(record, 'y')).toEqual({ atol: 0.01, rtol: 0 });
    expect(recordedTolerance(record, 'z')).toEqual({ atol: 1e-4, rtol: 1e-3 });
  });

  it('passes within tolerance and fails beyond it, naming the output and the max diff', () => {
    expect(judgeWarmupOutput('y', t([1, 2]), t([1.005, 2]), { atol: 0.01, rtol: 0 }).pass).toBe(true);
    const bad = judgeWarmupOutput('y', t([1, 2]), t([1.5, 2]), { atol: 0.01, rtol: 0 });
    expect(bad.pass).toBe(false);
    expect(warmupFailure(bad)).toMatch(
      /^output 'y': 1 of 2 elements outside atol 1e-2 \+ rtol 0 \(max abs diff 0\.5/,
    );
  });

  it('fails a NaN even under a similarity tolerance', () => {
    const nan = judgeWarmupOutput('y', t([1, 2]), t([1, NaN]), { atol: 1, rtol: 1, minCosine: 0.5 });
    expect(nan.pass).toBe(false);
    expect(warmupFailure(nan)).toBe("output 'y': 1 NaN in engine output (reference has 0)");
  });

  it('judges on cosine when the build did (int8)', () => {
    const close = judgeWarmupOutput('y', t([1, 2, 3]), t([1.2, 2.1, 2.9]), {
      atol: 0,
      rtol: 0,
      minCosine: 0.99,
    });
    expect(close.pass).toBe(true);
    const off = judgeWarmupOutput('y', t([1, 2, 3]), t([3, 2, 1]), { atol: 0, rtol: 0, minCosine: 0.99 });
    expect(warmupFailure(off)).toMatch(/^output 'y': cosine similarity 0\.7143 below 0\.99/);
  });
});

describe('latency verdict', () => {
  const base = Array.from({ length: 60 }, (_, i) => 10 + (i % 7) * 0.1);

  it('blocks a clear regression and words it as percent with the interval, on the percentile compared', () => {
    const slow = base.map((x) => x * 1.4);
    const d = compareLatency(base, slow, { metric: 'p99', maxRegressionPct: 10, confidence: 0.95 });
    expect(latencyBlocks(d)).toBe(true);
    // 60 samples cannot resolve p99 or p90 tails: compareLatency falls back to p50 and says so.
    expect(comparedMetric(d, 'p99')).toBe('p50');
    expect(latencyLine(d, 'p50', '1')).toBe('p50 +40% [+39%, +41%] vs serving 1');
    expect(
      latencyLine({ ratio: 1.38, ci: [1.31, 1.45], verdict: 'regression', statistic: 'p99' }, 'p99', '1'),
    ).toBe('p99 +38% [+31%, +45%] vs serving 1');
    expect(
      latencyLine({ ratio: 0.9, ci: [0.85, 1.02], verdict: 'unchanged', statistic: 'p99' }, 'p99', '7'),
    ).toBe('p99 -10% [-15%, +2%] vs serving 7');
  });

  it('lets the same speed (and an unresolvable one) through', () => {
    const same = compareLatency(base, [...base].reverse(), {
      metric: 'p99',
      maxRegressionPct: 10,
      confidence: 0.95,
    });
    expect(latencyBlocks(same)).toBe(false);
    const few = compareLatency([1, 2, 3], [3, 4, 5], {
      metric: 'p99',
      maxRegressionPct: 10,
      confidence: 0.95,
    });
    expect(few.verdict).toBe('unstable');
    expect(latencyBlocks(few)).toBe(false);
  });

  it('keeps the metric asked for when nothing fell back', () => {
    expect(comparedMetric({ ratio: 1, ci: [1, 1], verdict: 'unchanged', statistic: 'p99' }, 'p99')).toBe(
      'p99',
    );
  });
});

describe('refusalLine', () => {
  it('says what still serves, or that nothing does', () => {
    expect(refusalLine('ocr-det@2', 'p99 +38% [+31%, +45%] vs serving 1', '1')).toBe(
      'deploy ocr-det@2 refused: p99 +38% [+31%, +45%] vs serving 1; still serving 1',
    );
    expect(refusalLine('ocr-det@1', 'why', null)).toBe('deploy ocr-det@1 refused: why; nothing is serving');
  });
});
