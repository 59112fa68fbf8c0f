import path from 'node:path';
import { loadConfig } from '../../core/io/config-load.js';
import { InputError } from '../../core/errors.js';
import { readResultsFile } from '../../core/io/results-files.js';
import { keysFor } from '../../pipeline/engine-keys.js';
import { collectCandidates, wantedFromResults, type WantedEngine } from '../../pipeline/publish-selection.js';
import { LocalStore } from '../../store/local-store.js';
import { pushRelease } from '../../store/oci/release.js';
import { parseOciTarget } from '../../store/oci/reference.js';
import { provenanceFromEnv } from '../../store/release/provenance.js';
import { validateVersion } from '../../store/release/release-record.js';
import { writeRelease } from '../../store/release/release-writer.js';
import { exportTritonRepository } from '../../store/triton/export.js';
import { checkEnginesForTriton } from '../../store/triton/releases.js';
import type { CommandArgs } from '../command-spec.js';
import type { publishOptions } from '../specs/publish.js';
import { headCommit } from '../git.js';
import { writeJsonAtomic } from '../write-json.js';
import { pickTargets } from './targets.js';

/** What `kiln publish --json` writes: the Action attests exactly these engine digests. */
export interface PublishResults {
  schema: 'kiln.publish/v1';
  version: string;
  releases: Array<{
    model: string;
    dir: string;
    status: 'published' | 'unchanged';
    oci?: { reference: string; digest: string };
    /** Triton models written for this release (`--triton`). */
    triton?: Array<{ name: string; version: number; dir: string }>;
    engines: Array<{
      key: string;
      profile: string;
      precision: string;
      target?: string;
      file: string;
      sha256: string;
    }>;
  }>;
}

/**
 * `kiln publish`: verified engines (from build results, or this host's keys) become an immutable
 * model version in the local release store, then in an OCI registry. Anything unverified, missing
 * or damaged stops it before a byte is written. Registry credentials come only from the
 * environment (KILN_REGISTRY_USER / KILN_REGISTRY_PASSWORD), never from flags that `ps` shows.
 */
export async function publishCommand({ values }: CommandArgs<typeof publishOptions>): Promise<number> {
  if (!values.version) throw new InputError('kiln publish: --version is required (e.g. the release tag)');
  const version = validateVersion(values.version, '--version');
  // A bad target (credentials in it, a typo) is refused before any release is written.
  if (values.oci) parseOciTarget(values.oci, values['plain-http'] ? { plainHttp: true } : {});
  const config = await loadConfig(values.config);
  const models = values.model ?? [];
  for (const name of models) {
    if (!config.models.some((m) => m.name === name)) {
      throw new InputError(`--model ${name}: no such model in ${values.config}`);
    }
  }
  const store = new LocalStore(values.store ? path.resolve(values.store) : config.storeDir);
  const wanted: WantedEngine[] = values.results
    ? wantedFromResults(
        (await Promise.all(values.results.map(readResultsFile))).flatMap((s) => s.builds),
        models,
      )
    : await keysFor(
        config,
        pickTargets(config, values.target, values.config).map((t) => t.name),
        models,
      );
  const byModel = await collectCandidates(store, wanted);
  if (values.triton) {
    // Refused before any release is written: a published release is not exported to Triton again.
    const engines = [...byModel.values()].flat().map(({ artifact: { record } }) => ({
      key: record.key,
      backend: record.tags.backend,
      hardware: record.tags.hardware,
    }));
    checkEnginesForTriton(engines, config.triton?.release, `${values.config} (publish --triton)`);
  }
  const root = values.to ? path.resolve(values.to) : path.join(path.dirname(config.storeDir), 'releases');
  const provenance = provenanceFromEnv(process.env, { commit: await headCommit(config.configDir) });
  const auth =
    process.env.KILN_REGISTRY_USER || process.env.KILN_REGISTRY_PASSWORD
      ? { username: process.env.KILN_REGISTRY_USER ?? '', password: process.env.KILN_REGISTRY_PASSWORD ?? '' }
      : undefined;

  const results: PublishResults = { schema: 'kiln.publish/v1', version, releases: [] };
  for (const [model, candidates] of byModel) {
    const written = await writeRelease({ root, model, version, candidates, provenance });
    const verb = written.status === 'published' ? 'published' : 'already published (unchanged)';
    process.stderr.write(
      `${model}@${version}: ${verb}, ${written.record.engines.length} engines → ${written.dir}\n`,
    );
    let oci: { reference: string; digest: string } | undefined;
    if (values.oci) {
      oci = await pushRelease({
        target: values.oci,
        releaseDir: written.dir,
        ...(auth ? { auth } : {}),
        ...(values['plain-http'] ? { plainHttp: true } : {}),
        onProgress: (line: string) => process.stderr.write(`${model}@${version}: ${line}\n`),
      });
      process.stderr.write(`${model}@${version}: in the registry as ${oci.reference}@${oci.digest}\n`);
    }
    let triton: Array<{ name: string; version: number; dir: string }> | undefined;
    if (values.triton && written.status === 'published') {
      triton = (
        await exportTritonRepository({
          release: written.dir,
          repository: path.resolve(values.triton),
          ...(config.triton ? { tritonRelease: config.triton.release } : {}),
        })
      ).map((m) => ({ name: m.name, version: m.version, dir: m.dir }));
      for (const m of triton)
        process.stderr.write(`${model}@${version}: Triton ${m.name} version ${m.version} → ${m.dir}\n`);
    } else if (values.triton) {
      // Exporting again would add a duplicate Triton version; `kiln triton` exports on demand.
      process.stderr.write(
        `${model}@${version}: unchanged, so not exported to Triton again (kiln triton exports on demand)\n`,
      );
    }
    results.releases.push({
      model,
      dir: written.dir,
      status: written.status,
      ...(oci ? { oci } : {}),
      ...(triton ? { triton } : {}),
      engines: written.record.engines.map((e) => ({
        key: e.key,
        profile: e.profile,
        precision: e.precision,
        ...(e.target ? { target: e.target } : {}),
        file: `${model}/${version}/${e.dir}/${e.engine.file}`,
        sha256: e.engine.sha256,
      })),
    });
  }
  if (values.json) await writeJsonAtomic(values.json, results);
  return 0;
}
