import { describe, expect, it } from 'vitest';
import { parsePbtxt, parseTritonConfig, tritonModelConfigType } from '../../helpers/pbtxt-parse.js';

describe('pbtxt-parse: text format against the vendored Triton model_config.proto', () => {
  it('reads maps, [a, b] lists, {} and <> messages, comments and string escapes', () => {
    const text = `# a comment line
name: "m\\"q\\\\b\\n\\303\\251\\xe4\\xb8\\xad" " tail"  # trailing comment
max_batch_size: 0
input [
  { name: "x" data_type: TYPE_FP32 dims: [1, -1, 48] },
  < name: 'ids' data_type: TYPE_INT64 dims: 4 dims: 2 >
]
cc_model_filenames { key: "8.6" value: "model.sm86.plan" }
cc_model_filenames < key: "9.0", value: "model.sm90.plan" >;
parameters { key: "kiln_release" value { string_value: "1.2.0" } }
model_warmup { name: "w" batch_size: 1 inputs { key: "x" value: { data_type: TYPE_FP32 dims: [1] zero_data: true } } }
`;
    expect(parseTritonConfig(text)).toEqual({
      name: 'm"q\\b\né中 tail',
      max_batch_size: 0,
      input: [
        { name: 'x', data_type: 'TYPE_FP32', dims: [1, -1, 48] },
        { name: 'ids', data_type: 'TYPE_INT64', dims: [4, 2] },
      ],
      cc_model_filenames: { '8.6': 'model.sm86.plan', '9.0': 'model.sm90.plan' },
      parameters: { kiln_release: { string_value: '1.2.0' } },
      model_warmup: [
        {
          name: 'w',
          batch_size: 1,
          inputs: { x: { data_type: 'TYPE_FP32', dims: [1], zero_data: true } },
        },
      ],
    });
  });

  it.each([
    ['a misspelled field', 'nmae: "m"', /unknown field 'nmae'/],
    ['a misspelled nested field', 'input { name: "x" dim: [1] }', /unknown field 'dim'/],
    ['a string where an integer goes', 'max_batch_size: "8"', /integer/],
    ['a fraction where an integer goes', 'input { dims: [1.5] }', /integer/],
    ['an int32 out of range', 'max_batch_size: 3000000000', /range/],
    ['an unknown enum name', 'input { data_type: TYPE_FP33 }', /enum/],
    ['a scalar without its colon', 'max_batch_size 1', /':'/],
    ['an unclosed message', 'input { name: "x"', /'}'/],
    ['mismatched brackets', 'input { name: "x" >', /./],
    ['an unterminated string', 'name: "m', /./],
    ['a singular field twice', 'name: "a" name: "b"', /multiple/],
    ['two members of one oneof', 'dynamic_batching {} sequence_batching {}', /multiple/],
    ['bytes that are not UTF-8 in a string', 'name: "\\377"', /UTF-8/],
  ])('refuses %s', (_what, text, message) => {
    expect(() => parsePbtxt(tritonModelConfigType(), text)).toThrow(message);
  });
});
