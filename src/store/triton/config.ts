/**
 * Triton's model configuration (`config.pbtxt`, message `inference.ModelConfig` of Triton's
 * model_config.proto) for one exported kiln model: the subset kiln writes, as a plain object, and
 * its text-format rendering. Pure: no files, no clock.
 */
import type { TensorDtype } from '../../core/tensor.js';
import { formatTextMessage } from './text-format.js';
import type { TextField, TextMessage } from './text-format.js';

/** Triton `DataType` names for the element types kiln's tensors can hold. */
export type TritonDataType =
  | 'TYPE_BOOL'
  | 'TYPE_UINT8'
  | 'TYPE_UINT16'
  | 'TYPE_UINT32'
  | 'TYPE_UINT64'
  | 'TYPE_INT8'
  | 'TYPE_INT16'
  | 'TYPE_INT32'
  | 'TYPE_INT64'
  | 'TYPE_FP16'
  | 'TYPE_FP32'
  | 'TYPE_FP64';

/** The Triton data type of each kiln (onnxruntime-node) dtype. */
export const TRITON_DATA_TYPES: Readonly<Record<TensorDtype, TritonDataType>> = {
  bool: 'TYPE_BOOL',
  uint8: 'TYPE_UINT8',
  uint16: 'TYPE_UINT16',
  uint32: 'TYPE_UINT32',
  uint64: 'TYPE_UINT64',
  int8: 'TYPE_INT8',
  int16: 'TYPE_INT16',
  int32: 'TYPE_INT32',
  int64: 'TYPE_INT64',
  float16: 'TYPE_FP16',
  float32: 'TYPE_FP32',
  float64: 'TYPE_FP64',
};

/** One model input or output: -1 = any; without the batch dim when `max_batch_size` > 0. */
export interface TritonTensor {
  name: string;
  dataType: TritonDataType;
  dims: number[];
}

/** One `model_warmup` request: each input's bytes come from a file in the model's `warmup/` folder. */
export interface TritonWarmupSample {
  name: string;
  inputs: { name: string; dataType: TritonDataType; dims: number[]; file: string }[];
}

/** One `gpu_execution_accelerator`: its name and string parameters (a proto map), in print order. */
export interface TritonAccelerator {
  name: string;
  parameters: Record<string, string>;
}

/** The fields of `config.pbtxt` kiln sets; everything else keeps Triton's default. */
export interface TritonModelConfig {
  name: string;
  /** Set exactly one of `platform` (`tensorrt_plan`) and `backend` (`onnxruntime`). */
  platform?: string;
  backend?: string;
  maxBatchSize: number;
  inputs: TritonTensor[];
  outputs: TritonTensor[];
  instanceKind: 'KIND_CPU' | 'KIND_GPU';
  defaultModelFilename?: string;
  /** Compute capability ("8.6") → engine file name in the version folder, in print order. */
  ccModelFilenames: Record<string, string>;
  /** ONNX Runtime GPU execution accelerators (`tensorrt`), when the engine was built for one. */
  gpuAccelerators?: TritonAccelerator[];
  /** `dynamic_batching { }` (Triton's defaults): only with `maxBatchSize` > 0. */
  dynamicBatching?: boolean;
  /** String parameters (`parameters { key value { string_value } }`), in print order. */
  parameters: Record<string, string>;
  warmup: TritonWarmupSample[];
}

function tensorFields(tensor: TritonTensor): TextMessage {
  return {
    fields: [
      ['name', tensor.name],
      ['data_type', { enum: tensor.dataType }],
      ['dims', { list: tensor.dims }],
    ],
  };
}

function warmupFields(sample: TritonWarmupSample): TextMessage {
  const inputs = sample.inputs.map((input): TextField => {
    const value: TextMessage = {
      fields: [
        ['data_type', { enum: input.dataType }],
        ['dims', { list: input.dims }],
        ['input_data_file', input.file],
      ],
    };
    return [
      'inputs',
      {
        fields: [
          ['key', input.name],
          ['value', value],
        ],
      },
    ];
  });
  // Triton requires batch_size 1 for a model that does not batch (max_batch_size 0), the dims
  // then being the whole tensor; a batching model gets one batch-1 request, dims without batch.
  return { fields: [['name', sample.name], ['batch_size', 1], ...inputs] };
}

/** `config` as the `ModelConfig` text-format message Triton reads. */
export function tritonConfigMessage(config: TritonModelConfig): TextMessage {
  const fields: TextField[] = [['name', config.name]];
  if (config.platform !== undefined) fields.push(['platform', config.platform]);
  if (config.backend !== undefined) fields.push(['backend', config.backend]);
  fields.push(['max_batch_size', config.maxBatchSize]);
  for (const input of config.inputs) fields.push(['input', tensorFields(input)]);
  for (const output of config.outputs) fields.push(['output', tensorFields(output)]);
  fields.push(['instance_group', { fields: [['kind', { enum: config.instanceKind }]] }]);
  if (config.defaultModelFilename !== undefined) {
    fields.push(['default_model_filename', config.defaultModelFilename]);
  }
  for (const [cc, file] of Object.entries(config.ccModelFilenames)) {
    fields.push([
      'cc_model_filenames',
      {
        fields: [
          ['key', cc],
          ['value', file],
        ],
      },
    ]);
  }
  if (config.dynamicBatching) fields.push(['dynamic_batching', { fields: [] }]);
  if (config.gpuAccelerators?.length) {
    const accelerators = config.gpuAccelerators.map((accelerator): TextField => [
      'gpu_execution_accelerator',
      {
        fields: [
          ['name', accelerator.name],
          ...Object.entries(accelerator.parameters).map(([key, value]): TextField => [
            'parameters',
            {
              fields: [
                ['key', key],
                ['value', value],
              ],
            },
          ]),
        ],
      },
    ]);
    fields.push(['optimization', { fields: [['execution_accelerators', { fields: accelerators }]] }]);
  }
  for (const [key, value] of Object.entries(config.parameters)) {
    const parameter: TextMessage = { fields: [['string_value', value]] };
    fields.push([
      'parameters',
      {
        fields: [
          ['key', key],
          ['value', parameter],
        ],
      },
    ]);
  }
  for (const sample of config.warmup) fields.push(['model_warmup', warmupFields(sample)]);
  return { fields };
}

/** `config.pbtxt` text for `config`, headed by `comment` lines (`#`-prefixed). */
export function renderTritonConfig(config: TritonModelConfig, comment: readonly string[] = []): string {
  return formatTextMessage(tritonConfigMessage(config), comment);
}
