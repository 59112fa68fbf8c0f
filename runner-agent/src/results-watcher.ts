import { readResultsFile } from '../../src/core/io/results-files.js';
import type { BuildResults, InterferenceRecord } from '../../src/core/results.js';
import { watchSpool, type SpoolFileInfo, type SpoolWatcher } from './spool-watcher.js';

/** Where a results file came from, for {@link watchResults}'s callback. */
export type ResultsFileInfo = SpoolFileInfo;

export interface WatchResultsOptions {
  /** Interference records dropped by `kiln-agent run`. */
  onInterference?: (record: InterferenceRecord, info: ResultsFileInfo) => void | Promise<void>;
  /** Poll period (default 2 s). */
  intervalMs?: number;
  /** Files already present at start: `replay` (default) passes them with `replay: true`; `skip` ignores them. */
  existing?: 'replay' | 'skip';
  /** A file that is not a results file, or a callback that threw; the watcher keeps going. */
  onError?: (error: Error, file: string) => void;
}

export type ResultsWatcher = SpoolWatcher;

/**
 * The results spool that `kiln-agent serve` watches and `kiln-agent run` writes to: `--results`,
 * else KILN_AGENT_RESULTS, else /var/lib/kiln-agent/results.
 */
export function defaultResultsDir(env: NodeJS.ProcessEnv): string {
  return env.KILN_AGENT_RESULTS || '/var/lib/kiln-agent/results';
}

/**
 * Watches the results spool for `*.json` files written by `kiln build --json` (one result set or an
 * array) and `kiln-agent run` interference records, handing each to its callback, oldest file first
 * (see {@link watchSpool} for versions, retries and replay).
 */
export function watchResults(
  dir: string,
  onResults: (results: BuildResults, info: ResultsFileInfo) => void | Promise<void>,
  options: WatchResultsOptions = {},
): ResultsWatcher {
  const onError = options.onError ?? ((error: Error) => console.error(`kiln-agent: ${error.message}`));
  return watchSpool(dir, {
    label: 'results folder',
    read: readResultsFile,
    handle: async (set, info) => {
      const handlers = [
        ...set.builds.map((results) => () => onResults(results, info)),
        ...set.interference.map((record) => () => options.onInterference?.(record, info)),
      ];
      // One failing callback must not keep the other records of the same file from being counted.
      for (const handle of handlers) {
        try {
          await handle();
        } catch (error) {
          onError(new Error(`${info.file}: ${(error as Error).message}`, { cause: error }), info.file);
        }
      }
    },
    ...(options.intervalMs !== undefined ? { intervalMs: options.intervalMs } : {}),
    ...(options.existing ? { existing: options.existing } : {}),
    onError,
  });
}
