import * as core from '@actions/core';
import { firstLine } from '../core/errors.js';
import { redact } from '../core/redact.js';
import { buildCommand } from './commands/build.js';
import { planCommand } from './commands/plan.js';
import { publishCommand } from './commands/publish.js';
import { reportCommand } from './commands/report.js';
import { actionDependencies, type ActionDependencies, type ActionOverrides } from './dependencies.js';
import { readInputs, type ActionInputs } from './inputs.js';

export type { ActionOverrides } from './dependencies.js';

const COMMANDS: Record<ActionInputs['command'], (deps: ActionDependencies) => Promise<unknown>> = {
  plan: planCommand,
  build: buildCommand,
  report: reportCommand,
  publish: publishCommand,
};

/**
 * The Action's entry point: reads inputs once, runs one command, and reports any failure with the
 * single `core.setFailed` of the Action (one clear line; the cause chain goes to the debug log).
 */
export async function run(overrides: ActionOverrides = {}): Promise<void> {
  try {
    const inputs = readInputs();
    await COMMANDS[inputs.command](actionDependencies(inputs, overrides));
  } catch (error) {
    core.debug(redact(error instanceof Error ? (error.stack ?? error.message) : String(error)));
    core.setFailed(redact(firstLine(error)));
  }
}
