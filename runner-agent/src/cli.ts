import { Command } from 'commander';
import { firstLine, KilnError } from '../../src/core/errors.js';
import { redact, redactor } from '../../src/core/redact.js';
import { KILN_VERSION } from '../../src/core/io/version.js';
import type { CommandHelp } from '../../src/cli/command-spec.js';
import {
  commandFromSpec,
  configure,
  Displayed,
  UsageError,
  type ProgramOutput,
  type UsageWording,
} from '../../src/cli/program.js';
import type { CommandRunner } from '../../src/backends/host/command-runner.js';
import type { HostProbe } from '../../src/backends/host/host-probe.js';
import { AGENT_SPECS } from './agent-specs.js';

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

/** A built-in command whose module is imported only when it runs. */
function lazy(
  name: keyof typeof AGENT_SPECS,
  load: () => Promise<AgentCommand>,
): AgentCommand & { spec: CommandHelp } {
  const spec = AGENT_SPECS[name]!;
  return { usage: `${name}   ${spec.summary}`, spec, run: async (argv, io) => (await load()).run(argv, io) };
}

/**
 * The dispatch table. Further subcommands may also register through addCommand.
 */
export const commands: Record<string, AgentCommand & { spec?: CommandHelp }> = {
  probe: lazy('probe', async () => (await import('./host-commands.js')).hostCommands.probe),
  labels: lazy('labels', async () => (await import('./host-commands.js')).hostCommands.labels),
  register: lazy('register', async () => (await import('./host-commands.js')).hostCommands.register),
  doctor: lazy('doctor', async () => (await import('./host-commands.js')).hostCommands.doctor),
  serve: lazy('serve', async () => (await import('./serve-command.js')).serveCommand),
  run: lazy('run', async () => (await import('./run-command.js')).runCommand),
  deploy: lazy('deploy', async () => (await import('./deploy/command.js')).deployCommand),
  rollback: lazy('rollback', async () => (await import('./deploy/rollback-command.js')).rollbackCommand),
};

/** The registration point for other modules' subcommands (`serve`, `lease`). */
export function addCommand(name: string, command: AgentCommand): void {
  if (commands[name]) throw new Error(`kiln-agent command '${name}' is already registered`);
  commands[name] = command;
}

/** execa loads ~90 modules: only when a command really runs a tool. */
function lazyExecaRunner(): CommandRunner {
  let runner: Promise<CommandRunner> | undefined;
  return {
    run: async (file, args, options) => {
      runner ??= import('../../src/backends/host/command-runner.js').then((m) => m.execaRunner());
      return (await runner).run(file, args, options);
    },
  };
}

/** kiln-agent's wording since before commander; scripts and tests match on it. */
const AGENT_WORDING: UsageWording = {
  unknownOption: (flag) => `unknown argument '${flag}'`,
  missingValue: (_flags, long) => `${long} needs a value`,
};

/**
 * The `kiln-agent` program. Commander checks flags against each command's spec (for help and
 * did-you-mean); the command then receives its arguments as typed, exactly as before.
 */
function agentProgram(io: AgentIo, argv: string[], exited: (code: number) => void): Command {
  const out: ProgramOutput = { stdout: io.stdout, stderr: io.stderr };
  const program = configure(new Command('kiln-agent'), 'kiln-agent', out, AGENT_WORDING)
    .description('kiln-agent: the kiln runner agent')
    .version(KILN_VERSION, '--version', 'print the version and exit')
    // Everything after the command name is the command's, `--` included (`run -- kiln build`).
    .enablePositionalOptions()
    .helpCommand('help [command]', 'show help for a command')
    .configureHelp({ subcommandTerm: (command) => `${command.name()} ${command.usage()}` })
    .addHelpText('after', `\nExit codes: 0 ok, 1 failed (doctor: no usable backend), 2 invalid arguments.\n`);
  for (const [name, entry] of Object.entries(commands)) {
    const command = entry.spec
      ? commandFromSpec(entry.spec, 'kiln-agent', KILN_VERSION, out, AGENT_WORDING)
      : // Registered at run time without a spec: its arguments pass through unchecked.
        configure(new Command(name), 'kiln-agent', out, AGENT_WORDING)
          .description(entry.usage)
          .allowUnknownOption()
          .allowExcessArguments()
          .helpOption(false)
          .argument('[args...]');
    // The command gets its arguments exactly as typed: argv[0] is its name (the program has no flags of its own).
    command.action(async () => exited(await entry.run(argv.slice(1), io)));
    program.addCommand(command);
  }
  return program;
}

/** Runs `kiln-agent` and returns its exit code; errors are one line on stderr. */
export async function main(argv: string[], io: Partial<AgentIo> = {}): Promise<number> {
  const full: AgentIo = {
    stdout: io.stdout ?? ((t) => process.stdout.write(t)),
    stderr: io.stderr ?? ((t) => process.stderr.write(t)),
    runner: io.runner ?? lazyExecaRunner(),
    env: io.env ?? process.env,
    ...(io.probe ? { probe: io.probe } : {}),
  };
  let exitCode = 0;
  const [first, topic] = argv;
  if (first === undefined) {
    agentProgram(full, argv, () => undefined).outputHelp();
    full.stderr(`kiln-agent: missing command (commands: ${Object.keys(commands).join(', ')})\n`);
    return 2;
  }
  // `kiln-agent help deploy` is `kiln-agent deploy --help`; `help deplyo` gets the did-you-mean line.
  const args =
    first === 'help' && topic !== undefined && argv.length === 2
      ? commands[topic]
        ? [topic, '--help']
        : [topic]
      : argv;
  const program = agentProgram(full, args, (code) => (exitCode = code));
  redactor.addFromEnv(full.env);
  try {
    await program.parseAsync(args, { from: 'user' });
    return exitCode;
  } catch (error) {
    if (error instanceof Displayed) return error.exitCode;
    if (error instanceof UsageError) {
      full.stderr(redact(`${error.message}\n`));
      return 2;
    }
    const known = error instanceof KilnError;
    full.stderr(redact(`kiln-agent: ${known ? '' : 'internal error: '}${firstLine(error)}\n`));
    return known ? error.exitCode : 2;
  }
}
