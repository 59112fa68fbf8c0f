import * as core from '@actions/core';
import { redactor } from '../core/redact.js';
import { InputError } from '../core/errors.js';
import { KILN_VERSION } from '../core/io/version.js';
import { kilnCommand } from './kiln-command.js';

export const COMMANDS = ['plan', 'build', 'report', 'publish'] as const;
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
  /**
   * How to run the kiln CLI (build, publish), split on spaces; by default kiln at the Action's own
   * version through `npm exec` (./kiln-command.ts). Empty for plan and report, which never run it.
   */
  kiln: string[];
  store: string;
  /** The plan job's matrix JSON, so `report` knows which targets owe results. */
  plan: string;
  cache: boolean;
  /** build: `oci://REGISTRY/NAMESPACE` of the remote engine store (`kiln build --remote-store`); empty for none. */
  remoteStore: string;
  timeoutMinutes: number;
  resultsDir: string;
  /** publish: the release version; default the tag name of a tag ref. */
  version: string;
  /** publish: OCI registry and namespace to push to (`ghcr.io/acme/models`); empty for none. */
  oci: string;
  registryUsername: string;
  registryPassword: string;
  plainHttp: boolean;
  /** publish: attest build provenance with @actions/attest. */
  attest: boolean;
  /** publish: the local release store folder; default next to the store. */
  releasesDir: string;
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
  const bool = (name: string, fallback: string) => {
    const value = (read(name) || fallback).trim().toLowerCase();
    if (value !== 'true' && value !== 'false') {
      throw new InputError(`input '${name}': found '${value}', expected true or false`);
    }
    return value === 'true';
  };
  const inputs: ActionInputs = {
    command: command as ActionCommand,
    config: read('config') || 'kiln.yaml',
    target: read('target').trim(),
    model: read('model').trim(),
    base: read('base').trim(),
    githubToken: read('github-token'),
    kiln: command === 'build' || command === 'publish' ? kilnCommand(read('kiln'), KILN_VERSION) : [],
    store: read('store').trim(),
    plan: read('plan').trim(),
    cache: bool('cache', 'true'),
    remoteStore: read('remote-store').trim(),
    timeoutMinutes: timeout,
    resultsDir: read('results-dir') || 'kiln-results',
    version: read('version').trim(),
    oci: read('oci').trim(),
    registryUsername: read('registry-username').trim(),
    registryPassword: read('registry-password'),
    plainHttp: bool('plain-http', 'false'),
    attest: bool('attest', 'true'),
    releasesDir: read('releases-dir').trim(),
  };
  if (inputs.command === 'publish' && inputs.attest && !inputs.githubToken) {
    throw new InputError(
      "input 'github-token': found '', expected a token to store the attestation (or attest: false)",
    );
  }
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
  // The runner masks these in every log line; kiln's own printers mask them too (core/redact).
  redactor.add(inputs.githubToken);
  if (inputs.registryPassword) redactor.addCredentials(inputs.registryUsername, inputs.registryPassword);
  for (const secret of redactor.values()) core.setSecret(secret);
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
