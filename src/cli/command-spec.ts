/**
 * What a CLI command declares up front: its flags, operands, help and examples. Specs are plain data
 * so `kiln --help` and `kiln --version` load none of the commands' dependencies; a command's
 * implementation is imported only when that command runs.
 */

/** One flag. Numbers stay strings here: each command checks them with its own one-line error. */
export interface OptionSpec {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
  /** Repeatable (`--model a --model b`); the values arrive as an array. */
  readonly multiple?: boolean;
  /** A fixed default, given to the command when the flag is absent. */
  readonly default?: string;
  /** Placeholder for the value in help: FILE, REF, N. */
  readonly value?: string;
  readonly description: string;
  /** What an absent flag means when that is not a fixed value; help shows it as the default. */
  readonly fallback?: string;
}

/** A command's flags by long name (kebab-case, as typed). */
export type OptionTable = Readonly<Record<string, OptionSpec>>;

type ValueOf<O extends OptionSpec> = O['type'] extends 'boolean'
  ? boolean
  : O['multiple'] extends true
    ? string[]
    : string;

/** The parsed flags, keyed by long name; a flag with a default is always present. */
export type OptionValues<T extends OptionTable> = {
  -readonly [K in keyof T as T[K] extends { default: string } ? K : never]: string;
} & {
  -readonly [K in keyof T as T[K] extends { default: string } ? never : K]?: ValueOf<T[K]>;
};

/** What a command receives: its flags, and its operands in order. */
export interface CommandArgs<T extends OptionTable> {
  values: OptionValues<T>;
  positionals: string[];
}

/** Help for one command: enough to parse its flags and explain it without loading it. */
export interface CommandHelp {
  readonly name: string;
  /** One line for the command list. */
  readonly summary: string;
  /** Free operands; the command itself checks how many it got. */
  readonly operands?: { readonly name: string; readonly usage: string; readonly description: string };
  readonly options: OptionTable;
  /** Command lines a user can copy, each optionally followed by `  # what it does`. */
  readonly examples: readonly string[];
}

/** A `kiln` command: its help plus the lazily imported implementation. */
export interface CommandSpec<T extends OptionTable = OptionTable> extends CommandHelp {
  readonly options: T;
  readonly run: (args: CommandArgs<T>) => Promise<number>;
}

/** Types a spec so `run` receives exactly the flags the spec declares. */
export function defineCommand<T extends OptionTable>(spec: CommandSpec<T>): CommandSpec<T> {
  return spec;
}

/** Flags every command accepts. */
export const commonOptions = {
  verbose: {
    type: 'boolean',
    short: 'v',
    description: 'on error, print the cause chain behind the one-line message',
  },
} as const satisfies OptionTable;
