import { execa } from 'execa';

export interface KilnRun {
  exitCode: number;
  /** The first line kiln printed as `kiln: ...` on stderr: its one-line reason for failing. */
  reason?: string;
}

/** Runs the kiln CLI installed on the runner; the Action itself never loads onnxruntime-node. */
export interface KilnRunner {
  run(args: string[]): Promise<KilnRun>;
}

/**
 * execa-backed runner: output streams to the job log as it happens, the process is killed at the
 * timeout, and a cancelled job (SIGINT/SIGTERM to the Action) cancels kiln rather than orphaning it
 * on a self-hosted machine.
 * Not backends/host/command-runner.ts: the Action may import only core (docs/architecture.md), and
 * this spawn streams to the job log and forwards cancellation, which a buffered probe runner does not.
 */
export function processKilnRunner(
  command: string[],
  options: { timeoutMs: number; cwd?: string; env?: Record<string, string> },
): KilnRunner {
  return {
    async run(args) {
      const controller = new AbortController();
      const cancel = () => controller.abort();
      process.once('SIGINT', cancel);
      process.once('SIGTERM', cancel);
      try {
        const [file, ...prefix] = command;
        const result = await execa(file!, [...prefix, ...args], {
          cwd: options.cwd,
          ...(options.env ? { env: options.env } : {}),
          reject: false,
          timeout: options.timeoutMs,
          cancelSignal: controller.signal,
          forceKillAfterDelay: 10_000,
          stdout: ['pipe', 'inherit'],
          stderr: ['pipe', 'inherit'],
          stdin: 'ignore',
        });
        if (result.timedOut)
          return {
            exitCode: 2,
            reason: `kiln ${args[0]} timed out after ${options.timeoutMs / 60_000} minutes`,
          };
        if (result.isCanceled) return { exitCode: 2, reason: `kiln ${args[0]} was cancelled with the job` };
        if (result.failed && result.exitCode === undefined) {
          return {
            exitCode: 2,
            reason: `could not run '${command.join(' ')}': ${(result.shortMessage ?? '').split('\n')[0]}`,
          };
        }
        return { exitCode: result.exitCode ?? 2, ...reasonFrom(String(result.stderr)) };
      } finally {
        process.off('SIGINT', cancel);
        process.off('SIGTERM', cancel);
      }
    },
  };
}

/** kiln's one-line error (or gate summary) from its stderr. */
export function reasonFrom(stderr: string): { reason?: string } {
  const line = stderr
    .split('\n')
    .reverse()
    .find((l) => l.startsWith('kiln: ') && !l.startsWith('kiln: warning:'));
  return line ? { reason: line.slice('kiln: '.length) } : {};
}
