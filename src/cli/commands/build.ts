import { loadConfig } from '../../core/io/config-load.js';
import { InputError } from '../../core/errors.js';
import { int8SpeedProblem } from '../../core/int8-speed.js';
import { createBackend } from '../../backends/registry.js';
import { buildTarget, type TargetBuild } from '../../pipeline/build-target.js';
import { streamProgress } from '../../pipeline/progress.js';
import type { CommandArgs } from '../command-spec.js';
import type { buildOptions } from '../specs/build.js';
import { writeJsonAtomic } from '../write-json.js';
import { HostCache } from '../../store/host-cache.js';
import { ociEngineStore, type RemoteEngineStore } from '../../store/remote-engine-store.js';
import { pickTargets } from './targets.js';
import { provenanceFromEnv } from '../../store/release/provenance.js';
import { headCommit } from '../git.js';

/**
 * `kiln build`: every model × profile × precision for the chosen targets (default: those this host
 * can run). Returns the exit code: 1 when a golden gate failed, else 0.
 */
export async function buildCommand({ values }: CommandArgs<typeof buildOptions>): Promise<number> {
  const config = await loadConfig(values.config);
  if (values.threads !== undefined) config.bench.threads = parseThreads(values.threads);
  const models = values.model ?? [];
  for (const name of models) {
    if (!config.models.some((m) => m.name === name)) {
      throw new InputError(
        `--model ${name}: no such model in ${values.config} (models: ${config.models.map((m) => m.name).join(', ')})`,
      );
    }
  }
  const targets = pickTargets(config, values.target, values.config);
  const progress = streamProgress((line) => process.stderr.write(`${line}\n`));
  const hostCache = hostCacheOption(values['host-cache']);
  const remote = remoteStoreOption(values['remote-store'], values['plain-http']);
  const provenance = provenanceFromEnv(process.env, { commit: await headCommit(config.configDir) });
  const results: TargetBuild[] = [];
  for (const target of targets) {
    const backend = await createBackend(
      target.backend,
      `${values.config}: targets[${config.targets.indexOf(target)}].backend`,
      undefined,
      target.trt,
    );
    results.push(
      await buildTarget({
        ...hostCache,
        ...remote,
        config,
        target,
        backend,
        models,
        progress,
        provenance,
        ...(values.store ? { storeDir: values.store } : {}),
      }),
    );
  }
  if (values.json) await writeJsonAtomic(values.json, results.length === 1 ? results[0] : results);
  const failed = results.flatMap((r) => r.engines).filter((e) => !e.golden.pass);
  if (failed.length > 0 && config.gates.golden === 'fail') {
    const worst = failed[0]!;
    process.stderr.write(
      `kiln: golden gate failed for ${failed.length} engine(s); first: ${worst.model}/${worst.profile}/${worst.precision} on ${worst.target}: ${worst.golden.failure ?? 'failed'}\n`,
    );
    return 1;
  }
  const slow = results.flatMap((r) => r.engines).filter((e) => int8SpeedProblem(e) !== undefined);
  if (slow.length > 0 && config.gates.int8SlowerThanFp32 === 'fail') {
    const first = slow[0]!;
    process.stderr.write(
      `kiln: int8 speed gate failed for ${slow.length} engine(s) (gates.int8SlowerThanFp32: fail); first: ${first.model}/${first.profile}/int8 on ${first.target}: ${int8SpeedProblem(first)}\n`,
    );
    return 1;
  }
  return 0;
}

/** Intra-op threads for golden and bench sessions; 1 (the default) keeps figures comparable. */
function parseThreads(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 1024) {
    throw new InputError(`--threads ${text}: expected a whole number of threads from 1 to 1024`);
  }
  return n;
}

/**
 * The host's shared engine cache: `--host-cache DIR` or KILN_HOST_CACHE, capped at
 * KILN_HOST_CACHE_MAX_GB (default 50) with least-recently-used eviction.
 */
function hostCacheOption(flag: string | undefined): { hostCache?: HostCache } {
  const dir = flag ?? process.env.KILN_HOST_CACHE;
  if (!dir) return {};
  const gb = Number(process.env.KILN_HOST_CACHE_MAX_GB ?? '50');
  if (!(gb > 0))
    throw new InputError(
      `KILN_HOST_CACHE_MAX_GB=${process.env.KILN_HOST_CACHE_MAX_GB}: expected a size in GB > 0`,
    );
  return { hostCache: new HostCache(dir, { maxBytes: gb * 1024 ** 3 }) };
}

/**
 * The remote engine store: `--remote-store oci://REGISTRY/NAMESPACE` or KILN_REMOTE_STORE, with the
 * registry credentials of `kiln publish` (KILN_REGISTRY_USER / KILN_REGISTRY_PASSWORD).
 */
function remoteStoreOption(
  flag: string | undefined,
  plainHttp: boolean | undefined,
): { remoteStore?: RemoteEngineStore } {
  const value = flag ?? process.env.KILN_REMOTE_STORE;
  if (!value) return {};
  if (!value.startsWith('oci://'))
    throw new InputError(
      `--remote-store ${value}: expected oci://REGISTRY/NAMESPACE (e.g. oci://ghcr.io/acme/kiln)`,
    );
  const user = process.env.KILN_REGISTRY_USER;
  const password = process.env.KILN_REGISTRY_PASSWORD;
  return {
    remoteStore: ociEngineStore({
      target: value.slice('oci://'.length),
      ...(user || password ? { auth: { username: user ?? '', password: password ?? '' } } : {}),
      ...(plainHttp ? { plainHttp: true } : {}),
    }),
  };
}
