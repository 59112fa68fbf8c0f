import { DefaultArtifactClient } from '@actions/artifact';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';

/** Moves result JSON from build jobs to the report job. */
export interface ResultsTransfer {
  upload(name: string, files: string[], rootDir: string): Promise<void>;
  /** Downloads every kiln results artifact of this run into `dir`; returns the folders written. */
  downloadAll(dir: string): Promise<string[]>;
}

export const RESULTS_PREFIX = 'kiln-results-';

/** Artifact name for one build job; matrix values are sanitized because names are restricted. */
export function resultsArtifactName(target: string, model: string): string {
  return `${RESULTS_PREFIX}${`${target}-${model || 'all'}`.replace(/[^A-Za-z0-9._-]/g, '_')}`;
}

/** @actions/artifact v2+ (the v4 artifact service). */
export function actionsResultsTransfer(client = new DefaultArtifactClient()): ResultsTransfer {
  return {
    async upload(name, files, rootDir) {
      await client.uploadArtifact(name, files, rootDir, { retentionDays: 14 });
    },
    async downloadAll(dir) {
      const { artifacts } = await client.listArtifacts({ latest: true });
      const folders: string[] = [];
      for (const artifact of artifacts.filter((a) => a.name.startsWith(RESULTS_PREFIX))) {
        const into = path.join(dir, artifact.name);
        await mkdir(into, { recursive: true });
        await client.downloadArtifact(artifact.id, { path: into });
        folders.push(into);
      }
      return folders;
    },
  };
}
