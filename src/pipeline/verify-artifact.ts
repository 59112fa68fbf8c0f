import { readdir } from 'node:fs/promises';
import path from 'node:path';
import {
  compareHardware,
  describeHardware,
  describeMismatch,
  type HardwareMismatch,
} from '../core/hardware-match.js';
import { InputError } from '../core/errors.js';
import { engineHashProblem, readArtifactRecord, type ArtifactRecord } from '../store/artifact.js';

/** What this host offers a backend: its fingerprint and version, or why it cannot run it at all. */
export type HostSide =
  | { available: true; hardware: Record<string, unknown>; backendVersion: string }
  | { available: false; reason: string };

/** Looks up this host's side for a backend name (the real one creates the backend and probes). */
export type HostLookup = (backend: string) => Promise<HostSide>;

export interface VerifyOutcome {
  artifactDir: string;
  record: ArtifactRecord;
  ok: boolean;
  host: HostSide;
  mismatches: HardwareMismatch[];
  /** An artifact of the same model/profile/precision that does match this host, when one exists. */
  alternative?: string;
  /** One line for the user: the verdict, both sides, and what to use instead. */
  message: string;
}

/**
 * Checks an artifact folder (or its artifact.json) against this host: the engine's bytes against
 * its recorded sha256, then every hardware tag and the backend version against the host's. On a
 * mismatch it searches `searchDirs` (store model folders, release engine folders) for a sibling
 * engine built for this host.
 */
export async function verifyArtifact(
  target: string,
  hostLookup: HostLookup,
  searchDirs: string[] = [],
): Promise<VerifyOutcome> {
  const artifactDir = path.basename(target) === 'artifact.json' ? path.dirname(target) : target;
  const record = await readArtifactRecord(artifactDir);
  const label = `${record.model}/${record.profile}/${record.precision} (${record.key.slice(0, 12)})`;
  const enginePath = path.join(artifactDir, record.engine.file);
  const problem = await engineHashProblem(artifactDir, record);
  if (problem) throw new InputError(`${enginePath}: ${problem}: refusing a damaged or tampered engine`);
  const host = await hostLookup(record.tags.backend);
  const mismatches = host.available ? mismatchesFor(record, host) : [];
  const ok = host.available && mismatches.length === 0;
  if (ok) {
    return {
      artifactDir,
      record,
      ok,
      host,
      mismatches,
      message: `${label}: matches this host (${describeHardware(host.hardware)})`,
    };
  }
  const alternative = await findAlternative(record, hostLookup, searchDirs, artifactDir);
  const why = host.available
    ? mismatches.map(describeMismatch).join('; ')
    : `this host cannot run ${record.tags.backend} (${host.reason}); the engine needs ${describeHardware(record.tags.hardware)}`;
  const instead = alternative
    ? `use ${alternative} (built for this host) instead`
    : 'no engine for this host was found; build one on this hardware (kiln build)';
  return {
    artifactDir,
    record,
    ok,
    host,
    mismatches,
    ...(alternative ? { alternative } : {}),
    message: `${label} does not match this host: ${why}; ${instead}`,
  };
}

function mismatchesFor(
  record: ArtifactRecord,
  host: { hardware: Record<string, unknown>; backendVersion: string },
) {
  const mismatches = compareHardware(record.tags.hardware, host.hardware);
  // A version-compatible TensorRT plan's version rule is the hardware `tensorrt` tag's (compareHardware).
  const versionRuled = record.tags.hardware.versionCompatible === true;
  if (!versionRuled && record.tags.backendVersion !== host.backendVersion) {
    mismatches.push({
      field: `${record.tags.backend} version`,
      built: record.tags.backendVersion,
      host: host.backendVersion,
    });
  }
  return mismatches;
}

/** Sibling artifacts (same model, profile, precision) whose tags this host reproduces. */
async function findAlternative(
  record: ArtifactRecord,
  hostLookup: HostLookup,
  searchDirs: string[],
  self: string,
): Promise<string | undefined> {
  for (const dir of searchDirs) {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const entry of entries.filter((e) => e.isDirectory()).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const candidate = path.join(dir, entry.name);
      if (path.resolve(candidate) === path.resolve(self)) continue;
      const other = await readArtifactRecord(candidate).catch(() => undefined);
      if (!other || other.model !== record.model || other.profile !== record.profile) continue;
      if (other.precision !== record.precision) continue;
      const host = await hostLookup(other.tags.backend);
      if (!host.available || mismatchesFor(other, host).length > 0) continue;
      if (!(await engineHashProblem(candidate, other))) return candidate;
    }
  }
  return undefined;
}
