import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { summarize } from '../../../src/core/statistics.js';
import { fromFloat16Bits } from '../../../src/core/float16.js';
import {
  buildSeconds,
  explainTrtexecFailure,
  parseExportOutput,
  parseExportTimes,
  tensorrtVersionFromBanner,
  trtexecPassed,
} from '../../../src/backends/tensorrt/trtexec-output.js';

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures', 'trtexec');
const fixture = (name: string) => readFile(path.join(dir, name), 'utf8');

describe('parseExportTimes (recorded --exportTimes from NVIDIA trex tests)', () => {
  it('returns latencyMs per iteration, ready for summarize()', async () => {
    const latencies = parseExportTimes(await fixture('times-trex-mobilenet-qat.json.txt'), 'times.json');
    expect(latencies).toEqual([0.459041, 0.442369, 0.444799, 0.444416, 0.900864, 0.444512, 0.448242]);
    const stats = summarize(latencies);
    expect(stats.p50).toBeCloseTo(0.444799, 6);
  });

  it('reads computeMs (GPU compute alone) and drops warm-up records as trtexec summary does', async () => {
    const text = await fixture('times-trex-mobilenet-qat.json.txt');
    // With transfers off the recording's computeMs equals its latencyMs.
    expect(parseExportTimes(text, 't.json', { field: 'computeMs' })).toEqual(
      parseExportTimes(text, 't.json'),
    );
    // The first six records start computing at 12-15 ms, the last at 3200.77 ms.
    expect(parseExportTimes(text, 't.json', { field: 'computeMs', warmUpMs: 200 })).toEqual([0.448242]);
    expect(() => parseExportTimes(text, 't.json', { warmUpMs: 5000 })).toThrow(
      /t\.json: trtexec timing file has no iterations after the 5000 ms warm-up/,
    );
    expect(() =>
      parseExportTimes('[{"computeMs": 1}]', 't.json', { field: 'computeMs', warmUpMs: 200 }),
    ).toThrow(/entry 0 has no valid startComputeMs/);
  });

  it('names the file and the entry at fault', () => {
    expect(() => parseExportTimes('not json', 't.json')).toThrow(/t\.json: trtexec timing file is not JSON/);
    expect(() => parseExportTimes('{}', 't.json')).toThrow(/not a JSON array/);
    expect(() => parseExportTimes('[]', 't.json')).toThrow(/no iterations/);
    expect(() => parseExportTimes('[{"latencyMs": 1}, {"computeMs": 2}]', 't.json')).toThrow(
      /entry 1 has no valid latencyMs/,
    );
  });
});

describe('parseExportOutput (recorded --exportOutput)', () => {
  it('turns each output into a HostTensor with its dimensions', async () => {
    const out = parseExportOutput(await fixture('output-three-heads.json.txt'), 'out.json');
    expect(Object.keys(out)).toEqual(['probs_phone', 'probs_headset', 'probs_gaze']);
    expect(out.probs_headset!.shape).toEqual([1, 3]);
    expect(out.probs_headset!.dtype).toBe('float32');
    expect(Array.from(out.probs_headset!.data as Float32Array)).toEqual(
      [0.79014, 0.206794, 0.00306536].map(Math.fround),
    );
  });

  it('uses the engine output dtypes, including float16 bits and int64', async () => {
    const out = parseExportOutput(await fixture('output-three-heads.json.txt'), 'out.json', {
      probs_phone: 'float16',
    });
    expect(fromFloat16Bits((out.probs_phone!.data as Uint16Array)[4]!)).toBeCloseTo(0.671385, 3);
    expect(() =>
      parseExportOutput('[{"name":"i","dimensions":"2","values":[1, 2.5]}]', 'o.json', { i: 'int64' }),
    ).toThrow(/not an integer/);
    const ints = parseExportOutput('[{"name":"i","dimensions":"2","values":[1, -3]}]', 'o.json', {
      i: 'int64',
    });
    expect(Array.from(ints.i!.data as BigInt64Array)).toEqual([1n, -3n]);
  });

  it('reads the bare nan/inf tokens C++ streams print, and scalars', () => {
    const out = parseExportOutput(
      '[\n  { "name" : "y"\n  , "dimensions" : "4"\n  , "values" : [ nan, -nan, inf, -inf ]\n  }\n, { "name" : "s", "dimensions" : "", "values" : [ 7 ] }\n]',
      'o.json',
    );
    const y = Array.from(out.y!.data as Float32Array);
    expect(Number.isNaN(y[0])).toBe(true);
    expect(Number.isNaN(y[1])).toBe(true);
    expect(y.slice(2)).toEqual([Infinity, -Infinity]);
    expect(out.s!.shape).toEqual([]);
  });

  it('refuses a value count that does not match the dimensions', () => {
    expect(() => parseExportOutput('[{"name":"y","dimensions":"1x3","values":[1,2]}]', 'o.json')).toThrow(
      /o\.json: output 'y' has 2 values for dimensions 1x3 \(3 expected\)/,
    );
  });
});

describe('banner and build facts', () => {
  it('reads the TensorRT version from the &&&& banner of 8.x and 10.x', async () => {
    expect(tensorrtVersionFromBanner(await fixture('build-trt10.9-rtx3070-saveengine.log'))).toBe('10.9.0');
    expect(tensorrtVersionFromBanner(await fixture('build-trt8.6-ranged-saveengine.log'))).toBe('8.6.1');
    expect(tensorrtVersionFromBanner(await fixture('bench-trt10.3-nodatatransfers.log'))).toBe('10.3.0');
    expect(tensorrtVersionFromBanner(await fixture('error-unsupported-op-trt8.0-round.log'))).toBe('8.0.3');
    expect(tensorrtVersionFromBanner('no banner')).toBeUndefined();
  });

  it('knows PASSED from FAILED and reads the build time', async () => {
    const built = await fixture('build-trt10.9-rtx3070-saveengine.log');
    expect(trtexecPassed(built)).toBe(true);
    expect(buildSeconds(built)).toBe(104.774);
    expect(trtexecPassed(await fixture('error-static-shape-mismatch-trt8.6.log'))).toBe(false);
  });
});

describe('explainTrtexecFailure (recorded failures → one line)', () => {
  it('names op and node of a parser failure (TensorRT 10 node dump)', async () => {
    const f = explainTrtexecFailure(await fixture('error-parse-node-trt10.3-orin.log'));
    expect(f.kind).toBe('parse-failed');
    expect(f.message).toBe("TensorRT failed on op Conv (node 267 '/model/prediction/layers/layers.0/Conv')");
  });

  it("names op and node from the 10.x parser's error summary", async () => {
    const f = explainTrtexecFailure(await fixture('error-unsupported-op-trt10-parser.log'));
    expect(f.kind).toBe('unsupported-op');
    expect(f.message).toMatch(
      /^TensorRT cannot import op GridSample3D \(node 11 '\/dense_motion_network\/GridSample'\): INVALID_NODE: creator/,
    );
  });

  it('says an op has no importer/plugin when the log does not name it (8.x)', async () => {
    for (const name of ['error-unsupported-op-trt8.6.log', 'error-unsupported-op-trt8.0-round.log']) {
      const f = explainTrtexecFailure(await fixture(name));
      expect(f.kind).toBe('unsupported-op');
      expect(f.message).toMatch(
        /no importer or plugin.*importFallbackPluginImporter: Assertion failed: creator/,
      );
      expect(f.message).not.toContain('\n');
    }
  });

  it('reports out of memory with the size asked for', async () => {
    const f = explainTrtexecFailure(await fixture('error-oom-trt10.3.log'));
    expect(f.kind).toBe('out-of-memory');
    expect(f.message).toBe(
      "GPU ran out of memory and no engine was built (14.42 GiB requested): free the GPU, lower --memPoolSize workspace or the profile's max shapes",
    );
  });

  it('names both sides of an incompatible engine (device and TensorRT version)', async () => {
    expect(explainTrtexecFailure(await fixture('error-incompatible-device-trt8.log')).message).toBe(
      'engine was built for compute capability 7.5, this GPU is 8.6: rebuild it on this kind of GPU',
    );
    expect(explainTrtexecFailure(await fixture('error-incompatible-device-trt10.log')).message).toBe(
      'engine was built for compute capability 8.6, this GPU is 8.9: rebuild it on this kind of GPU',
    );
    const v = explainTrtexecFailure(await fixture('error-incompatible-version-trt8.2.log'));
    expect(v.kind).toBe('incompatible-engine');
    expect(v.message).toBe(
      'engine was built with TensorRT 8.2.1, this host runs TensorRT 8.2.3: rebuild it with this TensorRT',
    );
    expect(explainTrtexecFailure(await fixture('error-incompatible-version-trt9.log')).message).toContain(
      'built with TensorRT 9.3.0.1, this host runs TensorRT 9.2.0.5',
    );
  });

  it('reports a refused input shape', async () => {
    const f = explainTrtexecFailure(await fixture('error-static-shape-mismatch-trt8.6.log'));
    expect(f.kind).toBe('shape-mismatch');
    expect(f.message).toContain('Static dimension mismatch while setting input shape');
  });

  // Documented format only (no recorded run found): trtexec's file readers name the path.
  it('reports a missing file (documented wording, not a recorded log)', () => {
    const f = explainTrtexecFailure(
      '[E] Error opening engine file: /s/engine.plan\n&&&& FAILED TensorRT.trtexec',
    );
    expect(f).toEqual({ kind: 'missing-file', message: 'trtexec could not open a file: /s/engine.plan' });
  });

  it('falls back to the first error line', () => {
    expect(
      explainTrtexecFailure('[01/01/2025-00:00:00] [E] Something odd\n[E] Engine set up failed').message,
    ).toBe('[E] Something odd');
    expect(explainTrtexecFailure('').kind).toBe('unknown');
  });
});
