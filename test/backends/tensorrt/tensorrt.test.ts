import { chmod, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '../../../src/core/errors.js';
import { compareHardware, describeMismatch } from '../../../src/core/hardware-match.js';
import type { HostTensor } from '../../../src/core/tensor.js';
import {
  detectTensorRt,
  findExecutable,
  IO_SUFFIX,
  TensorRtBackend,
} from '../../../src/backends/tensorrt/tensorrt.js';
import type { GpuFingerprint } from '../../../src/backends/tensorrt/tensorrt.js';
import type { CommandOutput, CommandRunner } from '../../../src/backends/host/command-runner.js';
import { writeSyntheticModels } from '../../fixtures/synthetic-models.js';

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures', 'trtexec');
const fixture = (name: string) => readFile(path.join(fixtures, name), 'utf8');
const A10G: GpuFingerprint = {
  name: 'NVIDIA A10G',
  computeCapability: '8.6',
  driverMajor: 550,
  cuda: '12.4',
  tensorrt: '10.3.0',
};

let tmp: string;
let modelPath: string;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(tmpdir(), 'kiln-trt-'));
  modelPath = (await writeSyntheticModels(path.join(tmp, 'models'))).twoHead;
});
afterAll(() => rm(tmp, { recursive: true, force: true }));

const flag = (args: readonly string[], name: string) =>
  args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);

interface Call {
  args: readonly string[];
  inputs: Record<string, Buffer>;
}

/** Replays recorded trtexec output and writes fixture files where trtexec would. */
function fakeTrtexec(
  respond: (
    args: readonly string[],
  ) => Promise<Partial<CommandOutput> & { missing?: true; writes?: Record<string, string> }>,
): { runner: CommandRunner; calls: Call[] } {
  const calls: Call[] = [];
  const run: CommandRunner['run'] = async (file, args) => {
    expect(file).toBe('trtexec');
    const inputs: Record<string, Buffer> = {};
    for (const spec of flag(args, 'loadInputs')?.split(',') ?? []) {
      const i = spec.lastIndexOf(':');
      inputs[spec.slice(0, i)] = await readFile(spec.slice(i + 1));
    }
    calls.push({ args, inputs });
    const r = await respond(args);
    for (const [target, content] of Object.entries(r.writes ?? {})) await writeFile(target, content);
    if (r.missing) return { missing: true };
    return {
      exitCode: r.exitCode ?? 0,
      stdout: r.stdout ?? '',
      stderr: r.stderr ?? '',
      ...(r.timedOut ? { timedOut: true } : {}),
    };
  };
  return { runner: { run }, calls };
}

function backend(runner: CommandRunner, fp: GpuFingerprint = A10G) {
  return new TensorRtBackend({
    runner,
    fingerprint: async () => fp,
    timingCacheDir: path.join(tmp, 'host-cache'),
    workDir: path.join(tmp, 'work'),
  });
}

async function outDir(name: string) {
  const dir = path.join(tmp, 'out', name);
  await mkdir(dir, { recursive: true });
  return dir;
}

const profile = { name: 'b1', shapes: { x: [1, 8], ids: [1, 4] } };

describe('TensorRtBackend.compile', () => {
  it('runs the trtexec build and records what built it', async () => {
    const log = await fixture('build-trt10.9-rtx3070-saveengine.log');
    const { runner, calls } = fakeTrtexec(async (args) => ({
      stdout: log,
      writes: { [flag(args, 'saveEngine')!]: 'PLAN' },
    }));
    const dir = await outDir('ok');
    const compiled = await backend(runner).compile({ modelPath, profile, precision: 'fp16', outDir: dir });
    expect(compiled.fileName).toBe('engine.plan');
    // The probe's loaded-library version names the plan; the banner (v100900) is trtexec's
    // compile-time version and is reported when it differs.
    expect(compiled.notes[0]).toContain('TensorRT 10.3.0 on sm86, built in 104.774 s');
    expect(compiled.notes).toContain(
      'trtexec was compiled against TensorRT 10.9.0 but loads libnvinfer 10.3.0: the plan belongs to 10.3.0',
    );
    const args = calls[0]!.args;
    expect(args.slice(0, 3)).toEqual([
      `--onnx=${modelPath}`,
      `--saveEngine=${path.join(dir, 'engine.plan')}`,
      '--skipInference',
    ]);
    expect(args).toContain('--shapes=x:1x8,ids:1x4');
    expect(args).toContain('--fp16');
    expect(flag(args, 'timingCacheFile')).toBe(
      path.join(tmp, 'host-cache', 'trtexec-sm86-trt10.3.0.timing-cache'),
    );
    const io = JSON.parse(await readFile(path.join(dir, `engine.plan${IO_SUFFIX}`), 'utf8'));
    expect(io.outputs.map((o: { name: string }) => o.name)).toEqual(['y', 'z']);
  });

  it('turns a failed build into one line and leaves no engine behind', async () => {
    const cases: Array<[string, RegExp]> = [
      [
        'error-parse-node-trt10.3-orin.log',
        /TensorRT failed on op Conv \(node 267 '\/model\/prediction\/layers\/layers.0\/Conv'\)$/,
      ],
      ['error-oom-trt10.3.log', /GPU ran out of memory and no engine was built \(14.42 GiB requested\)/],
      ['error-unsupported-op-trt10-parser.log', /cannot import op GridSample3D/],
    ];
    for (const [name, expected] of cases) {
      const log = await fixture(name);
      const { runner } = fakeTrtexec(async (args) => ({
        exitCode: 1,
        stdout: `${log}\n&&&& FAILED TensorRT.trtexec [TensorRT v100300] # trtexec`,
        // trtexec failing mid-build: a partial plan on disk.
        writes: { [flag(args, 'saveEngine')!]: 'PARTIAL' },
      }));
      const dir = await outDir(name);
      const error = await backend(runner)
        .compile({ modelPath, profile, precision: 'fp32', outDir: dir })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InputError);
      const message = (error as Error).message;
      expect(message.startsWith(`${modelPath}: TensorRT could not build profile 'b1' (fp32): `)).toBe(true);
      expect(message).toMatch(expected);
      expect(message).not.toContain('\n');
      expect(String((error as Error).cause)).toContain('FAILED TensorRT.trtexec');
      expect(await readdir(dir)).toEqual([]);
    }
  });

  it('says when trtexec is not on PATH', async () => {
    const { runner } = fakeTrtexec(async () => ({ missing: true }));
    await expect(
      backend(runner).compile({ modelPath, profile, precision: 'fp32', outDir: await outDir('nf') }),
    ).rejects.toThrow(/trtexec not found on PATH .*kiln-agent doctor/);
  });

  it('says when trtexec ran past its deadline, with the log tail as the cause', async () => {
    const { runner } = fakeTrtexec(async () => ({
      exitCode: 124,
      timedOut: true,
      stdout: '[I] Starting tactic search',
    }));
    const error = await backend(runner)
      .compile({ modelPath, profile, precision: 'fp32', outDir: await outDir('late') })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect((error as Error).message).toMatch(
      /TensorRT could not build .*: trtexec did not finish within \d+ s$/,
    );
    expect(String((error as Error).cause)).toContain('Starting tactic search');
  });

  it('refuses a PASSED log without an engine file', async () => {
    const log = await fixture('build-trt8.6-ranged-saveengine.log');
    const { runner } = fakeTrtexec(async () => ({ stdout: log }));
    await expect(
      backend(runner).compile({ modelPath, profile, precision: 'fp32', outDir: await outDir('noplan') }),
    ).rejects.toThrow(/reported success but wrote no engine\.plan/);
  });
});

async function storedEngine(name: string): Promise<string> {
  const dir = await outDir(name);
  const enginePath = path.join(dir, 'engine.plan');
  await writeFile(enginePath, 'PLAN');
  const io = {
    inputs: [{ name: 'x', dtype: 'float32', dims: [1, 8] }],
    outputs: ['probs_phone', 'probs_headset', 'probs_gaze'].map((n) => ({
      name: n,
      dtype: 'float32',
      dims: [],
    })),
  };
  await writeFile(`${enginePath}${IO_SUFFIX}`, JSON.stringify(io));
  return enginePath;
}

const x: HostTensor = { dtype: 'float32', shape: [1, 8], data: Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8]) };
const passed = '&&&& PASSED TensorRT.trtexec [TensorRT v100300] # trtexec';

describe('TensorRtBackend engine sessions', () => {
  it('golden run: writes raw inputs, runs --loadInputs/--exportOutput, parses the outputs', async () => {
    const output = await fixture('output-three-heads.json.txt');
    const { runner, calls } = fakeTrtexec(async (args) => ({
      stdout: passed,
      writes: { [flag(args, 'exportOutput')!]: output },
    }));
    const enginePath = await storedEngine('golden');
    const session = await backend(runner).openEngine(enginePath, { threads: 1 });
    expect(session.outputNames).toEqual(['probs_phone', 'probs_headset', 'probs_gaze']);
    const out = await session.run({ x });
    expect(out.probs_gaze!.shape).toEqual([1, 5]);
    expect(calls[0]!.args).toContain('--shapes=x:1x8');
    expect(new Float32Array(new Uint8Array(calls[0]!.inputs.x!).buffer)).toEqual(x.data);
    expect(await readdir(path.join(tmp, 'work'))).toEqual([]);
  });

  it('benchmark: per-iteration latencies from --exportTimes after the warm-up, trimmed to maxSamples', async () => {
    const times = await fixture('times-trex-mobilenet-qat.json.txt');
    const { runner, calls } = fakeTrtexec(async (args) => ({
      stdout: passed,
      writes: { [flag(args, 'exportTimes')!]: times },
    }));
    const session = await backend(runner).openEngine(await storedEngine('bench'), { threads: 1 });
    const samples = await session.benchmark!(
      { x },
      { warmup: 5, minSamples: 30, maxSamples: 3, budgetMs: 2500 },
    );
    // The recording's first six inferences start computing before 200 ms: warm-up, dropped as
    // trtexec's own summary drops them; its last record is after it.
    expect(samples).toEqual([0.448242]);
    const args = calls[0]!.args;
    expect(args).toEqual(
      expect.arrayContaining([
        '--warmUp=200',
        '--iterations=30',
        '--duration=2',
        '--useSpinWait',
        '--noDataTransfers',
      ]),
    );
    await session.bind({ x })();
    expect(calls[1]!.args).toEqual(expect.arrayContaining(['--warmUp=0', '--iterations=1', '--duration=0']));
  });

  it('an engine built elsewhere fails loudly, naming both sides', async () => {
    const log = await fixture('error-incompatible-device-trt10.log');
    const { runner } = fakeTrtexec(async () => ({ exitCode: 1, stderr: log }));
    const enginePath = await storedEngine('foreign');
    const session = await backend(runner).openEngine(enginePath, { threads: 1 });
    await expect(session.run({ x })).rejects.toThrow(
      `${enginePath}: TensorRT run failed: engine was built for compute capability 8.6, this GPU is 8.9: rebuild it on this kind of GPU`,
    );
  });

  it('refuses an engine without its io sidecar', async () => {
    const dir = await outDir('bare');
    await writeFile(path.join(dir, 'engine.plan'), 'PLAN');
    const { runner } = fakeTrtexec(async () => ({}));
    await expect(backend(runner).openEngine(path.join(dir, 'engine.plan'), { threads: 1 })).rejects.toThrow(
      /engine\.plan\.io\.json: missing/,
    );
  });

  it('the reference is the uncompiled model on ONNX Runtime CPU', async () => {
    const { runner } = fakeTrtexec(async () => ({}));
    const reference = await backend(runner).openReference(modelPath, { threads: 1 });
    expect(reference.outputNames).toEqual(['y', 'z']);
    await reference.release();
  });
});

describe('fingerprint and tags', () => {
  it('reports the GPU fingerprint and the TensorRT version', async () => {
    const { runner } = fakeTrtexec(async () => ({}));
    const b = backend(runner);
    expect(b.name).toBe('tensorrt');
    expect(b.engineExtension).toBe('plan');
    expect(await b.version()).toBe('10.3.0');
    const { name, ...rest } = A10G;
    expect(await b.hardwareFingerprint()).toEqual({ kind: 'gpu', gpu: name, ...rest });
    expect(b.supportedPrecisions()).toEqual(['fp32', 'fp16', 'int8']);
  });

  it('an A10G engine is not reused on an A40, though both are sm86', async () => {
    const a10g = await backend(fakeTrtexec(async () => ({})).runner).hardwareFingerprint();
    const a40 = await backend(fakeTrtexec(async () => ({})).runner, {
      ...A10G,
      name: 'NVIDIA A40',
    }).hardwareFingerprint();
    const mismatches = compareHardware(a10g, a40);
    expect(mismatches.map(describeMismatch)).toEqual([
      'GPU model NVIDIA A10G (engine) vs NVIDIA A40 (this host)',
    ]);
  });
});

describe('PATH detection (real)', () => {
  it('detectTensorRt looks for trtexec on PATH only', async () => {
    expect(detectTensorRt('')).toEqual({
      available: false,
      reason: expect.stringContaining('trtexec not on PATH'),
    });
    const bin = path.join(tmp, 'bin');
    await mkdir(bin, { recursive: true });
    await writeFile(path.join(bin, 'trtexec'), '#!/bin/sh\n');
    await chmod(path.join(bin, 'trtexec'), 0o755);
    expect(detectTensorRt(`/nonexistent${path.delimiter}${bin}`)).toEqual({ available: true });
    expect(findExecutable('trtexec', bin)).toBe(path.join(bin, 'trtexec'));
  });
});
