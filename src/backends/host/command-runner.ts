import { execa } from 'execa';

/** What a finished command printed, and how it exited. */
export interface CommandOutput {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** The tool is not installed (ENOENT): a fact about the host, not an error. */
export interface CommandMissing {
  missing: true;
}

export type CommandResult = CommandOutput | CommandMissing;

/**
 * Runs host tools (nvidia-smi, trtexec, ldconfig). Probing goes through this one seam so that every
 * parser can be tested against real recorded output without the tool being installed.
 */
export interface CommandRunner {
  run(file: string, args: string[]): Promise<CommandResult>;
}

/** Narrows a result to the tool-absent case. */
export function isMissing(result: CommandResult): result is CommandMissing {
  return 'missing' in result;
}

/**
 * nvidia-smi can hang for tens of seconds when the driver is wedged; a probe must answer, so every
 * command gets a deadline and a hang reads as a failure (exit 124, like coreutils' timeout).
 */
const DEFAULT_TIMEOUT_MS = 15_000;

/** The real runner: execa without a shell, never throwing on a non-zero exit. */
export function execaRunner(options: { timeoutMs?: number } = {}): CommandRunner {
  const timeout = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return {
    async run(file, args) {
      const result = await execa(file, args, { reject: false, timeout, stdin: 'ignore', encoding: 'utf8' });
      if ((result.code ?? '') === 'ENOENT') return { missing: true };
      if (result.timedOut) {
        return {
          exitCode: 124,
          stdout: result.stdout ?? '',
          stderr: `${file} timed out after ${timeout} ms`,
        };
      }
      return {
        exitCode: result.exitCode ?? 1,
        stdout: String(result.stdout ?? ''),
        stderr: String(result.stderr ?? ''),
      };
    },
  };
}

/** One recorded answer: stdout text alone means exit 0; `'missing'` means the tool is absent. */
export type FixtureAnswer = string | Partial<CommandOutput> | 'missing';

/**
 * A runner that replays recorded output, keyed by the command line (`file arg1 arg2`) or by the file
 * name alone. Unknown commands read as missing tools, the safe default for a probe.
 */
export function fixtureRunner(map: Record<string, FixtureAnswer>): CommandRunner & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    async run(file, args) {
      const line = [file, ...args].join(' ');
      calls.push(line);
      const answer = map[line] ?? map[file];
      if (answer === undefined || answer === 'missing') return { missing: true };
      if (typeof answer === 'string') return { exitCode: 0, stdout: answer, stderr: '' };
      return { exitCode: answer.exitCode ?? 0, stdout: answer.stdout ?? '', stderr: answer.stderr ?? '' };
    },
  };
}
