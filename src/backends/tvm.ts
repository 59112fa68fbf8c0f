/**
 * Apache TVM through `tvmc` (pure command builders plus a runner). The target comes from the host
 * probe: `cuda -arch=sm_86` for a GPU, `llvm -mcpu=<cpu>` for a CPU. Tuning records live in the
 * host cache under a key of everything that makes them valid (model, shapes, target).
 */
import path from 'node:path';
import { canonicalJson } from '../core/canonical-json.js';
import { InputError } from '../core/errors.js';
import { sha256 } from '../core/hashing.js';
import type { Availability, ToolRunner } from './tensorrt.js';
import { findExecutable } from './tensorrt.js';

export const TVMC = 'tvmc';

/** What the target needs from the probe. */
export type TvmTargetProbe = { kind: 'gpu'; computeCapability: string } | { kind: 'cpu'; mcpu?: string };

/** `cuda -arch=sm_86` or `llvm -mcpu=znver3` (plain `llvm` when the CPU name is unknown). */
export function tvmTarget(probe: TvmTargetProbe): string {
  if (probe.kind === 'gpu') {
    if (!/^\d+\.\d+$/.test(probe.computeCapability)) {
      throw new InputError(`tvm: compute capability '${probe.computeCapability}' is not of the form 8.6`);
    }
    return `cuda -arch=sm_${probe.computeCapability.replace('.', '')}`;
  }
  if (probe.mcpu === undefined || probe.mcpu === '') return 'llvm';
  if (!/^[\w.-]+$/.test(probe.mcpu))
    throw new InputError(`tvm: CPU name '${probe.mcpu}' is not a valid -mcpu value`);
  return `llvm -mcpu=${probe.mcpu}`;
}

/** `x:[1,3,384,384] y:[1]`: tvmc's --input-shapes, one `name:[dims]` per input, space separated. */
export function tvmcInputShapes(shapes: Readonly<Record<string, readonly number[]>>): string {
  return Object.entries(shapes)
    .map(([name, dims]) => {
      if (name === '' || /[\s[\]]/.test(name)) {
        throw new InputError(`tvm: input name '${name}' cannot be written in tvmc's --input-shapes`);
      }
      return `${name}:[${dims.join(',')}]`;
    })
    .join(' ');
}

export interface TvmcCompileArgs {
  modelPath: string;
  /** The compiled package, `<outDir>/engine.tar`. */
  outputPath: string;
  target: string;
  shapes: Readonly<Record<string, readonly number[]>>;
  /** Tuning records (from `tvmc tune`), used when present. */
  tuningRecords?: string;
}

/** `tvmc compile --target "<t>" --input-shapes "x:[1,3,384,384]" --output E.tar [--tuning-records R] M.onnx`. */
export function tvmcCompileArgs(o: TvmcCompileArgs): string[] {
  return [
    'compile',
    '--target',
    o.target,
    '--input-shapes',
    tvmcInputShapes(o.shapes),
    '--output',
    o.outputPath,
    ...(o.tuningRecords !== undefined ? ['--tuning-records', o.tuningRecords] : []),
    o.modelPath,
  ];
}

/** Host-cache path of the tuning records for one model, shape set and target. */
export function tuningRecordsPath(
  cacheDir: string,
  key: { modelSha256: string; shapes: Readonly<Record<string, readonly number[]>>; target: string },
): string {
  const digest = sha256(canonicalJson({ model: key.modelSha256, shapes: key.shapes, target: key.target }));
  return path.join(cacheDir, 'tvm-tuning', `${digest}.json`);
}

/** `tvmc --version` prints TVM's version string (e.g. `0.14.0`, `0.19.dev0`); undefined if none. */
export function parseTvmcVersion(output: string): string | undefined {
  return /\b(\d+\.\d+(?:\.\d+)?(?:\.?(?:dev|rc|post)\d*)?)\b/.exec(output)?.[1];
}

export function detectTvmc(pathEnv?: string): Availability {
  return findExecutable(TVMC, pathEnv)
    ? { available: true }
    : { available: false, reason: 'tvmc not on PATH (pip install apache-tvm, or add its bin/ to PATH)' };
}

async function runTvmc(
  runner: ToolRunner,
  args: string[],
  what: string,
  timeoutMs?: number,
): Promise<string> {
  const result = await runner(TVMC, args, timeoutMs !== undefined ? { timeoutMs } : {});
  if (result.notFound) {
    throw new InputError(`${what}: tvmc not on PATH (pip install apache-tvm; run 'kiln-agent doctor')`);
  }
  const log = `${result.stdout}\n${result.stderr}`;
  if (result.exitCode !== 0) {
    const line =
      log
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => /error/i.test(l))
        .at(-1) ?? `exit code ${result.exitCode}`;
    throw new InputError(`${what}: ${line}`, {
      cause: new Error(log.trimEnd().split('\n').slice(-40).join('\n')),
    });
  }
  return log;
}

/** TVM's version via `tvmc --version`. */
export async function tvmcVersion(runner: ToolRunner): Promise<string> {
  const log = await runTvmc(runner, ['--version'], 'tvmc --version');
  const version = parseTvmcVersion(log);
  if (version === undefined)
    throw new InputError(`tvmc --version printed no version: '${log.trim().slice(0, 80)}'`);
  return version;
}

/** Runs `tvmc compile`; failures become one InputError line naming the model. */
export async function tvmcCompile(
  runner: ToolRunner,
  args: TvmcCompileArgs,
  timeoutMs?: number,
): Promise<void> {
  await runTvmc(runner, tvmcCompileArgs(args), `${args.modelPath}: tvmc compile failed`, timeoutMs);
}
