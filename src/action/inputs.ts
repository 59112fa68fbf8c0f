import * as core from '@actions/core';
import { InputError } from '../core/errors.js';

export const COMMANDS = ['plan', 'build', 'report'] as const;
export type ActionCommand = (typeof COMMANDS)[number];

/** Every input of action.yml, typed. The only place that reads them. */
export interface ActionInputs {
  command: ActionCommand;
  config: string;
  target: string;
  model: string;
  /** Merge-base ref or sha; default: the pull request's base sha. */
  base: string;
  githubToken: string;
  /** How to run the kiln CLI on this runner, split on spaces (e.g. `kiln` or `npx --no-install kiln`). */
  kiln: string[];
  store: string;
  /** The plan job's matrix JSON, so `report` knows which targets owe results. */
  plan: string;
  cache: boolean;
  timeoutMinutes: number;
  resultsDir: string;
}

/** Reads and validates the inputs; an invalid one is one line naming the input and its value. */
export function readInputs(read: (name: string) => string = (name) => core.getInput(name)): ActionInputs {
  const command = read('command').trim();
  if (!(COMMANDS as readonly string[]).includes(command)) {
    throw new InputError(`input 'command': found '${command}', expected one of ${COMMANDS.join(', ')}`);
  }
  const timeout = Number(read('timeout-minutes') || '60');
  if (!Number.isFinite(timeout) || timeout <= 0 || timeout > 24 * 60) {
    throw new InputError(
      `input 'timeout-minutes': found '${read('timeout-minutes')}', expected minutes between 1 and 1440`,
    );
  }
  const cache = (read('cache') || 'true').trim().toLowerCase();
  if (cache !== 'true' && cache !== 'false') {
    throw new InputError(`input 'cache': found '${cache}', expected true or false`);
  }
  const inputs: ActionInputs = {
    command: command as ActionCommand,
    config: read('config') || 'kiln.yaml',
    target: read('target').trim(),
    model: read('model').trim(),
    base: read('base').trim(),
    githubToken: read('github-token'),
    kiln: (read('kiln') || 'kiln').trim().split(/\s+/),
    store: read('store').trim(),
    plan: read('plan').trim(),
    cache: cache === 'true',
    timeoutMinutes: timeout,
    resultsDir: read('results-dir') || 'kiln-results',
  };
  if (inputs.command === 'build' && !inputs.target) {
    throw new InputError(
      "input 'target': found '', expected the matrix target (with: target: ${{ matrix.target }})",
    );
  }
  if (inputs.command === 'report' && !inputs.githubToken) {
    throw new InputError(
      "input 'github-token': found '', expected a token with pull-requests: write and checks: write",
    );
  }
  if (inputs.plan && !isMatrixJson(inputs.plan)) {
    const shown = inputs.plan.length > 80 ? `${inputs.plan.slice(0, 80)}…` : inputs.plan;
    throw new InputError(
      `input 'plan': found '${shown}', expected the plan job's matrix output (JSON {"include": [...]})`,
    );
  }
  if (inputs.githubToken) core.setSecret(inputs.githubToken);
  return inputs;
}

function isMatrixJson(text: string): boolean {
  try {
    const value = JSON.parse(text) as { include?: unknown } | null;
    return typeof value === 'object' && value !== null && Array.isArray(value.include);
  } catch {
    return false;
  }
}
