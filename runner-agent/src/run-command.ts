import { execa } from 'execa';
import { firstLine, InputError } from '../../src/core/errors.js';
import { parseAgentArgs } from './agent-args.js';
import { runOptions } from './agent-specs.js';
import type { AgentCommand } from './cli.js';
import { acquireGpuLease } from './gpu/gpu-lease.js';
import { requireGpuQuery } from './gpu/gpu-query-preflight.js';
import { interferenceRecord, writeInterferenceRecord } from './gpu/interference-record.js';
import { benchWithIsolation } from './gpu/bench-isolation.js';
import { leasedGpuEnv } from './gpu/leased-gpu-env.js';
import {
  InterferenceMonitor,
  nvidiaSmiSampler,
  type InterferenceReport,
} from './gpu/interference-monitor.js';
import { watchedGpu } from './gpu/mig-parent.js';
import { procProcessSource } from './gpu/process-tree.js';
import { defaultResultsDir } from './results-watcher.js';

/**
 * `kiln-agent run --gpu UUID -- kiln build ...`: runs a build or benchmark holding the GPU's
 * exclusive lease, pinned to that GPU (leasedGpuEnv), watching for foreign compute processes on it; an interfered run is retried, and
 * if every attempt was interfered the report names the neighbour instead of blaming the model.
 * Each run drops one `kiln.interference/v1` record into the results spool `kiln-agent serve` watches.
 */
export const runCommand: AgentCommand = {
  usage:
    'run --gpu UUID [--lease-dir DIR] [--retries N] [--wait-minutes M] [--results DIR] -- COMMAND...   lease + interference watch',
  run: async (argv, io) => {
    const split = argv.indexOf('--');
    if (split < 0 || split === argv.length - 1)
      throw new InputError('kiln-agent run: give the command after --');
    const { values } = parseAgentArgs('run', argv.slice(0, split), runOptions);
    const leaseDir = values['lease-dir'] ?? (io.env.KILN_AGENT_LEASES || '/var/lib/kiln-agent/leases');
    const resultsDir = values.results ?? defaultResultsDir(io.env);
    if (!values.gpu) throw new InputError('kiln-agent run: --gpu UUID is required (see kiln-agent probe)');
    const retries = Number(values.retries);
    const waitMinutes = Number(values['wait-minutes']);
    if (!Number.isInteger(retries) || retries < 0)
      throw new InputError(`--retries ${values.retries}: expected a whole number >= 0`);
    if (!(waitMinutes > 0))
      throw new InputError(`--wait-minutes ${values['wait-minutes']}: expected minutes > 0`);
    const [file, ...args] = argv.slice(split + 1);
    // Checked before taking the lease: a malformed UUID would otherwise lock a file for nothing.
    const childEnv = leasedGpuEnv(values.gpu);
    await requireGpuQuery(io.runner, values.gpu);
    const watched = await watchedGpu(values.gpu, io.runner);
    if (watched.scope === 'parent-gpu') {
      io.stderr(
        `kiln-agent: ${values.gpu} is a MIG device: nvidia-smi reports processes per parent GPU (${watched.gpuUuid}), so a process on any other instance of it counts as a neighbour\n`,
      );
    }
    const lease = await acquireGpuLease(leaseDir, values.gpu, `kiln-agent run ${file}`, {
      timeoutMs: waitMinutes * 60_000,
    });
    try {
      // The whole process tree under this agent is ours: `kiln build` runs trtexec as a grandchild.
      const monitor = new InterferenceMonitor({
        gpuUuid: watched.gpuUuid,
        sampler: nvidiaSmiSampler(io.runner),
        processes: procProcessSource(),
      });
      const outcome = await benchWithIsolation(
        async (attempt) => {
          if (attempt > 1)
            io.stderr(
              `kiln-agent: attempt ${attempt}: a foreign process used ${values.gpu} during the last run\n`,
            );
          // Not the CommandRunner: the wrapped command owns the terminal (stdio inherited, unbounded
          // output, no deadline of ours) and the monitor needs its pid while it runs.
          const child = execa(file!, args, { stdio: 'inherit', reject: false, env: childEnv });
          if (child.pid !== undefined) monitor.ignorePid(child.pid);
          return (await child).exitCode ?? 2;
        },
        monitor,
        { retries },
      );
      const blind = unwatched(outcome.reports);
      if (blind) io.stderr(`kiln-agent: could not watch ${values.gpu} for neighbours: ${blind}\n`);
      if (outcome.interfered) {
        const who = outcome.events.map(
          (e) => `${e.processName} (pid ${e.pid}${e.usedMiB === undefined ? '' : `, ${e.usedMiB} MiB`})`,
        );
        io.stderr(
          `kiln-agent: every attempt was interfered on ${values.gpu} by ${[...new Set(who)].join(', ')}: latency figures reflect the neighbour, not the model\n`,
        );
      }
      const record = interferenceRecord(
        { leased: values.gpu, watchedUuid: watched.gpuUuid, command: [file!, ...args] },
        outcome,
      );
      // The record feeds /metrics; the child's exit code is the verdict. An unwritable spool is an
      // observability fault, so it warns rather than failing (or passing) a build it did not judge.
      await writeInterferenceRecord(resultsDir, record).catch((error: unknown) =>
        io.stderr(`kiln-agent: warning: ${firstLine(error)}: /metrics will not count this run\n`),
      );
      return outcome.result;
    } finally {
      await lease.release();
    }
  },
};

/** Why the monitor could not decide, if it could not: a failed query must not read as a quiet GPU. */
function unwatched(reports: InterferenceReport[]): string | undefined {
  const failed = reports.reduce((n, r) => n + r.failedSamples, 0);
  if (failed === 0) return undefined;
  const total = failed + reports.reduce((n, r) => n + r.samples, 0);
  const last = [...reports].reverse().find((r) => r.lastError)?.lastError ?? 'unknown error';
  return `${failed} of ${total} samples failed (${last})`;
}
