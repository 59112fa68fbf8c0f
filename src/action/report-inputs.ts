import { readFile, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { InputError } from '../core/errors.js';
import type { AbResults, BuildResults } from '../core/results.js';
import { readResultsFile } from '../core/io/results-files.js';
import { asBuildFailure, BUILD_FAILURE_FILE, type BuildFailure } from './build-failure.js';
import type { Matrix, PlannedPullRequest } from './commands/plan.js';
import { PLAN_ARTIFACT, RESULTS_PREFIX } from './results-transfer.js';

/** Everything the build and plan jobs left for the report. */
export interface ReportInputs {
  builds: BuildResults[];
  ab: AbResults[];
  failures: BuildFailure[];
  /** The plan job's matrix and pull request, from the `kiln-plan` artifact; absent when none. */
  plan?: Matrix;
  planned?: PlannedPullRequest;
}

/** A result file larger than this is refused: the report runs with a write token on a small runner. */
const MAX_FILE_BYTES = 32 * 1024 * 1024;

/** Reads the downloaded artifact folders; a file that is not a kiln result fails the report by name. */
export async function readReportInputs(folders: string[]): Promise<ReportInputs> {
  const out: ReportInputs = { builds: [], ab: [], failures: [] };
  for (const folder of [...folders].sort()) {
    const name = path.basename(folder);
    if (name === PLAN_ARTIFACT) {
      out.plan = asMatrix(await readJson(path.join(folder, 'matrix.json')), `${name}/matrix.json`);
      const pr = (await readJson(path.join(folder, 'pull-request.json'))) as PlannedPullRequest | null;
      if (pr && Number.isSafeInteger(pr.number) && typeof pr.headSha === 'string') {
        out.planned = { number: pr.number, headSha: pr.headSha };
      }
      continue;
    }
    if (!name.startsWith(RESULTS_PREFIX)) continue;
    for (const file of (await readdir(folder, { recursive: true }))
      .filter((f) => f.endsWith('.json'))
      .sort()) {
      const full = path.join(folder, file);
      if ((await stat(full)).size > MAX_FILE_BYTES) {
        throw new InputError(`${name}/${file}: over ${MAX_FILE_BYTES} bytes, expected kiln result JSON`);
      }
      if (path.basename(file) === BUILD_FAILURE_FILE) {
        const failure = asBuildFailure(await readJson(full));
        if (!failure) throw new InputError(`${name}/${file}: expected a kiln.build-failure/v1 record`);
        out.failures.push(failure);
        continue;
      }
      const set = await readResultsFile(full);
      out.builds.push(...set.builds);
      out.ab.push(...set.ab);
    }
  }
  return out;
}

/** The plan job's matrix JSON, checked for the shape the report relies on. */
export function asMatrix(data: unknown, where: string): Matrix {
  const include = (data as { include?: unknown } | null)?.include;
  if (
    !Array.isArray(include) ||
    !include.every((e) => typeof (e as { target?: unknown })?.target === 'string')
  ) {
    throw new InputError(`${where}: expected the plan's matrix ({"include": [{"target": …}, …]})`);
  }
  return data as Matrix;
}

async function readJson(file: string): Promise<unknown> {
  try {
    if ((await stat(file)).size > MAX_FILE_BYTES) throw new Error(`over ${MAX_FILE_BYTES} bytes`);
    return JSON.parse(await readFile(file, 'utf8')) as unknown;
  } catch (error) {
    throw new InputError(`${file}: not readable JSON (${(error as Error).message})`, { cause: error });
  }
}
