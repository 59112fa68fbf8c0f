import path from 'node:path';
import { firstLine, InputError, KilnError } from '../../src/core/errors.js';
import { redact, redactor } from '../../src/core/redact.js';
import { execaRunner, isMissing, type CommandRunner } from '../../src/backends/host/command-runner.js';
import {
  detectOrtGpuProviders,
  diagnose,
  formatFinding,
  ortPackageDir,
  parseRunnerVersion,
} from './doctor.js';
import { probeHost, type HostProbe } from '../../src/backends/host/host-probe.js';
import { REGISTER_NOTE, registerCommand, runnerLabels } from './labels.js';
import { runCommand } from './run-command.js';
import { serveCommand } from './serve-command.js';
import { deployCommand } from './deploy-command.js';
import { rollbackCommand } from './rollback-command.js';

/** What a command may touch; tests swap in fixtures and buffers. */
export interface AgentIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  runner: CommandRunner;
  env: NodeJS.ProcessEnv;
  /** Probe options for tests (cpuinfo etc.); the real host otherwise. */
  probe?: () => Promise<HostProbe>;
}

/** A `kiln-agent` subcommand: returns its exit code, throws KilnError for bad input. */
export interface AgentCommand {
  usage: string;
  run: (argv: string[], io: AgentIo) => Promise<number>;
}

/**
 * The dispatch table. Further subcommands may also register through addCommand.
 */
export const commands: Record<string, AgentCommand> = {
  probe: {
    usage: 'probe [--json]      host fingerprint: GPUs, driver, CUDA, TensorRT, CPU ISA, OS',
    run: async (argv, io) => {
      const flags = parseFlags(argv, { booleans: ['--json'] });
      const probe = await runProbe(io);
      io.stdout(flags['--json'] ? `${JSON.stringify(probe, null, 2)}\n` : describe(probe));
      return 0;
    },
  },
  labels: {
    usage: 'labels              runner labels derived from the probe, one per line',
    run: async (argv, io) => {
      parseFlags(argv, {});
      io.stdout(`${runnerLabels(await runProbe(io)).join('\n')}\n`);
      return 0;
    },
  },
  register: {
    usage: 'register --url URL --name NAME   the actions-runner config.sh line for this host',
    run: async (argv, io) => {
      const flags = parseFlags(argv, { values: ['--url', '--name'] });
      const url = required(flags, '--url');
      const name = required(flags, '--name');
      io.stdout(`${REGISTER_NOTE}\n${registerCommand(await runProbe(io), { url, name })}\n`);
      return 0;
    },
  },
  doctor: {
    usage: 'doctor [--runner-dir DIR]        what each backend is missing, with the fix',
    run: async (argv, io) => {
      const flags = parseFlags(argv, { values: ['--runner-dir'] });
      const runnerVersion = await readRunnerVersion(io, flags['--runner-dir']);
      const findings = diagnose(await runProbe(io), {
        ortGpuProviders: detectOrtGpuProviders(),
        ortPackageDir: ortPackageDir(),
        runnerVersion,
      });
      io.stdout(`${findings.map(formatFinding).join('\n')}\n`);
      // onnxruntime-cpu is embedded, so a host can always build something: missing GPU tools are
      // reported, not failed on. Only bad arguments exit non-zero (2).
      return findings.some((f) => f.backend === 'onnxruntime-cpu' && f.status === 'ok') ? 0 : 1;
    },
  },
  serve: serveCommand,
  run: runCommand,
  deploy: deployCommand,
  rollback: rollbackCommand,
};

/** The registration point for other modules' subcommands (`serve`, `lease`). */
export function addCommand(name: string, command: AgentCommand): void {
  if (commands[name]) throw new Error(`kiln-agent command '${name}' is already registered`);
  commands[name] = command;
}

function usage(): string {
  const lines = Object.entries(commands).map(([, c]) => `  kiln-agent ${c.usage}`);
  return `kiln-agent: the kiln runner agent\n\n${lines.join('\n')}\n\nExit codes: 0 ok, 2 invalid arguments.`;
}

/** Runs `kiln-agent` and returns its exit code; errors are one line on stderr. */
export async function main(argv: string[], io: Partial<AgentIo> = {}): Promise<number> {
  const full: AgentIo = {
    stdout: io.stdout ?? ((t) => process.stdout.write(t)),
    stderr: io.stderr ?? ((t) => process.stderr.write(t)),
    runner: io.runner ?? execaRunner(),
    env: io.env ?? process.env,
    ...(io.probe ? { probe: io.probe } : {}),
  };
  const [name, ...rest] = argv;
  if (name === '--help' || name === '-h' || name === 'help') {
    full.stdout(`${usage()}\n`);
    return 0;
  }
  const command = name === undefined ? undefined : commands[name];
  if (!command) {
    full.stderr(
      `kiln-agent: ${name === undefined ? 'missing command' : `unknown command '${name}'`} (commands: ${Object.keys(commands).join(', ')})\n`,
    );
    return 2;
  }
  redactor.addFromEnv(full.env);
  try {
    return await command.run(rest, full);
  } catch (error) {
    const known = error instanceof KilnError;
    full.stderr(redact(`kiln-agent: ${known ? '' : 'internal error: '}${firstLine(error)}\n`));
    return known ? error.exitCode : 2;
  }
}

function runProbe(io: AgentIo): Promise<HostProbe> {
  return io.probe ? io.probe() : probeHost(io.runner);
}

type Flags = Record<string, string | true | undefined>;

/** Strict flag parsing: an unknown flag or a value-less `--url` is a one-line InputError (exit 2). */
function parseFlags(argv: string[], spec: { booleans?: string[]; values?: string[] }): Flags {
  const flags: Flags = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [key, inline] = arg.includes('=')
      ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)]
      : [arg];
    if (spec.booleans?.includes(key!)) flags[key!] = true;
    else if (spec.values?.includes(key!)) {
      const value = inline ?? argv[++i];
      if (value === undefined || value === '' || value.startsWith('--'))
        throw new InputError(`${key} needs a value`);
      flags[key!] = value;
    } else throw new InputError(`unknown argument '${arg}'`);
  }
  return flags;
}

function required(flags: Flags, key: string): string {
  const value = flags[key];
  if (typeof value !== 'string') throw new InputError(`${key} is required`);
  return value;
}

/** RUNNER_VERSION (set by kiln's systemd unit) or `<runner-dir>/config.sh --version`. */
async function readRunnerVersion(io: AgentIo, runnerDir: string | true | undefined): Promise<string | null> {
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
    `tools: nvidia-smi ${probe.tools.nvidiaSmi}, trtexec ${probe.tools.trtexec}, tvmc ${probe.tools.tvmc}`,
  ].join('\n')}\n`;
}
