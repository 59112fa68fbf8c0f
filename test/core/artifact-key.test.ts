import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  artifactKey,
  COMPILE_OPTIONS_VERSION,
  keyDocument,
  MINIMUM_HARDWARE_FIELDS,
  type KeyInputs,
} from '../../src/core/artifact-key.js';
import { canonicalJson } from '../../src/core/canonical-json.js';
import { InputError } from '../../src/core/errors.js';
import { sha256 } from '../../src/core/hashing.js';
import { listFiles, sha256File, sha256Tree } from '../../src/core/io/file-hashing.js';

const hex = (c: string) => c.repeat(64);

const base: KeyInputs = {
  modelSha256: hex('a'),
  manifestSha256: hex('b'),
  profile: { shapes: { x: [1, 3, 384, 384] } },
  precision: 'int8',
  calibration: { dataSha256: hex('c'), method: 'percentile', percentile: 99.99 },
  backend: { name: 'tensorrt', version: '10.3.0' },
  hardware: {
    kind: 'gpu',
    computeCapability: '8.6',
    driverMajor: 550,
    cuda: '12.4',
    tensorrt: '10.3',
    isa: ['avx2', 'fma'],
  },
  compileOptions: { workspaceMb: 1024, builderOptimizationLevel: 3 },
};

describe('artifactKey', () => {
  it('is a sha256 hex digest of the canonical key document', () => {
    const key = artifactKey(base);
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    expect(key).toBe(sha256(canonicalJson(keyDocument(base))));
    expect(artifactKey(structuredClone(base))).toBe(key);
  });

  const variants: Array<[string, (k: KeyInputs) => KeyInputs]> = [
    ['model sha', (k) => ({ ...k, modelSha256: hex('d') })],
    ['manifest sha', (k) => ({ ...k, manifestSha256: hex('e') })],
    ['no manifest', (k) => ({ ...k, manifestSha256: null })],
    ['a profile dim', (k) => ({ ...k, profile: { shapes: { x: [1, 3, 640, 640] } } })],
    ['the dim order', (k) => ({ ...k, profile: { shapes: { x: [1, 3, 384, 383] } } })],
    ['the input name', (k) => ({ ...k, profile: { shapes: { image: [1, 3, 384, 384] } } })],
    ['an extra input', (k) => ({ ...k, profile: { shapes: { x: [1, 3, 384, 384], m: [1] } } })],
    [
      'fixed vs ranged',
      (k) => ({
        ...k,
        profile: { min: { x: [1, 3, 384, 384] }, opt: { x: [1, 3, 384, 384] }, max: { x: [1, 3, 384, 384] } },
      }),
    ],
    ['precision', (k) => ({ ...k, precision: 'fp16' })],
    ['int8 calibration sha', (k) => ({ ...k, calibration: { ...k.calibration!, dataSha256: hex('f') } })],
    ['int8 calibration method', (k) => ({ ...k, calibration: { ...k.calibration!, method: 'minmax' } })],
    ['int8 calibration percentile', (k) => ({ ...k, calibration: { ...k.calibration!, percentile: 99.9 } })],
    ['backend name', (k) => ({ ...k, backend: { ...k.backend, name: 'onnxruntime-gpu' } })],
    ['backend version', (k) => ({ ...k, backend: { ...k.backend, version: '10.3.1' } })],
    ['compile option value', (k) => ({ ...k, compileOptions: { ...k.compileOptions, workspaceMb: 2048 } })],
    ['an added compile option', (k) => ({ ...k, compileOptions: { ...k.compileOptions, sparsity: true } })],
  ];
  for (const field of Object.keys(base.hardware).filter((f) => !MINIMUM_HARDWARE_FIELDS.includes(f))) {
    variants.push([
      `hardware ${field}`,
      (k) => ({ ...k, hardware: { ...k.hardware, [field]: field === 'isa' ? ['avx2'] : 'other' } }),
    ]);
  }
  variants.push(['an added hardware field', (k) => ({ ...k, hardware: { ...k.hardware, gpuName: 'A10G' } })]);

  it.each(variants)('changes with %s', (_what, change) => {
    const changed = change(structuredClone(base));
    expect(artifactKey(changed)).not.toBe(artifactKey(base));
  });

  it('a driver update (driver major, its CUDA version) keeps the key: they are recorded minimums', () => {
    const newer = { ...base, hardware: { ...base.hardware, driverMajor: 560, cuda: '12.6' } };
    expect(artifactKey(newer)).toBe(artifactKey(base));
    expect(keyDocument(newer).hardware).not.toHaveProperty('driverMajor');
    expect(keyDocument(newer).hardware).not.toHaveProperty('cuda');
    expect(MINIMUM_HARDWARE_FIELDS).toEqual(['driverMajor', 'cuda']);
  });

  it('all variants give distinct keys', () => {
    const keys = new Set(variants.map(([, change]) => artifactKey(change(structuredClone(base)))));
    keys.add(artifactKey(base));
    expect(keys.size).toBe(variants.length + 1);
  });

  it('ranged profiles change with each of min, opt and max', () => {
    const ranged = (min: number, opt: number, max: number): KeyInputs => ({
      ...base,
      profile: { min: { x: [min, 3] }, opt: { x: [opt, 3] }, max: { x: [max, 3] } },
    });
    const keys = [ranged(1, 4, 8), ranged(2, 4, 8), ranged(1, 2, 8), ranged(1, 4, 16)].map(artifactKey);
    expect(new Set(keys).size).toBe(4);
  });

  it('ignores the calibration for fp32 and fp16 engines', () => {
    for (const precision of ['fp32', 'fp16'] as const) {
      const a = artifactKey({ ...base, precision });
      const b = artifactKey({
        ...base,
        precision,
        calibration: { dataSha256: hex('f'), method: 'minmax', percentile: 50 },
      });
      const c = artifactKey({ ...base, precision, calibration: null });
      expect(b).toBe(a);
      expect(c).toBe(a);
    }
  });

  it('int8 with and without calibration data differ', () => {
    expect(artifactKey({ ...base, calibration: null })).not.toBe(artifactKey(base));
  });

  it('records the kiln compile options version in the hashed document', () => {
    const doc = keyDocument(base);
    expect(doc.compileOptions).toEqual({
      ...base.compileOptions,
      kilnCompileOptionsVersion: COMPILE_OPTIONS_VERSION,
    });
    expect(doc.calibration).toEqual({ data: hex('c'), method: 'percentile', percentile: 99.99 });
    expect(keyDocument({ ...base, precision: 'fp32' }).calibration).toBeNull();
  });

  it('a compile option cannot override the kiln compile options version', () => {
    const spoofed = { ...base, compileOptions: { ...base.compileOptions, kilnCompileOptionsVersion: 0 } };
    expect(keyDocument(spoofed).compileOptions).toMatchObject({
      kilnCompileOptionsVersion: COMPILE_OPTIONS_VERSION,
    });
  });
});

/** The same value with every object's keys inserted in the order given by `order` (a permutation source). */
function reorder(value: unknown, pick: () => number): unknown {
  if (Array.isArray(value)) return value.map((v) => reorder(v, pick));
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value);
  for (let i = entries.length - 1; i > 0; i--) {
    const j = pick() % (i + 1);
    [entries[i], entries[j]] = [entries[j]!, entries[i]!];
  }
  return Object.fromEntries(entries.map(([k, v]) => [k, reorder(v, pick)]));
}

describe('key order never changes a key', () => {
  it('recursively shuffled key inputs give the same key', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(), { minLength: 1, maxLength: 64 }), (choices) => {
        let i = 0;
        const pick = () => choices[i++ % choices.length]!;
        const shuffled = reorder(base, pick) as KeyInputs;
        expect(artifactKey(shuffled)).toBe(artifactKey(base));
      }),
    );
  });

  it('canonicalJson is independent of key order for arbitrary JSON values', () => {
    const json = fc.jsonValue({ maxDepth: 4 });
    fc.assert(
      fc.property(json, fc.array(fc.nat(), { minLength: 1, maxLength: 32 }), (value, choices) => {
        let i = 0;
        const pick = () => choices[i++ % choices.length]!;
        const text = canonicalJson(value);
        expect(canonicalJson(reorder(value, pick))).toBe(text);
        // What it writes is JSON that reads back as the same value.
        expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(value)));
      }),
    );
  });
});

describe('canonicalJson', () => {
  it('sorts keys and writes no whitespace', () => {
    expect(canonicalJson({ b: 1, a: [true, null, 'x'], c: { z: 0, y: -1.5 } })).toBe(
      '{"a":[true,null,"x"],"b":1,"c":{"y":-1.5,"z":0}}',
    );
  });

  it('keeps array order', () => {
    expect(canonicalJson([2, 1])).not.toBe(canonicalJson([1, 2]));
  });

  it('drops undefined object members like JSON does', () => {
    expect(canonicalJson({ a: 1, b: undefined })).toBe('{"a":1}');
  });

  it('refuses values JSON cannot carry, naming where they are', () => {
    expect(() => canonicalJson({ a: { b: NaN } })).toThrow(
      new TypeError('canonicalJson: $.a.b is NaN, not a finite number'),
    );
    expect(() => canonicalJson([1, Infinity])).toThrow('$[1] is Infinity');
    expect(() => canonicalJson({ list: [1, undefined] })).toThrow(
      'canonicalJson: $.list[1] is a undefined, which JSON cannot carry',
    );
    expect(() => canonicalJson({ f: () => 1 })).toThrow('$.f is a function');
    expect(() => canonicalJson({ n: 10n })).toThrow('$.n is a bigint');
    expect(() => canonicalJson(Symbol('s'))).toThrow(TypeError);
  });
});

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'kiln-hash-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('sha256File', () => {
  it('matches crypto over a 5 MB file (several stream chunks)', async () => {
    const bytes = randomBytes(5 * 1024 * 1024 + 17);
    const file = path.join(dir, 'big.bin');
    await writeFile(file, bytes);
    expect(await sha256File(file)).toBe(createHash('sha256').update(bytes).digest('hex'));
  });

  it('hashes an empty file', async () => {
    const file = path.join(dir, 'empty.bin');
    await writeFile(file, '');
    expect(await sha256File(file)).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });

  it('a missing file is one InputError line naming it', async () => {
    const file = path.join(dir, 'missing.bin');
    await expect(sha256File(file)).rejects.toThrow(new InputError(`${file}: cannot read (file not found)`));
  });
});

/** Writes `files` (relative path → content) under a fresh folder, in the given order. */
async function tree(name: string, files: Array<[string, string]>): Promise<string> {
  const root = path.join(dir, name);
  for (const [rel, content] of files) {
    await mkdir(path.dirname(path.join(root, rel)), { recursive: true });
    await writeFile(path.join(root, rel), content);
  }
  return root;
}

const calib: Array<[string, string]> = [
  ['a.npy', 'alpha'],
  ['sub/b.npy', 'bravo'],
  ['sub/deeper/c.npy', 'charlie'],
  ['z.npy', 'zulu'],
];

describe('sha256Tree', () => {
  it('ignores mtimes and the order files were written in', async () => {
    const first = await tree('t-first', calib);
    const second = await tree('t-second', [...calib].reverse());
    const old = new Date('2001-01-01T00:00:00Z');
    await utimes(path.join(second, 'sub/b.npy'), old, old);
    await utimes(path.join(second, 'sub'), old, old);
    expect((await stat(path.join(second, 'sub/b.npy'))).mtime.getTime()).toBe(old.getTime());
    expect(await sha256Tree(second)).toBe(await sha256Tree(first));
    expect(await listFiles(second)).toHaveLength(4);
  });

  it('changes when a file is renamed, a byte changes or a file is added', async () => {
    const reference = await sha256Tree(await tree('t-ref', calib));

    const renamed = await tree('t-renamed', calib);
    await rename(path.join(renamed, 'z.npy'), path.join(renamed, 'y.npy'));
    expect(await sha256Tree(renamed)).not.toBe(reference);

    const moved = await tree('t-moved', calib);
    await rename(path.join(moved, 'sub/b.npy'), path.join(moved, 'b.npy'));
    expect(await sha256Tree(moved)).not.toBe(reference);

    const edited = await tree(
      't-edited',
      calib.map(([rel, c]) => [rel, rel === 'a.npy' ? 'alphb' : c]),
    );
    expect(await sha256Tree(edited)).not.toBe(reference);

    const added = await tree('t-added', [...calib, ['sub/e.npy', '']]);
    expect(await sha256Tree(added)).not.toBe(reference);
  });

  it('ignores hidden files and folders', async () => {
    const reference = await sha256Tree(await tree('t-plain', calib));
    const hidden = await tree('t-hidden', [
      ...calib,
      ['.DS_Store', 'finder'],
      ['sub/.cache', 'x'],
      ['.git/objects/ab', 'blob'],
    ]);
    expect(await sha256Tree(hidden)).toBe(reference);
    expect(await listFiles(hidden)).toEqual(
      expect.arrayContaining(['a.npy', 'sub/b.npy', 'sub/deeper/c.npy', 'z.npy']),
    );
    expect((await listFiles(hidden)).some((rel) => rel.split('/').some((p) => p.startsWith('.')))).toBe(
      false,
    );
  });

  it('a single file hashes by content, not name', async () => {
    const a = path.join(dir, 'one.npy');
    const b = path.join(dir, 'two.npy');
    await writeFile(a, 'same');
    await writeFile(b, 'same');
    expect(await sha256Tree(a)).toBe(await sha256Tree(b));
    await writeFile(b, 'diff');
    expect(await sha256Tree(a)).not.toBe(await sha256Tree(b));
  });

  it('a missing folder is one InputError line naming it', async () => {
    const missing = path.join(dir, 'no-such-calib');
    let caught: unknown;
    try {
      await sha256Tree(missing);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(InputError);
    expect((caught as Error).message).toBe(`${missing}: cannot read (ENOENT)`);
  });
});
