import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { BuildResults } from '../../src/core/results.js';
import { encodeNpy, parseNpy } from '../../src/core/npy.js';
import { writeNpy } from '../../src/core/io/npy-files.js';
import { allocateTensor, type TensorDtype } from '../../src/core/tensor.js';
import { FAST_BENCH, runKiln, workspace } from '../helpers/kiln-cli.js';
import { DataType, node, tensorInfo, writeModel } from './model-files.js';

const ELEM_TYPES: Record<Exclude<TensorDtype, 'float32'>, number> = {
  float16: DataType.FLOAT16,
  float64: DataType.DOUBLE,
  int64: DataType.INT64,
  int32: DataType.INT32,
  int16: DataType.INT16,
  int8: DataType.INT8,
  uint64: DataType.UINT64,
  uint32: DataType.UINT32,
  uint16: DataType.UINT16,
  uint8: DataType.UINT8,
  bool: DataType.BOOL,
};
const DTYPES = Object.keys(ELEM_TYPES) as Array<keyof typeof ELEM_TYPES>;

/** x <dtype> [N,3] → same = Identity(x) (<dtype>), asFloat = Cast(x) float32. */
function dtypeModel(dir: string, dtype: keyof typeof ELEM_TYPES): Promise<string> {
  const elem = ELEM_TYPES[dtype];
  return writeModel(dir, `${dtype}.onnx`, {
    input: [tensorInfo('x', elem, ['N', 3])],
    output: [tensorInfo('same', elem, ['N', 3]), tensorInfo('asFloat', DataType.FLOAT, ['N', 3])],
    node: [node('Identity', ['x'], ['same']), node('Cast', ['x'], ['asFloat'], DataType.FLOAT)],
  });
}

const config =
  `version: 1\nmodels:\n` +
  DTYPES.map(
    (d) =>
      `  - name: ${d}\n    path: ${d}.onnx\n    profiles: [{ name: b2, shapes: { x: [2, 3] } }]\n` +
      (d === 'uint16'
        ? `    golden: { inputs: golden/uint16, samples: 1 }\n`
        : `    golden: { samples: 2 }\n`),
  ).join('') +
  FAST_BENCH;

describe('every tensor element type ONNX Runtime feeds, end to end through kiln build', () => {
  let dir: string;
  let first: { exitCode: number; stderr: string };
  let results: BuildResults;

  beforeAll(async () => {
    dir = await workspace(config);
    await Promise.all(DTYPES.map((d) => dtypeModel(dir, d)));
    await writeNpy(path.join(dir, 'golden/uint16/b2/x.npy'), {
      dtype: 'uint16',
      shape: [2, 3],
      data: new Uint16Array([0, 1, 300, 40000, 65535, 7]),
    });
    first = await runKiln(['build', '--json', 'out/first.json'], dir);
    results = JSON.parse(await readFile(path.join(dir, 'out/first.json'), 'utf8')) as BuildResults;
  }, 120_000);

  it('builds and golden-checks one engine per dtype, comparing the dtype output and its float cast', () => {
    expect(first.stderr).not.toMatch(/error/i);
    expect(first.exitCode).toBe(0);
    expect(results.engines.map((e) => [e.model, e.golden.pass])).toEqual(DTYPES.map((d) => [d, true]));
    for (const engine of results.engines) {
      expect(engine.golden.outputs.map((o) => [o.output, o.shape])).toEqual([
        ['same', [2, 3]],
        ['asFloat', [2, 3]],
      ]);
    }
  });

  it('stores the reference outputs as .npy of the model dtype (the uint16 .npy golden input read as given)', async () => {
    const engine = results.engines.find((e) => e.model === 'uint16')!;
    const record = JSON.parse(
      await readFile(path.join(path.dirname(engine.enginePath), 'artifact.json'), 'utf8'),
    ) as { golden: { samplesFiles: Array<{ outputs: Record<string, string> }> } };
    const file = record.golden.samplesFiles[0]!.outputs.same!;
    const stored = parseNpy(await readFile(path.join(path.dirname(engine.enginePath), file)), file);
    expect(stored.dtype).toBe('uint16');
    expect([...stored.data]).toEqual([0, 1, 300, 40000, 65535, 7]);
  });

  it('a second build is a cache hit for every dtype', async () => {
    const second = await runKiln(['build', '--json', 'out/second.json'], dir);
    expect(second.exitCode).toBe(0);
    const again = JSON.parse(await readFile(path.join(dir, 'out/second.json'), 'utf8')) as BuildResults;
    expect(again.engines.map((e) => e.cache)).toEqual(DTYPES.map(() => 'hit'));
  });

  it('round-trips every dtype through .npy', () => {
    for (const dtype of [...DTYPES, 'float32' as const]) {
      const t = allocateTensor(dtype, [2]);
      t.data[1] = typeof t.data[0] === 'bigint' ? 5n : 1;
      expect(parseNpy(encodeNpy(t), 'x.npy')).toEqual(t);
    }
  });
});

describe('graph inputs and outputs kiln cannot handle are refused by name (exit 2, one line)', () => {
  const refuse = async (graph: Parameters<typeof writeModel>[2]) => {
    const dir = await workspace(
      `version: 1\nmodels:\n  - name: m\n    path: m.onnx\n    profiles: [{ name: p, shapes: { x: [2] } }]\n`,
    );
    await writeModel(dir, 'm.onnx', graph);
    const run = await runKiln(['build'], dir);
    expect(run.exitCode).toBe(2);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    return run.stderr;
  };
  const x = tensorInfo('x', DataType.FLOAT, [2]);

  it('a ZipMap-style sequence-of-maps output', async () => {
    const probabilities = {
      name: 'output_probability',
      type: {
        sequenceType: {
          elemType: {
            mapType: { keyType: DataType.INT64, valueType: { tensorType: { elemType: DataType.FLOAT } } },
          },
        },
      },
    };
    expect(
      await refuse({
        input: [x],
        output: [probabilities],
        node: [node('SequenceConstruct', ['x'], ['output_probability'])],
      }),
    ).toContain("m.onnx: model output 'output_probability' is of type sequence: ONNX sequence values");
  });

  it('a string input', async () => {
    const text = tensorInfo('x', DataType.STRING, [2]);
    expect(await refuse({ input: [text], output: [text], node: [node('Identity', ['x'], ['y'])] })).toContain(
      "m.onnx: model input 'x' is of type string: string tensors cannot be synthesized",
    );
  });

  it('a bfloat16 output', async () => {
    const y = tensorInfo('y', DataType.BFLOAT16, [2]);
    expect(
      await refuse({ input: [x], output: [y], node: [node('Cast', ['x'], ['y'], DataType.BFLOAT16)] }),
    ).toContain("m.onnx: model output 'y' is of type bfloat16: onnxruntime-node has no bfloat16 tensors");
  });

  it('an optional input', async () => {
    const maybe = {
      name: 'x',
      type: { optionalType: { elemType: { tensorType: { elemType: DataType.FLOAT } } } },
    };
    expect(
      await refuse({ input: [maybe], output: [x], node: [node('OptionalGetElement', ['x'], ['y'])] }),
    ).toContain("m.onnx: model input 'x' is of type optional: ONNX optional values are not supported");
  });
});
