import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { CommandArgs, OptionTable } from '../../src/cli/command-spec.js';
import { firstLine, InputError } from '../../src/core/errors.js';

/**
 * A kiln-agent command's own argv, parsed against the spec `kiln-agent --help` shows (one
 * declaration per flag): commands run straight from code get the same strict checks as from the
 * CLI, and an unknown flag or missing value is one line, exit 2.
 */
export function parseAgentArgs<T extends OptionTable>(
  command: string,
  argv: string[],
  options: T,
  allowPositionals = false,
): CommandArgs<T> {
  const config: NonNullable<ParseArgsConfig['options']> = {};
  for (const [name, option] of Object.entries(options)) {
    config[name] = {
      type: option.type,
      ...(option.short ? { short: option.short } : {}),
      ...(option.multiple ? { multiple: true } : {}),
      ...(option.default !== undefined ? { default: option.default } : {}),
    };
  }
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      options: config,
      strict: true,
      allowPositionals,
    });
    return { values: values as CommandArgs<T>['values'], positionals };
  } catch (error) {
    throw new InputError(`${command}: ${firstLine(error)}`, { cause: error });
  }
}
