import os from 'node:os';
import { coreIO, type ActionIO } from './action-io.js';
import { actionsAttestor, type Attestor } from './attestor.js';
import { actionsEngineCache, type EngineCache } from './engine-cache.js';
import { createGitHubApi, type GitHubApi } from './github-api.js';
import type { ActionInputs } from './inputs.js';
import { processKilnRunner, type KilnRunner } from './kiln-process.js';
import { actionsResultsTransfer, type ResultsTransfer } from './results-transfer.js';
import { readRunContext, type RunContext } from './run-context.js';

/** Replaceable side effects, for tests and the local end-to-end run. */
export interface ActionOverrides {
  io?: ActionIO;
  context?: RunContext;
  kiln?: KilnRunner;
  cache?: EngineCache;
  transfer?: ResultsTransfer;
  github?: GitHubApi;
  attestor?: Attestor;
}

/** Everything a command may use; each command takes the part it needs. */
export interface ActionDependencies {
  readonly inputs: ActionInputs;
  readonly context: RunContext;
  readonly io: ActionIO;
  readonly tempDir: string;
  readonly kiln: KilnRunner;
  readonly cache: EngineCache;
  readonly transfer: ResultsTransfer;
  readonly github: GitHubApi;
  /** Set only when the `attest` input is true. */
  readonly attestor: Attestor | undefined;
}

/**
 * The Action's wiring, in one place: the real adapters unless `overrides` replaces them. Each one is
 * made on first use, so `plan` never builds an Octokit and `report` never touches the cache service.
 */
export function actionDependencies(
  inputs: ActionInputs,
  overrides: ActionOverrides = {},
): ActionDependencies {
  const made = new Map<string, unknown>();
  const once = <T>(name: string, make: () => T): T => {
    if (!made.has(name)) made.set(name, make());
    return made.get(name) as T;
  };
  return {
    inputs,
    get context() {
      return once('context', () => overrides.context ?? readRunContext());
    },
    get io() {
      return once('io', () => overrides.io ?? coreIO());
    },
    tempDir: process.env.RUNNER_TEMP ?? os.tmpdir(),
    get kiln() {
      // Registry credentials reach kiln through its environment only, never its command line.
      const env: Record<string, string> = inputs.registryUsername
        ? { KILN_REGISTRY_USER: inputs.registryUsername, KILN_REGISTRY_PASSWORD: inputs.registryPassword }
        : {};
      return once(
        'kiln',
        () =>
          overrides.kiln ??
          processKilnRunner(inputs.kiln, { timeoutMs: inputs.timeoutMinutes * 60_000, env }),
      );
    },
    get cache() {
      return once('cache', () => overrides.cache ?? actionsEngineCache());
    },
    get transfer() {
      return once('transfer', () => overrides.transfer ?? actionsResultsTransfer());
    },
    get github() {
      return once('github', () => overrides.github ?? createGitHubApi(inputs.githubToken));
    },
    get attestor() {
      if (!inputs.attest) return undefined;
      return once('attestor', () => {
        const context = this.context;
        return (
          overrides.attestor ??
          actionsAttestor(inputs.githubToken, {
            owner: context.owner,
            repo: context.repo,
            serverUrl: process.env.GITHUB_SERVER_URL ?? 'https://github.com',
          })
        );
      });
    },
  };
}
