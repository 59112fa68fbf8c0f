import { mkdir, mkdtemp, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { loadConfig, parseConfig } from '../../../src/core/io/config-load.js';
import { InputError } from '../../../src/core/errors.js';

let root: string;
let outside: string;

beforeAll(async () => {
  // Two sibling folders: the config's folder and one that config paths must never reach.
  const base = await realpath(await mkdtemp(path.join(tmpdir(), 'kiln-config-')));
  root = path.join(base, 'repo');
  outside = path.join(base, 'elsewhere');
  await mkdir(path.join(root, 'models'), { recursive: true });
  await mkdir(outside, { recursive: true });
  await writeFile(path.join(outside, 'secret.onnx'), 'not yours');
});

afterAll(async () => {
  await rm(path.dirname(root), { recursive: true, force: true });
});

/** A minimal valid kiln.yaml with `extra` appended (already indented by the caller). */
const minimal = (extra = '') => `version: 1
models:
  - name: det
    path: models/det.onnx
    profiles:
      - name: s384
        shapes: { x: [1, 3, 384, 384] }
${extra}`;

/** Parses `text` expecting an InputError; checks it is one line naming the file, returns the message. */
function configError(text: string, file = 'kiln.yaml'): string {
  let caught: unknown;
  try {
    parseConfig(text, file, root);
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(InputError);
  const message = (caught as InputError).message;
  expect(message).not.toContain('\n');
  expect(message.startsWith(`${file}`)).toBe(true);
  expect((caught as InputError).exitCode).toBe(2);
  return message;
}

describe('parseConfig on a valid config', () => {
  it('fills every default and makes paths absolute', () => {
    const config = parseConfig(minimal(), 'kiln.yaml', root);
    expect(config.version).toBe(1);
    expect(config.store).toBe('.kiln/store');
    expect(config.storeDir).toBe(path.join(root, '.kiln/store'));
    expect(config.configDir).toBe(root);
    expect(config.configPath).toBe(path.join(root, 'kiln.yaml'));
    const [model] = config.models;
    expect(model!.path).toBe(path.join(root, 'models/det.onnx'));
    expect(path.isAbsolute(model!.path)).toBe(true);
    expect(model!.precisions).toEqual(['fp32']);
    expect(model!.golden).toEqual({ samples: 4, seed: 0 });
    expect(model!.calibration).toBeUndefined();
    expect(model!.manifest).toBeUndefined();
    expect(config.targets).toEqual([
      { name: 'cpu', 'runs-on': ['self-hosted', 'linux', 'x64'], backend: 'onnxruntime-cpu' },
    ]);
    expect(config.gates).toEqual({
      golden: 'fail',
      latency: { metric: 'p99', maxRegressionPct: 10, confidence: 0.95 },
      int8SlowerThanFp32: 'warn',
    });
    expect(config.bench).toEqual({
      warmup: 5,
      minSamples: 20,
      maxSamples: 500,
      budgetMs: 3000,
      stabilityPct: 5,
      threads: 1,
    });
  });

  it('keeps explicit settings and resolves manifest, calibration, golden inputs and store', () => {
    const text = `version: 1
store: cache/engines
models:
  - name: ocr-det
    path: models/det.onnx
    manifest: models/det.manifest.yaml
    profiles:
      - name: s640
        shapes: { x: [1, 3, 640, 640] }
      - name: b1-8
        min: { x: [1, 3, 384, 384] }
        opt: { x: [4, 3, 384, 384] }
        max: { x: [8, 3, 384, 384] }
    precisions: [fp32, int8]
    calibration: { data: calib/det/, method: minmax }
    golden:
      inputs: golden/det/
      samples: 2
      tolerance: { atol: 1e-4, rtol: 1e-3, outputs: { boxes: { atol: 0.1, rtol: 0 } } }
targets:
  - name: a10g
    runs-on: [self-hosted, gpu]
    backend: tensorrt
    expect: { computeCapability: "8.6", tensorrt: "10.*" }
gates:
  golden: warn
bench: { warmup: 2 }
`;
    const config = parseConfig(text, 'kiln.yaml', root);
    const model = config.models[0]!;
    expect(config.storeDir).toBe(path.join(root, 'cache/engines'));
    expect(model.manifest).toBe(path.join(root, 'models/det.manifest.yaml'));
    expect(model.calibration).toEqual({
      data: path.join(root, 'calib/det'),
      method: 'minmax',
      percentile: 99.99,
    });
    expect(model.golden.inputs).toBe(path.join(root, 'golden/det'));
    expect(model.golden.samples).toBe(2);
    expect(model.golden.tolerance?.outputs).toEqual({ boxes: { atol: 0.1, rtol: 0 } });
    expect(model.profiles[1]).toEqual({
      name: 'b1-8',
      min: { x: [1, 3, 384, 384] },
      opt: { x: [4, 3, 384, 384] },
      max: { x: [8, 3, 384, 384] },
    });
    expect(config.targets[0]!.expect).toEqual({ computeCapability: '8.6', tensorrt: '10.*' });
    expect(config.gates.golden).toBe('warn');
    expect(config.gates.latency.metric).toBe('p99');
    expect(config.bench.warmup).toBe(2);
    expect(config.bench.maxSamples).toBe(500);
  });
});

describe('parseConfig errors: one line with file, line, key path, found value and expectation', () => {
  it('an unknown key lists the allowed keys', () => {
    const message = configError(minimal('    precision: [fp16]\n'));
    expect(message).toBe(
      'kiln.yaml:8: models[0].precision: found an unknown key, expected only name, path, manifest, profiles, precisions, calibration, golden, bench',
    );
  });

  it('a wrong type names the value and the type', () => {
    expect(configError(minimal('    golden: { samples: four }\n'))).toBe(
      'kiln.yaml:8: models[0].golden.samples: found "four", expected number',
    );
    expect(configError('version: 1\nmodels: { name: det }\n')).toBe(
      'kiln.yaml:2: models: found an object with keys name, expected a list',
    );
  });

  it('triton.release that is not a YY.MM Triton release', () => {
    expect(parseConfig(minimal('triton: { release: "25.01" }\n'), 'kiln.yaml', root).triton).toEqual({
      release: '25.01',
    });
    expect(configError(minimal('triton: { release: "r25.01" }\n'))).toMatch(
      /^kiln\.yaml:8: triton\.release: found "r25\.01", expected a Triton release like "25\.01"/,
    );
  });

  it('a misspelt enum value lists the valid ones', () => {
    const message = configError(
      minimal('targets:\n  - name: gpu\n    runs-on: [self-hosted]\n    backend: tensorrtt\n'),
    );
    expect(message).toBe(
      'kiln.yaml:11: targets[0].backend: found "tensorrtt", expected one of "onnxruntime-cpu" | "tensorrt" | "onnxruntime-gpu"',
    );
  });

  it('a tvm target is refused by name, with the backends kiln does support', () => {
    const message = configError(
      minimal('targets:\n  - name: gpu\n    runs-on: [self-hosted]\n    backend: tvm\n'),
    );
    expect(message).toBe(
      'kiln.yaml:11: targets[0].backend: found "tvm", backend \'tvm\' is not supported yet; supported: onnxruntime-cpu, tensorrt, onnxruntime-gpu',
    );
  });

  it('targets[].trt: TensorRT plan portability, defaulted, checked, and only on a tensorrt target', () => {
    const target = (backend: string, trt: string) =>
      minimal(
        `targets:\n  - name: gpu\n    runs-on: [self-hosted]\n    backend: ${backend}\n    trt: ${trt}\n`,
      );
    const config = parseConfig(target('tensorrt', '{ hardwareCompatibility: ampere+ }'), 'kiln.yaml', root);
    expect(config.targets[0]!.trt).toEqual({ hardwareCompatibility: 'ampere+', versionCompatible: false });
    expect(configError(target('tensorrt', '{ hardwareCompatibility: turing+ }'))).toBe(
      'kiln.yaml:12: targets[0].trt.hardwareCompatibility: found "turing+", expected one of "none" | "ampere+" | "same-compute-capability"',
    );
    expect(configError(target('onnxruntime-cpu', '{ versionCompatible: true }'))).toBe(
      'kiln.yaml: targets[0].trt: found a TensorRT section on backend onnxruntime-cpu, expected it only on backend tensorrt',
    );
  });

  it('a negative dim names the exact element of the shape', () => {
    const text = `version: 1
models:
  - name: det
    path: models/det.onnx
    profiles:
      - name: a
        shapes: { x: [1, 3, 384, 384] }
      - name: b
        shapes:
          x: [1, 3, -5, 384]
`;
    expect(configError(text)).toBe(
      'kiln.yaml:10: models[0].profiles[1].shapes.x[2]: found -5, expected a number > 0',
    );
  });

  it('empty profiles', () => {
    expect(configError('version: 1\nmodels:\n  - name: det\n    path: m.onnx\n    profiles: []\n')).toBe(
      'kiln.yaml:5: models[0].profiles: found [], expected a list with length >= 1',
    );
  });

  it('a ranged profile without max names the missing key (not a generic union error)', () => {
    const text = `version: 1
models:
  - name: det
    path: m.onnx
    profiles:
      - name: r
        min: { x: [1, 3] }
        opt: { x: [4, 3] }
`;
    const message = configError(text);
    expect(message).toContain('models[0].profiles[0].max: found nothing (key missing), expected');
    expect(message).not.toContain('fixed profile');
  });

  it('duplicate model, profile and target names', () => {
    const twoModels = minimal(
      '  - name: det\n    path: b.onnx\n    profiles: [{ name: p, shapes: { x: [1] } }]\n',
    );
    expect(configError(twoModels)).toBe(
      'kiln.yaml: models[1].name: found "det" twice, expected a unique model name',
    );

    const twoProfiles = minimal('      - name: s384\n        shapes: { x: [1, 3, 640, 640] }\n');
    expect(configError(twoProfiles)).toBe(
      'kiln.yaml: models[0].profiles[1].name: found "s384" twice, expected a unique profile name',
    );

    const target = '  - name: cpu\n    runs-on: linux\n    backend: onnxruntime-cpu\n';
    expect(configError(minimal(`targets:\n${target}${target}`))).toBe(
      'kiln.yaml: targets[1].name: found "cpu" twice, expected a unique target name',
    );
  });

  it('int8 without calibration', () => {
    expect(configError(minimal('    precisions: [fp32, int8]\n'))).toBe(
      'kiln.yaml: models[0].calibration: found nothing, expected calibration data for precision int8',
    );
  });

  it('invalid YAML syntax names the line', () => {
    const message = configError(minimal('    golden: { samples: 4\n'));
    expect(message).toMatch(/^kiln\.yaml:9: invalid YAML: /);
  });

  it('duplicate YAML keys are refused, not silently overwritten', () => {
    const message = configError(minimal('    path: other.onnx\n'));
    expect(message).toMatch(/^kiln\.yaml:8: invalid YAML: Map keys must be unique/);
  });

  it('version 2', () => {
    expect(configError(minimal().replace('version: 1', 'version: 2'))).toBe(
      'kiln.yaml:1: version: found 2, expected one of 1',
    );
  });

  it('an empty file or a list at the top level', () => {
    expect(configError('')).toBe('kiln.yaml: (top level): found null, expected object');
    expect(configError('- a\n')).toBe('kiln.yaml:1: (top level): found ["a"], expected object');
  });

  it('counts the further issues it did not print', () => {
    const message = configError('version: 3\nmodels: []\n');
    expect(message).toBe('kiln.yaml:1: version: found 3, expected one of 1 (+1 more)');
  });

  it('uses the display path it was given', () => {
    expect(configError(minimal().replace('version: 1', 'version: 2'), 'ci/kiln.yaml')).toMatch(
      /^ci\/kiln\.yaml:1: /,
    );
  });

  // Regression (was a bug in src/core/io/config-load.ts parseConfig): for an unknown key whose value is a block mapping the
  // line is taken from the *value* node, so the message points at the line after the key.
  it('an unknown key with a block value is reported on the line of the key', () => {
    // Line 8 is `extra:`; its value starts on line 9.
    expect(configError(minimal('extra:\n  a: 1\n'))).toMatch(/^kiln\.yaml:8: extra: found an unknown key/);
  });

  // Regression (was a bug in src/core/config-issues.ts describeExpectation, case 'invalid_format'): the schema's own
  // message for names ('a name of letters, digits, ...') is dropped; users read "expected regex".
  it('an invalid name says what a valid name looks like', () => {
    const message = configError(minimal().replace('name: det', 'name: "../det"'));
    expect(message).toContain('models[0].name: found "../det"');
    expect(message).toContain('a name of letters, digits');
  });
});

describe('paths must stay inside the config folder', () => {
  it('refuses a model path that climbs out', () => {
    expect(configError(minimal().replace('models/det.onnx', '../outside.onnx'))).toBe(
      `kiln.yaml: models[0].path: found "../outside.onnx", expected a path that stays inside ${root}`,
    );
  });

  it('refuses an absolute path', () => {
    const target = path.join(outside, 'secret.onnx');
    expect(configError(minimal().replace('models/det.onnx', target))).toBe(
      `kiln.yaml: models[0].path: found absolute path "${target}", expected a path relative to ${root}`,
    );
  });

  it('refuses a symlink inside the folder that points outside it', async () => {
    const link = path.join(root, 'models', 'linked.onnx');
    await symlink(path.join(outside, 'secret.onnx'), link);
    try {
      const message = configError(minimal().replace('models/det.onnx', 'models/linked.onnx'));
      expect(message).toContain('models[0].path: found "models/linked.onnx"');
      expect(message).toContain(`symlink to ${path.join(outside, 'secret.onnx')}`);
    } finally {
      await rm(link);
    }
  });

  it('refuses a path below a symlinked folder that points outside', async () => {
    const link = path.join(root, 'calib-link');
    await symlink(outside, link);
    try {
      const message = configError(
        minimal('    precisions: [int8]\n    calibration: { data: calib-link/not-yet-there/ }\n'),
      );
      expect(message).toContain('models[0].calibration.data: found "calib-link/not-yet-there/"');
      expect(message).toContain(`outside ${root}`);
    } finally {
      await rm(link);
    }
  });

  it('accepts a symlink that stays inside', async () => {
    const link = path.join(root, 'alias.onnx');
    await symlink(path.join(root, 'models', 'det.onnx'), link);
    try {
      const config = parseConfig(minimal().replace('models/det.onnx', 'alias.onnx'), 'kiln.yaml', root);
      expect(config.models[0]!.path).toBe(link);
    } finally {
      await rm(link);
    }
  });

  it('refuses a store that escapes the folder', () => {
    expect(configError(minimal('store: ../store\n'))).toBe(
      `kiln.yaml: store: found "../store", expected a path that stays inside ${root}`,
    );
  });

  it('refuses golden inputs and manifests that escape', () => {
    expect(configError(minimal('    golden: { inputs: ../golden }\n'))).toContain(
      'models[0].golden.inputs: found "../golden"',
    );
    expect(configError(minimal('    manifest: /etc/passwd\n'))).toContain(
      'models[0].manifest: found absolute path "/etc/passwd"',
    );
  });
});

describe('loadConfig', () => {
  it('reads the file and resolves against its folder', async () => {
    const file = path.join(root, 'kiln.yaml');
    await writeFile(file, minimal());
    const config = await loadConfig(file);
    expect(config.configPath).toBe(file);
    expect(config.models[0]!.path).toBe(path.join(root, 'models/det.onnx'));
    expect(config.storeDir).toBe(path.join(root, '.kiln/store'));
  });

  it('a missing config file is one line naming it', async () => {
    const file = path.join(root, 'nope', 'kiln.yaml');
    await expect(loadConfig(file)).rejects.toThrow(
      new InputError(`${file}: cannot read config (file not found)`),
    );
  });

  it('a folder given as the config is one line naming it', async () => {
    await expect(loadConfig(root)).rejects.toThrow(
      new InputError(`${root}: cannot read config (is a directory)`),
    );
  });

  it('errors name the file as the user gave it', async () => {
    const file = path.join(root, 'bad.yaml');
    await writeFile(file, minimal().replace('version: 1', 'version: 2'));
    await expect(loadConfig(file)).rejects.toThrow(`${file}:1: version: found 2, expected one of 1`);
  });
});

/** Mulberry32: a tiny seeded generator, so a failing key order is reproducible from its seed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The same value with every object's keys in a random order (arrays keep their order). */
function shuffleKeys(value: unknown, random: () => number): unknown {
  if (Array.isArray(value)) return value.map((v) => shuffleKeys(v, random));
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value);
  for (let i = entries.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [entries[i], entries[j]] = [entries[j]!, entries[i]!];
  }
  return Object.fromEntries(entries.map(([k, v]) => [k, shuffleKeys(v, random)]));
}

const nameArb = fc.stringMatching(/^[a-z][a-z0-9-]{0,8}$/);
const shapeArb = fc.array(fc.integer({ min: 1, max: 1024 }), { minLength: 1, maxLength: 4 });
const configArb = fc.record({
  version: fc.constant(1),
  store: fc.constantFrom('.kiln/store', 'engines'),
  models: fc.uniqueArray(
    fc.record({
      name: nameArb,
      path: nameArb.map((n) => `models/${n}.onnx`),
      profiles: fc.uniqueArray(
        fc.record({ name: nameArb, shapes: fc.record({ x: shapeArb, mask: shapeArb }) }),
        { minLength: 1, maxLength: 3, selector: (p) => p.name },
      ),
      precisions: fc.subarray(['fp32', 'fp16'], { minLength: 1 }),
      golden: fc.record({
        samples: fc.integer({ min: 1, max: 8 }),
        tolerance: fc.record({ atol: fc.constantFrom(0, 1e-4, 0.5), rtol: fc.constantFrom(0, 1e-3) }),
      }),
    }),
    { minLength: 1, maxLength: 3, selector: (m) => m.name },
  ),
  gates: fc.record({
    golden: fc.constantFrom('fail', 'warn'),
    latency: fc.record({ metric: fc.constantFrom('p50', 'p99') }),
  }),
  bench: fc.record({ warmup: fc.integer({ min: 0, max: 10 }), threads: fc.integer({ min: 1, max: 4 }) }),
});

describe('parseConfig and key order', () => {
  it('gives deep-equal results for any key order of the same config', () => {
    fc.assert(
      fc.property(configArb, fc.integer(), (config, seed) => {
        const shuffled = shuffleKeys(config, rng(seed));
        const a = parseConfig(stringify(config), 'kiln.yaml', root);
        const b = parseConfig(stringify(shuffled), 'kiln.yaml', root);
        expect(b).toEqual(a);
        expect(a.models.map((m) => m.name)).toEqual(config.models.map((m) => m.name));
      }),
      { numRuns: 100 },
    );
  });
});
