import path from 'node:path';
import { openRepo } from '../cli/git.js';
import { toRepoPath } from '../core/changed-models.js';
import { parseConfig, type KilnConfig } from '../core/io/config-load.js';
import { configSchema } from '../core/config-schema.js';
import { KilnError, firstLine } from '../core/errors.js';
import { settingChanges, type JudgingSettings } from '../core/setting-changes.js';

/** The settings results are judged by, where they came from, and what the pull request changes. */
export interface TrustedSettings {
  settings: JudgingSettings;
  /** Plain lines for the top of the PR comment: where the gates came from, what the PR changes. */
  notices: string[];
}

/**
 * The judging settings (gates, bench, golden tolerances) of `kiln.yaml` at the pull request's base
 * commit, the trusted side: a pull request cannot loosen the gate that judges it. Its own changes
 * to them are listed (they apply once merged). Read with git from the checkout in `workspace`,
 * never from the working tree, which may hold the pull request's files.
 *
 * - the config does not exist at the base (a new kiln.yaml) or no longer validates there: the
 *   built-in defaults, which are the strict ones (golden: fail, p99 within 10% at 95%), said so;
 * - the base commit is not in the clone (no checkout, a shallow one): an error, so the report fails.
 */
export async function readTrustedSettings(
  workspace: string,
  configInput: string,
  baseSha: string,
  headSha: string,
): Promise<TrustedSettings> {
  let git;
  try {
    git = await openRepo(workspace);
  } catch (error) {
    throw new KilnError(
      `report: cannot read the gates from the merge base: ${firstLine(error)} (check out the repository with actions/checkout and fetch-depth: 0 before the report step)`,
      { cause: error },
    );
  }
  const configFile = toRepoPath(git.root, path.resolve(workspace, configInput));
  const sha = await git.resolve(baseSha).catch((error: unknown) => {
    throw new KilnError(
      `report: base commit ${baseSha.slice(0, 12)} is not in the clone, so the gates cannot be read from it (check out with fetch-depth: 0)`,
      { cause: error },
    );
  });
  const where = `${sha.slice(0, 12)}:${configFile}`;
  const notices: string[] = [];
  const configDir = path.dirname(path.resolve(workspace, configInput));
  const base = parseAt(await git.showFile(sha, configFile), where, configDir, notices);
  const settings = base ?? defaults();
  if (base) notices.push(`Gates, tolerances and bench settings are the merge base's (${where}).`);

  let headText: string | null;
  try {
    headText = await git.showFile(await git.resolve(headSha), configFile);
  } catch (error) {
    // The judging is the base's either way; what is lost is telling the author about their
    // changes, so say that instead of going quiet. A bug (not a KilnError) still surfaces.
    if (!(error instanceof KilnError)) throw error;
    notices.push(
      `Whether this pull request changes judging settings is not shown: its config could not be read (${firstLine(error)}).`,
    );
    headText = null;
  }
  const head =
    headText === null ? undefined : tryParse(headText, `${headSha.slice(0, 12)}:${configFile}`, configDir);
  if (head) {
    const changes = settingChanges(settings, head);
    if (changes.length > 0) {
      notices.push(
        `This pull request changes ${changes.length === 1 ? 'a judging setting' : 'judging settings'}; ` +
          `it applies once merged, not to this pull request: ${changes.join('; ')}.`,
      );
    }
  }
  return { settings, notices };
}

function parseAt(
  text: string | null,
  where: string,
  root: string,
  notices: string[],
): KilnConfig | undefined {
  if (text === null) {
    notices.push(`${where} does not exist at the merge base: judged by kiln's built-in (strict) gates.`);
    return undefined;
  }
  try {
    return parseConfig(text, where, root);
  } catch (error) {
    if (!(error instanceof KilnError)) throw error;
    notices.push(`${firstLine(error)}: judged by kiln's built-in (strict) gates.`);
    return undefined;
  }
}

function tryParse(text: string, where: string, root: string): KilnConfig | undefined {
  try {
    return parseConfig(text, where, root);
  } catch (error) {
    if (!(error instanceof KilnError)) throw error;
    return undefined; // the plan job reports the PR's own config errors
  }
}

function defaults(): JudgingSettings {
  const shape = configSchema.shape;
  return { gates: shape.gates.parse(undefined), bench: shape.bench.parse(undefined), models: [] };
}
