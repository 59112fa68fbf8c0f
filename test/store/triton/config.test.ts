import { describe, expect, it } from 'vitest';
import { renderTritonConfig } from '../../../src/store/triton/config.js';
import type { TritonModelConfig } from '../../../src/store/triton/config.js';
import { formatTextMessage, quoteTextString } from '../../../src/store/triton/text-format.js';
import { parseTritonConfig } from '../../helpers/pbtxt-parse.js';

const gpuConfig: TritonModelConfig = {
  name: 'det_s384_fp16',
  platform: 'tensorrt_plan',
  maxBatchSize: 0,
  inputs: [{ name: 'x', dataType: 'TYPE_FP16', dims: [1, 3, 384, -1] }],
  outputs: [{ name: 'y', dataType: 'TYPE_FP32', dims: [1, 1, 384, 384] }],
  instanceKind: 'KIND_GPU',
  ccModelFilenames: { '8.6': 'model.sm86.plan', '9.0': 'model.sm90.plan' },
  gpuAccelerators: [
    { name: 'tensorrt', parameters: { precision_mode: 'FP16', trt_engine_cache_enable: 'true' } },
  ],
  parameters: { kiln_release: '1.2.0', kiln_artifact_keys: 'aa,bb' },
  warmup: [
    {
      name: 'kiln-golden-0',
      inputs: [{ name: 'x', dataType: 'TYPE_FP16', dims: [1, 3, 384, 384], file: 'kiln-golden-0-x' }],
    },
  ],
};

describe('renderTritonConfig', () => {
  it('writes a config.pbtxt that parses back as inference.ModelConfig field for field', () => {
    const text = renderTritonConfig(gpuConfig, ['Written by kiln']);
    expect(text.startsWith('# Written by kiln\nname: "det_s384_fp16"\n')).toBe(true);
    expect(parseTritonConfig(text)).toEqual({
      name: 'det_s384_fp16',
      platform: 'tensorrt_plan',
      max_batch_size: 0,
      input: [{ name: 'x', data_type: 'TYPE_FP16', dims: [1, 3, 384, -1] }],
      output: [{ name: 'y', data_type: 'TYPE_FP32', dims: [1, 1, 384, 384] }],
      instance_group: [{ kind: 'KIND_GPU' }],
      cc_model_filenames: { '8.6': 'model.sm86.plan', '9.0': 'model.sm90.plan' },
      optimization: {
        execution_accelerators: {
          gpu_execution_accelerator: [
            { name: 'tensorrt', parameters: { precision_mode: 'FP16', trt_engine_cache_enable: 'true' } },
          ],
        },
      },
      parameters: {
        kiln_release: { string_value: '1.2.0' },
        kiln_artifact_keys: { string_value: 'aa,bb' },
      },
      model_warmup: [
        {
          name: 'kiln-golden-0',
          batch_size: 1,
          inputs: {
            x: { data_type: 'TYPE_FP16', dims: [1, 3, 384, 384], input_data_file: 'kiln-golden-0-x' },
          },
        },
      ],
    });
  });

  it('a batching model: max_batch_size, dims without the batch dim and dynamic_batching, as a snapshot', () => {
    const batched: TritonModelConfig = {
      name: 'det_b1to8_fp32',
      platform: 'tensorrt_plan',
      maxBatchSize: 8,
      dynamicBatching: true,
      inputs: [{ name: 'x', dataType: 'TYPE_FP32', dims: [3, 64] }],
      outputs: [{ name: 'y', dataType: 'TYPE_FP32', dims: [10] }],
      instanceKind: 'KIND_GPU',
      defaultModelFilename: 'model.plan',
      ccModelFilenames: { '8.9': 'model.plan' },
      parameters: { kiln_release: '2.0.0' },
      warmup: [
        {
          name: 'kiln-golden-0',
          inputs: [{ name: 'x', dataType: 'TYPE_FP32', dims: [3, 64], file: 'kiln-golden-0-x' }],
        },
      ],
    };
    const text = renderTritonConfig(batched);
    expect(text).toMatchInlineSnapshot(`
      "name: "det_b1to8_fp32"
      platform: "tensorrt_plan"
      max_batch_size: 8
      input {
        name: "x"
        data_type: TYPE_FP32
        dims: [3, 64]
      }
      output {
        name: "y"
        data_type: TYPE_FP32
        dims: [10]
      }
      instance_group {
        kind: KIND_GPU
      }
      default_model_filename: "model.plan"
      cc_model_filenames {
        key: "8.9"
        value: "model.plan"
      }
      dynamic_batching {
      }
      parameters {
        key: "kiln_release"
        value {
          string_value: "2.0.0"
        }
      }
      model_warmup {
        name: "kiln-golden-0"
        batch_size: 1
        inputs {
          key: "x"
          value {
            data_type: TYPE_FP32
            dims: [3, 64]
            input_data_file: "kiln-golden-0-x"
          }
        }
      }
      "
    `);
    expect(parseTritonConfig(text)).toMatchObject({ max_batch_size: 8, dynamic_batching: {} });
  });

  it('escapes any string so it reads back unchanged, and keeps the file ASCII', () => {
    const nasty = 'q"uo\'te \\ back\nline\ttab\r\u0001 é 中 🙂 \u007f end';
    const config: TritonModelConfig = {
      ...gpuConfig,
      inputs: [{ name: nasty, dataType: 'TYPE_FP32', dims: [1] }],
      parameters: { kiln_release: nasty },
      warmup: [],
    };
    const text = renderTritonConfig(config, [`header with a line break\nname: "injected"`]);
    expect(/^[\x20-\x7e\n]*$/.test(text)).toBe(true);
    const parsed = parseTritonConfig(text) as { name: string; input: { name: string }[]; parameters: object };
    expect(parsed.name).toBe('det_s384_fp16');
    expect(parsed.input[0]?.name).toBe(nasty);
    expect(parsed.parameters).toEqual({ kiln_release: { string_value: nasty } });
  });

  it('writes non-ASCII as three-digit octal escapes of its UTF-8 bytes', () => {
    expect(quoteTextString('é1')).toBe('"\\303\\2511"');
    expect(quoteTextString('a"b\\c\n')).toBe('"a\\"b\\\\c\\n"');
  });

  it('refuses names that are not identifiers and numbers that are not integers', () => {
    expect(() => formatTextMessage({ fields: [['bad name', 1]] })).toThrow(/not an identifier/);
    expect(() => formatTextMessage({ fields: [['kind', { enum: 'KIND CPU' }]] })).toThrow(/identifier/);
    expect(() => formatTextMessage({ fields: [['dims', { list: [1.5] }]] })).toThrow(/not an integer/);
  });
});
