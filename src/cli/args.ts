import { parseArgs, type ParseArgsConfig } from 'node:util';
import { InputError } from '../core/errors.js';

// Spelled out because declaration emit (the packed .d.ts files) cannot name parseArgs' inferred type.
type ParsedCommandArgs<T extends NonNullable<ParseArgsConfig['options']>> = ReturnType<
  typeof parseArgs<{ args: string[]; options: T; allowPositionals: boolean; strict: true }>
>;

/** parseArgs with kiln's error style: an unknown flag or missing value is one line, exit 2. */
export function parseCommandArgs<T extends NonNullable<ParseArgsConfig['options']>>(
  command: string,
  argv: string[],
  options: T,
  allowPositionals = false,
): ParsedCommandArgs<T> {
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
