/**
 * The TensorRT A/B path end to end through the process-runner seam: a fake trtexec (the
 * CommandRunner seam, no GPU) answers each process with an --exportTimes file in the layout of
 * NVIDIA/TensorRT samples/common/sampleReporting.cpp `exportJSONTrace` (one record per inference,
 * warm-up records first). The times are synthesized per process, not recorded (see
 * test/fixtures/trtexec/SOURCES-backends.md): each process gets its own offset, as a fresh CUDA
 * context and engine load do on a real GPU.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareLatency } from '../../src/core/latency-regression.js';
import { SeededRandom } from '../../src/core/seeded-random.js';
import type { HostTensor } from '../../src/core/tensor.js';
import { IO_SUFFIX, TensorRtBackend, TRT_MEASURES } from '../../src/backends/tensorrt/tensorrt.js';
import type { CommandRunner } from '../../src/backends/host/command-runner.js';
import { measureAb } from '../../src/pipeline/ab-bench.js';

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(tmpdir(), 'kiln-ab-blocks-'));
});
afterAll(() => rm(tmp, { recursive: true, force: true }));

const flag = (args: readonly string[], name: string) =>
  args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);

/** One exportJSONTrace record (sampleReporting.cpp field order), data transfers off: h2d = d2h = 0. */
function record(startMs: number, computeMs: number): string {
  const end = startMs + computeMs;
  const f = (v: number) => Number(v.toPrecision(6));
  return (
    `{ "startEnqMs" : ${f(startMs - 0.1)}, "endEnqMs" : ${f(startMs - 0.05)}, "startH2dMs" : ${f(startMs)}, ` +
    `"endH2dMs" : ${f(startMs)}, "startComputeMs" : ${f(startMs)}, "endComputeMs" : ${f(end)}, ` +
    `"startD2hMs" : ${f(end)}, "endD2hMs" : ${f(end)}, "h2dMs" : 0, "computeMs" : ${f(computeMs)}, ` +
    `"d2hMs" : 0, "latencyMs" : ${f(computeMs)}, "endToEndMs" : ${f(computeMs)} }`
  );
}

/**
 * A fake trtexec per engine: `engines[path](process)` gives a process's mean compute time; each
 * inference jitters 3% around it. Writes 200 ms of warm-up records before the timed ones.
 */
function fakeGpu(engines: Record<string, (process: number) => number>, seed = 1) {
  const rng = new SeededRandom(seed);
  const calls: Array<{ engine: string; args: readonly string[] }> = [];
  const runner: CommandRunner = {
    run: async (_file, args) => {
      const engine = flag(args, 'loadEngine')!;
      const mean = engines[engine]!(calls.filter((c) => c.engine === engine).length);
      calls.push({ engine, args });
      const records: string[] = [];
      let t = 0;
      while (t < Number(flag(args, 'warmUp'))) {
        records.push(record(t, mean));
        t += mean + 0.01;
      }
      for (let i = 0; i < Number(flag(args, 'iterations')); i++) {
        const ms = mean * Math.exp(0.03 * rng.normal());
        records.push(record(t, ms));
        t += ms + 0.01;
      }
      await writeFile(flag(args, 'exportTimes')!, `[\n  ${records.join('\n, ')}\n]\n`);
      return { exitCode: 0, stdout: '&&&& PASSED TensorRT.trtexec [TensorRT v100300] # trtexec', stderr: '' };
    },
  };
  return { runner, calls };
}

async function engine(name: string): Promise<string> {
  const dir = path.join(tmp, name);
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, 'engine.plan');
  await writeFile(file, 'PLAN');
  const io = { inputs: [{ name: 'x', dtype: 'float32', dims: [1, 8] }], outputs: [] };
  await writeFile(`${file}${IO_SUFFIX}`, JSON.stringify(io));
  return file;
}

const x: HostTensor = { dtype: 'float32', shape: [1, 8], data: new Float32Array(8) };
const settings = {
  warmup: 5,
  budgetMs: 3000,
  stabilityPct: 5,
  metric: 'p99' as const,
  maxRegressionPct: 10,
  confidence: 0.95,
};

async function sessions(runner: CommandRunner, a: string, b: string) {
  const backend = new TensorRtBackend({
    runner,
    fingerprint: async () => ({
      name: 'NVIDIA A10G',
      computeCapability: '8.6',
      driverMajor: 550,
      cuda: '12.4',
      tensorrt: '10.3.0',
    }),
    timingCacheDir: path.join(tmp, 'cache'),
    workDir: path.join(tmp, 'work'),
  });
  return [await backend.openEngine(a, { threads: 1 }), await backend.openEngine(b, { threads: 1 })] as const;
}

describe('A/B on TensorRT: one trtexec process per block, interleaved ABBA', () => {
  it('catches a 2x slowdown of a 1 ms engine from device times, not process launches', async () => {
    const [a, b] = [await engine('fast'), await engine('slow')];
    const { runner, calls } = fakeGpu({ [a]: () => 1, [b]: () => 2 });
    const [base, head] = await sessions(runner, a, b);
    const m = await measureAb(base, head, { x }, settings);
    expect(m.decision.verdict).toBe('regression');
    expect(m.decision.statistic).toBe('p99');
    expect(m.decision.ratio).toBeGreaterThan(1.8);
    expect(m.blocks).toEqual({ base: 10, head: 10 });
    expect(m.base.length).toBe(1000);
    // base, head, then head, base, base, head, …: each side goes first equally often.
    expect(
      calls
        .slice(0, 6)
        .map((c) => (c.engine === a ? 'A' : 'B'))
        .join(''),
    ).toBe('ABBAAB');
    for (const c of calls) {
      expect(c.args).toEqual(
        expect.arrayContaining(['--iterations=100', '--warmUp=200', '--duration=0', '--noDataTransfers']),
      );
    }
    expect(head.measures).toBe(TRT_MEASURES);
  });

  it('counts between-process variance: process-level luck is not called a regression', async () => {
    // Same engine speed; each process lands 0–20% slow at random (context, clocks, placement).
    const luck = new SeededRandom(7);
    const perProcess = () => 1 + 0.2 * luck.nextFloat();
    const [a, b] = [await engine('same-a'), await engine('same-b')];
    const { runner } = fakeGpu({ [a]: perProcess, [b]: perProcess }, 3);
    const [base, head] = await sessions(runner, a, b);
    const m = await measureAb(base, head, { x }, { ...settings, metric: 'p50' });
    const perSample = compareLatency(m.base, m.head, { ...settings, metric: 'p50' });
    const width = (ci: readonly number[]) => ci[1]! - ci[0]!;
    expect(width(m.decision.ci)).toBeGreaterThan(2 * width(perSample.ci));
    expect(m.decision.verdict).not.toBe('regression');
  });

  it('gates a smaller statistic only when the budget cannot reach the target, and says so', async () => {
    const [a, b] = [await engine('slow-a'), await engine('slow-b')];
    const { runner } = fakeGpu({ [a]: () => 1, [b]: () => 1 });
    const [base, head] = await sessions(runner, a, b);
    // A clock where every process takes 3 s: 20 blocks would need 60 s + a quarter, over the 60 s cap.
    let now = 0;
    const clock = { now: () => (now += 3000) };
    const m = await measureAb(base, head, { x }, settings, clock);
    expect(m.plan.reachable).toBe(false);
    expect(m.decision.statistic).not.toBe('p99');
    expect(m.decision.note).toMatch(
      /^p99 gated as p(90|50) \(\d+ samples per side within 60 s budget; p99 needs 1000\)/,
    );
  });
});
