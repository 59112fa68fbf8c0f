import { InputError } from '../../../src/core/errors.js';
import { parseModelAtVersion } from '../../../src/store/release/release-record.js';
import { pullRelease } from '../../../src/store/oci/release.js';
import { parseAgentArgs } from '../agent-args.js';
import { deployOptions } from '../agent-specs.js';
import type { AgentCommand, AgentIo } from '../cli.js';
import { realEngineHost } from './checks.js';
import { defaultEventsDir, defaultServingRoot, writeDeployEvents } from './events.js';
import { ociReleaseSource, registryAuthFromEnv } from './oci-source.js';
import type { DeployRecord } from './record.js';
import { runRecover } from './recover-command.js';
import { CRASH_POINTS, runDeploy, type CrashPoint, type DeployDeps } from './run.js';
import { localReleaseSource, type ReleaseSource } from '../release-source.js';

/** What tests may replace: the hardware this host claims per backend, and the registry pull. */
export interface DeployCommandDeps {
  hostFingerprint?: (backend: string) => Promise<Record<string, unknown>>;
  pull?: typeof pullRelease;
}

const USAGE =
  'deploy MODEL@VERSION (--releases DIR | --oci REGISTRY/NAMESPACE [--plain-http]) [--root DIR] [--profile P] [--precision X] [--max-regression-pct 10] [--threads 1] [--min-samples 200] [--max-samples 1000] [--budget-ms 3000] [--events DIR] [--json]   pull, verify, warm up, compare p99, switch\n' +
  '  kiln-agent deploy --recover [MODEL] [--root DIR]   clean up after a deploy that crashed';

/** `kiln-agent deploy`, with injectable host hardware and registry pull for tests. */
export function createDeployCommand(deps: DeployCommandDeps = {}): AgentCommand {
  return {
    usage: USAGE,
    run: async (argv, io) => {
      const { values, positionals } = parse(argv);
      const root = values.root ?? defaultServingRoot(io.env);
      const events = values.events ?? defaultEventsDir(io.env, root);
      const print = (line: string) => (values.json ? io.stderr : io.stdout)(`${line}\n`);
      if (values.recover) {
        if (positionals.length > 1) throw new InputError('kiln-agent deploy --recover: at most one MODEL');
        const records = await runRecover(root, positionals[0], print);
        for (const record of records) await publish(record, events, io);
        if (values.json) io.stdout(`${JSON.stringify(records, null, 2)}\n`);
        return 0;
      }
      if (positionals.length !== 1) throw new InputError('kiln-agent deploy: give exactly one MODEL@VERSION');
      const { model, version } = parseModelAtVersion(positionals[0]!, 'kiln-agent deploy');
      const outcome = await runDeploy(
        {
          root,
          model,
          version,
          filter: {
            ...(values.profile ? { profile: values.profile } : {}),
            ...(values.precision ? { precision: values.precision } : {}),
          },
          threads: positiveInt(values.threads, '--threads'),
          latency: {
            warmup: 5,
            minSamples: positiveInt(values['min-samples'], '--min-samples'),
            maxSamples: positiveInt(values['max-samples'], '--max-samples'),
            budgetMs: positiveInt(values['budget-ms'], '--budget-ms'),
            stabilityPct: 5,
            metric: 'p99',
            maxRegressionPct: positiveNumber(values['max-regression-pct'], '--max-regression-pct'),
            confidence: 0.95,
          },
        },
        {
          source: releaseSource(values, io, deps),
          engines: realEngineHost(deps.hostFingerprint),
          print,
          ...crashHook(io.env),
        },
      );
      await publish(outcome.record, events, io);
      if (values.json) io.stdout(`${JSON.stringify(outcome.record, null, 2)}\n`);
      if (outcome.error) throw outcome.error;
      return 0;
    },
  };
}

/** The registered command. */
export const deployCommand: AgentCommand = createDeployCommand();

function parse(argv: string[]) {
  return parseAgentArgs('deploy', argv, deployOptions, true);
}

function releaseSource(
  values: ReturnType<typeof parse>['values'],
  io: AgentIo,
  deps: DeployCommandDeps,
): ReleaseSource {
  if (Boolean(values.releases) === Boolean(values.oci)) {
    throw new InputError('kiln-agent deploy: give one of --releases DIR or --oci REGISTRY/NAMESPACE');
  }
  if (values.releases) return localReleaseSource(values.releases);
  const auth = registryAuthFromEnv(io.env);
  return ociReleaseSource(deps.pull ?? pullRelease, {
    target: values.oci!,
    ...(auth ? { auth } : {}),
    ...(values['plain-http'] ? { plainHttp: true } : {}),
  });
}

/**
 * Test hook, not a feature: `KILN_AGENT_CRASH_AFTER=<point>` (pull, verify, load, warmup, latency,
 * rename) SIGKILLs the process right after that step, so tests can prove a crash at any point
 * leaves `current` on the old version and the next deploy recovers. No cleanup can run on SIGKILL,
 * which is the point.
 */
function crashHook(env: NodeJS.ProcessEnv): Pick<DeployDeps, 'crashAt'> {
  const at = env.KILN_AGENT_CRASH_AFTER;
  if (!at) return {};
  if (!(CRASH_POINTS as readonly string[]).includes(at)) {
    throw new InputError(`KILN_AGENT_CRASH_AFTER=${at}: expected one of ${CRASH_POINTS.join(', ')}`);
  }
  return {
    crashAt: (point: CrashPoint) => {
      if (point === at) process.kill(process.pid, 'SIGKILL');
    },
  };
}

/** Drops the record into the events spool; a spool problem is a warning, the deploy already happened. */
async function publish(record: DeployRecord, dir: string, io: AgentIo): Promise<void> {
  try {
    await writeDeployEvents(dir, record);
  } catch (error) {
    io.stderr(`kiln-agent: warning: ${(error as Error).message.split('\n')[0]}\n`);
  }
}

function positiveInt(text: string, flag: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1)
    throw new InputError(`${flag} ${text}: expected a whole number >= 1`);
  return value;
}

function positiveNumber(text: string, flag: string): number {
  const value = Number(text);
  if (!(value > 0) || !Number.isFinite(value)) throw new InputError(`${flag} ${text}: expected a number > 0`);
  return value;
}
