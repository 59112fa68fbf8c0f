import { InputError } from '../../../src/core/errors.js';
import { isMissing, type CommandRunner } from '../../../src/backends/host/command-runner.js';
import { COMPUTE_APPS_ARGS } from './gpu-process-parse.js';

/**
 * Refuses a GPU lease on a host where nvidia-smi is not installed at all. Such a run could never
 * tell a neighbour from a quiet GPU, so its latency figures would be trusted blind: that is a
 * misconfigured runner (exit 2, before any lease or child), not a transient failure. A query that
 * runs but fails (driver busy, timeout) is left to the monitor, which reports unwatched samples.
 */
export async function requireGpuQuery(
  runner: CommandRunner,
  leased: string,
  file = 'nvidia-smi',
): Promise<void> {
  const result = await runner.run(file, COMPUTE_APPS_ARGS);
  if (isMissing(result)) {
    throw new InputError(
      `--gpu ${leased}: ${file} is not installed (not found on PATH), so the leased GPU cannot be watched for neighbours; install the NVIDIA driver utilities (see kiln-agent doctor)`,
    );
  }
}
