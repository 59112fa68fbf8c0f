/** Where a build reports what it is doing; the CLI prints it, tests collect it. */
export interface Progress {
  /** A line about the whole run (target, store, summary). */
  info(message: string): void;
  /** A warning that does not stop the build (corrupt cache entry replaced, skipped precision). */
  warn(message: string): void;
  /** Starting engine `index` of `total`. */
  engine(index: number, total: number, label: string): void;
  /** A phase of the current engine finished (or started, for long phases), with its elapsed time. */
  phase(name: string, detail: string, elapsedMs?: number): void;
}

/** Plain-line progress for terminals and CI logs alike (no cursor tricks that garble Actions logs). */
export function streamProgress(write: (line: string) => void): Progress {
  const secs = (ms: number | undefined) => (ms === undefined ? '' : ` (${(ms / 1000).toFixed(1)}s)`);
  return {
    info: (message) => write(`kiln: ${message}`),
    warn: (message) => write(`kiln: warning: ${message}`),
    engine: (index, total, label) => write(`[${index}/${total}] ${label}`),
    phase: (name, detail, elapsedMs) => write(`    ${name.padEnd(8)} ${detail}${secs(elapsedMs)}`),
  };
}

/** Discards everything; for library callers that want results only. */
export const silentProgress: Progress = { info() {}, warn() {}, engine() {}, phase() {} };
