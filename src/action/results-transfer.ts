import { DefaultArtifactClient } from '@actions/artifact';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';

/** Another workflow run to download from (the `workflow_run` report of the fork pattern). */
export interface ArtifactSource {
  runId: number;
  owner: string;
  repo: string;
  /** A token with actions: read on the repository. */
  token: string;
}

/** Moves result JSON from build jobs (and the plan) to the report job. */
export interface ResultsTransfer {
  /** Uploads `files` as artifact `name`, replacing one of that name from an earlier attempt of the job. */
  upload(name: string, files: string[], rootDir: string): Promise<void>;
  /**
   * Downloads every kiln artifact (name `kiln-…`) of this run, or of `from`, into `dir`; returns the
   * folders written, one per artifact, named as the artifact.
   */
  downloadAll(dir: string, from?: ArtifactSource): Promise<string[]>;
}

export const RESULTS_PREFIX = 'kiln-results-';
/** The plan job's artifact: matrix.json and pull-request.json, for a `workflow_run` report. */
export const PLAN_ARTIFACT = 'kiln-plan';
const KILN_PREFIX = 'kiln-';

/** Artifact name for one build job; matrix values are sanitized because names are restricted. */
export function resultsArtifactName(target: string, model: string): string {
  return `${RESULTS_PREFIX}${`${target}-${model || 'all'}`.replace(/[^A-Za-z0-9._-]/g, '_')}`;
}

/** @actions/artifact v2+ (the v4 artifact service). */
export function actionsResultsTransfer(client = new DefaultArtifactClient()): ResultsTransfer {
  return {
    async upload(name, files, rootDir) {
      // A re-run job uploads again under the same name; the service refuses a second artifact of a
      // name in one run, so the earlier attempt's goes first (none is the usual case).
      try {
        await client.deleteArtifact(name);
      } catch {
        // none to replace, or a service without deletion: the upload says if it conflicts
      }
      await client.uploadArtifact(name, files, rootDir, { retentionDays: 14 });
    },
    async downloadAll(dir, from) {
      const findBy = from && {
        token: from.token,
        workflowRunId: from.runId,
        repositoryOwner: from.owner,
        repositoryName: from.repo,
      };
      const { artifacts } = await client.listArtifacts({ latest: true, ...(findBy ? { findBy } : {}) });
      const folders: string[] = [];
      for (const artifact of artifacts.filter((a) => a.name.startsWith(KILN_PREFIX))) {
        const into = path.join(dir, artifact.name);
        await mkdir(into, { recursive: true });
        await client.downloadArtifact(artifact.id, { path: into, ...(findBy ? { findBy } : {}) });
        folders.push(into);
      }
      return folders;
    },
  };
}
