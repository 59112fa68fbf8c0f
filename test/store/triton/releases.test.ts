import { describe, expect, it } from 'vitest';
import { InputError } from '../../../src/core/errors.js';
import {
  checkEnginesForTriton,
  planTensorRtMismatch,
  TRITON_TENSORRT,
  tritonTensorRt,
} from '../../../src/store/triton/releases.js';

describe('which TensorRT plan a Triton release can load', () => {
  it('a plain plan: exactly the TensorRT that built it (major.minor.patch; the build number is not recorded)', () => {
    expect(planTensorRtMismatch('10.8.0', '10.8.0.43', false)).toBeNull();
    expect(planTensorRtMismatch('10.7.0', '10.8.0.43', false)).toMatch(/built with TensorRT 10\.7\.0/);
    expect(planTensorRtMismatch('10.9.0', '10.8.0.43', false)).toMatch(/not 10\.8\.0\.43/);
  });

  it('a version-compatible plan: the same major, built no later than the server', () => {
    expect(planTensorRtMismatch('10.3.0', '10.8.0.43', true)).toBeNull();
    expect(planTensorRtMismatch('10.9.0', '10.8.0.43', true)).toMatch(/from 10\.9\.0 on/);
    expect(planTensorRtMismatch('8.6.1', '10.8.0.43', true)).toMatch(/TensorRT 8\.x/);
  });

  it('a version kiln cannot compare (only a libnvinfer major) is refused, not guessed', () => {
    expect(planTensorRtMismatch('10', '10.8.0.43', false)).toMatch(/is not major\.minor\.patch/);
  });

  it('the table: YY.MM releases to four-part TensorRT versions, unknown releases refused by name', () => {
    for (const [release, trt] of Object.entries(TRITON_TENSORRT)) {
      expect(release).toMatch(/^\d{2}\.\d{2}$/);
      expect(trt).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    }
    expect(tritonTensorRt('25.01')).toBe('10.8.0.43');
    expect(() => tritonTensorRt('26.13')).toThrow(InputError);
  });
});

describe('checkEnginesForTriton (what publish --triton runs before writing a release)', () => {
  const plan = (tensorrt: unknown) => ({ key: 'k1', backend: 'tensorrt', hardware: { tensorrt } });

  it('ignores ONNX Runtime engines, refuses plans without a release or a TensorRT version', () => {
    const cpu = { key: 'c', backend: 'onnxruntime-cpu', hardware: {} };
    expect(() => checkEnginesForTriton([cpu], undefined, 'kiln.yaml')).not.toThrow();
    expect(() => checkEnginesForTriton([plan('10.8.0')], undefined, 'kiln.yaml')).toThrow(
      /^kiln\.yaml: engine k1 is a TensorRT plan, .*triton\.release in kiln\.yaml or --triton-release/,
    );
    expect(() => checkEnginesForTriton([plan(undefined)], '25.01', 'kiln.yaml')).toThrow(
      /engine k1 cannot be served by Triton 25\.01 \(TensorRT 10\.8\.0\.43\): its hardware tags name no TensorRT version/,
    );
    expect(() => checkEnginesForTriton([plan('10.8.0')], '25.02', 'kiln.yaml')).not.toThrow();
  });
});
