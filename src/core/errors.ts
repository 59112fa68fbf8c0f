/**
 * Errors that the CLI turns into exit codes. The message is the one line a user sees first, so it
 * must name the file, key path or value at fault; details belong in `cause` (shown with --verbose).
 */
export class KilnError extends Error {
  readonly exitCode: 1 | 2;

  constructor(message: string, options: { cause?: unknown; exitCode?: 1 | 2 } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.exitCode = options.exitCode ?? 2;
  }
}

/** Bad input (config, model, data, arguments) or an unusable environment: exit code 2. */
export class InputError extends KilnError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { ...options, exitCode: 2 });
  }
}

/** A gate (golden or latency) failed: exit code 1. */
export class GateError extends KilnError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { ...options, exitCode: 1 });
  }
}

/** The first line of an error's message, for one-line reporting on stderr. */
export function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split('\n', 1)[0] ?? text;
}
