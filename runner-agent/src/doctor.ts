import { createRequire } from 'node:module';
import path from 'node:path';
import { TRTEXEC_FALLBACK_PATH, type HostProbe } from '../../src/backends/host/host-probe.js';
import type { OrtGpuProbe } from '../../src/backends/onnxruntime/ort-gpu-probe.js';
import { ortGpuFinding } from './doctor-ort-gpu.js';
import { RUNNER_MIN_VERSION } from './labels.js';
import { majorOf } from '../../src/backends/host/tensorrt-version.js';
import type { ContainerInfo } from './gpu/container-detect.js';

/** One line of `kiln-agent doctor`: what is wrong for a backend and the one step that fixes it. */
export interface Finding {
  backend: string;
  status: 'ok' | 'missing' | 'warn';
  problem: string;
  fix: string;
}

/** Facts about the host that are not in the probe. */
export interface DoctorContext {
  /** onnxruntime-node's CUDA and TensorRT EPs, each probed with a real session (probeOrtGpuEps). */
  ortGpu: OrtGpuProbe;
  /** The actions runner's version, when known (RUNNER_VERSION or `config.sh --version`). */
  runnerVersion?: string | null;
  /** onnxruntime-node's folder as this kiln resolves it (see ortPackageDir), for the fix command. */
  ortPackageDir?: string | null;
  /** Container signs (container-detect.ts); what the interference monitor can see depends on them. */
  container?: ContainerInfo;
  /** Whether DCGM's `dcgmi` is on PATH. */
  dcgmi?: boolean;
}

/**
 * Minimum Linux driver per CUDA major for minor-version compatibility: NVIDIA CUDA Toolkit release
 * notes, "CUDA Toolkit and Minimum Required Driver Version for CUDA Minor Version Compatibility"
 * (https://docs.nvidia.com/cuda/cuda-toolkit-release-notes/index.html): 11.x >= 450.80.02,
 * 12.x >= 525.60.13, 13.x >= 580.
 */
export const MIN_DRIVER_FOR_CUDA: Record<number, string> = { 11: '450.80.02', 12: '525.60.13', 13: '580' };

const DRIVER_GUIDE = 'https://docs.nvidia.com/datacenter/tesla/driver-installation-guide/';

/** Compares dotted versions numerically (missing parts count as 0). */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map((p) => Number.parseInt(p, 10) || 0);
  const pb = b.split('.').map((p) => Number.parseInt(p, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** Every backend's state on this host, one finding each (the GPU driver and runner as their own). */
export function diagnose(probe: HostProbe, context: DoctorContext): Finding[] {
  const ok = (backend: string, problem: string): Finding => ({ backend, status: 'ok', problem, fix: '' });
  const findings: Finding[] = [ok('onnxruntime-cpu', 'embedded in kiln; always available')];
  const gpuUsable = probe.tools.nvidiaSmi === 'ok' && probe.gpus.length > 0;

  findings.push(driverFinding(probe));

  if (probe.tools.trtexec === 'ok' && probe.tensorrt?.trtexecPath === TRTEXEC_FALLBACK_PATH) {
    findings.push({
      backend: 'tensorrt',
      status: 'warn',
      problem: `trtexec ${probe.tensorrt.version} is at ${TRTEXEC_FALLBACK_PATH} but not on PATH`,
      fix: `add ${path.dirname(TRTEXEC_FALLBACK_PATH)} to PATH in the runner's .env`,
    });
  } else if (probe.tools.trtexec !== 'ok') {
    const lib = probe.tensorrt?.source === 'libnvinfer' ? ` (libnvinfer ${probe.tensorrt.version} is)` : '';
    findings.push({
      backend: 'tensorrt',
      status: 'missing',
      problem:
        probe.tools.trtexec === 'failed'
          ? `trtexec failed: ${probe.toolErrors.trtexec}`
          : `trtexec not installed${lib}`,
      fix: `install TensorRT (https://docs.nvidia.com/deeplearning/tensorrt/latest/installing-tensorrt/installing.html) and add ${path.dirname(TRTEXEC_FALLBACK_PATH)} to PATH`,
    });
  } else if (!gpuUsable) {
    findings.push({
      backend: 'tensorrt',
      status: 'missing',
      problem: 'no usable GPU',
      fix: 'fix the GPU driver first',
    });
  } else findings.push(ok('tensorrt', `TensorRT ${probe.tensorrt?.version ?? '?'} via trtexec`));

  findings.push(ortGpuFinding(probe, context.ortGpu, context.ortPackageDir));

  if (context.runnerVersion) findings.push(runnerFinding(context.runnerVersion));
  if (gpuUsable) findings.push(...interferenceFindings(probe, context));
  return findings;
}

/**
 * What `kiln-agent run`'s interference monitor can and cannot see on this host (docs/agent.md,
 * "Interference"): NVML reports host pids and parent-GPU UUIDs, whatever the caller's namespace.
 */
function interferenceFindings(probe: HostProbe, context: DoctorContext): Finding[] {
  const findings: Finding[] = [];
  const evidence = context.container?.evidence ?? [];
  if (evidence.length > 0) {
    findings.push({
      backend: 'interference',
      status: 'warn',
      problem: `running in a container (${evidence.join(', ')}): nvidia-smi reports host pids, which a container's own pid namespace cannot see, so kiln cannot tell its own GPU processes from a neighbour's (it counts every unknown pid as a neighbour, or sees none where nvidia-smi drops them)`,
      fix: 'run the runner pod with hostPID: true (docker run --pid=host), or keep other GPU work off this GPU',
    });
  }
  if (probe.gpus.some((g) => g.migMode === 'enabled')) {
    findings.push({
      backend: 'interference-mig',
      status: 'warn',
      problem:
        "MIG is enabled: nvidia-smi reports processes per parent GPU, not per MIG instance, so a process on any other instance of a leased instance's GPU counts as a neighbour",
      fix: 'lease whole GPUs for latency gates, or give each MIG GPU to one runner',
    });
  }
  if (context.dcgmi) {
    findings.push({
      backend: 'dcgm',
      status: 'ok',
      problem:
        'dcgmi found: DCGM job statistics (dcgmi stats) could attribute GPU time per process and per MIG instance; kiln does not use DCGM yet and watches with nvidia-smi',
      fix: '',
    });
  }
  return findings;
}

function driverFinding(probe: HostProbe): Finding {
  const backend = 'gpu-driver';
  if (probe.tools.nvidiaSmi === 'missing') {
    return {
      backend,
      status: 'missing',
      problem: 'nvidia-smi not found: no NVIDIA driver installed (GPU backends unavailable)',
      fix: `install the NVIDIA driver, which ships nvidia-smi (${DRIVER_GUIDE})`,
    };
  }
  if (probe.tools.nvidiaSmi === 'failed') {
    const mismatch = /version mismatch/i.test(probe.toolErrors.nvidiaSmi ?? '');
    return {
      backend,
      status: 'missing',
      problem: `the driver cannot talk to the GPU: ${probe.toolErrors.nvidiaSmi}`,
      fix: mismatch
        ? 'reboot (or reload the nvidia kernel module) so the loaded driver matches the installed one'
        : 'load the nvidia kernel module (reinstall the driver for the running kernel), then check that nvidia-smi lists the GPU',
    };
  }
  if (probe.gpus.length === 0) {
    return {
      backend,
      status: 'warn',
      problem: 'nvidia-smi lists no GPUs',
      fix: 'check that the GPU is attached',
    };
  }
  const runtimeMajor = majorOf(probe.cudaRuntime);
  const needed = runtimeMajor === null ? undefined : MIN_DRIVER_FOR_CUDA[runtimeMajor];
  if (probe.driver && needed && compareVersions(probe.driver, needed) < 0) {
    return {
      backend,
      status: 'warn',
      problem: `driver ${probe.driver} is too old for the installed CUDA ${runtimeMajor} runtime (needs >= ${needed})`,
      fix: `upgrade the NVIDIA driver to >= ${needed} (${DRIVER_GUIDE})`,
    };
  }
  return {
    backend,
    status: 'ok',
    problem: `driver ${probe.driver ?? '?'}, CUDA ${probe.cuda ?? '?'}, ${probe.gpus.length} GPU(s)`,
    fix: '',
  };
}

function runnerFinding(version: string): Finding {
  if (compareVersions(version, RUNNER_MIN_VERSION) < 0) {
    return {
      backend: 'actions-runner',
      status: 'warn',
      problem: `actions runner ${version} cannot run node24 actions (needs >= ${RUNNER_MIN_VERSION})`,
      fix: `upgrade the runner to >= ${RUNNER_MIN_VERSION} (https://github.com/actions/runner/releases)`,
    };
  }
  return { backend: 'actions-runner', status: 'ok', problem: `actions runner ${version}`, fix: '' };
}

/** The onnxruntime-node package folder this kiln loads, or null when it does not resolve. */
export function ortPackageDir(): string | null {
  try {
    return path.dirname(createRequire(import.meta.url).resolve('onnxruntime-node/package.json'));
  } catch {
    return null;
  }
}

/** The runner version from `config.sh --version` output (it prints just the version, e.g. 2.327.1). */
export function parseRunnerVersion(output: string): string | null {
  return /\b(\d+\.\d+\.\d+)\b/.exec(output)?.[1] ?? null;
}

/** One line per finding, for the terminal. */
export function formatFinding(f: Finding): string {
  const head = `${f.status.padEnd(7)} ${f.backend}: ${f.problem}`;
  return f.fix ? `${head} -- fix: ${f.fix}` : head;
}
