import { readFileSync } from 'node:fs';
import os from 'node:os';

/**
 * ISA features that ONNX Runtime's MLAS kernels dispatch on. An optimized (NCHWc) model saved on one
 * CPU bakes in the block size and kernels of that CPU's widest vector unit, so these, not the CPU
 * model name, decide whether an engine is portable.
 */
const RELEVANT_FLAGS: Record<string, readonly string[]> = {
  x64: [
    'sse3',
    'ssse3',
    'sse4_1',
    'sse4_2',
    'avx',
    'avx2',
    'fma',
    'f16c',
    'avx512f',
    'avx512dq',
    'avx512bw',
    'avx512vl',
    'avx512_vnni',
    'avx512_bf16',
    'avx512_fp16',
    'avx_vnni',
    'amx_tile',
    'amx_int8',
    'amx_bf16',
  ],
  arm64: ['asimd', 'asimddp', 'asimdhp', 'fphp', 'i8mm', 'bf16', 'sve', 'sve2'],
};

/** The ISA features that decide engine portability on `arch` (empty for an unknown arch). */
export function relevantIsaFlags(arch: string): readonly string[] {
  return RELEVANT_FLAGS[arch] ?? [];
}

/** Linux names some x86 features after their code names (SSE3 was "Prescott New Instructions"). */
const LINUX_ALIASES: Record<string, string> = { pni: 'sse3' };

export interface CpuIsa {
  arch: string;
  /** Sorted relevant ISA features present. */
  features: string[];
  /** Human label, not part of the fingerprint. */
  model: string;
}

/** Reads the CPU's ISA features (Linux /proc/cpuinfo); `cpuinfo` may be injected for tests. */
export function probeCpuIsa(cpuinfo: string | undefined = readCpuinfo(), arch: string = os.arch()): CpuIsa {
  const relevant = RELEVANT_FLAGS[arch] ?? [];
  const flagsLine = cpuinfo?.split('\n').find((line) => /^(flags|Features)\s*:/.test(line));
  const present = new Set(
    (flagsLine ? flagsLine.split(':')[1]!.trim().split(/\s+/) : []).map((f) => LINUX_ALIASES[f] ?? f),
  );
  const modelLine = cpuinfo?.split('\n').find((line) => /^(model name|CPU part)\s*:/.test(line));
  return {
    arch,
    features: relevant.filter((f) => present.has(f)).sort(),
    model: modelLine?.split(':')[1]?.trim() ?? os.cpus()[0]?.model ?? 'unknown',
  };
}

function readCpuinfo(): string | undefined {
  try {
    return readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    return undefined;
  }
}
