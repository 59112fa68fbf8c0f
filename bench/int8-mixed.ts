/**
 * Mixed precision by measured sensitivity with a speed budget, on PP-OCR's classifier: the nodes whose
 * quantization alone hurts the outputs most (quant-sensitivity.ts, on 16 calibration images) are left
 * fp32, k at a time, and each k's top-1 agreement (held-out images) and speed against the fp32 engine
 * are measured; the budget's choice is the largest k still at least `budget` × fp32's speed.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { collectHistograms } from '../src/backends/int8/activation-capture.js';
import { calibrate } from '../src/backends/int8/calibration.js';
import { calibrationGraph } from '../src/backends/int8/calibration-graph.js';
import { probeCpuIsa } from '../src/backends/cpu-isa.js';
import { foldAffine } from '../src/backends/int8/fold-affine.js';
import { OnnxRuntimeCpuBackend } from '../src/backends/onnxruntime/onnxruntime-cpu.js';
import { quantizableTensors, quantizeQdq } from '../src/backends/int8/qdq-quantizer.js';
import { chooseFp32Nodes } from '../src/backends/int8/quant-sensitivity.js';
import { CLS, textImage } from './int8.js';
import { diagnosticLine, interleaved, spread } from './measure.js';

const SHAPE = [1, 3, 48, 192];
const argmax = (v: Float32Array) => ((v[0] as number) >= (v[1] as number) ? 0 : 1);

/** Agreement and speed vs fp32 for 0, 4 and 8 sensitive nodes kept fp32; `budget` picks among them. */
export async function mixedPrecisionFigures(images = 500, budget = 1.0): Promise<string[]> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-bench-mixed-'));
  const backend = new OnnxRuntimeCpuBackend();
  try {
    await backend.compile({
      modelPath: CLS,
      profile: { name: 'mixed', shapes: { x: SHAPE } },
      precision: 'fp32',
      outDir: dir,
    });
    const fp32 = await backend.openEngine(path.join(dir, 'engine.ort'), { threads: 1 });
    const isa = probeCpuIsa();
    const vnni = isa.arch !== 'x64' || isa.features.some((f) => f.includes('vnni') || f.startsWith('amx'));
    const scheme = { activationType: 'uint8' as const, reduceRange: !vnni, consumerRanges: true };
    const basic = foldAffine(await calibrationGraph(CLS, { x: SHAPE })).model;
    const samples = Array.from({ length: 16 }, (_, seed) => textImage(seed, SHAPE));
    const histograms = await collectHistograms(basic, quantizableTensors(basic, scheme), samples);
    const ranges = calibrate(histograms, 'percentile', 99.99, 'uint8');
    const rows: { k: number; agreement: number; speedup: number; detail: string }[] = [];
    for (const k of [0, 4, 8]) {
      const policy = { maxFp32Nodes: k, targetSqnrDb: 60, samples: 16 };
      const mixed = await chooseFp32Nodes(basic, ranges, samples, scheme, policy);
      const qdq = quantizeQdq(basic, ranges, { ...scheme, keepFp32: mixed.keepFp32 });
      const int8 = await ort.InferenceSession.create(qdq.model, {
        graphOptimizationLevel: 'all',
        intraOpNumThreads: 1,
        interOpNumThreads: 1,
        logSeverityLevel: 3,
      });
      let agree = 0;
      for (let i = 0; i < images; i++) {
        const input = textImage(1000 + i, SHAPE);
        const ref = (await fp32.run(input))[fp32.outputNames[0] as string]?.data as Float32Array;
        const x = new ort.Tensor('float32', input.x?.data as Float32Array, SHAPE);
        const got = (await int8.run({ x }))[int8.outputNames[0] as string]?.data as Float32Array;
        if (argmax(ref) === argmax(got)) agree++;
      }
      const input = textImage(3000, SHAPE);
      const x = { x: new ort.Tensor('float32', input.x?.data as Float32Array, SHAPE) };
      const runFp32 = fp32.bind(input);
      for (let i = 0; i < 20; i++) {
        await runFp32();
        await int8.run(x);
      }
      const times = await interleaved(() => int8.run(x), runFp32, 12, 40);
      await int8.release();
      rows.push({
        k: mixed.keepFp32.length,
        agreement: agree / images,
        speedup: times.b / times.a,
        detail: `${spread(times.ratios)}; SQNR ${mixed.finalSqnrDb.toFixed(1)} dB on calibration images`,
      });
    }
    await fp32.release();
    const chosen = [...rows].reverse().find((r) => r.speedup >= budget);
    return [
      ...rows.flatMap((r) => [
        diagnosticLine(`mixed precision cls, ${r.k} nodes fp32: agreement`, r.agreement, `${images} images`),
        diagnosticLine(`mixed precision cls, ${r.k} nodes fp32: vs fp32`, r.speedup, r.detail),
      ]),
      chosen
        ? diagnosticLine(
            `mixed precision cls, budget ${budget}× fp32: agreement`,
            chosen.agreement,
            `${chosen.k} nodes fp32, ${chosen.speedup.toFixed(2)}× fp32`,
          )
        : diagnosticLine(`mixed precision cls, budget ${budget}× fp32`, 0, 'no mix reaches the speed budget'),
    ];
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
