import { parseArgs, type ParseArgsConfig } from 'node:util';
import { InputError } from '../core/errors.js';

/** parseArgs with kiln's error style: an unknown flag or missing value is one line, exit 2. */
export function parseCommandArgs<T extends NonNullable<ParseArgsConfig['options']>>(
  command: string,
  argv: string[],
  options: T,
  allowPositionals = false,
) {
  try {
    return parseArgs({ args: argv, options, allowPositionals, strict: true });
  } catch (error) {
    throw new InputError(`kiln ${command}: ${(error as Error).message.split('\n', 1)[0]} (see 'kiln help')`, {
      cause: error,
    });
  }
}

/** Flags every command accepts. */
export const commonOptions = {
  verbose: { type: 'boolean', short: 'v' },
} as const;
