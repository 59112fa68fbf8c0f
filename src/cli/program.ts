import { Command, InvalidArgumentError, Option, type CommanderError } from 'commander';
import { InputError } from '../core/errors.js';
import type { CommandHelp, OptionSpec, OptionTable } from './command-spec.js';

/** Where commander's own output goes; errors are never printed by commander, only thrown. */
export interface ProgramOutput {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

/** How a usage error is worded; kiln-agent keeps its older wording for two of them. */
export interface UsageWording {
  unknownOption: (flag: string) => string;
  missingValue: (flags: string, long: string) => string;
}

export const KILN_WORDING: UsageWording = {
  unknownOption: (flag) => `unknown option '${flag}'`,
  missingValue: (flags) => `option '${flags}' needs a value`,
};

/**
 * A usage error, already one line naming the command: `kiln build: unknown option '--modle' (did
 * you mean '--model'?)`. Printed as is (no `kiln:` prefix), exit code 2.
 */
export class UsageError extends InputError {}

/** Help or --version was printed: exit 0, or 2 when help stood in for a missing command. */
export class Displayed extends Error {
  constructor(readonly exitCode: 0 | 2) {
    super('displayed');
  }
}

/**
 * A commander command for a spec: flags with their defaults, operands, examples, `--version` and
 * `-h/--help`, with commander's printing routed to `out` and its errors turned into UsageError.
 */
export function commandFromSpec(
  spec: CommandHelp,
  where: string,
  version: string,
  out: ProgramOutput,
  wording = KILN_WORDING,
): Command {
  const command = configure(new Command(spec.name), where, out, wording).description(spec.summary);
  if (spec.operands) {
    command.argument(`[${spec.operands.name}...]`, spec.operands.description);
    const usage = spec.operands.usage;
    command.usage(usage.includes('[options]') ? usage : `${usage} [options]`);
  }
  for (const [name, option] of Object.entries(spec.options)) command.addOption(toOption(name, option));
  // `kiln publish --version V` names the release; there the flag keeps that meaning.
  if (!('version' in spec.options)) command.version(version, '--version', 'print the version and exit');
  const examples = spec.examples.map((line) => `  $ ${line}`).join('\n');
  return command.addHelpText('after', `\nExamples:\n${examples}\n`);
}

/** Output, error and exit handling shared by the program and every command. */
export function configure(
  command: Command,
  where: string,
  out: ProgramOutput,
  wording = KILN_WORDING,
): Command {
  return command
    .helpOption('-h, --help', 'show this help and exit')
    .configureOutput({ writeOut: out.stdout, writeErr: out.stderr, outputError: () => undefined })
    .showSuggestionAfterError(true)
    .exitOverride((error) => {
      if (error.exitCode === 0) throw new Displayed(0);
      if (error.code === 'commander.help') throw new Displayed(2);
      throw new UsageError(`${where}: ${usageLine(error, command, wording)}`, { cause: error });
    });
}

/** The parsed flags by their long (kebab-case) names, as the command's spec spells them. */
export function valuesOf(command: Command, options: OptionTable): Record<string, unknown> {
  const parsed = command.opts();
  const values: Record<string, unknown> = {};
  for (const option of command.options) {
    const name = option.long?.slice(2);
    if (name && name in options && parsed[option.attributeName()] !== undefined) {
      values[name] = parsed[option.attributeName()];
    }
  }
  return values;
}

function toOption(name: string, spec: OptionSpec): Option {
  const flags = `${spec.short ? `-${spec.short}, ` : ''}--${name}${spec.type === 'string' ? ` <${spec.value ?? 'VALUE'}>` : ''}`;
  const notes = [spec.fallback ? `default: ${spec.fallback}` : '', spec.multiple ? 'repeatable' : ''].filter(
    Boolean,
  );
  const option = new Option(flags, `${spec.description}${notes.length ? ` (${notes.join('; ')})` : ''}`);
  if (spec.default !== undefined) option.default(spec.default);
  if (spec.type === 'string') {
    option.argParser(
      spec.multiple
        ? (value: string, previous: unknown) => [
            ...(Array.isArray(previous) ? previous : []),
            notAFlag(value),
          ]
        : notAFlag,
    );
  }
  return option;
}

/** `--json --verbose` must not write a file called `--verbose` (util.parseArgs refused it too). */
function notAFlag(value: string): string {
  if (/^-[^\d]/.test(value)) throw new InvalidArgumentError('it looks like a flag; the value is missing');
  return value;
}

/** Commander's two-line messages as one: `unknown option '--modle' (did you mean '--model'?)`. */
function usageLine(error: CommanderError, command: Command, wording: UsageWording): string {
  const [first = '', ...rest] = error.message.replace(/^error: /, '').split('\n');
  const hint = rest.join(' ').match(/\(Did you mean (one of )?(.+)\?\)/);
  const suggestion = hint
    ? ` (did you mean ${hint[1] ?? ''}${hint[2]!
        .split(', ')
        .map((s) => `'${s}'`)
        .join(', ')}?)`
    : '';
  if (error.code === 'commander.unknownOption') {
    return `${wording.unknownOption(first.match(/'(.*)'/)?.[1] ?? first)}${suggestion}`;
  }
  if (error.code === 'commander.optionMissingArgument' || /looks like a flag/.test(first)) {
    const flags = first.match(/option '([^']+)'/)?.[1] ?? '';
    const long = command.options.find((o) => o.flags === flags)?.long ?? flags;
    return wording.missingValue(flags, long);
  }
  if (error.code === 'commander.excessArguments') {
    const extra = command.args[command.registeredArguments.length] ?? '';
    return `unexpected argument '${extra}'${command.parent ? ` (see '${command.parent.name()} help ${command.name()}')` : ''}`;
  }
  return `${first}${suggestion}`;
}
