import { execa } from 'execa';

/** What a finished command printed, and how it exited. */
export interface CommandOutput {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** The deadline passed and the process was killed (exitCode is then 124, like coreutils' timeout). */
  timedOut?: boolean;
  /** The output passed `maxOutputBytes`: the process was killed and its output cut at the bound. */
  outputCut?: boolean;
}

/** The tool is not installed (ENOENT): a fact about the host, not an error. */
export interface CommandMissing {
  missing: true;
}

export type CommandResult = CommandOutput | CommandMissing;

/** Per-call settings; each overrides the runner's default. */
export interface RunOptions {
  /** Deadline in ms; a hang reads as a failure (exit 124). */
  timeoutMs?: number;
  cwd?: string;
  /** Bound on each of stdout and stderr; past it the process is killed (exit 1, `outputCut`). */
  maxOutputBytes?: number;
}

/**
 * Runs host tools (nvidia-smi, trtexec, ldd, ldconfig, config.sh) with an argv array, no shell,
 * never throwing on a non-zero exit. Every spawn in backends and the agent goes through this one
 * seam so that every parser can be tested against real recorded output without the tool installed.
 */
export interface CommandRunner {
  run(file: string, args: readonly string[], options?: RunOptions): Promise<CommandResult>;
}

/** Narrows a result to the tool-absent case. */
export function isMissing(result: CommandResult): result is CommandMissing {
  return 'missing' in result;
}

/**
 * nvidia-smi can hang for tens of seconds when the driver is wedged; a probe must answer, so every
 * command gets a deadline unless the caller gives its own (a TensorRT build takes minutes).
 */
const DEFAULT_TIMEOUT_MS = 15_000;
/** trtexec logs of large models run to megabytes; a tool printing more than this is broken or hostile. */
export const DEFAULT_MAX_OUTPUT_BYTES = 64 * 1024 ** 2;

/** The real runner: execa without a shell and with stdin closed. */
export function execaRunner(defaults: RunOptions = {}): CommandRunner {
  return {
    async run(file, args, options = {}) {
      const timeout = options.timeoutMs ?? defaults.timeoutMs ?? DEFAULT_TIMEOUT_MS;
      const maxBuffer = options.maxOutputBytes ?? defaults.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
      const cwd = options.cwd ?? defaults.cwd;
      const result = await execa(file, [...args], {
        reject: false,
        timeout,
        maxBuffer,
        stdin: 'ignore',
        encoding: 'utf8',
        ...(cwd !== undefined ? { cwd } : {}),
      });
      if ((result.code ?? '') === 'ENOENT') return { missing: true };
      const stdout = String(result.stdout ?? '');
      const stderr = String(result.stderr ?? '');
      const withNote = (note: string) => (stderr === '' ? note : `${stderr}\n${note}`);
      if (result.timedOut) {
        return {
          exitCode: 124,
          stdout,
          stderr: withNote(`${file} timed out after ${timeout} ms`),
          timedOut: true,
        };
      }
      if (result.isMaxBuffer) {
        const note = `${file} printed more than ${maxBuffer} bytes; stopped and its output cut there`;
        return { exitCode: 1, stdout, stderr: withNote(note), outputCut: true };
      }
      return { exitCode: result.exitCode ?? 1, stdout, stderr };
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
      return {
        ...answer,
        exitCode: answer.exitCode ?? 0,
        stdout: answer.stdout ?? '',
        stderr: answer.stderr ?? '',
      };
    },
  };
}
