import { mkdtemp, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { probeCpuIsa, relevantIsaFlags } from '../../src/backends/cpu-isa.js';

/** A CPU fingerprint guaranteed to differ from a given one, and how. */
export interface ForeignIsa {
  isa: string[];
  /** A feature the given host has and the foreign one lacks ("this host adds …"), if any. */
  removed?: string;
  /** A feature the foreign host has and the given one lacks ("engine needs …"), if any. */
  added?: string;
}

/**
 * The ISA of "another CPU" derived from `hostIsa` (default: this machine's probe), so a test never
 * assumes which flags the machine running it has: it drops the widest feature the host has and adds
 * the narrowest relevant one it lacks. Differs from `hostIsa` on every host with at least one
 * relevant feature or one missing.
 */
export function foreignIsa(
  hostIsa: readonly string[] = probeCpuIsa().features,
  arch: string = process.arch,
): ForeignIsa {
  const relevant = relevantIsaFlags(arch);
  const has = new Set(hostIsa);
  const removed = [...relevant].reverse().find((f) => has.has(f));
  const added = relevant.find((f) => !has.has(f));
  const isa = [...hostIsa.filter((f) => f !== removed), ...(added ? [added] : [])].sort();
  if (isa.join() === [...hostIsa].sort().join()) {
    throw new Error(`foreignIsa: cannot derive an ISA different from [${hostIsa.join(', ')}] on ${arch}`);
  }
  return { isa, ...(removed ? { removed } : {}), ...(added ? { added } : {}) };
}

/**
 * A PATH holding only `node` (a symlink to this process's binary), so a child process sees a host
 * with no trtexec or nvidia-smi whether or not the machine running the tests has them.
 */
export async function nodeOnlyPath(): Promise<string> {
  const bin = await mkdtemp(path.join(tmpdir(), 'kiln-node-only-'));
  await symlink(process.execPath, path.join(bin, 'node'));
  return bin;
}
