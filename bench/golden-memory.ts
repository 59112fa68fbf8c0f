/**
 * Peak memory of the golden check on a model with 12 outputs of 1×1×1024×1024 float32 (4 MiB each),
 * against what holding every output of both sessions would cost (12 × 2 × 4 MiB). Each mode runs in
 * its own child process so its peak RSS is not another's.
 */
import { execa } from 'execa';
import { mkdtemp, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import onnxProto from 'onnx-proto';
import { OnnxRuntimeCpuBackend } from '../src/backends/onnxruntime/onnxruntime-cpu.js';
import { diagnosticLine, line } from './measure.js';

const { onnx } = onnxProto;
const OUTPUTS = 12;
const SHAPE = [1, 1, 1024, 1024];
const OUTPUT_BYTES = 4 * 1024 * 1024;
const MIB = 1024 ** 2;

/** x → y_i = x · (i + 1), twelve full-size outputs, each its own buffer. */
function twelveOutputModel(): Uint8Array {
  const info = (name: string) => ({
    name,
    type: { tensorType: { elemType: 1, shape: { dim: SHAPE.map((dimValue) => ({ dimValue })) } } },
  });
  const names = Array.from({ length: OUTPUTS }, (_, i) => `y${i}`);
  return onnx.ModelProto.encode({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: 'twelve-outputs',
      input: [info('x')],
      output: names.map(info),
      initializer: names.map((name, i) => ({ name: `c_${name}`, dims: [], dataType: 1, floatData: [i + 1] })),
      node: names.map((name) => ({
        opType: 'Mul',
        name: `mul_${name}`,
        input: ['x', `c_${name}`],
        output: [name],
      })),
    },
  }).finish();
}

async function peakGrowth(modelPath: string, enginePath: string, mode: string, work: string) {
  const child = path.join(path.dirname(fileURLToPath(import.meta.url)), 'golden-memory-child.js');
  const record = await mkdtemp(path.join(work, `record-${mode}-`));
  const { stdout } = await execa(process.execPath, [child, modelPath, enginePath, record, mode]);
  const { baselineBytes, peakBytes } = JSON.parse(stdout) as { baselineBytes: number; peakBytes: number };
  return peakBytes - baselineBytes;
}

/** The golden-memory figures: bounded peak growth vs 12 × 2 × 4 MiB, and the all-at-once run for context. */
export async function goldenMemoryFigures(work: string): Promise<string[]> {
  const modelPath = path.join(work, 'twelve-outputs.onnx');
  await writeFile(modelPath, twelveOutputModel());
  const engineDir = await mkdtemp(path.join(work, 'twelve-engine-'));
  await new OnnxRuntimeCpuBackend().compile({
    modelPath,
    profile: { name: 'b1', shapes: { x: SHAPE } },
    precision: 'fp32',
    outDir: engineDir,
  });
  const enginePath = path.join(engineDir, 'engine.ort');
  const everything = OUTPUTS * 2 * OUTPUT_BYTES;
  const bounded = await peakGrowth(modelPath, enginePath, 'bounded', work);
  const allAtOnce = await peakGrowth(modelPath, enginePath, 'all-at-once', work);
  const mib = (bytes: number) => `${(bytes / MIB).toFixed(0)} MiB`;
  return [
    line(
      'golden peak RSS growth vs all 12 outputs x 2',
      bounded / everything,
      '<= 1',
      bounded / everything <= 1,
      `${mib(bounded)} vs ${mib(everything)} (12 outputs of 1x1x1024x1024 float32)`,
    ),
    diagnosticLine(
      'same, fetching and keeping every output',
      allAtOnce / everything,
      `${mib(allAtOnce)} vs ${mib(everything)}`,
    ),
  ];
}
