import type { DefaultArtifactClient } from '@actions/artifact';
import { describe, expect, it } from 'vitest';
import { actionsResultsTransfer } from '../../src/action/results-transfer.js';

/** A stand-in for the artifact service's client that records calls and keeps one artifact per name. */
function recordingClient() {
  const calls: string[] = [];
  const names = new Set<string>();
  const client = {
    deleteArtifact: async (name: string) => {
      calls.push(`delete ${name}`);
      if (!names.delete(name)) throw new Error(`Artifact not found for name: ${name}`);
      return { id: 1 };
    },
    uploadArtifact: async (name: string) => {
      calls.push(`upload ${name}`);
      // The service refuses a second artifact of one name in a run (409 Conflict).
      if (names.has(name))
        throw new Error('Conflict: an artifact with this name already exists on the workflow run');
      names.add(name);
      return { id: 2, size: 1 };
    },
    listArtifacts: async (options: unknown) => {
      calls.push(`list ${JSON.stringify(options)}`);
      return { artifacts: [] };
    },
  };
  return { calls, client: client as unknown as DefaultArtifactClient };
}

describe('actionsResultsTransfer', () => {
  it('a re-run job replaces its artifact instead of failing on the name', async () => {
    const { calls, client } = recordingClient();
    const transfer = actionsResultsTransfer(client);
    await transfer.upload('kiln-results-cpu-det', ['/r/build.json'], '/r');
    await transfer.upload('kiln-results-cpu-det', ['/r/build.json'], '/r');
    expect(calls).toEqual([
      'delete kiln-results-cpu-det',
      'upload kiln-results-cpu-det',
      'delete kiln-results-cpu-det',
      'upload kiln-results-cpu-det',
    ]);
  });

  it("downloads from another run (workflow_run) through the public API with that run's id", async () => {
    const { calls, client } = recordingClient();
    await actionsResultsTransfer(client).downloadAll('/tmp/x', {
      runId: 777,
      owner: 'acme',
      repo: 'models',
      token: 't',
    });
    expect(calls).toEqual([
      'list {"latest":true,"findBy":{"token":"t","workflowRunId":777,"repositoryOwner":"acme","repositoryName":"models"}}',
    ]);
  });
});
