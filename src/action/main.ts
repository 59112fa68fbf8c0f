import * as core from '@actions/core';
import os from 'node:os';
import { firstLine } from '../core/errors.js';
import { redact } from '../core/redact.js';
import { coreIO, type ActionIO } from './action-io.js';
import { buildCommand } from './commands/build.js';
import { planCommand } from './commands/plan.js';
import { reportCommand } from './commands/report.js';
import { actionsAttestor, type Attestor } from './attestor.js';
import { publishCommand } from './commands/publish.js';
import { actionsEngineCache, type EngineCache } from './engine-cache.js';
import { createGitHubApi, type GitHubApi } from './github-api.js';
import { readInputs } from './inputs.js';
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

/**
 * The Action's entry point: reads inputs once, runs one command, and reports any failure with the
 * single `core.setFailed` of the Action (one clear line; the cause chain goes to the debug log).
 */
export async function run(overrides: ActionOverrides = {}): Promise<void> {
  try {
    const inputs = readInputs();
    const io = overrides.io ?? coreIO();
    const context = overrides.context ?? readRunContext();
    const tempDir = process.env.RUNNER_TEMP ?? os.tmpdir();
    // Registry credentials reach kiln through its environment only, never its command line.
    const registryEnv: Record<string, string> = inputs.registryUsername
      ? { KILN_REGISTRY_USER: inputs.registryUsername, KILN_REGISTRY_PASSWORD: inputs.registryPassword }
      : {};
    const kiln =
      overrides.kiln ??
      processKilnRunner(inputs.kiln, { timeoutMs: inputs.timeoutMinutes * 60_000, env: registryEnv });
    switch (inputs.command) {
      case 'plan':
        await planCommand({
          inputs,
          context,
          io,
          tempDir,
          transfer: overrides.transfer ?? actionsResultsTransfer(),
        });
        break;
      case 'build':
        await buildCommand({
          inputs,
          context,
          kiln,
          io,
          tempDir,
          cache: overrides.cache ?? actionsEngineCache(),
          transfer: overrides.transfer ?? actionsResultsTransfer(),
        });
        break;
      case 'report':
        await reportCommand({
          inputs,
          context,
          io,
          tempDir,
          github: overrides.github ?? createGitHubApi(inputs.githubToken),
          transfer: overrides.transfer ?? actionsResultsTransfer(),
        });
        break;
      case 'publish':
        await publishCommand({
          inputs,
          context,
          kiln,
          io,
          tempDir,
          cache: overrides.cache ?? actionsEngineCache(),
          transfer: overrides.transfer ?? actionsResultsTransfer(),
          attestor: inputs.attest
            ? (overrides.attestor ??
              actionsAttestor(inputs.githubToken, {
                owner: context.owner,
                repo: context.repo,
                serverUrl: process.env.GITHUB_SERVER_URL ?? 'https://github.com',
              }))
            : undefined,
        });
        break;
    }
  } catch (error) {
    core.debug(redact(error instanceof Error ? (error.stack ?? error.message) : String(error)));
    core.setFailed(redact(firstLine(error)));
  }
}
