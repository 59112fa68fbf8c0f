/**
 * Whether kiln-agent runs in a container, and so whether the interference monitor can tell its
 * own GPU processes from a neighbour's. nvidia-smi reports NVML's host pids; a container with its
 * own pid namespace sees none of them in /proc (kiln's own child included).
 */
import { existsSync, readFileSync } from 'node:fs';

/** The host facts detection reads, injected so tests describe a container without being in one. */
export interface ContainerFacts {
  exists(path: string): boolean;
  /** The file's text, or undefined when it cannot be read. */
  read(path: string): string | undefined;
  env: NodeJS.ProcessEnv;
}

/** The container signs found, in words (empty: no sign of a container). */
export interface ContainerInfo {
  evidence: string[];
}

const CGROUP_RUNTIME = /\b(docker|kubepods|containerd|cri-containerd|libpod|crio|lxc)\b/;

/**
 * Looks for the usual signs: `/.dockerenv` (Docker), `/run/.containerenv` (Podman),
 * `KUBERNETES_SERVICE_HOST` (any Kubernetes pod), a container runtime in `/proc/1/cgroup` (cgroup
 * v1, or v2 without a cgroup namespace) and an overlay root filesystem in `/proc/self/mountinfo`.
 */
export function detectContainer(facts: ContainerFacts): ContainerInfo {
  const evidence: string[] = [];
  if (facts.exists('/.dockerenv')) evidence.push('/.dockerenv');
  if (facts.exists('/run/.containerenv')) evidence.push('/run/.containerenv');
  if (facts.env['KUBERNETES_SERVICE_HOST']) evidence.push('KUBERNETES_SERVICE_HOST');
  const cgroup = facts.read('/proc/1/cgroup');
  const runtime = cgroup ? CGROUP_RUNTIME.exec(cgroup)?.[1] : undefined;
  if (runtime) evidence.push(`/proc/1/cgroup names ${runtime}`);
  // mountinfo fields: id parent major:minor root mountpoint options … - fstype source superopts
  const rootMount = facts
    .read('/proc/self/mountinfo')
    ?.split('\n')
    .find((line) => line.split(' ')[4] === '/');
  if (rootMount && / - overlay /.test(rootMount)) evidence.push('overlay root filesystem');
  return { evidence };
}

/** This machine's facts. */
export const hostFacts: ContainerFacts = {
  exists: (file) => existsSync(file),
  read: (file) => {
    try {
      return readFileSync(file, 'utf8');
    } catch {
      return undefined;
    }
  },
  env: process.env,
};

/** True when `name` is an entry of one of PATH's folders (`exists` injected for tests). */
export function onPath(
  name: string,
  pathVar: string | undefined,
  exists: (file: string) => boolean,
): boolean {
  return (pathVar ?? '')
    .split(':')
    .filter((dir) => dir !== '')
    .some((dir) => exists(`${dir}/${name}`));
}
