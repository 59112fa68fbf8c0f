import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { artifactKey } from '../../src/core/artifact-key.js';
import { canonicalJson } from '../../src/core/canonical-json.js';
import { sha256 } from '../../src/core/hashing.js';
import {
  compileRequest,
  compileRequestFields,
  keyInputsFor,
  type CompileSpec,
} from '../../src/pipeline/compile-spec.js';

// Files are identified by content: a model path stands for a model, a calibration data id for the
// samples loaded from it. The facts are derived from the spec the way planEngineJobs hashes files.
const facts = (spec: CompileSpec, dataId: number | null) => ({
  modelSha256: sha256(`model at ${spec.modelPath}`),
  // m2 keeps its weights in an external-data file, m1 is self-contained.
  externalDataSha256: (spec.modelPath === 'm2.onnx' ? { 'm2.data': sha256('weights of m2') } : {}) as Record<
    string,
    string
  >,
  manifestSha256: null,
  calibrationSha256: dataId === null ? null : sha256(`calibration data ${dataId}`),
  backend: { name: 'onnxruntime-cpu', version: '1.30.0' },
  hardware: { kind: 'cpu', isa: ['avx2'] },
  compileOptions: { optimization: 'all' },
});

const dims = fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 3 });
const shapes = fc.dictionary(fc.constantFrom('x', 'ids', 'mask'), dims, { minKeys: 1 });
const profile = fc.oneof(
  fc.record({ name: fc.constantFrom('a', 'b'), shapes }),
  fc.record({ name: fc.constantFrom('a', 'b'), min: shapes, opt: shapes, max: shapes }),
);

/** A compile spec as planEngineJobs makes them: calibration only on int8 engines. */
const spec = fc
  .record({
    modelPath: fc.constantFrom('m1.onnx', 'm2.onnx'),
    profile,
    precision: fc.constantFrom('fp32' as const, 'fp16' as const, 'int8' as const),
    calibration: fc.option(
      fc.record({
        dataId: fc.integer({ min: 0, max: 2 }),
        method: fc.constantFrom('minmax' as const, 'percentile' as const, 'entropy' as const),
        percentile: fc.constantFrom(99, 99.9, 99.99),
      }),
    ),
  })
  .map(({ calibration, ...rest }) => {
    const calibrated = rest.precision === 'int8' ? calibration : null;
    const value: CompileSpec = {
      ...rest,
      ...(calibrated
        ? {
            calibration: {
              samples: [{ x: { dtype: 'float32', shape: [1], data: Float32Array.of(calibrated.dataId) } }],
              method: calibrated.method,
              percentile: calibrated.percentile,
            },
          }
        : {}),
    };
    return { value, dataId: calibrated ? calibrated.dataId : null };
  });

const keyOf = (s: { value: CompileSpec; dataId: number | null }) =>
  artifactKey(keyInputsFor(s.value, facts(s.value, s.dataId)));

/** What the compiler sees, less labels (profile name) and the staging folder. */
const compiled = (s: { value: CompileSpec }) => {
  const { outDir: _dir, profile: p, ...request } = compileRequest(s.value, '/staging');
  const { name: _name, ...profileShapes } = p;
  return canonicalJson({ ...request, profile: profileShapes });
};

describe('the artifact key and the compile request come from one CompileSpec', () => {
  it('two specs share a key exactly when they ask the compiler for the same engine', () => {
    fc.assert(
      fc.property(spec, spec, (a, b) => {
        expect(keyOf(a) === keyOf(b)).toBe(compiled(a) === compiled(b));
      }),
      { numRuns: 500 },
    );
  });

  it('changing calibration method or percentile alone changes an int8 key (percentile → minmax is a rebuild)', () => {
    const base = {
      value: {
        modelPath: 'm1.onnx',
        profile: { name: 'a', shapes: { x: [1, 3] } },
        precision: 'int8' as const,
        calibration: { samples: [], method: 'percentile' as const, percentile: 99.99 },
      },
      dataId: 0,
    };
    const minmax = {
      ...base,
      value: { ...base.value, calibration: { ...base.value.calibration, method: 'minmax' as const } },
    };
    const p999 = {
      ...base,
      value: { ...base.value, calibration: { ...base.value.calibration, percentile: 99.9 } },
    };
    expect(new Set([keyOf(base), keyOf(minmax), keyOf(p999)]).size).toBe(3);
  });

  it('the compile request is the spec itself plus the staging folder', () => {
    fc.assert(
      fc.property(spec, (s) => {
        const request = compileRequest(s.value, '/staging/x');
        expect(request).toEqual({ ...s.value, outDir: '/staging/x' });
        expect(Object.keys(request).every((k) => k in compileRequestFields)).toBe(true);
      }),
    );
  });

  it('refuses calibration samples without a data hash to key them by', () => {
    const value: CompileSpec = {
      modelPath: 'm1.onnx',
      profile: { name: 'a', shapes: { x: [1] } },
      precision: 'int8',
      calibration: { samples: [], method: 'minmax', percentile: 99 },
    };
    expect(() => keyInputsFor(value, facts(value, null))).toThrow(/no calibration data sha256/);
  });
});
