import { realpath } from 'node:fs/promises';
import os from 'node:os';
import { probeCpuIsa } from '../cpu-isa.js';
import { InputError } from '../../core/errors.js';
import { isMissing, type CommandRunner } from './command-runner.js';
import { parseSmiList, type MigDevice } from './nvidia-smi-list.js';
import {
  classifySmiFailure,
  computeCapabilityFromName,
  firstOutputLine,
  GPU_QUERY_FIELDS,
  parseGpuQuery,
  parseSmiQuery,
  parseSmiTableHeader,
  queryArgs,
  type NvidiaGpu,
} from './nvidia-smi.js';
import {
  majorOf,
  parseLddLibraryPath,
  parseLdconfigLibrary,
  parseLdconfigLibraryPath,
  parseLdconfigNvinfer,
  parseTrtexecVersion,
  versionFromLibraryFile,
  type TensorRtVersion,
} from './tensorrt-version.js';

/** ok: ran and answered; missing: not installed; failed: installed but unusable (e.g. no driver). */
export type ToolStatus = 'ok' | 'missing' | 'failed';

export interface ProbedGpu {
  index: number;
  name: string;
  uuid: string | null;
  computeCapability: string | null;
  memoryMiB: number | null;
  migMode: 'enabled' | 'disabled' | null;
}

/** The host fingerprint `kiln-agent probe` prints (docs/agent.md "Commands"). */
export interface HostProbe {
  gpus: ProbedGpu[];
  /** MIG devices (`nvidia-smi -L`), read only when a GPU has MIG mode enabled. */
  migDevices: MigDevice[];
  driver: string | null;
  /** The highest CUDA version the driver supports, as nvidia-smi reports it. */
  cuda: string | null;
  /** The CUDA runtime installed for user space (libcudart soname, usually the major only). */
  cudaRuntime: string | null;
  tensorrt: (TensorRtVersion & { trtexecPath: string | null }) | null;
  cpu: { model: string; arch: string; isa: string[] };
  os: { platform: string; release: string };
  tools: { nvidiaSmi: ToolStatus; trtexec: ToolStatus };
  /** One line per tool that failed, in the tool's own words. */
  toolErrors: { nvidiaSmi?: string; trtexec?: string };
  /** Facts a reader should know (e.g. compute capability taken from the name table). */
  notes: string[];
}

/** Host facts that tests inject instead of reading this machine's. */
export interface ProbeHostOptions {
  cpuinfo?: string;
  arch?: string;
  platform?: string;
  release?: string;
  /** Resolves symlinks (fs.realpath by default): libnvinfer's real file name carries its version. */
  realpath?: (file: string) => Promise<string>;
}

/** TensorRT's tar/deb packages put trtexec here, off PATH (TensorRT install guide). */
export const TRTEXEC_FALLBACK_PATH = '/usr/src/tensorrt/bin/trtexec';

/** Probes the host through `runner`; absent or broken tools are reported, never thrown. */
export async function probeHost(runner: CommandRunner, options: ProbeHostOptions = {}): Promise<HostProbe> {
  const arch = options.arch ?? os.arch();
  const isa = probeCpuIsa(options.cpuinfo, arch);
  const probe: HostProbe = {
    gpus: [],
    migDevices: [],
    driver: null,
    cuda: null,
    cudaRuntime: null,
    tensorrt: null,
    cpu: { model: isa.model, arch: isa.arch, isa: isa.features },
    os: { platform: options.platform ?? os.platform(), release: options.release ?? os.release() },
    tools: { nvidiaSmi: 'missing', trtexec: 'missing' },
    toolErrors: {},
    notes: [],
  };
  await probeNvidiaSmi(runner, probe);
  await probeTensorRt(runner, probe);
  const resolve = options.realpath ?? realpath;
  await probeLoadedNvinfer(runner, probe, resolve);
  await probeLibraries(runner, probe, resolve);
  return probe;
}

async function probeNvidiaSmi(runner: CommandRunner, probe: HostProbe): Promise<void> {
  const result = await runner.run('nvidia-smi', queryArgs('gpu', GPU_QUERY_FIELDS));
  if (isMissing(result)) return;
  // Drivers before 510 reject `compute_cap`; their `-q` still lists every GPU, and NVIDIA's name
  // table supplies the compute capability.
  const oldDriver = result.exitCode !== 0 && classifySmiFailure(result) === 'field-unsupported';
  if (result.exitCode !== 0 && !oldDriver) {
    probe.tools.nvidiaSmi = 'failed';
    probe.toolErrors.nvidiaSmi = firstOutputLine(result);
    return;
  }
  probe.tools.nvidiaSmi = 'ok';
  // Only `-q` and the table banner carry the CUDA version.
  const q = await runner.run('nvidia-smi', ['-q']);
  const query = !isMissing(q) && q.exitCode === 0 ? parseSmiQuery(q.stdout) : null;
  const gpus: Omit<NvidiaGpu, 'driverVersion'>[] = oldDriver
    ? (query?.gpus ?? [])
    : parseGpuQuery(result.stdout);
  if (oldDriver)
    probe.notes.push('compute capability from NVIDIA name table: driver does not support compute_cap');
  probe.gpus = gpus.map(({ index, name, uuid, computeCapability, memoryMiB, migMode }) => ({
    index,
    name,
    uuid,
    computeCapability: computeCapability ?? computeCapabilityFromName(name),
    memoryMiB,
    migMode,
  }));
  probe.driver =
    (oldDriver ? null : parseGpuQuery(result.stdout)[0]?.driverVersion) ?? query?.driverVersion ?? null;
  probe.cuda = query?.cudaVersion ?? null;
  if (probe.gpus.some((g) => g.migMode === 'enabled')) {
    const list = await runner.run('nvidia-smi', ['-L']);
    if (!isMissing(list) && list.exitCode === 0) probe.migDevices = parseSmiList(list.stdout);
  }
  if (probe.cuda === null) {
    const table = await runner.run('nvidia-smi', []);
    if (!isMissing(table) && table.exitCode === 0) probe.cuda = parseSmiTableHeader(table.stdout).cudaVersion;
  }
}

async function probeTensorRt(runner: CommandRunner, probe: HostProbe): Promise<void> {
  for (const file of ['trtexec', TRTEXEC_FALLBACK_PATH]) {
    const result = await runner.run(file, ['--version']);
    if (isMissing(result)) continue;
    // trtexec prints its banner before rejecting an option it does not know, so a non-zero exit
    // with a version still proves a working install.
    const version = parseTrtexecVersion(`${result.stdout}\n${result.stderr}`);
    probe.tools.trtexec = version ? 'ok' : 'failed';
    if (version) probe.tensorrt = { version, source: 'trtexec', trtexecPath: file };
    else probe.toolErrors.trtexec = firstOutputLine(result);
    if (file !== 'trtexec') probe.notes.push(`trtexec found at ${file} but not on PATH`);
    return;
  }
}

/** The version behind a library path: its real file is named `libnvinfer.so.X.Y.Z`. */
async function libraryFileVersion(
  file: string,
  resolve: (file: string) => Promise<string>,
): Promise<string | null> {
  try {
    return versionFromLibraryFile(await resolve(file), 'nvinfer');
  } catch {
    return null;
  }
}

/**
 * The TensorRT that trtexec actually loads: `ldd <trtexec>` names the libnvinfer the dynamic linker
 * picks (LD_LIBRARY_PATH included), and its real file name carries the full version. trtexec's own
 * banner is only the version it was compiled against; a mismatch is noted and the library wins.
 */
async function probeLoadedNvinfer(
  runner: CommandRunner,
  probe: HostProbe,
  resolve: (file: string) => Promise<string>,
): Promise<void> {
  const trtexecPath = probe.tensorrt?.trtexecPath;
  if (!probe.tensorrt || !trtexecPath) return;
  const ldd = await runner.run('ldd', [trtexecPath]);
  const file = !isMissing(ldd) && ldd.exitCode === 0 ? parseLddLibraryPath(ldd.stdout, 'nvinfer') : null;
  const loaded = file ? await libraryFileVersion(file, resolve) : null;
  if (!loaded) {
    probe.notes.push(
      `TensorRT ${probe.tensorrt.version} is trtexec's compile-time version: the loaded libnvinfer's version could not be read (ldd ${trtexecPath})`,
    );
    return;
  }
  if (loaded !== probe.tensorrt.version) {
    probe.notes.push(
      `trtexec was compiled against TensorRT ${probe.tensorrt.version} but loads ${file} (${loaded}): keyed on ${loaded}`,
    );
  }
  probe.tensorrt = { version: loaded, source: 'libnvinfer', trtexecPath };
}

/** One `ldconfig -p` answers two questions: which CUDA runtime, and libnvinfer without trtexec. */
async function probeLibraries(
  runner: CommandRunner,
  probe: HostProbe,
  resolve: (file: string) => Promise<string>,
): Promise<void> {
  const ldconfig = await runner.run('ldconfig', ['-p']);
  if (isMissing(ldconfig) || ldconfig.exitCode !== 0) return;
  probe.cudaRuntime = parseLdconfigLibrary(ldconfig.stdout, 'cudart');
  if (probe.tensorrt) return;
  const file = parseLdconfigLibraryPath(ldconfig.stdout, 'nvinfer');
  const version =
    (file ? await libraryFileVersion(file, resolve) : null) ?? parseLdconfigNvinfer(ldconfig.stdout);
  if (version) probe.tensorrt = { version, source: 'libnvinfer', trtexecPath: null };
}

/** What makes a TensorRT engine non-portable (docs/architecture.md "Artifact key"). */
export interface GpuFingerprint {
  kind: 'gpu';
  /** nvidia-smi's product name ("NVIDIA A10G"). */
  name: string;
  computeCapability: string;
  driverMajor: number;
  /** The CUDA version the driver reports (nvidia-smi's "CUDA Version"). */
  cuda: string | null;
  tensorrt: string | null;
  /** The MIG profile ("3g.40gb") when the selector names a MIG device. */
  mig?: string;
}

/**
 * The GPU a selector names: an nvidia-smi index (PCI order) or a `GPU-…` UUID, the form
 * `kiln-agent run --gpu` leases and hands on in KILN_GPU. Throws InputError naming what exists.
 */
export function selectGpu(probe: HostProbe, selector: number | string): ProbedGpu {
  if (typeof selector === 'string' && selector.startsWith('MIG-')) {
    // The GPU query lists parent GPUs only: a MIG device is its parent plus its profile (migDevice).
    const mig = migDevice(probe, selector);
    const parent = probe.gpus.find((g) => g.index === mig.gpuIndex);
    if (!parent) throw new InputError(`MIG device ${selector}: its GPU ${mig.gpuIndex} is not listed`);
    return parent;
  }
  const gpu =
    typeof selector === 'number'
      ? probe.gpus.find((g) => g.index === selector)
      : probe.gpus.find((g) => g.uuid !== null && g.uuid.toLowerCase() === selector.toLowerCase());
  if (!gpu) {
    const have =
      probe.gpus.map((g) => (typeof selector === 'number' ? g.index : g.uuid)).join(', ') || 'none';
    const what = typeof selector === 'number' ? `index ${selector}` : `UUID ${selector}`;
    throw new InputError(`no GPU with ${what} on this host (GPUs: ${have})`);
  }
  return gpu;
}

/** The MIG device a `MIG-…` UUID names (`nvidia-smi -L`); InputError naming those there are. */
export function migDevice(probe: HostProbe, uuid: string): MigDevice {
  const found = probe.migDevices.find((d) => d.uuid.toLowerCase() === uuid.toLowerCase());
  if (!found) {
    const have = probe.migDevices.map((d) => d.uuid).join(', ') || 'none';
    throw new InputError(`no MIG device with UUID ${uuid} on this host (MIG devices: ${have})`);
  }
  return found;
}

/**
 * The hardware fingerprint for one GPU (by index or UUID, see selectGpu). Throws InputError (exit 2)
 * when the GPU is absent or its compute capability or driver is unknown: keying an engine with a
 * guess would let it load on a host it does not fit.
 */
export function gpuFingerprint(probe: HostProbe, selector: number | string): GpuFingerprint {
  const gpu = selectGpu(probe, selector);
  const gpuIndex = gpu.index;
  const driverMajor = majorOf(probe.driver);
  if (!gpu.computeCapability) {
    throw new InputError(`GPU ${gpuIndex} (${gpu.name}): compute capability unknown, cannot key an engine`);
  }
  if (driverMajor === null) throw new InputError(`GPU ${gpuIndex} (${gpu.name}): driver version unknown`);
  if (!gpu.name) throw new InputError(`GPU ${gpuIndex}: product name unknown, cannot key an engine`);
  return {
    kind: 'gpu',
    name: gpu.name,
    computeCapability: gpu.computeCapability,
    driverMajor,
    cuda: probe.cuda,
    tensorrt: probe.tensorrt?.version ?? null,
    // A MIG slice is its own engine target: SM count and memory differ per profile.
    ...(typeof selector === 'string' && selector.startsWith('MIG-')
      ? { mig: migDevice(probe, selector).profile }
      : {}),
  };
}
