import path from 'node:path';
import { firstLine, InputError, KilnError } from '../../core/errors.js';
import { backendAvailability, createBackend } from '../../backends/registry.js';
import { verifyArtifact, type HostLookup } from '../../pipeline/verify-artifact.js';
import type { CommandArgs } from '../command-spec.js';
import type { verifyOptions } from '../specs/verify.js';
import { writeJsonAtomic } from '../write-json.js';

export const verifyUsage = 'kiln verify ARTIFACT [--store DIR]... [--json FILE]';

/**
 * `kiln verify`: run on the serving host before an engine is loaded. Exit 0 when the artifact's
 * hardware tags match this host; exit 2 naming both sides (and a matching sibling engine, when the
 * artifact's own store or `--store` has one) when they do not.
 */
export async function verifyCommand({
  values,
  positionals,
}: CommandArgs<typeof verifyOptions>): Promise<number> {
  if (positionals.length !== 1) {
    throw new InputError(
      `kiln verify: expected one ARTIFACT folder, found ${positionals.length} (${verifyUsage})`,
    );
  }
  const artifact = path.resolve(positionals[0]!);
  const artifactDir = path.basename(artifact) === 'artifact.json' ? path.dirname(artifact) : artifact;
  // The artifact's own model folder (<store>/<model>/ or <release>/engines/) holds its siblings.
  const searchDirs = [path.dirname(artifactDir)];
  for (const store of values.store ?? []) searchDirs.push(path.resolve(store));
  const outcome = await verifyArtifact(artifact, realHost(), searchDirs);
  if (values.json) await writeJsonAtomic(values.json, outcome);
  if (!outcome.ok) throw new InputError(outcome.message);
  process.stdout.write(`${outcome.message}\n`);
  return 0;
}

/** This host as the backends see it; a backend that cannot run here says why instead of throwing. */
function realHost(): HostLookup {
  const cache = new Map<string, ReturnType<HostLookup>>();
  return (name) => {
    let side = cache.get(name);
    if (!side) {
      side = (async () => {
        const availability = backendAvailability(name);
        if (!availability.available) return { available: false as const, reason: availability.reason };
        try {
          const backend = await createBackend(name, 'kiln verify');
          return {
            available: true as const,
            hardware: await backend.hardwareFingerprint(),
            backendVersion: await backend.version(),
          };
        } catch (error) {
          if (!(error instanceof KilnError)) throw error;
          return { available: false as const, reason: firstLine(error) };
        }
      })();
      cache.set(name, side);
    }
    return side;
  };
}
