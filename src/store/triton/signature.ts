/**
 * A Triton model's inputs, outputs and warmup requests, taken from what kiln stored with the
 * artifact: input dims from the profile it was built for (the engine accepts nothing else), data
 * types and output dims from the golden tensors it was verified with, and whether dim 0 is a batch
 * dim Triton may batch on (a ranged profile from 1, and outputs that follow it in every sample).
 */
import path from 'node:path';
import { InputError } from '../../core/errors.js';
import { narrowInt64, tensorrtNarrowsInt64 } from '../../core/int64-narrow.js';
import { readNpy } from '../../core/io/npy-files.js';
import { formatShape } from '../../core/tensor.js';
import type { HostTensor } from '../../core/tensor.js';
import type { ArtifactRecord } from '../artifact.js';
import { TRITON_DATA_TYPES } from './config.js';
import type { TritonTensor, TritonWarmupSample } from './config.js';

/** Golden samples beyond this many only slow Triton's model load down. */
export const MAX_WARMUP_SAMPLES = 4;

/** A warmup input file: its name in the model's `warmup/` folder and its raw bytes. */
export interface WarmupFile {
  name: string;
  bytes: Uint8Array;
}

/** What config.pbtxt says about a model's tensors, and the warmup files it references. */
export interface TritonSignature {
  /** > 0 when dim 0 is a ranged batch dim (see rangedBatchMax): tensor dims then omit it. */
  maxBatchSize: number;
  inputs: TritonTensor[];
  outputs: TritonTensor[];
  warmup: TritonWarmupSample[];
  warmupFiles: WarmupFile[];
}

const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Row-major little-endian bytes, no header: what Triton reads from `input_data_file`. */
export function rawTensorBytes(tensor: HostTensor): Uint8Array {
  const { data } = tensor;
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
  const width = data.BYTES_PER_ELEMENT;
  if (!HOST_LITTLE_ENDIAN && width > 1) {
    for (let i = 0; i < bytes.length; i += width) bytes.subarray(i, i + width).reverse();
  }
  return bytes;
}

/** Input dims of the profile: fixed shapes as they are, ranged ones with -1 where min and max differ. */
function profileDims(record: ArtifactRecord, where: string): Map<string, number[]> {
  const profile = record.keyInputs.profile as Record<string, Record<string, number[]> | undefined>;
  if (profile?.shapes) return new Map(Object.entries(profile.shapes));
  const { min, max } = profile ?? {};
  if (!min || !max) {
    throw new InputError(`${where}: keyInputs.profile has neither shapes nor min/max, expected one of them`);
  }
  return new Map(
    Object.entries(min).map(([name, low]) => [name, low.map((d, i) => (max[name]?.[i] === d ? d : -1))]),
  );
}

/**
 * The batch size Triton may batch up to: the profile's max of dim 0 when every input's dim 0 ranges
 * from 1 (Triton's batcher sends any size from 1) to one shared max above 1; otherwise 0, and the
 * model keeps its full dims with `max_batch_size: 0`.
 */
export function rangedBatchMax(record: ArtifactRecord): number {
  const profile = record.keyInputs.profile as Record<string, Record<string, number[]> | undefined>;
  if (!profile || profile.shapes || !profile.min || !profile.max) return 0;
  let max: number | undefined;
  for (const [name, low] of Object.entries(profile.min)) {
    const high = profile.max[name]?.[0];
    if (low[0] !== 1 || high === undefined || high <= 1 || (max !== undefined && high !== max)) return 0;
    max = high;
  }
  return max ?? 0;
}

/** Each golden sample's outputs carry its inputs' batch as dim 0 (else the outputs do not batch). */
function outputsBatch(inputs: Map<string, HostTensor>, outputs: Map<string, HostTensor>): boolean {
  const batch = new Set([...inputs.values()].map((t) => t.shape[0]));
  if (batch.size !== 1) return false;
  return [...outputs.values()].every((t) => t.shape.length > 0 && batch.has(t.shape[0]));
}

/** The first item of a batched tensor: what one batch-1 warmup request sends. */
function firstItem(tensor: HostTensor): HostTensor {
  const rest = tensor.shape.slice(1);
  const size = rest.reduce((a, b) => a * b, 1);
  const data = (tensor.data as Float32Array).subarray(0, size) as unknown as HostTensor['data'];
  return { ...tensor, shape: [1, ...rest], data } as HostTensor;
}

/** Dims that fit every shape seen: equal sizes kept, differing ones -1. */
function mergeDims(dims: number[] | undefined, shape: readonly number[]): number[] {
  if (!dims) return [...shape];
  return dims.map((d, i) => (d === shape[i] ? d : -1));
}

function fits(dims: readonly number[], shape: readonly number[]): boolean {
  return dims.length === shape.length && dims.every((d, i) => d === -1 || d === shape[i]);
}

async function readSample(dir: string, files: Record<string, string>): Promise<Map<string, HostTensor>> {
  const tensors = new Map<string, HostTensor>();
  for (const [name, file] of Object.entries(files))
    tensors.set(name, await readNpy(path.join(dir, file), { root: dir }));
  return tensors;
}

/** `kiln-golden-0-x`; tensor names may hold `/` or `:`, which a file name may not. */
function warmupFileName(sample: number, input: number, name: string, taken: Set<string>): string {
  const base = `kiln-golden-${sample}-${name.replace(/[^A-Za-z0-9._-]/g, '_')}`;
  const file = taken.has(base) ? `${base}-${input}` : base;
  taken.add(file);
  return file;
}

/**
 * Reads the golden samples of the artifact in `dir` (its `artifact.json` is `record`) into the
 * Triton signature. Refuses, naming the file, an artifact without golden samples, a sample whose
 * inputs differ from the profile's, and dtypes that change between samples.
 */
export async function readTritonSignature(dir: string, record: ArtifactRecord): Promise<TritonSignature> {
  const where = path.join(dir, 'artifact.json');
  const dims = profileDims(record, where);
  const samples = record.golden?.samplesFiles ?? [];
  if (samples.length === 0) {
    throw new InputError(
      `${where}: golden.samplesFiles is empty, expected golden samples to type the outputs`,
    );
  }
  const inputs = new Map<string, TritonTensor>();
  const outputs = new Map<string, TritonTensor>();
  let maxBatchSize = rangedBatchMax(record);
  const warmupInputs: Map<string, HostTensor>[] = [];
  // A plan from TensorRT < 10 has int32 bindings where the model says int64: Triton's tensorrt
  // backend refuses TYPE_INT64 for it, so config.pbtxt and the warmup files say int32.
  const narrow =
    record.tags.backend === 'tensorrt' && tensorrtNarrowsInt64(String(record.tags.backendVersion));
  const read = async (files: Record<string, string>) => {
    const tensors = await readSample(dir, files);
    if (!narrow) return tensors;
    return new Map(
      [...tensors].map(([name, t]) => [name, narrowInt64(t, path.join(dir, files[name] as string))]),
    );
  };
  for (const [index, files] of samples.entries()) {
    const names = Object.keys(files.inputs).sort().join(', ');
    if (names !== [...dims.keys()].sort().join(', ')) {
      throw new InputError(
        `${where}: golden sample ${index} has inputs [${names}], expected the profile's [${[...dims.keys()].sort().join(', ')}]`,
      );
    }
    const sampleInputs = await read(files.inputs);
    for (const [name, tensor] of sampleInputs) {
      const expected = dims.get(name) as number[];
      if (!fits(expected, tensor.shape)) {
        throw new InputError(
          `${path.join(dir, files.inputs[name] as string)}: shape ${formatShape(tensor.shape)} does not fit the profile's [${expected.join(', ')}] for input '${name}'`,
        );
      }
      merge(inputs, name, tensor, expected, path.join(dir, files.inputs[name] as string));
    }
    const sampleOutputs = await read(files.outputs);
    for (const [name, tensor] of sampleOutputs) {
      const dimsSoFar = mergeDims(outputs.get(name)?.dims, tensor.shape);
      merge(outputs, name, tensor, dimsSoFar, path.join(dir, files.outputs[name] as string));
    }
    if (!outputsBatch(sampleInputs, sampleOutputs)) maxBatchSize = 0;
    if (index < MAX_WARMUP_SAMPLES) warmupInputs.push(sampleInputs);
  }
  const unbatch = (t: TritonTensor): TritonTensor => (maxBatchSize > 0 ? { ...t, dims: t.dims.slice(1) } : t);
  const signature: TritonSignature = {
    maxBatchSize,
    inputs: [...dims.keys()].map((name) => unbatch(inputs.get(name) as TritonTensor)),
    outputs: [...outputs.values()].map(unbatch),
    warmup: [],
    warmupFiles: [],
  };
  refuseScalars(signature, where);
  for (const [index, tensors] of warmupInputs.entries()) {
    addWarmup(signature, index, tensors, [...dims.keys()], maxBatchSize > 0);
  }
  return signature;
}

/**
 * Triton refuses a tensor without dims, and an empty reshape when `max_batch_size` is 0 (kiln's
 * models never batch in Triton), so a rank-0 tensor (Silero VAD's `sr`) has no config.pbtxt form.
 */
function refuseScalars(signature: TritonSignature, where: string): void {
  for (const [kind, tensors] of [
    ['input', signature.inputs],
    ['output', signature.outputs],
  ] as const) {
    const scalar = tensors.find((t) => t.dims.length === 0);
    if (scalar) {
      throw new InputError(
        `${where}: model ${kind} '${scalar.name}' is rank 0 (a scalar), which a Triton model config cannot declare (dims must be non-empty, and an empty reshape is refused with max_batch_size 0); export the model with '${scalar.name}' as a [1] tensor to serve it from Triton`,
      );
    }
  }
}

function merge(
  into: Map<string, TritonTensor>,
  name: string,
  tensor: HostTensor,
  dims: number[],
  file: string,
): void {
  const dataType = TRITON_DATA_TYPES[tensor.dtype];
  const seen = into.get(name);
  if (seen && (seen.dataType !== dataType || seen.dims.length !== tensor.shape.length)) {
    throw new InputError(
      `${file}: '${name}' is ${tensor.dtype} ${formatShape(tensor.shape)}, expected ${seen.dataType} of rank ${seen.dims.length} as in the first golden sample`,
    );
  }
  into.set(name, { name, dataType, dims });
}

function addWarmup(
  signature: TritonSignature,
  index: number,
  tensors: Map<string, HostTensor>,
  order: string[],
  batched: boolean,
): void {
  const taken = new Set<string>();
  const sample: TritonWarmupSample = { name: `kiln-golden-${index}`, inputs: [] };
  for (const [position, name] of order.entries()) {
    const whole = tensors.get(name) as HostTensor;
    const tensor = batched ? firstItem(whole) : whole;
    const file = warmupFileName(index, position, name, taken);
    const dims = batched ? tensor.shape.slice(1) : [...tensor.shape];
    sample.inputs.push({ name, dataType: TRITON_DATA_TYPES[tensor.dtype], dims, file });
    signature.warmupFiles.push({ name: file, bytes: rawTensorBytes(tensor) });
  }
  signature.warmup.push(sample);
}
