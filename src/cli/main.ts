import { Command } from 'commander';
import { firstLine, KilnError } from '../core/errors.js';
import { defaultHashIndexFile, FileHashIndex, useHashIndex } from '../core/io/file-hash-index.js';
import { redact, redactor } from '../core/redact.js';
import { KILN_VERSION } from '../core/io/version.js';
import {
  commandFromSpec,
  configure,
  Displayed,
  UsageError,
  valuesOf,
  type ProgramOutput,
} from './program.js';
import { COMMANDS } from './specs/index.js';

const EPILOGUE = `
Exit codes: 0 built and passed, 1 a gate failed, 2 invalid input or unusable environment.
Add --verbose for the cause behind an error; 'kiln help <command>' for its flags and examples.
`;

/** The `kiln` program: every command's flags and help, none of their implementations. */
export function kilnProgram(out: ProgramOutput, exited: (exitCode: number) => void): Command {
  const program = configure(new Command('kiln'), 'kiln', out)
    .description(`kiln ${KILN_VERSION}: compile ONNX models into verified, cached, per-hardware engines`)
    .version(KILN_VERSION, '--version', 'print the version and exit')
    // Everything after the command name is the command's, `--` included.
    .enablePositionalOptions()
    .helpCommand('help [command]', 'show help for a command')
    // The list shows each command's own usage line (`verify <ARTIFACT>`), not its raw operands.
    .configureHelp({ subcommandTerm: (command) => `${command.name()} ${command.usage()}` })
    .addHelpText('after', EPILOGUE);
  for (const spec of COMMANDS) {
    const command = commandFromSpec(spec, `kiln ${spec.name}`, KILN_VERSION, out);
    command.action(async (operands: unknown) => {
      // ORT's own warnings with --verbose; loaded only then, since it loads onnxruntime-node.
      if (command.opts().verbose) (await import('../backends/onnxruntime/ort-log.js')).setOrtVerbose(true);
      const values = valuesOf(command, spec.options) as Parameters<typeof spec.run>[0]['values'];
      const positionals = spec.operands && Array.isArray(operands) ? (operands as string[]) : [];
      exited(await spec.run({ values, positionals }));
    });
    program.addCommand(command);
  }
  return program;
}

/**
 * Runs the CLI and returns its exit code. Errors become one line on stderr (the cause chain follows
 * only with --verbose), so CI logs and annotations show the fault first.
 */
export async function main(
  argv: string[],
  stderr: (text: string) => void = (t) => process.stderr.write(t),
): Promise<number> {
  const out: ProgramOutput = { stdout: (t) => process.stdout.write(t), stderr };
  let exitCode = 0;
  const program = kilnProgram(out, (code) => (exitCode = code));
  if (argv.length === 0) {
    program.outputHelp();
    return 2;
  }
  // `kiln help build` is `kiln build --help`; `kiln help biuld` is `kiln biuld`, for its did-you-mean line.
  const [first, topic] = argv;
  const args =
    first === 'help' && topic !== undefined && argv.length === 2
      ? COMMANDS.some((c) => c.name === topic)
        ? [topic, '--help']
        : [topic]
      : argv;
  redactor.addFromEnv(process.env);
  const hashes = new FileHashIndex(defaultHashIndexFile(process.env));
  useHashIndex(hashes);
  try {
    await program.parseAsync(args, { from: 'user' });
    return exitCode;
  } catch (error) {
    if (error instanceof Displayed) return error.exitCode;
    if (error instanceof UsageError) {
      stderr(redact(`${error.message}\n`));
      return 2;
    }
    const verbose = argv.includes('--verbose') || argv.includes('-v');
    const known = error instanceof KilnError;
    stderr(redact(`kiln: ${known ? '' : 'internal error: '}${firstLine(error)}\n`));
    if (verbose || !known) stderr(`${redact(describeCauses(error))}\n`);
    return known ? error.exitCode : 2;
  } finally {
    await hashes.flush();
  }
}

function describeCauses(error: unknown): string {
  const lines: string[] = [];
  for (let e: unknown = error; e !== undefined; e = e instanceof Error ? e.cause : undefined) {
    lines.push(e instanceof Error ? (e.stack ?? e.message) : String(e));
    if (lines.length > 5) break;
  }
  return lines.join('\ncaused by: ');
}
