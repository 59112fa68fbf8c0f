import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { GateError, InputError } from '../../core/errors.js';
import type { BuildResults } from '../../core/results.js';
import type { ActionIO } from '../action-io.js';
import type { Attestor, AttestSubject } from '../attestor.js';
import type { EngineCache } from '../engine-cache.js';
import type { ActionInputs } from '../inputs.js';
import type { KilnRunner } from '../kiln-process.js';
import type { ResultsTransfer } from '../results-transfer.js';
import type { RunContext } from '../run-context.js';

/** The part of `kiln publish --json` the Action reads (src/cli/commands/publish.ts writes it). */
interface PublishJson {
  version: string;
  releases: Array<{
    model: string;
    status: string;
    oci?: { reference: string; digest: string };
    engines: Array<{ file: string; sha256: string }>;
  }>;
}

/**
 * `publish`, on a release tag: gather every build job's results, restore exactly those engines
 * from the Actions cache, `kiln publish` them (which refuses anything that failed golden or does
 * not hash to its record), then attest build provenance for each engine file and OCI manifest.
 */
export async function publishCommand(deps: {
  inputs: ActionInputs;
  context: RunContext;
  kiln: KilnRunner;
  cache: EngineCache;
  transfer: ResultsTransfer;
  attestor: Attestor | undefined;
  io: ActionIO;
  tempDir: string;
}): Promise<void> {
  const { inputs, context, kiln, io } = deps;
  const version = inputs.version || tagName(context.ref);
  if (!version) {
    throw new InputError(
      `input 'version': found '', and ${context.ref || 'this ref'} is not a tag; publish runs on release tags or with an explicit version`,
    );
  }
  const resultsRoot = path.join(deps.tempDir, 'kiln-publish-results');
  const folders = await deps.transfer.downloadAll(resultsRoot);
  const buildFiles = [];
  for (const folder of folders) {
    for (const name of await readdir(folder))
      if (name === 'build.json') buildFiles.push(path.join(folder, name));
  }
  if (buildFiles.length === 0) {
    throw new InputError(
      'no build results in this run: the publish job needs the build jobs (needs: [build, report])',
    );
  }
  const store = inputs.store || path.join(deps.tempDir, 'kiln-publish-store');
  let restored = 0;
  let wanted = 0;
  for (const file of buildFiles) {
    const data = JSON.parse(await readFile(file, 'utf8')) as BuildResults | BuildResults[];
    for (const build of Array.isArray(data) ? data : [data]) {
      for (const engine of build.engines) {
        // Failed engines are never restored: kiln publish refuses the set and names the first.
        if (!engine.golden.pass) continue;
        wanted++;
        if (await deps.cache.restore(path.join(store, engine.model, engine.key), engine.key)) restored++;
      }
    }
  }
  io.info(`engine cache: ${restored} of ${wanted} verified engines restored for publishing`);

  const json = path.join(deps.tempDir, 'kiln-publish.json');
  const run = await kiln.run([
    'publish',
    '--config',
    inputs.config,
    '--version',
    version,
    ...buildFiles.flatMap((f) => ['--results', f]),
    '--store',
    store,
    ...(inputs.releasesDir ? ['--to', inputs.releasesDir] : []),
    ...(inputs.oci ? ['--oci', inputs.oci] : []),
    ...(inputs.plainHttp ? ['--plain-http'] : []),
    ...(inputs.model ? ['--model', inputs.model] : []),
    '--json',
    json,
  ]);
  if (run.exitCode !== 0) {
    const message = `kiln publish ${version}: ${run.reason ?? `exit code ${run.exitCode}`}`;
    throw run.exitCode === 1 ? new GateError(message) : new InputError(message);
  }
  const published = JSON.parse(await readFile(json, 'utf8')) as PublishJson;
  io.setOutput('published', json);
  const subjects = attestSubjects(published);
  for (const release of published.releases) {
    io.info(
      `${release.model}@${version}: ${release.status}, ${release.engines.length} engines${release.oci ? `, ${release.oci.reference}@${release.oci.digest}` : ''}`,
    );
  }
  if (!deps.attestor) {
    io.info('attestation skipped (attest: false)');
    return;
  }
  const attestation = await deps.attestor.attest(subjects);
  io.info(
    `build provenance attested for ${subjects.length} subjects${attestation.url ? `: ${attestation.url}` : ''}`,
  );
}

/** Every engine file and every pushed OCI manifest, by sha256: what a deploy host will verify. */
export function attestSubjects(published: PublishJson): AttestSubject[] {
  const subjects: AttestSubject[] = [];
  for (const release of published.releases) {
    for (const engine of release.engines)
      subjects.push({ name: engine.file, digest: { sha256: engine.sha256 } });
    if (release.oci) {
      subjects.push({
        name: release.oci.reference.replace(/:[^:/]+$/, ''),
        digest: { sha256: release.oci.digest.replace(/^sha256:/, '') },
      });
    }
  }
  return subjects;
}

function tagName(ref: string): string | undefined {
  return ref.startsWith('refs/tags/') ? ref.slice('refs/tags/'.length) : undefined;
}
