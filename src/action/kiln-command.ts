import { InputError } from '../core/errors.js';
import { KILN_PACKAGE } from '../core/io/version.js';

/**
 * The command line that runs the kiln CLI for `build` and `publish` (docs/action-cli.md).
 *
 * - input `kiln` empty (the default): kiln at the Action's own version, through `npm exec`, which
 *   installs it into the runner's npm cache once and reuses it after; so a workflow needs no install
 *   step and the CLI never drifts from the Action that drives it;
 * - otherwise the input, split on spaces: `kiln` (one on PATH), `node /opt/kiln/bin/kiln.js`, ….
 *
 * A version that could not be read (no package.json above the bundle) cannot pick a package, so it
 * is refused rather than guessed.
 */
export function kilnCommand(input: string, actionVersion: string): string[] {
  const given = input.trim();
  if (given !== '') return given.split(/\s+/);
  if (!/^\d+\.\d+\.\d+([-+][0-9A-Za-z.+-]+)?$/.test(actionVersion) || actionVersion.includes('unknown')) {
    throw new InputError(
      `input 'kiln': found '', and the Action's own version is unknown ('${actionVersion}'), expected a command that runs kiln (e.g. 'kiln' or 'node path/to/bin/kiln.js')`,
    );
  }
  return ['npm', 'exec', '--yes', `--package=${KILN_PACKAGE}@${actionVersion}`, '--', 'kiln'];
}
