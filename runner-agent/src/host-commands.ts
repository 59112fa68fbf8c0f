import path from 'node:path';
import { InputError } from '../../src/core/errors.js';
import { isMissing } from '../../src/backends/host/command-runner.js';
import { probeHost, type HostProbe } from '../../src/backends/host/host-probe.js';
import type { OrtGpuProbe } from '../../src/backends/onnxruntime/ort-gpu-probe.js';
import { parseAgentArgs } from './agent-args.js';
import { doctorOptions, labelsOptions, probeOptions, registerOptions } from './agent-specs.js';
import type { AgentCommand, AgentIo } from './cli.js';
import { diagnose, formatFinding, ortPackageDir, parseRunnerVersion } from './doctor.js';
import { detectContainer, hostFacts, onPath } from './gpu/container-detect.js';
import { REGISTER_NOTE, registerCommand, runnerLabels } from './labels.js';

/** `kiln-agent probe`, `labels`, `register` and `doctor`: what this host is and what it lacks. */
export const hostCommands: Record<'probe' | 'labels' | 'register' | 'doctor', AgentCommand> = {
  probe: {
    usage: 'probe [--json]      host fingerprint: GPUs, driver, CUDA, TensorRT, CPU ISA, OS',
    run: async (argv, io) => {
      const { values } = parseAgentArgs('probe', argv, probeOptions);
      const probe = await runProbe(io);
      io.stdout(values.json ? `${JSON.stringify(probe, null, 2)}\n` : describe(probe));
      return 0;
    },
  },
  labels: {
    usage: 'labels              runner labels derived from the probe, one per line',
    run: async (argv, io) => {
      parseAgentArgs('labels', argv, labelsOptions);
      io.stdout(`${runnerLabels(await runProbe(io)).join('\n')}\n`);
      return 0;
    },
  },
  register: {
    usage: 'register --url URL --name NAME   the actions-runner config.sh line for this host',
    run: async (argv, io) => {
      const { values } = parseAgentArgs('register', argv, registerOptions);
      const url = required(values.url, '--url');
      const name = required(values.name, '--name');
      io.stdout(`${REGISTER_NOTE}\n${registerCommand(await runProbe(io), { url, name })}\n`);
      return 0;
    },
  },
  doctor: {
    usage: 'doctor [--runner-dir DIR]        what each backend is missing, with the fix',
    run: async (argv, io) => {
      const { values } = parseAgentArgs('doctor', argv, doctorOptions);
      const runnerVersion = await readRunnerVersion(io, values['runner-dir']);
      const findings = diagnose(await runProbe(io), {
        ortGpu: await probeOrtGpu(),
        ortPackageDir: ortPackageDir(),
        runnerVersion,
        container: detectContainer({ ...hostFacts, env: io.env }),
        dcgmi: onPath('dcgmi', io.env['PATH'], hostFacts.exists),
      });
      io.stdout(`${findings.map(formatFinding).join('\n')}\n`);
      // onnxruntime-cpu is embedded, so a host can always build something: missing GPU tools are
      // reported, not failed on. Only bad arguments exit non-zero (2).
      return findings.some((f) => f.backend === 'onnxruntime-cpu' && f.status === 'ok') ? 0 : 1;
    },
  },
};

/** Loads onnxruntime-node only for doctor, so probe/labels/run stay light. */
async function probeOrtGpu(): Promise<OrtGpuProbe> {
  const { probeOrtGpuEps } = await import('../../src/backends/onnxruntime/ort-gpu-probe.js');
  return probeOrtGpuEps();
}

function runProbe(io: AgentIo): Promise<HostProbe> {
  return io.probe ? io.probe() : probeHost(io.runner);
}

function required(value: string | undefined, flag: string): string {
  if (!value) throw new InputError(`${flag} is required`);
  return value;
}

/** RUNNER_VERSION (set by kiln's systemd unit) or `<runner-dir>/config.sh --version`. */
async function readRunnerVersion(io: AgentIo, runnerDir: string | undefined): Promise<string | null> {
  if (typeof runnerDir === 'string') {
    const result = await io.runner.run(path.join(runnerDir, 'config.sh'), ['--version']);
    if (isMissing(result)) throw new InputError(`--runner-dir ${runnerDir}: no config.sh there`);
    const version = parseRunnerVersion(result.stdout);
    if (!version) throw new InputError(`--runner-dir ${runnerDir}: config.sh --version printed no version`);
    return version;
  }
  return io.env['RUNNER_VERSION'] ? (parseRunnerVersion(io.env['RUNNER_VERSION']) ?? null) : null;
}

function describe(probe: HostProbe): string {
  const gpus = probe.gpus.map(
    (g) =>
      `gpu ${g.index}: ${g.name} sm${g.computeCapability ?? '?'} ${g.memoryMiB ?? '?'} MiB mig=${g.migMode ?? 'n/a'}`,
  );
  return `${[
    ...gpus,
    `driver: ${probe.driver ?? '-'}  cuda: ${probe.cuda ?? '-'}  tensorrt: ${probe.tensorrt?.version ?? '-'}`,
    `cpu: ${probe.cpu.model} (${probe.cpu.arch}: ${probe.cpu.isa.join(' ')})`,
    `os: ${probe.os.platform} ${probe.os.release}`,
    `tools: nvidia-smi ${probe.tools.nvidiaSmi}, trtexec ${probe.tools.trtexec}`,
  ].join('\n')}\n`;
}
